// SPDX-License-Identifier: Apache-2.0
// Round-trip fuzz target for the LPD control file writer (clang-14 libFuzzer; with
// GCC it links into the corpus-replay test fuzz_replay.lpd_roundtrip).
//
// Input: one flags byte (which picks tight or default parse limits, as in
// lpd_control), then a control file. When it parses:
//  * written back with limits roomy enough for anything the parser accepts (255-byte
//    fields, the parse limits' line count and file count), the writer must succeed
//    and parsing its output must give the same job: every field and file, copies,
//    N lines and U lines. Not compared: the counters (written files have no foreign
//    or empty lines: ignored_lines is 0 and line_count is the LF count) and the
//    job-level source_name, which after writing is the first file's N (the parser
//    keeps the first N line it saw, even one no file kept, as in "Na Nb ldfA");
//  * writing the reparsed job gives the same bytes again (a fixed point);
//  * written with the RFC 1179 §7 defaults (31/99/131-byte fields, the default
//    receiver limits), the writer either fails with a limit error or its output
//    parses under those limits, keeps every line within max_line, prints the same
//    files, and every text field is a prefix of the original one;
//  * spool names from any host are valid file names the parser splits back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "protocols/lpd/control_file.hpp"
#include "tests/fuzz/lpd_fuzz_input.hpp"
#include "protocols/lpd/control_writer.hpp"
#include "protocols/lpd/lpd.hpp"

namespace {

using namespace pg::lpd;

void check(bool condition) {
    if (!condition) std::abort();
}

// Everything the writer carries; the counters and job-level source_name are left out.
bool same_fields(const ControlFile& a, const ControlFile& b) {
    return a.files == b.files && a.host == b.host && a.user == b.user && a.job_name == b.job_name &&
           a.banner_class == b.banner_class && a.banner_user == b.banner_user && a.title == b.title &&
           a.indent == b.indent && a.width == b.width && a.mail_user == b.mail_user && a.fonts == b.fonts &&
           a.unlink == b.unlink;
}

std::optional<std::string> first_file_name(const ControlFile& job) {
    for (const PrintFile& f : job.files)
        if (f.source_name) return f.source_name;
    return std::nullopt;
}

void check_prefix(const std::optional<std::string>& written, const std::optional<std::string>& original) {
    if (!original) {
        check(!written);
        return;
    }
    check(written.has_value());
    check(original->compare(0, written->size(), *written) == 0);
}

void check_lines(std::string_view bytes, const ControlLimits& limits) {
    check(bytes.empty() || bytes.back() == '\n');
    std::size_t start = 0;
    while (start < bytes.size()) {
        const std::size_t lf = bytes.find('\n', start);
        check(lf != std::string_view::npos);
        check(lf > start && lf - start <= limits.max_line);
        start = lf + 1;
    }
}

void check_spool_names(std::string_view host) {
    const std::string h = spool_host(host, 15);
    check(!h.empty() && h.size() <= 15);
    for (const bool control : {true, false}) {
        const auto name = spool_file_name(control, control ? 0 : host.size() % max_spool_letters,
                                          static_cast<unsigned>(host.size()), h);
        check(name.has_value() && is_valid_file_name(*name));
        // A host that starts with digits runs into the job number (the parser
        // takes up to 9 digits); any other splits back exactly.
        const auto parts = parse_spool_name(*name);
        if (h[0] >= '0' && h[0] <= '9') {
            if (parts) check(std::string(parts->number) + std::string(parts->host) == name->substr(3));
            continue;
        }
        check(parts.has_value() && parts->control == control && parts->number.size() == 3 && parts->host == h);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = pg::lpd::fuzz::split_control_input(data, size);
    if (!input) return 0;
    const ControlLimits& limits = input->limits;
    const std::string_view bytes = input->bytes;

    check_spool_names(bytes.substr(0, bytes.find('\n')));

    const auto parsed = parse_control_file(bytes, limits);
    if (!parsed) return 0;
    const ControlFile& job = *parsed;

    // 1. Roomy limits: an exact round trip.
    WriteLimits roomy;
    roomy.max_host = roomy.max_user = roomy.max_job_name = roomy.max_class = roomy.max_title =
        roomy.max_source_name = 255;
    roomy.receiver.max_bytes = static_cast<std::size_t>(-1);
    roomy.receiver.max_lines = limits.max_lines;
    roomy.receiver.max_line = std::max<std::size_t>(limits.max_line, 256);
    roomy.receiver.max_data_files = limits.max_data_files;
    const auto written = write_control_file(job, roomy);
    check(written.has_value());
    const auto again = parse_control_file(*written, roomy.receiver);
    check(again.has_value());
    check(same_fields(job, *again));
    check(again->source_name == first_file_name(job));
    check(again->ignored_lines == 0);
    check(again->line_count == static_cast<std::size_t>(std::count(written->begin(), written->end(), '\n')));
    check(again->line_count <= job.line_count);
    const auto rewritten = write_control_file(*again, roomy);
    check(rewritten.has_value() && *rewritten == *written);

    // 2. RFC 1179 defaults: cut fields, or a limit error.
    const WriteLimits rfc;
    const auto cut = write_control_file(job, rfc);
    if (!cut) {
        const auto code = static_cast<errc>(cut.error().code.value());
        check(code == errc::control_file_too_large || code == errc::too_many_lines || code == errc::line_too_long ||
              code == errc::too_many_files);
        check(!cut.error().message.empty());
        return 0;
    }
    check(cut->size() <= rfc.receiver.max_bytes);
    check_lines(*cut, rfc.receiver);
    const auto back = parse_control_file(*cut, rfc.receiver);
    check(back.has_value());
    check(back->unlink == job.unlink && back->indent == job.indent && back->width == job.width);
    check(back->files.size() == job.files.size());
    for (std::size_t i = 0; i < job.files.size(); ++i) {
        check(back->files[i].name == job.files[i].name && back->files[i].format == job.files[i].format &&
              back->files[i].copies == job.files[i].copies);
        check_prefix(back->files[i].source_name, job.files[i].source_name);
    }
    for (const auto field : {&ControlFile::host, &ControlFile::user, &ControlFile::job_name,
                             &ControlFile::banner_class, &ControlFile::banner_user, &ControlFile::title,
                             &ControlFile::mail_user}) {
        check_prefix((*back).*field, job.*field);
    }
    check(back->host.value_or("").size() <= rfc.max_host && back->user.value_or("").size() <= rfc.max_user &&
          back->job_name.value_or("").size() <= rfc.max_job_name && back->title.value_or("").size() <= rfc.max_title);
    for (std::size_t i = 0; i < job.fonts.size(); ++i) check_prefix(back->fonts[i], job.fonts[i]);
    const auto fixed = write_control_file(*back, rfc);
    check(fixed.has_value() && *fixed == *cut);
    return 0;
}
