// SPDX-License-Identifier: Apache-2.0
#include "protocols/compress/inflate.hpp"

#include <array>

#include <zlib.h>

namespace pg::compress {

struct Inflater::State {
    z_stream z{};
    bool ok = false;
    std::array<unsigned char, 256 * 1024> out{};
};

Inflater::Inflater(Format format) : s_(std::make_unique<State>()) {
    // windowBits: 16+15 = gzip wrapper; -15 = raw deflate (RFC 1951), as CUPS sends it.
    int bits = format == Format::gzip ? 16 + MAX_WBITS : -MAX_WBITS;
    s_->ok = inflateInit2(&s_->z, bits) == Z_OK;
    if (!s_->ok) error_ = "zlib initialisation failed";
}

Inflater::~Inflater() {
    if (s_->ok) inflateEnd(&s_->z);
}

bool Inflater::feed(std::span<const std::byte> in, const std::function<bool(std::span<const std::byte>)>& sink) {
    if (!s_->ok) return false;
    if (done_) {
        if (in.empty()) return true;
        error_ = "data after the end of the compressed stream";
        return false;
    }
    auto& z = s_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    do {
        z.next_out = s_->out.data();
        z.avail_out = static_cast<uInt>(s_->out.size());
        int rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
            error_ = z.msg ? z.msg : "corrupt compressed data";
            return false;
        }
        std::size_t produced = s_->out.size() - z.avail_out;
        if (produced > 0 &&
            !sink(std::span<const std::byte>(reinterpret_cast<const std::byte*>(s_->out.data()), produced)))
            return false;
        if (rc == Z_STREAM_END) {
            done_ = true;
            if (z.avail_in > 0) {
                error_ = "data after the end of the compressed stream";
                return false;
            }
            return true;
        }
        if (rc == Z_BUF_ERROR && produced == 0) break;  // needs more input
    } while (z.avail_in > 0 || z.avail_out == 0);
    return true;
}

}  // namespace pg::compress
