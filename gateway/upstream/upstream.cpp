// SPDX-License-Identifier: Apache-2.0
// The upstream error category and Result's exception hook. See upstream.hpp.
#include "gateway/upstream/upstream.hpp"

#include <stdexcept>
#include <string>

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

namespace pg::upstream {

namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.upstream"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::ok: return "ok";
        case errc::unavailable: return "upstream unavailable";
        case errc::unauthorized: return "gateway credentials refused by the upstream";
        case errc::invalid_credentials: return "invalid user credentials";
        case errc::user_disabled: return "user disabled";
        case errc::rejected: return "request rejected by the upstream";
        case errc::bad_response: return "unreadable upstream response";
        case errc::not_configured: return "upstream not configured";
        }
        return "unknown upstream error";
    }
};

}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category c;
    return c;
}

void throw_exception_from_error(const Failure& f, const boost::source_location& loc) {
    // The message is already sanitised (no secrets): safe to carry in an exception.
    boost::throw_exception(boost::system::system_error(make_error_code(f.code), f.message), loc);
}

}  // namespace pg::upstream
