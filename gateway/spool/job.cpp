// SPDX-License-Identifier: Apache-2.0
#include "gateway/spool/job.hpp"

#include <cstdint>
#include <ctime>
#include <optional>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace pg::spool {

std::string_view ipp_name(JobState s) {
    switch (s) {
    case JobState::held: return "pending-held";
    case JobState::pending: return "pending";
    case JobState::processing: return "processing";
    case JobState::completed: return "completed";
    case JobState::aborted: return "aborted";
    case JobState::canceled: return "canceled";
    }
    return "unknown";
}

int ipp_enum(JobState s) {
    switch (s) {
    case JobState::held: return 4;
    case JobState::pending: return 3;
    case JobState::processing: return 5;
    case JobState::completed: return 9;
    case JobState::aborted: return 8;
    case JobState::canceled: return 7;
    }
    return 3;
}

std::optional<JobState> state_from_int(int v) {
    switch (v) {
    case 1: return JobState::held;
    case 2: return JobState::pending;
    case 3: return JobState::processing;
    case 7: return JobState::canceled;
    case 8: return JobState::aborted;
    case 9: return JobState::completed;
    default: return std::nullopt;
    }
}

std::string encode_meta(const JobMeta& m) {
    boost::json::object o;
    o["v"] = 1;
    o["queue"] = m.queue;
    o["user"] = m.user;
    o["name"] = m.name;
    o["peer"] = m.peer;
    o["protocol"] = m.protocol;
    o["document_format"] = m.document_format;
    if (!m.document_name.empty()) o["document_name"] = m.document_name;
    if (!m.attributes.empty()) o["attributes"] = m.attributes;
    if (!m.documents.empty()) {
        boost::json::array parts;
        for (const auto& d : m.documents) {
            boost::json::object p;
            p["format"] = d.format;
            if (!d.name.empty()) p["name"] = d.name;
            p["size"] = d.size;
            parts.push_back(std::move(p));
        }
        o["documents"] = std::move(parts);
    }
    if (!m.digest.empty()) o["digest"] = m.digest;
    return boost::json::serialize(o);
}

std::string encode_delivery(const Delivery& d) {
    boost::json::object o;
    if (!d.route.empty()) o["route"] = d.route;
    if (d.attempts != 0) o["attempts"] = d.attempts;
    if (!d.remote_id.empty()) o["remote_id"] = d.remote_id;
    if (!d.reason.empty()) o["reason"] = d.reason;
    if (!d.message.empty()) o["message"] = d.message;
    if (d.impressions >= 0) o["impressions"] = d.impressions;
    if (d.done_ms != 0) o["done_ms"] = d.done_ms;
    if (d.in_doubt) o["in_doubt"] = true;
    if (d.attempt_ms != 0) o["attempt_ms"] = d.attempt_ms;
    if (!d.held_by.empty()) o["held_by"] = d.held_by;
    if (d.lookalikes.known) {
        boost::json::array jobs;
        for (auto n : d.lookalikes.jobs) jobs.push_back(n);
        boost::json::object l;
        l["listed_ms"] = d.lookalikes.listed_ms;
        l["jobs"] = std::move(jobs);
        o["lookalikes"] = std::move(l);
    }
    return boost::json::serialize(o);
}

