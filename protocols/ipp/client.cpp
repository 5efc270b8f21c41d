// SPDX-License-Identifier: Apache-2.0
// IPP client requests and reply views. See client.hpp.
#include "protocols/ipp/client.hpp"

#include <algorithm>

#include <cups/ipp.h>

#include "protocols/text/sanitize.hpp"

namespace pg::ipp::client {
namespace {

Message request(ipp_op_t op, const Caller& c) {
    Message m(ippNewRequest(op));
    if (!m) return m;
    ippSetVersion(m.get(), 2, 0);
    ippSetRequestId(m.get(), c.request_id);
    ippAddString(m.get(), IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, c.printer_uri.c_str());
    ippAddString(m.get(), IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr,
                 c.user.empty() ? "anonymous" : c.user.c_str());
    return m;
}

void add_ticket(ipp_t* m, const JobTicket& t, bool job_group) {
    if (!job_group) {
        if (!t.job_name.empty())
            ippAddString(m, IPP_TAG_OPERATION, IPP_TAG_NAME, "job-name", nullptr, t.job_name.c_str());
        return;
    }
    if (t.copies && *t.copies > 1) ippAddInteger(m, IPP_TAG_JOB, IPP_TAG_INTEGER, "copies", *t.copies);
    if (!t.sides.empty()) ippAddString(m, IPP_TAG_JOB, IPP_TAG_KEYWORD, "sides", nullptr, t.sides.c_str());
    if (!t.print_color_mode.empty())
        ippAddString(m, IPP_TAG_JOB, IPP_TAG_KEYWORD, "print-color-mode", nullptr, t.print_color_mode.c_str());
    if (!t.media.empty()) ippAddString(m, IPP_TAG_JOB, IPP_TAG_KEYWORD, "media", nullptr, t.media.c_str());
}

void add_document(ipp_t* m, const JobTicket& t) {
    if (!t.document_name.empty())
        ippAddString(m, IPP_TAG_OPERATION, IPP_TAG_NAME, "document-name", nullptr, t.document_name.c_str());
    if (!t.document_format.empty())
        ippAddString(m, IPP_TAG_OPERATION, IPP_TAG_MIMETYPE, "document-format", nullptr, t.document_format.c_str());
}

std::vector<std::string> strings(ipp_t* m, const char* name) {
    std::vector<std::string> out;
    ipp_attribute_t* a = ippFindAttribute(m, name, IPP_TAG_ZERO);
    if (!a) return out;
    for (int i = 0; i < ippGetCount(a); ++i)
        if (const char* v = ippGetString(a, i, nullptr)) out.push_back(text::sanitize_name(v));
    return out;
}

std::optional<int> integer(ipp_t* m, const char* name) {
    ipp_attribute_t* a = ippFindAttribute(m, name, IPP_TAG_ZERO);
    if (!a || ippGetCount(a) < 1) return std::nullopt;
    const ipp_tag_t tag = ippGetValueTag(a);
    if (tag != IPP_TAG_INTEGER && tag != IPP_TAG_ENUM) return std::nullopt;
    return ippGetInteger(a, 0);
}

}  // namespace

Message get_printer_attributes(const Caller& c) {
    Message m = request(IPP_OP_GET_PRINTER_ATTRIBUTES, c);
    if (!m) return m;
    static const char* const wanted[] = {"printer-state", "printer-state-reasons", "printer-is-accepting-jobs",
                                         "document-format-supported", "operations-supported",
                                         "sides-supported", "print-color-mode-supported", "media-supported"};
    ippAddStrings(m.get(), IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
                  static_cast<int>(std::size(wanted)), nullptr, wanted);
    return m;
}

Message print_job(const Caller& c, const JobTicket& t) {
    Message m = request(IPP_OP_PRINT_JOB, c);
    if (!m) return m;
    add_ticket(m.get(), t, false);
    add_document(m.get(), t);
    add_ticket(m.get(), t, true);
    return m;
}

Message create_job(const Caller& c, const JobTicket& t) {
    Message m = request(IPP_OP_CREATE_JOB, c);
    if (!m) return m;
    add_ticket(m.get(), t, false);
    add_ticket(m.get(), t, true);
    return m;
}

Message send_document(const Caller& c, std::int32_t job_id, const JobTicket& t, bool last) {
    Message m = request(IPP_OP_SEND_DOCUMENT, c);
    if (!m) return m;
    ippAddInteger(m.get(), IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job_id);
    add_document(m.get(), t);
    ippAddBoolean(m.get(), IPP_TAG_OPERATION, "last-document", last ? 1 : 0);
    return m;
}

Message get_job_attributes(const Caller& c, std::int32_t job_id) {
    Message m = request(IPP_OP_GET_JOB_ATTRIBUTES, c);
    if (!m) return m;
    ippAddInteger(m.get(), IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job_id);
    static const char* const wanted[] = {"job-id", "job-state", "job-state-reasons", "job-state-message",
                                         "job-impressions-completed"};
    ippAddStrings(m.get(), IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
                  static_cast<int>(std::size(wanted)), nullptr, wanted);
    return m;
}

Message cancel_job(const Caller& c, std::int32_t job_id) {
    Message m = request(IPP_OP_CANCEL_JOB, c);
    if (!m) return m;
    ippAddInteger(m.get(), IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-id", job_id);
    return m;
}

Message get_jobs(const Caller& c, std::string_view which, std::int32_t limit) {
    Message m = request(IPP_OP_GET_JOBS, c);
    if (!m) return m;
    const std::string w(which);
    ippAddString(m.get(), IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "which-jobs", nullptr, w.c_str());
    ippAddBoolean(m.get(), IPP_TAG_OPERATION, "my-jobs", 1);
    if (limit > 0) ippAddInteger(m.get(), IPP_TAG_OPERATION, IPP_TAG_INTEGER, "limit", limit);
    static const char* const wanted[] = {"job-id",       "job-name",  "job-originating-user-name",
                                         "job-k-octets", "job-state", "date-time-at-creation"};
    ippAddStrings(m.get(), IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes",
                  static_cast<int>(std::size(wanted)), nullptr, wanted);
    return m;
}

bool PrinterInfo::supports(int op) const {
    return operations.empty() || std::find(operations.begin(), operations.end(), op) != operations.end();
}

bool PrinterInfo::takes(std::string_view format) const {
    return std::any_of(formats.begin(), formats.end(), [&](const std::string& f) {
        if (f.size() != format.size()) return false;
        for (std::size_t i = 0; i < f.size(); ++i)
            if (std::tolower(static_cast<unsigned char>(f[i])) != std::tolower(static_cast<unsigned char>(format[i])))
                return false;
        return true;
    });
}

PrinterInfo read_printer(const Message& response) {
    PrinterInfo p;
    ipp_t* m = response.get();
    if (!m) return p;
    p.state = integer(m, "printer-state").value_or(0);
    if (ipp_attribute_t* a = ippFindAttribute(m, "printer-is-accepting-jobs", IPP_TAG_BOOLEAN))
        p.accepting = ippGetBoolean(a, 0) != 0;
    p.state_reasons = strings(m, "printer-state-reasons");
    p.formats = strings(m, "document-format-supported");
    if (ipp_attribute_t* a = ippFindAttribute(m, "operations-supported", IPP_TAG_ENUM))
        for (int i = 0; i < ippGetCount(a); ++i) p.operations.push_back(ippGetInteger(a, i));
    p.sides = strings(m, "sides-supported");
    p.color_modes = strings(m, "print-color-mode-supported");
    p.media = strings(m, "media-supported");
    return p;
}

JobInfo read_job(const Message& response) {
    JobInfo j;
    ipp_t* m = response.get();
    if (!m) return j;
    j.job_id = integer(m, "job-id").value_or(0);
    j.state = integer(m, "job-state").value_or(0);
    j.state_reasons = strings(m, "job-state-reasons");
    if (ipp_attribute_t* a = ippFindAttribute(m, "job-state-message", IPP_TAG_ZERO))
        if (const char* v = ippGetString(a, 0, nullptr)) j.state_message = text::sanitize_name(v);
    if (auto n = integer(m, "job-impressions-completed"); n && *n >= 0) j.impressions_completed = *n;
    return j;
}

std::vector<ListedJob> read_jobs(const Message& response) {
    std::vector<ListedJob> out;
    ipp_t* m = response.get();
    if (!m) return out;
    ListedJob cur;
    bool in_job = false;
    auto flush = [&] {
        if (in_job && cur.job_id > 0) out.push_back(cur);
        cur = ListedJob{};
        in_job = false;
    };
    for (ipp_attribute_t* a = ippFirstAttribute(m); a; a = ippNextAttribute(m)) {
        const char* name = ippGetName(a);
        if (name == nullptr) {  // a group separator
            flush();
            continue;
        }
        if (ippGetGroupTag(a) != IPP_TAG_JOB) continue;
        in_job = true;
        const std::string_view n(name);
        const ipp_tag_t tag = ippGetValueTag(a);
        if (n == "job-id" && tag == IPP_TAG_INTEGER) {
            if (cur.job_id != 0) {  // a new job without a separator
                flush();
                in_job = true;
            }
            cur.job_id = ippGetInteger(a, 0);
        } else if (n == "job-name") {
            if (const char* v = ippGetString(a, 0, nullptr)) cur.name = text::sanitize_name(v);
        } else if (n == "job-originating-user-name") {
            if (const char* v = ippGetString(a, 0, nullptr)) cur.owner = text::sanitize_name(v);
        } else if (n == "job-k-octets" && tag == IPP_TAG_INTEGER) {
            cur.k_octets = ippGetInteger(a, 0);
        } else if (n == "job-state" && tag == IPP_TAG_ENUM) {
            cur.state = ippGetInteger(a, 0);
        } else if (n == "date-time-at-creation" && tag == IPP_TAG_DATE) {
            if (const ipp_uchar_t* d = ippGetDate(a, 0)) cur.created_unix = static_cast<std::int64_t>(ippDateToTime(d));
        }
    }
    flush();
    return out;
}

std::string status_message(const Message& response) {
    if (!response) return {};
    ipp_attribute_t* a = ippFindAttribute(response.get(), "status-message", IPP_TAG_ZERO);
    const char* v = a ? ippGetString(a, 0, nullptr) : nullptr;
    return v ? text::sanitize_name(v) : std::string();
}

bool is_transient(std::uint16_t status) {
    return status == IPP_STATUS_ERROR_BUSY || status == IPP_STATUS_ERROR_SERVICE_UNAVAILABLE ||
           status == IPP_STATUS_ERROR_TEMPORARY || status == IPP_STATUS_ERROR_NOT_ACCEPTING_JOBS;
}

std::optional<std::string> choose_format(const PrinterInfo& p, std::string_view document_format) {
    const std::string own = document_format.empty() ? "application/octet-stream" : std::string(document_format);
    if (p.formats.empty() || p.takes(own)) return own;
    if (p.takes("application/octet-stream")) return std::string("application/octet-stream");
    return std::nullopt;
}

}  // namespace pg::ipp::client
