// SPDX-License-Identifier: Apache-2.0
// Job-owner normalisation and matching (rules in owner_match.hpp).

#include "auth/cache/owner_match.hpp"

namespace pg::auth {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string normalize_owner(std::string_view owner) {
    if (owner.size() > kMaxOwnerBytes) return {};
    std::string_view s = trim(owner);
    if (const auto slash = s.rfind('\\'); slash != std::string_view::npos) s.remove_prefix(slash + 1);
    if (const auto at = s.rfind('@'); at != std::string_view::npos) s = s.substr(0, at);
    s = trim(s);
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool owner_matches(std::string_view owner, std::string_view name, std::span<const std::string> aliases) {
    const std::string key = normalize_owner(owner);
    if (key.empty()) return false;
    if (normalize_owner(name) == key) return true;
    for (const auto& a : aliases)
        if (normalize_owner(a) == key) return true;
    return false;
}

}  // namespace pg::auth
