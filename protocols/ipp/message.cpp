// SPDX-License-Identifier: Apache-2.0
// IPP codec over libcups: ippReadIO/ippWriteIO with memory callbacks.
//
// libcups calls the callbacks from C, so nothing here may throw through them:
// the write callback reports allocation failure as -1 instead.
#include "protocols/ipp/message.hpp"

#include <cstring>
#include <new>

#include <cups/ipp.h>

namespace pg::ipp {

namespace {

struct MemoryReader {
    std::span<const std::byte> bytes;
    std::size_t position = 0;
};

// ipp_iocb_t for reading: hands out at most `wanted` bytes; 0 at the end, which
// ippReadIO treats as a short read (an error), never as "come back later".
ssize_t read_memory(void* context, ipp_uchar_t* buffer, size_t wanted) {
    auto* reader = static_cast<MemoryReader*>(context);
    const std::size_t left = reader->bytes.size() - reader->position;
    const std::size_t n = wanted < left ? wanted : left;
    if (n > 0) std::memcpy(buffer, reader->bytes.data() + reader->position, n);
    reader->position += n;
    return static_cast<ssize_t>(n);
}

struct MemoryWriter {
    std::vector<std::byte>* out = nullptr;
    bool failed = false;
};

ssize_t write_memory(void* context, ipp_uchar_t* buffer, size_t length) {
    auto* writer = static_cast<MemoryWriter*>(context);
    try {
        const auto* first = reinterpret_cast<const std::byte*>(buffer);
        writer->out->insert(writer->out->end(), first, first + length);
    } catch (const std::bad_alloc&) {
        writer->failed = true;
        return -1;
    }
    return static_cast<ssize_t>(length);
}

ParseError make_error(errc code, std::size_t offset, const char* message) {
    return ParseError{make_error_code(code), offset, message};
}

}  // namespace

Message& Message::operator=(Message&& other) noexcept {
    if (this != &other) {
        if (ipp_ != nullptr) ippDelete(ipp_);
        ipp_ = other.release();
    }
    return *this;
}

Message::~Message() {
    if (ipp_ != nullptr) ippDelete(ipp_);
}

Message Message::create() {
    return Message(ippNew());
}

ipp_t* Message::release() noexcept {
    ipp_t* p = ipp_;
    ipp_ = nullptr;
    return p;
}

Version Message::version() const {
    if (ipp_ == nullptr) return {0, 0};
    int minor = 0;
    const int major = ippGetVersion(ipp_, &minor);
    return {static_cast<std::uint8_t>(major), static_cast<std::uint8_t>(minor)};
}

std::uint16_t Message::operation_or_status() const {
    if (ipp_ == nullptr) return 0;
    return static_cast<std::uint16_t>(ippGetOperation(ipp_));
}

std::int32_t Message::request_id() const {
    if (ipp_ == nullptr) return 0;
    return static_cast<std::int32_t>(ippGetRequestId(ipp_));
}

ParseResult<Message> decode(std::span<const std::byte> section, const FrameLimits& limits) {
    // Frame first: it enforces the limits libcups 2.4.2 lacks (collection depth,
    // sizes) and pins the exact end of the section.
    FrameParser frame(limits);
    const FeedResult framed = frame.feed(section);
    if (framed.status == FrameStatus::error) return frame.error();
    if (framed.status == FrameStatus::need_more)
        return make_error(errc::truncated, section.size(), "attribute section is incomplete");
    if (framed.consumed != section.size())
        return make_error(errc::trailing_data, framed.consumed, "bytes after the end-of-attributes tag");

    Message message(ippNew());
    if (!message) return make_error(errc::out_of_memory, 0, "cannot allocate an IPP message");

    MemoryReader reader{section, 0};
    const ipp_state_t state = ippReadIO(&reader, read_memory, /*blocking=*/1, /*parent=*/nullptr, message.get());
    if (state != IPP_STATE_DATA)
        return make_error(errc::decode_failed, reader.position, "the IPP decoder rejected the attribute section");
    if (reader.position != section.size())
        return make_error(errc::trailing_data, reader.position, "the IPP decoder stopped before the end");
    return message;
}

Result<std::vector<std::byte>> encode(const Message& message) {
    ipp_t* ipp = message.get();
    if (ipp == nullptr) return make_error_code(errc::encode_failed);

    std::vector<std::byte> out;
    MemoryWriter writer{&out, false};
    try {
        out.reserve(ippLength(ipp));
    } catch (const std::bad_alloc&) {
        return make_error_code(errc::out_of_memory);
    }
    ippSetState(ipp, IPP_STATE_IDLE);
    // Blocking mode writes the whole message in one call; the bound only guards
    // against a libcups that would return early without progress.
    ipp_state_t state = IPP_STATE_IDLE;
    for (int round = 0; round < 4 && state != IPP_STATE_DATA; ++round) {
        state = ippWriteIO(&writer, write_memory, /*blocking=*/1, /*parent=*/nullptr, ipp);
        if (state == IPP_STATE_ERROR) break;
    }
    if (writer.failed) return make_error_code(errc::out_of_memory);
    if (state != IPP_STATE_DATA) return make_error_code(errc::encode_failed);
    return out;
}

}  // namespace pg::ipp
