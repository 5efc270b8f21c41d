// SPDX-License-Identifier: Apache-2.0
// See release_plan.hpp.
#include "gateway/output/release_plan.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace pg::output {

namespace {

std::string listed(const std::vector<std::string>& formats) {
    std::string out;
    for (const auto& f : formats) out += (out.empty() ? "" : ", ") + f;
    return out;
}

}  // namespace

ReleasePlan release_plan(const conf::PrinterConfig& printer, std::string_view job_format) {
    const auto& formats = printer.profile.formats;
    if (formats.empty() || job_format.empty() || conf::mime_equal(job_format, "application/octet-stream"))
        return {true, "", ""};
    if (std::any_of(formats.begin(), formats.end(), [&](const std::string& f) { return conf::mime_equal(f, job_format); }))
        return {true, "", ""};
    if (printer.profile.convert == conf::Conversion::ghostscript) {
        if (!conf::ghostscript_reads(job_format))
            return {false, "",
                    fmt::format("printer {} does not take {} (it takes {}) and Ghostscript converts only "
                                "application/pdf and application/postscript",
                                printer.name, job_format, listed(formats))};
        for (const auto& f : formats) {
            if (!conf::ghostscript_writes(f)) continue;
            // The canonical spelling: the one convert.cpp maps to a device.
            // LPD sends each data file's length before its bytes, and a
            // conversion's length is known only at its end.
            if (printer.uri.rfind("lpd:", 0) == 0)
                return {false, "",
                        fmt::format("printer {} does not take {} and converting for an LPD printer is not "
                                    "possible (use socket:// or ipp://)",
                                    printer.name, job_format)};
            for (auto canonical : conf::ghostscript_output_formats)
                if (conf::mime_equal(canonical, f)) return {true, std::string(canonical), ""};
        }
        // The configuration check makes this unreachable; refuse rather than guess.
        return {false, "", fmt::format("printer {} has no format Ghostscript writes", printer.name)};
    }
    return {false, "",
            fmt::format("printer {} does not take {} (it takes {}) and converts nothing (convert: none)",
                        printer.name, job_format, listed(formats))};
}

JobReleasePlan release_plan(const conf::PrinterConfig& printer, const spool::JobMeta& meta) {
    JobReleasePlan out;
    std::vector<std::string> formats;
    if (meta.documents.empty()) formats.push_back(meta.document_format);
    for (const auto& part : meta.documents) formats.push_back(part.format);
    for (std::size_t i = 0; i < formats.size(); ++i) {
        auto plan = release_plan(printer, formats[i]);
        if (!plan.ok) {
            out.why = formats.size() == 1 ? plan.why : fmt::format("document {}: {}", i + 1, plan.why);
            out.convert_to.clear();
            return out;
        }
        out.convert_to.push_back(std::move(plan.convert_to));
    }
    out.ok = true;
    return out;
}

JobOptions job_options(const conf::PrinterProfile* profile, std::string_view attributes_json) {
    JobOptions o;
    boost::system::error_code ec;
    auto v = boost::json::parse(attributes_json, ec);
    if (!ec && v.is_object()) {
        const auto& a = v.as_object();
        if (auto* c = a.if_contains("copies"); c && c->is_int64() && c->as_int64() >= 1 && c->as_int64() <= 9999)
            o.copies = static_cast<std::int32_t>(c->as_int64());
        auto text = [&](const char* key) -> std::string {
            auto* s = a.if_contains(key);
            return s && s->is_string() ? std::string(s->as_string()) : std::string();
        };
        o.sides = text("sides");
        if (o.sides != "one-sided" && o.sides != "two-sided-long-edge" && o.sides != "two-sided-short-edge")
            o.sides.clear();
        o.color_mode = text("print-color-mode");
        o.media = text("media");
    }
    if (profile != nullptr && !profile->duplex && o.sides.starts_with("two-sided")) o.sides.clear();
    if (profile != nullptr && !profile->color) o.color_mode = "monochrome";
    return o;
}

}  // namespace pg::output
