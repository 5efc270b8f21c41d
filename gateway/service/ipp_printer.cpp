// SPDX-License-Identifier: Apache-2.0
// The printer object's attributes (RFC 8011 §5.4, PWG 5100.14 IPP Everywhere §5)
// and the job object's (RFC 8011 §5.3), from the queue's printer profile.
// The queue's printer profile (printers.NAME: formats, color, duplex) narrows
// formats (widened by what `convert: ghostscript` reads), colour modes and sides; media and resolutions are the defaults below.
#include "gateway/service/ipp_printer.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <openssl/sha.h>

namespace pg::service {

const std::vector<std::string_view> kDocumentFormats = {
    "application/pdf", "application/postscript", "image/pwg-raster", "image/urf",
    "image/jpeg",      "text/plain",             "application/octet-stream"};

std::vector<std::string> queue_formats(const conf::PrinterProfile* profile) {
    std::vector<std::string> out;
    if (profile == nullptr || profile->formats.empty()) {
        for (auto f : kDocumentFormats) out.emplace_back(f);
        return out;
    }
    out = profile->formats;
    // A converting printer takes what Ghostscript reads, too (converted at release).
    if (profile->convert == conf::Conversion::ghostscript)
        for (std::string_view f : {"application/pdf", "application/postscript"})
            if (std::find(out.begin(), out.end(), f) == out.end()) out.emplace_back(f);
    if (std::find(out.begin(), out.end(), "application/octet-stream") == out.end())
        out.emplace_back("application/octet-stream");
    return out;
}

bool is_supported_format(std::string_view mime, const conf::PrinterProfile* profile) {
    if (profile == nullptr || profile->formats.empty())
        return std::find(kDocumentFormats.begin(), kDocumentFormats.end(), mime) != kDocumentFormats.end();
    if (mime == "application/octet-stream") return true;
    if (profile->convert == conf::Conversion::ghostscript && conf::ghostscript_reads(mime)) return true;
    return std::any_of(profile->formats.begin(), profile->formats.end(), [&](const std::string& f) {
        return f.size() == mime.size() && std::equal(f.begin(), f.end(), mime.begin(), [](char a, char b) {
                   return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
               });
    });
}

namespace {

bool is_job_template(std::string_view n) {
    static constexpr std::array<std::string_view, 18> prefixes = {
        "copies",      "finishings",         "job-hold-until", "job-priority",      "job-sheets",
        "media",       "multiple-document-handling", "number-up", "orientation-requested",
        "page-ranges", "print-color-mode",   "print-quality",  "printer-resolution", "sides",
        "output-bin",  "print-scaling",      "job-account-id", "job-accounting-user-id"};
    for (auto p : prefixes)
        if (n.starts_with(p)) return n != "media-col-database";
    return false;
}

struct Media {
    std::string_view name;
    int width, length;  // hundredths of millimetres
};
constexpr std::array<Media, 5> kMedia = {{{"iso_a4_210x297mm", 21000, 29700},
                                          {"na_letter_8.5x11in", 21590, 27940},
                                          {"na_legal_8.5x14in", 21590, 35560},
                                          {"iso_a5_148x210mm", 14800, 21000},
                                          {"iso_a3_297x420mm", 29700, 42000}}};

ipp::Collection media_col(const Media& m, bool with_margins) {
    ipp::Collection size;
    size.add_integer("x-dimension", m.width).add_integer("y-dimension", m.length);
    ipp::Collection c;
    c.add_collection("media-size", size);
    if (with_margins) {
        c.add_integer("media-bottom-margin", 423)
            .add_integer("media-left-margin", 423)
            .add_integer("media-right-margin", 423)
            .add_integer("media-top-margin", 423);
    }
    c.add_keyword("media-source", "auto").add_keyword("media-type", "stationery");
    return c;
}

}  // namespace

Wanted::Wanted(const std::vector<std::string>& requested, std::vector<std::string> defaults) {
    names_ = requested.empty() ? std::move(defaults) : requested;
    for (const auto& n : names_) {
        if (n == "all") all_ = true;
        else if (n == "printer-description") description_ = true;
        else if (n == "job-template") job_template_ = true;
        else if (n == "job-description") job_description_ = true;
    }
}

bool Wanted::operator()(std::string_view name) const {
    if (std::find(names_.begin(), names_.end(), name) != names_.end()) return true;
    if (name == "media-col-database") return false;  // only when asked by name
    if (all_) return true;
    bool tmpl = is_job_template(name);
    if (job_template_ && tmpl) return true;
    if ((description_ || job_description_) && !tmpl) return true;
    return false;
}

std::string queue_uuid(std::string_view installation, std::string_view queue) {
    std::string in = fmt::format("printgate-printer-uuid\n{}\n{}", installation, queue);
    std::array<unsigned char, SHA256_DIGEST_LENGTH> d{};
    SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d.data());
    d[6] = static_cast<unsigned char>((d[6] & 0x0f) | 0x50);  // name-based (v5-style) UUID
    d[8] = static_cast<unsigned char>((d[8] & 0x3f) | 0x80);
    return fmt::format("urn:uuid:{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
                       "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
                       d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7], d[8], d[9], d[10], d[11], d[12], d[13],
                       d[14], d[15]);
}

