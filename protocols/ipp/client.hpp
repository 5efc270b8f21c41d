// SPDX-License-Identifier: Apache-2.0
// The requests printgate sends as an IPP client, and typed views of the replies.
//
// Owns: building Get-Printer-Attributes, Print-Job, Create-Job, Send-Document,
// Get-Job-Attributes and Cancel-Job requests (libcups ipp_t, encoded with
// pg::ipp::encode), and reading printer and job state out of responses.
// Must not: do I/O, log, or decide retries (gateway/output does).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/ipp/message.hpp"

namespace pg::ipp::client {

// Identity of every request: where it goes and who asks.
struct Caller {
    std::string printer_uri;  // ipp(s)://HOST[:PORT]/PATH
    std::string user;         // requesting-user-name (the job's owner)
    std::int32_t request_id = 1;
};

Message get_printer_attributes(const Caller& c);

// Job template and description attributes forwarded with a job.
struct JobTicket {
    std::string job_name;
    std::string document_format;  // empty = leave it to the printer
    std::string document_name;
    std::optional<std::int32_t> copies;
    std::string sides;             // keyword (RFC 8011 §5.2.8); empty = not sent
    std::string print_color_mode;  // keyword (PWG 5100.13 §5.2.3); empty = not sent
    std::string media;             // keyword or name (RFC 8011 §5.2.11); empty = not sent
};

// Print-Job: the attribute section; the document follows it in the HTTP body.
Message print_job(const Caller& c, const JobTicket& t);
Message create_job(const Caller& c, const JobTicket& t);
Message send_document(const Caller& c, std::int32_t job_id, const JobTicket& t, bool last);
Message get_job_attributes(const Caller& c, std::int32_t job_id);
Message cancel_job(const Caller& c, std::int32_t job_id);
// Get-Jobs for the caller's own jobs (my-jobs true), `which` = "completed" or
// "not-completed", with the attributes reconciliation compares (RFC 8011 §4.2.6).
Message get_jobs(const Caller& c, std::string_view which, std::int32_t limit);

struct PrinterInfo {
    int state = 0;                           // 3 idle, 4 processing, 5 stopped; 0 unknown
    bool accepting = true;                   // printer-is-accepting-jobs (true when absent)
    std::vector<std::string> state_reasons;
    std::vector<std::string> formats;        // document-format-supported
    std::vector<int> operations;             // operations-supported
    // sides-, print-color-mode- and media-supported; empty = the printer did not say.
    std::vector<std::string> sides;
    std::vector<std::string> color_modes;
    std::vector<std::string> media;
    bool supports(int op) const;
    bool takes(std::string_view format) const;
};
PrinterInfo read_printer(const Message& response);

struct JobInfo {
    std::int32_t job_id = 0;
    int state = 0;  // RFC 8011 job-state enum; 0 unknown
    std::vector<std::string> state_reasons;
    std::string state_message;
    std::optional<std::int64_t> impressions_completed;
};
JobInfo read_job(const Message& response);

// One job of a Get-Jobs answer: what reconciliation compares with a spooled job.
struct ListedJob {
    std::int32_t job_id = 0;
    std::string name;        // job-name (sanitised)
    std::string owner;       // job-originating-user-name (sanitised)
    std::int64_t k_octets = -1;          // job-k-octets; -1 = absent
    int state = 0;                       // job-state enum; 0 = absent
    std::optional<std::int64_t> created_unix;  // date-time-at-creation as Unix seconds
};
std::vector<ListedJob> read_jobs(const Message& response);

// The status-message of a response, sanitised; "" when absent.
std::string status_message(const Message& response);

// status-code classes (RFC 8011 §4.1.6).
inline bool is_success(std::uint16_t status) { return status < 0x0100; }
// server-error-busy, -service-unavailable, -temporary-error, -not-accepting-jobs:
// worth trying again later.
bool is_transient(std::uint16_t status);

// Which format to send a document in: its own when the printer takes it (or says
// nothing), else application/octet-stream when taken (the printer sniffs), else
// nullopt (the printer cannot print it).
std::optional<std::string> choose_format(const PrinterInfo& p, std::string_view document_format);

}  // namespace pg::ipp::client
