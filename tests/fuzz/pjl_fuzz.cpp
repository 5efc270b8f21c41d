// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the PJL header scanner (clang-14 libFuzzer; with GCC it links
// into the corpus-replay test fuzz_replay.pjl).
//
// Input: one seed byte, then the head of a job stream. The seed picks the limits
// (bit 7: tight ones) and the piece sizes the stream is fed in (low bits, as in
// ipp_frame_fuzz: 0 all at once, else pseudo-random pieces with empty feeds).
// Checks, besides "no crash, no leak, no UB":
//  * one-shot, piecewise and byte-by-byte scans agree on everything;
//  * header_size <= scanned <= min(input, max_scan_bytes); enter_language ends
//    exactly at the scanned bytes; no_pjl has no header and no fields;
//  * a done scanner reads nothing more; finish() always decides;
//  * every reported string is sanitised (valid UTF-8, no controls, 1..255 bytes)
//    and owner()/title() return one of the fields.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocols/pjl/pjl.hpp"
#include "protocols/text/sanitize.hpp"

namespace {

using namespace pg::pjl;

void check(bool condition) {
    if (!condition) std::abort();
}

void check_text(const std::optional<std::string>& s) {
    if (!s) return;
    check(!s->empty() && s->size() <= 255);
    check(pg::text::is_valid_utf8(*s));
    for (unsigned char c : *s) check(c >= 0x20 && c != 0x7F);
}

using Fields = std::array<const std::optional<std::string>*, 11>;

Fields fields_of(const Header& h) {
    return {&h.language,  &h.job_name,        &h.set_jobname, &h.comment_title, &h.job_acct_user, &h.username,
            &h.host_login_name, &h.joau_user, &h.ljobinfo_user, &h.comment_user, &h.user_id};
}

bool same(const HeaderScanner& a, const HeaderScanner& b) {
    if (a.reason() != b.reason() || a.scanned() != b.scanned() || a.header_size() != b.header_size()) return false;
    const Header& x = a.header();
    const Header& y = b.header();
    if (x.uel != y.uel || x.pjl_lines != y.pjl_lines || x.utf8 != y.utf8) return false;
    const Fields fx = fields_of(x);
    const Fields fy = fields_of(y);
    for (std::size_t i = 0; i < fx.size(); ++i) {
        if (*fx[i] != *fy[i]) return false;
    }
    return true;
}

void check_scanner(const HeaderScanner& s, std::size_t input_size) {
    check(s.is_done());
    check(s.reason() != StopReason::none);
    check(s.scanned() <= input_size);
    check(s.scanned() <= s.limits().max_scan_bytes);
    check(s.header_size() <= s.scanned());
    const Header& h = s.header();
    if (s.reason() == StopReason::enter_language) check(s.header_size() == s.scanned());
    if (s.reason() == StopReason::no_pjl) {
        check(s.header_size() == 0);
        check(!h.uel && h.pjl_lines == 0);
    }
    if (h.pjl_lines == 0) check(!h.owner() && !h.title() && !h.language);
    for (const auto* field : fields_of(h)) check_text(*field);
    if (const auto owner = h.owner()) {
        bool found = false;
        for (const auto* field : {&h.job_acct_user, &h.username, &h.host_login_name, &h.joau_user, &h.ljobinfo_user,
                                  &h.comment_user, &h.user_id}) {
            found = found || (*field && **field == *owner);
        }
        check(found);
    }
    if (const auto title = h.title()) check(*title == h.job_name.value_or(h.set_jobname.value_or(h.comment_title.value_or(""))));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t seed = data[0];
    const auto body = std::as_bytes(std::span(data + 1, size - 1));

    ScanLimits limits;
    if (seed & 0x80) {
        limits.max_scan_bytes = 200;
        limits.max_line = 24;
    }

    // One shot.
    HeaderScanner whole(limits);
    whole.feed(body);
    const std::size_t scanned = whole.scanned();
    if (!whole.is_done()) check(scanned == body.size());
    whole.finish();
    check(whole.scanned() == scanned);
    check_scanner(whole, body.size());
    // Finished scanners take nothing more.
    check(whole.feed(body) == ScanStatus::done && whole.scanned() == scanned);

    // In pieces.
    HeaderScanner pieces(limits);
    std::uint32_t rng = 0x9E3779B9u ^ seed;
    const std::size_t max_piece = (seed & 0x7F) == 0 ? std::max<std::size_t>(body.size(), 1) : std::size_t{seed % 64u} + 1;
    std::size_t position = 0;
    while (position < body.size() && !pieces.is_done()) {
        rng = rng * 1103515245u + 12345u;
        if ((rng >> 28) == 0) {
            check(pieces.feed(std::span<const std::byte>()) == ScanStatus::need_more);
            continue;
        }
        const std::size_t piece = std::min(body.size() - position, std::size_t{(rng >> 16) % max_piece} + 1);
        const std::size_t before = pieces.scanned();
        const ScanStatus status = pieces.feed(body.subspan(position, piece));
        check(pieces.scanned() - before <= piece);
        if (status == ScanStatus::need_more) check(pieces.scanned() - before == piece);
        position += piece;
    }
    pieces.finish();
    check(same(whole, pieces));

    // Byte by byte (max_scan_bytes bounds what is read).
    HeaderScanner bytewise(limits);
    for (std::size_t i = 0; i < body.size() && !bytewise.is_done(); ++i) bytewise.feed(body.subspan(i, 1));
    bytewise.finish();
    check(same(whole, bytewise));

    // reset() starts over.
    pieces.reset();
    check(!pieces.is_done() && pieces.scanned() == 0);
    pieces.feed(body);
    pieces.finish();
    check(same(whole, pieces));
    return 0;
}