void add_printer_attributes(ipp::Group& g, const PrinterContext& p, const Wanted& w) {
    auto want = [&](std::string_view n) { return w(n); };
    if (want("charset-configured")) g.add_charset("charset-configured", "utf-8");
    if (want("charset-supported")) g.add_charset("charset-supported", "utf-8");
    // Media and resolutions: the profile's, else the defaults.
    std::vector<Media> media(kMedia.begin(), kMedia.end());
    if (p.profile != nullptr && !p.profile->media.empty()) {
        media.clear();
        for (const auto& name : p.profile->media)
            if (auto size = conf::media_size(name)) media.push_back({name, size->first, size->second});
    }
    std::vector<ipp::Resolution> resolutions{{300, 300}, {600, 600}};
    if (p.profile != nullptr && !p.profile->resolutions.empty()) {
        resolutions.clear();
        for (int dpi : p.profile->resolutions) resolutions.push_back({dpi, dpi});
    }
    const ipp::Resolution best = *std::max_element(
        resolutions.begin(), resolutions.end(), [](const ipp::Resolution& a, const ipp::Resolution& b) {
            return a.x < b.x;
        });
    const bool color = p.profile == nullptr || p.profile->color;
    const bool duplex = p.profile == nullptr || p.profile->duplex;
    if (want("color-supported")) g.add_boolean("color-supported", color);
    if (want("compression-supported")) g.add_keywords("compression-supported", {"none", "deflate", "gzip"});
    if (want("copies-default")) g.add_integer("copies-default", 1);
    if (want("copies-supported")) g.add_range("copies-supported", 1, 999);
    if (want("document-format-default")) g.add_mime_media_type("document-format-default", "application/octet-stream");
    if (want("document-format-supported")) {
        const auto formats = queue_formats(p.profile);
        std::vector<std::string_view> views(formats.begin(), formats.end());
        g.add_mime_media_types("document-format-supported", views);
    }
    if (want("generated-natural-language-supported"))
        g.add_natural_language("generated-natural-language-supported", "en");
    if (want("identify-actions-default")) g.add_keyword("identify-actions-default", "display");
    if (want("identify-actions-supported")) g.add_keywords("identify-actions-supported", {"display"});
    if (want("ipp-features-supported")) g.add_keywords("ipp-features-supported", {"ipp-everywhere"});
    if (want("ipp-versions-supported")) g.add_keywords("ipp-versions-supported", {"1.0", "1.1", "2.0"});
    if (want("job-creation-attributes-supported"))
        g.add_keywords("job-creation-attributes-supported",
                       {"copies", "job-hold-until", "media", "media-col", "print-color-mode", "print-quality",
                        "printer-resolution", "sides", "output-bin", "orientation-requested"});
    if (want("job-hold-until-default")) g.add_keyword("job-hold-until-default", "indefinite");
    if (want("job-hold-until-supported")) g.add_keywords("job-hold-until-supported", {"no-hold", "indefinite"});
    if (want("job-ids-supported")) g.add_boolean("job-ids-supported", true);
    if (want("job-priority-default")) g.add_integer("job-priority-default", 50);
    if (want("job-priority-supported")) g.add_integer("job-priority-supported", 100);
    if (want("job-sheets-default")) g.add_name("job-sheets-default", "none");
    if (want("job-sheets-supported")) g.add_name("job-sheets-supported", "none");
    if (want("media-bottom-margin-supported")) g.add_integers("media-bottom-margin-supported", {423});
    if (want("media-left-margin-supported")) g.add_integers("media-left-margin-supported", {423});
    if (want("media-right-margin-supported")) g.add_integers("media-right-margin-supported", {423});
    if (want("media-top-margin-supported")) g.add_integers("media-top-margin-supported", {423});
    if (want("media-col-database")) {
        std::vector<ipp::Collection> cols;
        for (const auto& m : media) cols.push_back(media_col(m, true));
        g.add_collections("media-col-database", cols);
    }
    if (want("media-col-default")) g.add_collection("media-col-default", media_col(media[0], true));
    if (want("media-col-ready")) {
        std::vector<ipp::Collection> cols;
        for (std::size_t i = 0; i < media.size() && i < 2; ++i) cols.push_back(media_col(media[i], true));
        g.add_collections("media-col-ready", cols);
    }
    if (want("media-col-supported"))
        g.add_keywords("media-col-supported", {"media-bottom-margin", "media-left-margin", "media-right-margin",
                                               "media-size", "media-source", "media-top-margin", "media-type"});
    if (want("media-default")) g.add_keyword("media-default", media[0].name);
    if (want("media-ready")) {
        std::vector<std::string_view> ready;
        for (std::size_t i = 0; i < media.size() && i < 2; ++i) ready.push_back(media[i].name);
        g.add_keywords("media-ready", ready);
    }
    if (want("media-size-supported")) {
        std::vector<ipp::Collection> sizes;
        for (const auto& m : media) {
            ipp::Collection s;
            s.add_integer("x-dimension", m.width).add_integer("y-dimension", m.length);
            sizes.push_back(std::move(s));
        }
        g.add_collections("media-size-supported", sizes);
    }
    if (want("finishings-default")) g.add_enum("finishings-default", 3);  // none
    if (want("finishings-supported")) g.add_enums("finishings-supported", {3});
    if (want("media-source-supported")) g.add_keywords("media-source-supported", {"auto"});
    if (want("media-supported")) {
        std::vector<std::string_view> names;
        for (const auto& m : media) names.push_back(m.name);
        g.add_keywords("media-supported", names);
    }
    if (want("media-type-supported")) g.add_keywords("media-type-supported", {"stationery"});
    if (want("multiple-document-handling-supported"))
        g.add_keywords("multiple-document-handling-supported", {"separate-documents-uncollated-copies",
                                                                 "separate-documents-collated-copies"});
    if (want("multiple-document-jobs-supported")) g.add_boolean("multiple-document-jobs-supported", true);
    if (want("multiple-operation-time-out")) g.add_integer("multiple-operation-time-out", 300);
    if (want("natural-language-configured")) g.add_natural_language("natural-language-configured", "en");
    if (want("operations-supported"))
        g.add_enums("operations-supported", {0x0002, 0x0004, 0x0005, 0x0006, 0x0008, 0x0009, 0x000A, 0x000B,
                                             0x000C, 0x000D, 0x0010, 0x0011, 0x4001, 0x4002});
    if (want("orientation-requested-default")) g.add_enum("orientation-requested-default", 3);
    if (want("orientation-requested-supported")) g.add_enums("orientation-requested-supported", {3, 4, 5, 6});
    if (want("output-bin-default")) g.add_keyword("output-bin-default", "face-down");
    if (want("output-bin-supported")) g.add_keywords("output-bin-supported", {"face-down"});
    if (want("pages-per-minute")) g.add_integer("pages-per-minute", 20);
    if (want("pages-per-minute-color") && color) g.add_integer("pages-per-minute-color", 10);
    if (want("pdl-override-supported")) g.add_keyword("pdl-override-supported", "attempted");
    if (want("print-color-mode-default")) g.add_keyword("print-color-mode-default", color ? "auto" : "monochrome");
    if (want("print-color-mode-supported")) {
        if (color) g.add_keywords("print-color-mode-supported", {"auto", "color", "monochrome"});
        else g.add_keywords("print-color-mode-supported", {"auto", "monochrome"});
    }
    if (want("print-quality-default")) g.add_enum("print-quality-default", 4);
    if (want("print-quality-supported")) g.add_enums("print-quality-supported", {3, 4, 5});
    if (want("printer-current-time")) g.add_date_time("printer-current-time", ipp::date_time_utc(p.now));
    if (want("printer-info")) g.add_text("printer-info", p.description.empty() ? p.queue : p.description);
    if (want("printer-is-accepting-jobs")) g.add_boolean("printer-is-accepting-jobs", true);
    if (want("printer-location")) g.add_text("printer-location", "");
    if (want("printer-make-and-model")) g.add_text("printer-make-and-model", "printgate print gateway");
    if (want("printer-more-info")) g.add_uri("printer-more-info", p.more_info);
    if (want("printer-name")) g.add_name("printer-name", p.queue);
    if (want("printer-resolution-default")) g.add_resolution("printer-resolution-default", best);
    if (want("printer-resolution-supported")) g.add_resolutions("printer-resolution-supported", resolutions);
    if (want("printer-state")) g.add_enum("printer-state", p.paused ? 5 : p.processing ? 4 : 3);
    if (want("printer-state-message"))
        g.add_text("printer-state-message",
                   p.paused                 ? "paused by an operator; jobs are kept until it is resumed"
                   : !p.state_message.empty() ? p.state_message
                   : p.direct               ? "accepting jobs; jobs go to the printer at once"
                                            : "accepting jobs; jobs are held for release");
    if (want("printer-state-reasons")) {
        std::vector<std::string_view> reasons;
        if (p.paused) reasons.push_back("paused");
        for (const auto& r : p.state_reasons) reasons.push_back(r);
        if (reasons.empty()) reasons.push_back("none");
        g.add_keywords("printer-state-reasons", reasons);
    }
    if (want("printer-up-time")) g.add_integer("printer-up-time", static_cast<std::int32_t>(p.now - p.up_since + 1));
    if (want("printer-uri-supported")) g.add_uri("printer-uri-supported", p.uri);
    if (want("printer-uuid")) g.add_uri("printer-uuid", p.uuid);
    if (want("pwg-raster-document-resolution-supported"))
        g.add_resolutions("pwg-raster-document-resolution-supported", resolutions);
    if (want("pwg-raster-document-sheet-back")) g.add_keyword("pwg-raster-document-sheet-back", "normal");
    if (want("pwg-raster-document-type-supported"))
    {
        if (color) g.add_keywords("pwg-raster-document-type-supported", {"black_1", "sgray_8", "srgb_8"});
        else g.add_keywords("pwg-raster-document-type-supported", {"black_1", "sgray_8"});
    }
    if (want("queued-job-count")) g.add_integer("queued-job-count", static_cast<std::int32_t>(p.queued_jobs));
    if (want("sides-default")) g.add_keyword("sides-default", "one-sided");
    if (want("sides-supported")) {
        if (duplex) g.add_keywords("sides-supported", {"one-sided", "two-sided-long-edge", "two-sided-short-edge"});
        else g.add_keywords("sides-supported", {"one-sided"});
    }
    if (want("urf-supported")) {
        std::vector<std::string_view> urf{"V1.4", "CP1"};
        if (duplex) urf.push_back("DM1");
        std::string rs = "RS";
        for (std::size_t i = 0; i < resolutions.size(); ++i)
            rs += (i ? "-" : "") + std::to_string(resolutions[i].x);
        urf.insert(urf.end(), {"IS1", "MT1-2-3-4-5-6", "PQ3-4-5"});
        urf.push_back(rs);
        if (color) urf.push_back("SRGB24");
        urf.push_back("W8");
        g.add_keywords("urf-supported", urf);
    }
    if (want("uri-authentication-supported"))
        g.add_keyword("uri-authentication-supported", p.basic_auth ? "basic" : "none");
    // A basic-auth queue takes credentials only over TLS (IPPS, or an upgrade).
    if (want("uri-security-supported"))
        g.add_keyword("uri-security-supported", p.tls || p.basic_auth ? "tls" : "none");
    if (want("which-jobs-supported")) g.add_keywords("which-jobs-supported", {"completed", "not-completed", "all"});
}

