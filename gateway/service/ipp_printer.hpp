// SPDX-License-Identifier: Apache-2.0
// IPP printer and job attribute groups, filtered by requested-attributes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "protocols/ipp/response.hpp"
#include "gateway/spool/job.hpp"

namespace pg::service {

// requested-attributes with RFC 8011 §4.2.5.1 group names ('all',
// 'printer-description', 'job-template', 'job-description') and the
// explicit-only 'media-col-database'.
class Wanted {
public:
    Wanted(const std::vector<std::string>& requested, std::vector<std::string> defaults);
    bool operator()(std::string_view name) const;

private:
    std::vector<std::string> names_;
    bool all_ = false, description_ = false, job_template_ = false, job_description_ = false;
};

struct PrinterContext {
    std::string queue;
    std::string description;
    std::string uri;             // ipp://HOST/ipp/print/QUEUE
    std::string uuid;            // urn:uuid:...
    std::string more_info;       // http(s)://HOST/ipp/print/QUEUE
    std::int64_t up_since = 0;   // Unix seconds
    std::int64_t now = 0;
    std::size_t queued_jobs = 0;
    bool tls = false;
    bool direct = false;                      // mode: direct
    bool processing = false;                  // a job is being sent: printer-state processing
    std::vector<std::string> state_reasons;   // from the destination's status; empty = none
    std::string state_message;                // empty = the default text
    const conf::PrinterProfile* profile = nullptr;  // the queue's printer's; null = defaults
    bool basic_auth = false;                  // auth: basic
    bool paused = false;                      // Pause-Printer: stopped, reason paused
};

extern const std::vector<std::string_view> kDocumentFormats;
// The formats a queue takes: its printer profile's (plus application/octet-stream,
// which printgate sniffs), else kDocumentFormats. `profile` may be null.
std::vector<std::string> queue_formats(const conf::PrinterProfile* profile);
bool is_supported_format(std::string_view mime, const conf::PrinterProfile* profile = nullptr);

void add_printer_attributes(ipp::Group& g, const PrinterContext& p, const Wanted& wanted);

struct JobView {
    const spool::JobRecord* job = nullptr;
    std::string job_uri;
    std::string printer_uri;
    std::int64_t up_since = 0;
    std::int64_t now = 0;
    bool show_private = false;  // owner or admin: job-name and document details visible
};

void add_job_attributes(ipp::Group& g, const JobView& v, const Wanted& wanted);

// "uuid" of a queue: stable per queue name and installation.
std::string queue_uuid(std::string_view installation, std::string_view queue);

}  // namespace pg::service
