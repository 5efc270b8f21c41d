// SPDX-License-Identifier: Apache-2.0
// Whether a printer can take a job, and what each document must be converted to.
//
// Owns: the one rule, pure and shared by the release service (before a job is
// routed) and the forwarder (before it sends): a document goes as it is when the
// printer's `formats` list is empty (the printer decides), when its format is
// unknown (application/octet-stream or empty: the queue took it and the printer
// sniffs it, as before conversion existed), or when the format is in the list;
// otherwise a printer with `convert: ghostscript` gets PDF and PostScript converted
// to the first format of its list that Ghostscript writes (list order is the
// admin's preference), except for LPD printers (lpd://: the data file's length
// goes before its bytes, and a conversion's is known only at its end); anything
// else is refused, with a reason fit for
// job-state-message and the release page (no user data).
// Must not: do I/O, log, or look at the document's bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"
#include "gateway/spool/job.hpp"

namespace pg::output {

struct ReleasePlan {
    bool ok = false;
    std::string convert_to;  // "" = sent as it is; else the MIME type Ghostscript writes
    std::string why;         // !ok: why the printer cannot take it
};

// One document of format `job_format` to `printer`.
ReleasePlan release_plan(const conf::PrinterConfig& printer, std::string_view job_format);

// A whole job: every document must be printable (converted or not), else the job
// is refused with the first document's reason. Multi-document jobs convert each
// document on its own (each is its own printer job or data file anyway).
struct JobReleasePlan {
    bool ok = false;
    std::vector<std::string> convert_to;  // per document, in order; "" = as it is
    std::string why;
};
JobReleasePlan release_plan(const conf::PrinterConfig& printer, const spool::JobMeta& meta);

// The job template attributes that follow a job to its printer (IPP attributes, or
// PJL for 9100 and LPD ?pjl=on), read from JobMeta::attributes (JSON, as intake
// wrote it; anything unreadable is left out) and narrowed by the printer's profile:
// a printer with `duplex: false` is never asked for two-sided (it prints
// one-sided anyway), and one with `color: false` is always asked for monochrome.
// `profile` may be null (a printgatectl send URI): the job's values as they are.
struct JobOptions {
    std::optional<std::int32_t> copies;  // 1..9999
    std::string sides;                   // one-sided | two-sided-long-edge | two-sided-short-edge; "" = unset
    std::string color_mode;              // print-color-mode keyword; "" = unset
    std::string media;                   // "" = unset
};
JobOptions job_options(const conf::PrinterProfile* profile, std::string_view attributes_json);

}  // namespace pg::output
