// SPDX-License-Identifier: Apache-2.0
// An IPP message as libcups holds it, and the codec between it and bytes.
//
// Owns: Message (unique ownership of an ipp_t*), decode() and encode(), which run
// libcups' ippReadIO/ippWriteIO over memory callbacks (no http_t, no file).
// Must not: do I/O, log, or keep any pointer to the caller's bytes.
//
// Thread note: libcups keeps an iteration cursor inside ipp_t, so even reading a
// Message (ippFirstAttribute/ippFindAttribute, encode) changes it; a Message is
// used by one thread at a time. Distinct Messages may be used on any threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "protocols/ipp/frame.hpp"

extern "C" {
typedef struct _ipp_s ipp_t;  // same declaration as <cups/ipp.h>
}

namespace pg::ipp {

// Move-only owner of an ipp_t (ippDelete on destruction). May be empty.
class Message {
public:
    Message() = default;
    // Takes ownership of `ipp` (may be null).
    explicit Message(ipp_t* ipp) noexcept : ipp_(ipp) {}
    Message(Message&& other) noexcept : ipp_(other.release()) {}
    Message& operator=(Message&& other) noexcept;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
    ~Message();

    // A new empty message (ippNew: version 2.0, no attributes); empty on
    // allocation failure.
    static Message create();

    // The libcups object, for getters the typed views do not cover. Still owned
    // by this Message; null when empty. Non-const because libcups' getters move
    // the message's iteration cursor.
    ipp_t* get() const noexcept { return ipp_; }
    ipp_t* release() noexcept;
    explicit operator bool() const noexcept { return ipp_ != nullptr; }

    // Header fields (0 when empty).
    Version version() const;
    // operation-id of a request, status-code of a response (same field).
    std::uint16_t operation_or_status() const;
    std::int32_t request_id() const;

private:
    ipp_t* ipp_ = nullptr;
};

// Decodes exactly `section`: an IPP header and attribute section up to and
// including the end-of-attributes tag, nothing after it (FrameParser finds that
// boundary; pass bytes [0, section_size())). The bytes are framed first with
// `limits`, so decode is safe on untrusted input on its own; libcups then builds
// the Message. Errors (offsets from the first byte of `section`): the framing
// errors of FrameParser; truncated when the section is incomplete; trailing_data
// when bytes follow the end tag; decode_failed when libcups refuses the section
// (e.g. an integer value not 4 bytes long, mixed 1setOf value tags);
// out_of_memory.
ParseResult<Message> decode(std::span<const std::byte> section, const FrameLimits& limits = {});

// Encodes header, attributes and end-of-attributes tag (no document data) with
// ippWriteIO. encode_failed for an empty Message or one libcups cannot write
// (e.g. a value over 32767 bytes). Moves the message's iteration cursor.
Result<std::vector<std::byte>> encode(const Message& message);

}  // namespace pg::ipp
