// SPDX-License-Identifier: Apache-2.0
// A document in memory as a net::BodySource, for the output tests (convert,
// IPP client): handed out `chunk` bytes at a time, then an empty span.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>
#include <string>
#include <utility>

#include <boost/asio/awaitable.hpp>

#include "gateway/net/http_session.hpp"

namespace pg::test {

class MemoryBody final : public pg::net::BodySource {
public:
    MemoryBody(std::string data, std::size_t chunk) : data_(std::move(data)), chunk_(chunk) {}
    boost::asio::awaitable<boost::system::result<std::span<const std::byte>>> next() override {
        const std::size_t n = std::min(chunk_, data_.size() - pos_);
        auto out = std::as_bytes(std::span(data_.data() + pos_, n));
        pos_ += n;
        co_return out;
    }
    std::size_t size() const { return data_.size(); }

private:
    std::string data_;
    std::size_t chunk_;
    std::size_t pos_ = 0;
};

}  // namespace pg::test