void add_job_attributes(ipp::Group& g, const JobView& v, const Wanted& w) {
    const spool::JobRecord& j = *v.job;
    auto want = [&](std::string_view n) { return w(n); };
    const std::int64_t created = j.created_ms / 1000;
    if (want("job-id")) g.add_integer("job-id", static_cast<std::int32_t>(j.id));
    if (want("job-uri")) g.add_uri("job-uri", v.job_uri);
    if (want("job-printer-uri")) g.add_uri("job-printer-uri", v.printer_uri);
    if (want("job-name") && v.show_private) g.add_name("job-name", j.meta.name.empty() ? "Untitled" : j.meta.name);
    if (want("job-originating-user-name")) g.add_name("job-originating-user-name", j.meta.user);
    if (want("job-state")) g.add_enum("job-state", spool::ipp_enum(j.state));
    if (want("job-state-reasons")) {
        const std::string& r = j.delivery.reason;
        switch (j.state) {
        case spool::JobState::held: g.add_keywords("job-state-reasons", {"job-hold-until-specified"}); break;
        case spool::JobState::completed:
            g.add_keyword("job-state-reasons", r.empty() ? "job-completed-successfully" : r);
            break;
        case spool::JobState::canceled:
            g.add_keyword("job-state-reasons", r.empty() || r == "job-printing" ? "job-canceled-by-user" : r);
            break;
        case spool::JobState::aborted: g.add_keyword("job-state-reasons", r.empty() ? "aborted-by-system" : r); break;
        case spool::JobState::pending: g.add_keyword("job-state-reasons", r.empty() ? "job-queued" : r); break;
        case spool::JobState::processing: g.add_keyword("job-state-reasons", r.empty() ? "job-printing" : r); break;
        }
    }
    if (want("job-state-message") && !j.delivery.message.empty())
        g.add_text("job-state-message", j.delivery.message);
    if (want("job-hold-until") && j.state == spool::JobState::held) g.add_keyword("job-hold-until", "indefinite");
    if (want("job-printer-up-time"))
        g.add_integer("job-printer-up-time", static_cast<std::int32_t>(v.now - v.up_since + 1));
    if (want("time-at-creation")) g.add_integer("time-at-creation", static_cast<std::int32_t>(created - v.up_since + 1));
    if (want("time-at-processing")) g.add_out_of_band("time-at-processing", ipp::ValueTag::no_value);
    if (want("output-device-job-id") && !j.delivery.remote_id.empty()) {
        char* end = nullptr;
        const long remote = std::strtol(j.delivery.remote_id.c_str(), &end, 10);
        if (end != nullptr && *end == '\0' && remote > 0 && remote <= 0x7fffffff)
            g.add_integer("output-device-job-id", static_cast<std::int32_t>(remote));
    }
    if (want("time-at-completed")) {
        if (spool::is_final(j.state))
            g.add_integer("time-at-completed",
                          static_cast<std::int32_t>(
                              (j.delivery.done_ms != 0 ? j.delivery.done_ms : j.updated_ms) / 1000 - v.up_since + 1));
        else
            g.add_out_of_band("time-at-completed", ipp::ValueTag::no_value);
    }
    if (want("date-time-at-creation")) g.add_date_time("date-time-at-creation", ipp::date_time_utc(created));
    if (want("job-k-octets"))
        g.add_integer("job-k-octets", static_cast<std::int32_t>(std::min<std::uint64_t>((j.size + 1023) / 1024,
                                                                                        0x7fffffff)));
    if (want("document-format") && v.show_private)
        g.add_mime_media_type("document-format",
                              j.meta.document_format.empty() ? "application/octet-stream" : j.meta.document_format);
    if (want("job-impressions-completed"))
        g.add_integer("job-impressions-completed",
                      static_cast<std::int32_t>(std::clamp<std::int64_t>(j.delivery.impressions, 0, 0x7fffffff)));
    if (want("job-media-sheets-completed")) g.add_integer("job-media-sheets-completed", 0);
    if (!j.meta.attributes.empty() && want("copies")) {
        boost::system::error_code ec;
        auto a = boost::json::parse(j.meta.attributes, ec);
        if (!ec && a.is_object())
            if (auto* c = a.as_object().if_contains("copies"); c && c->is_int64())
                g.add_integer("copies", static_cast<std::int32_t>(c->as_int64()));
    }
}

}  // namespace pg::service
