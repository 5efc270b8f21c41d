// SPDX-License-Identifier: Apache-2.0
// Streaming decompression of IPP documents sent with `compression` gzip
// (RFC 1952) or deflate (RFC 1951), over zlib. Pure: bytes in, bytes out.
// The caller bounds the output (the spool's max_job_size stops a gzip bomb).
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>

namespace pg::compress {

enum class Format { gzip, deflate };

class Inflater {
public:
    explicit Inflater(Format format);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    // Decompresses `in`; `sink` receives each output chunk (at most 256 KiB) and
    // returns false to stop (then feed returns false with error() empty).
    // Returns false with error() set on corrupt input or data after the end.
    bool feed(std::span<const std::byte> in, const std::function<bool(std::span<const std::byte>)>& sink);
    // True when the compressed stream ended properly.
    bool finished() const { return done_; }
    const std::string& error() const { return error_; }

private:
    struct State;
    std::unique_ptr<State> s_;
    bool done_ = false;
    std::string error_;
};

}  // namespace pg::compress