Delivery decode_delivery(std::string_view json) {
    Delivery d;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(json, ec);
    if (ec || !v.is_object()) return d;
    const auto& o = v.as_object();
    auto text = [&](const char* key, std::string& out) {
        if (auto* p = o.if_contains(key); p && p->is_string()) out = std::string(p->as_string());
    };
    auto number = [&](const char* key) -> std::optional<std::int64_t> {
        if (auto* p = o.if_contains(key)) {
            if (p->is_int64()) return p->as_int64();
            if (p->is_uint64() && p->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
                return static_cast<std::int64_t>(p->as_uint64());
        }
        return std::nullopt;
    };
    text("route", d.route);
    text("remote_id", d.remote_id);
    text("reason", d.reason);
    text("message", d.message);
    if (auto n = number("attempts"); n && *n >= 0 && *n <= UINT32_MAX) d.attempts = static_cast<std::uint32_t>(*n);
    if (auto n = number("impressions"); n && *n >= 0) d.impressions = *n;
    if (auto n = number("done_ms")) d.done_ms = *n;
    if (auto n = number("attempt_ms")) d.attempt_ms = *n;
    text("held_by", d.held_by);
    if (auto* p = o.if_contains("in_doubt"); p && p->is_bool()) d.in_doubt = p->as_bool();
    // Rows written before LPD reconciliation have no "lookalikes": not known, so an
    // LPD job in doubt there is sent again, as it was before.
    if (auto* p = o.if_contains("lookalikes"); p && p->is_object()) {
        const auto& l = p->as_object();
        const auto* at = l.if_contains("listed_ms");
        const auto* jobs = l.if_contains("jobs");
        bool ok = at && at->is_int64() && jobs && jobs->is_array() &&
                  jobs->as_array().size() <= Lookalikes::kMaxLookalikes;
        Lookalikes out;
        if (ok) {
            out.listed_ms = at->as_int64();
            for (const auto& n : jobs->as_array()) {
                if (n.is_int64() && n.as_int64() >= 0) out.jobs.push_back(static_cast<std::uint64_t>(n.as_int64()));
                else if (n.is_uint64()) out.jobs.push_back(n.as_uint64());
                else ok = false;
            }
        }
        out.known = ok;
        if (ok) d.lookalikes = std::move(out);
    }
    return d;
}

Result<JobMeta> decode_meta(std::string_view json) {
    boost::system::error_code ec;
    // Metadata may hold any bytes a client sent (names are sanitised at intake,
    // but the spool must not lose a job over a stray byte): accept them as stored.
    boost::json::parse_options opt;
    opt.allow_invalid_utf8 = true;
    boost::json::value v = boost::json::parse(json, ec, {}, opt);
    if (ec || !v.is_object()) return make_error_code(errc::corrupt);
    const auto& o = v.as_object();
    JobMeta m;
    auto get = [&](const char* k, std::string& out) {
        if (auto* p = o.if_contains(k); p && p->is_string()) out = std::string(p->as_string());
    };
    get("queue", m.queue);
    get("user", m.user);
    get("name", m.name);
    get("peer", m.peer);
    get("protocol", m.protocol);
    get("document_format", m.document_format);
    get("document_name", m.document_name);
    get("attributes", m.attributes);
    get("digest", m.digest);
    if (auto* parts = o.if_contains("documents"); parts && parts->is_array()) {
        for (const auto& v : parts->as_array()) {
            if (!v.is_object()) return make_error_code(errc::corrupt);
            const auto& p = v.as_object();
            DocumentPart d;
            if (auto* f = p.if_contains("format"); f && f->is_string()) d.format = std::string(f->as_string());
            if (auto* n = p.if_contains("name"); n && n->is_string()) d.name = std::string(n->as_string());
            auto* size = p.if_contains("size");
            if (!size || !(size->is_uint64() || (size->is_int64() && size->as_int64() >= 0)))
                return make_error_code(errc::corrupt);
            d.size = size->is_uint64() ? size->as_uint64() : static_cast<std::uint64_t>(size->as_int64());
            m.documents.push_back(std::move(d));
        }
    }
    return m;
}

std::string rfc3339(std::int64_t unix_ms) {
    std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(unix_ms % 1000));
}

namespace {
class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.spool"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::ok: return "ok";
        case errc::job_too_large: return "job exceeds spool.max_job_size";
        case errc::quota_exceeded: return "spool quota (spool.max_total_size) reached";
        case errc::low_disk_space: return "free disk space below spool.min_free_space";
        case errc::disk_full: return "file system full (ENOSPC) while writing the job";
        case errc::io_error: return "spool I/O error";
        case errc::not_found: return "no such job";
        case errc::corrupt: return "job data failed authentication (tampered or corrupt)";
        case errc::shutting_down: return "gateway is shutting down";
        case errc::bad_state: return "job state does not allow this";
        }
        return "unknown spool error";
    }
};
}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category c;
    return c;
}

}  // namespace pg::spool
