// SPDX-License-Identifier: Apache-2.0
// Fuzz target for the IPP codec (clang-14 libFuzzer; with GCC it links into the
// corpus-replay test fuzz_replay.ipp_frame).
//
// Input: one seed byte, then an HTTP body (IPP message, maybe document data). The
// seed picks the piece sizes the body is fed in (0: all at once; else pseudo-random
// pieces of 1..(seed % 64 + 1) bytes, with empty feeds mixed in). Checks:
//  * incremental framing agrees with one-shot framing (status, consumed, error);
//  * a complete section ends with 0x03 and is never larger than the input;
//  * decode() agrees with the framer (truncated / trailing_data) and, when libcups
//    accepts the section, encode() -> decode() -> encode() is stable;
//  * view() either yields a request whose names are sanitised, or an error whose
//    error_response() is itself a well-framed, decodable IPP message;
//  * the encoder frames any text it is given, and sanitize_name's output is
//    valid UTF-8 without controls within 255 bytes.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/ipp/frame.hpp"
#include "protocols/ipp/message.hpp"
#include "protocols/ipp/request.hpp"
#include "protocols/ipp/response.hpp"
#include "protocols/text/sanitize.hpp"

namespace {

using pg::ipp::FeedResult;
using pg::ipp::FrameParser;
using pg::ipp::FrameStatus;

void check(bool condition) {
    if (!condition) std::abort();
}

pg::ipp::errc code_of(const pg::ipp::ParseError& e) {
    return static_cast<pg::ipp::errc>(e.code.value());
}

void check_name(const std::optional<std::string>& name) {
    if (!name) return;
    check(name->size() <= pg::text::max_name_bytes);
    check(pg::text::is_valid_utf8(*name));
    for (unsigned char c : *name) check(c >= 0x20 && c != 0x7F);
}

// A buffer must frame completely, to its last byte, and decode.
void check_well_formed(std::span<const std::byte> message) {
    FrameParser p;
    const FeedResult r = p.feed(message);
    check(r.status == FrameStatus::complete);
    check(r.consumed == message.size());
    check(pg::ipp::decode(message).has_value());
}

void check_codec(std::span<const std::byte> section) {
    auto decoded = pg::ipp::decode(section);
    if (!decoded) {
        // The framer accepted these bytes, so only libcups can object.
        check(code_of(decoded.error()) == pg::ipp::errc::decode_failed ||
              code_of(decoded.error()) == pg::ipp::errc::out_of_memory);
        return;
    }
    const pg::ipp::Message& message = *decoded;

    // Re-encoding: libcups may normalise once (e.g. a string cut at a NUL), then
    // the bytes are stable.
    const auto first = pg::ipp::encode(message);
    check(first.has_value());
    pg::ipp::FrameLimits roomy;
    roomy.max_section_bytes = 4 * 1024 * 1024;
    roomy.max_value_length = 65535;
    auto again = pg::ipp::decode(*first, roomy);
    check(again.has_value());
    const auto second = pg::ipp::encode(*again);
    check(second.has_value() && *second == *first);

    const pg::ipp::ViewResult view = pg::ipp::view(message);
    if (view) {
        const pg::ipp::Request& r = *view;
        check(r.request_id > 0);
        check(r.attributes_charset == "utf-8" || r.attributes_charset == "us-ascii");
        check(pg::ipp::is_supported_version(r.version));
        check(r.message == &message);
        check_name(r.requesting_user_name);
        check_name(r.job_name);
        check_name(r.document_name);
        if (r.job_id) check(*r.job_id >= 1);
        if (r.limit) check(*r.limit >= 1);
        if (r.first_index) check(*r.first_index >= 1);
    } else {
        check(!view.error().message.empty());
        check(static_cast<std::uint16_t>(view.error().status) >= 0x0400);
        const std::vector<std::byte> reply = pg::ipp::error_response(message, view.error()).bytes();
        check_well_formed(reply);
    }
}

void check_encoder(std::string_view text) {
    const std::string name = pg::text::sanitize_name(text);
    check(name.size() <= pg::text::max_name_bytes);
    check(pg::text::is_valid_utf8(name));
    for (unsigned char c : name) check(c >= 0x20 && c != 0x7F);

    pg::ipp::Response response(pg::ipp::Status::successful_ok, 1, {2, 0}, text);
    response.set_status_message(text);
    pg::ipp::Collection col;
    col.add_keyword("k", text).add_octet_string("o", std::as_bytes(std::span(text.data(), text.size())));
    response.add_job_group()
        .add_text("t", text)
        .add_name("n", text)
        .add_uri("u", text)
        .add_text_with_language("l", text, text)
        .add_collection("c", col);
    check_well_formed(response.bytes());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t seed = data[0];
    const auto body = std::as_bytes(std::span(data + 1, size - 1));

    // One shot.
    FrameParser whole;
    const FeedResult once = whole.feed(body);
    check(once.consumed <= body.size());
    if (once.status == FrameStatus::need_more) check(once.consumed == body.size());

    // In pieces.
    FrameParser pieces;
    std::size_t position = 0;
    std::size_t consumed = 0;
    std::uint32_t rng = 0x9E3779B9u ^ seed;
    const std::size_t max_piece = seed == 0 ? body.size() : std::size_t{seed % 64u} + 1;
    while (position < body.size() && pieces.status() == FrameStatus::need_more) {
        rng = rng * 1103515245u + 12345u;
        if ((rng >> 28) == 0) {  // an empty feed now and then
            const FeedResult r = pieces.feed({});
            check(r.status == FrameStatus::need_more && r.consumed == 0);
            continue;
        }
        const std::size_t piece = std::min(body.size() - position, std::size_t{(rng >> 16) % max_piece} + 1);
        const FeedResult r = pieces.feed(body.subspan(position, piece));
        check(r.consumed <= piece);
        if (r.status == FrameStatus::need_more) check(r.consumed == piece);
        consumed += r.consumed;
        position += piece;
    }
    check(pieces.status() == once.status);
    check(pieces.attribute_count() == whole.attribute_count());
    if (once.status == FrameStatus::complete) {
        check(consumed == once.consumed);
        check(whole.section_size() == once.consumed);
        check(pieces.section_size() == once.consumed);
        check(body[once.consumed - 1] == std::byte{0x03});
        // Finished parsers take nothing more.
        check(whole.feed(body).consumed == 0);
    } else if (once.status == FrameStatus::error) {
        check(pieces.error().code == whole.error().code);
        check(pieces.error().offset == whole.error().offset);
        check(whole.error().offset < body.size());
        check(!whole.error().message.empty());
    }

    // decode() on the whole body agrees with the framer.
    const auto decoded = pg::ipp::decode(body);
    switch (once.status) {
        case FrameStatus::need_more:
            check(!decoded && code_of(decoded.error()) == pg::ipp::errc::truncated);
            break;
        case FrameStatus::error:
            check(!decoded && decoded.error().code == whole.error().code);
            break;
        case FrameStatus::complete:
            if (once.consumed < body.size()) {
                check(!decoded && code_of(decoded.error()) == pg::ipp::errc::trailing_data);
                check(decoded.error().offset == once.consumed);
            }
            check_codec(body.first(once.consumed));
            break;
    }

    // The encoder and the sanitiser on the document part (or the whole body).
    const auto rest = once.status == FrameStatus::complete ? body.subspan(once.consumed) : body;
    check_encoder(std::string_view(reinterpret_cast<const char*>(rest.data()), std::min<std::size_t>(rest.size(), 2048)));
    return 0;
}
