// SPDX-License-Identifier: Apache-2.0
// UserRecord <-> bytes (version 1).
//
// Owns: the field order of the sealed plaintext. Must not: seal or store.

#include "auth/cache/record.hpp"

#include <cstring>
#include <string_view>

namespace pg::auth::cache_detail {

namespace {

constexpr std::uint8_t kVersion = 1;

class Writer {
public:
    void u8(std::uint8_t v) { out_.push_back(static_cast<std::byte>(v)); }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFF));
    }
    void i64(std::int64_t s) {
        const auto v = static_cast<std::uint64_t>(s);
        for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xFF));
    }
    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        for (char c : s) out_.push_back(static_cast<std::byte>(c));
    }
    void strings(const std::vector<std::string>& v) {
        u32(static_cast<std::uint32_t>(v.size()));
        for (const auto& s : v) str(s);
    }
    std::vector<std::byte> take() { return std::move(out_); }

private:
    std::vector<std::byte> out_;
};

class Reader {
public:
    explicit Reader(std::span<const std::byte> in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }

    std::uint8_t u8() {
        if (!need(1)) return 0;
        return static_cast<std::uint8_t>(in_[pos_++]);
    }
    std::uint32_t u32() {
        if (!need(4)) return 0;
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(in_[pos_++]) << (8 * i);
        return v;
    }
    std::int64_t i64() {
        if (!need(8)) return 0;
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(in_[pos_++]) << (8 * i);
        return static_cast<std::int64_t>(v);
    }
    std::string str() {
        const std::uint32_t n = u32();
        if (n > kMaxStringBytes || !need(n)) {
            ok_ = false;
            return {};
        }
        std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
        pos_ += n;
        return s;
    }
    std::size_t count() {
        const std::uint32_t n = u32();
        if (n > kMaxListItems) ok_ = false;
        return ok_ ? n : 0;
    }
    std::vector<std::string> strings() {
        std::vector<std::string> v(count());
        for (auto& s : v) s = str();
        return v;
    }

private:
    bool need(std::size_t n) {
        if (!ok_ || in_.size() - pos_ < n) ok_ = false;
        return ok_;
    }
    std::span<const std::byte> in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

void put_secrets(Writer& w, const std::vector<SyncedSecret>& v) {
    w.u32(static_cast<std::uint32_t>(v.size()));
    for (const auto& s : v) {
        w.str(s.tag);
        w.str(s.phc);
    }
}

std::vector<SyncedSecret> get_secrets(Reader& r) {
    std::vector<SyncedSecret> v(r.count());
    for (auto& s : v) {
        s.tag = r.str();
        s.phc = r.str();
    }
    return v;
}

bool is_method(std::uint8_t m) { return m >= 1 && m <= 5; }

}  // namespace

std::vector<std::byte> encode_record(const UserRecord& r) {
    Writer w;
    w.u8(kVersion);
    w.str(r.user.id);
    w.str(r.user.name);
    w.str(r.user.full_name);
    w.str(r.user.email);
    w.strings(r.user.aliases);
    w.u32(static_cast<std::uint32_t>(r.user.accounts.size()));
    for (const auto& a : r.user.accounts) {
        w.str(a.id);
        w.str(a.name);
    }
    w.i64(r.last_login);
    w.u8(r.last_login_offline ? 1 : 0);
    w.u8(r.synced.present ? 1 : 0);
    put_secrets(w, r.synced.pins);
    put_secrets(w, r.synced.cards);
    w.str(r.synced.password_phc);
    w.u32(static_cast<std::uint32_t>(r.cached.size()));
    for (const auto& m : r.cached) {
        w.u8(static_cast<std::uint8_t>(m.method));
        w.str(m.card_tag);
        w.str(m.pin_tag);
        w.str(m.card_phc);
        w.str(m.pin_phc);
        w.str(m.password_phc);
        w.i64(m.valid_until);
        w.i64(m.last_verified);
    }
    return w.take();
}

std::optional<UserRecord> decode_record(std::span<const std::byte> bytes) {
    Reader r(bytes);
    if (r.u8() != kVersion) return std::nullopt;
    UserRecord out;
    out.user.id = r.str();
    out.user.name = r.str();
    out.user.full_name = r.str();
    out.user.email = r.str();
    out.user.aliases = r.strings();
    out.user.accounts.resize(r.count());
    for (auto& a : out.user.accounts) {
        a.id = r.str();
        a.name = r.str();
    }
    out.last_login = r.i64();
    out.last_login_offline = r.u8() != 0;
    out.synced.present = r.u8() != 0;
    out.synced.pins = get_secrets(r);
    out.synced.cards = get_secrets(r);
    out.synced.password_phc = r.str();
    out.cached.resize(r.count());
    for (auto& m : out.cached) {
        const std::uint8_t method = r.u8();
        if (!is_method(method)) return std::nullopt;
        m.method = static_cast<LoginMethod>(method);
        m.card_tag = r.str();
        m.pin_tag = r.str();
        m.card_phc = r.str();
        m.pin_phc = r.str();
        m.password_phc = r.str();
        m.valid_until = r.i64();
        m.last_verified = r.i64();
    }
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return out;
}

}  // namespace pg::auth::cache_detail
