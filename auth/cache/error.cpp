// SPDX-License-Identifier: Apache-2.0
// The pg.auth.cache error category.
//
// Owns: the text of every cache_errc. Must not: do I/O or echo input.

#include "auth/cache/error.hpp"

#include <string>

namespace pg::auth {

namespace {

class CacheCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.auth.cache"; }
    std::string message(int ev) const override {
        switch (static_cast<cache_errc>(ev)) {
            case cache_errc::ok: return "success";
            case cache_errc::open_failed: return "cannot open the credential cache";
            case cache_errc::wrong_master_key: return "the master key does not open the credential cache";
            case cache_errc::corrupt: return "credential cache entry failed authentication";
            case cache_errc::storage_failed: return "credential cache storage error";
            case cache_errc::bad_input: return "invalid argument";
            case cache_errc::not_found: return "no such user";
            case cache_errc::hash_failed: return "password hashing failed";
            case cache_errc::rng_failed: return "random source failed";
        }
        return "unknown pg.auth.cache error";
    }
};

}  // namespace

const boost::system::error_category& cache_category() noexcept {
    static const CacheCategory category;
    return category;
}

}  // namespace pg::auth
