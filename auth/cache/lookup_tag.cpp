// SPDX-License-Identifier: Apache-2.0
// Lookup tags (HMAC-SHA256, OpenSSL's one-shot HMAC) and secret shape rules.
//
// Owns: the tag encoding. Must not: keep the message (it holds a PIN or card) after the call.

#include "auth/cache/lookup_tag.hpp"

#include <array>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace pg::auth {

namespace {

bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string base64url_nopad(const unsigned char* data, std::size_t n) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((n * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        const unsigned v = (unsigned{data[i]} << 16) | (unsigned{data[i + 1]} << 8) | data[i + 2];
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    if (n - i == 1) {
        const unsigned v = unsigned{data[i]} << 16;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
    } else if (n - i == 2) {
        const unsigned v = (unsigned{data[i]} << 16) | (unsigned{data[i + 1]} << 8);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
    }
    return out;
}

}  // namespace

std::optional<std::string> normalize_card(std::string_view card) {
    std::string out;
    out.reserve(card.size());
    for (char c : card) {
        if (is_ascii_space(c)) continue;
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        const bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
        if (!hex || out.size() == kMaxCardChars) {
            OPENSSL_cleanse(out.data(), out.size());
            return std::nullopt;
        }
        out += c;
    }
    if (out.empty()) return std::nullopt;
    return out;
}

bool is_valid_pin(std::string_view pin) { return !pin.empty() && pin.size() <= kMaxPinChars; }

std::string fold_login_name(std::string_view name) {
    while (!name.empty() && is_ascii_space(name.front())) name.remove_prefix(1);
    while (!name.empty() && is_ascii_space(name.back())) name.remove_suffix(1);
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

std::string lookup_tag(const crypto::Key& key, std::string_view label, std::string_view value) {
    std::vector<unsigned char> message;
    message.reserve(label.size() + 1 + value.size());
    message.insert(message.end(), label.begin(), label.end());
    message.push_back(':');
    message.insert(message.end(), value.begin(), value.end());
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int mac_len = 0;
    const auto k = key.bytes();
    const bool ok = HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), message.data(), message.size(),
                         mac.data(), &mac_len) != nullptr;
    OPENSSL_cleanse(message.data(), message.size());
    std::string out = ok ? base64url_nopad(mac.data(), mac_len) : std::string();
    OPENSSL_cleanse(mac.data(), mac.size());
    return out;
}

}  // namespace pg::auth
