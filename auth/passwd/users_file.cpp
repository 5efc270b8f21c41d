// SPDX-License-Identifier: Apache-2.0
// Users file parser and user-name rules (see users_file.hpp for the format).
//
// Owns: line splitting, name validation (a UTF-8 decoder of its own: auth/ may not
// depend on protocols/), duplicate detection. Must not: do I/O, log, or put input
// bytes into error messages (a hash line is a password equivalent for offline
// guessing and must not reach a journal through an error).

#include "auth/passwd/users_file.hpp"

#include <cassert>

namespace pg::auth {

namespace {

struct CodePoint {
    char32_t value = 0;
    std::size_t length = 0;
};

bool is_continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Decodes one UTF-8 sequence at s[i] (RFC 3629 §4's table of well-formed byte
// sequences); nullopt for an ill-formed or truncated one.
std::optional<CodePoint> decode_utf8(std::string_view s, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char b0 = byte(0);
    if (b0 < 0x80) return CodePoint{b0, 1};
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        if (b0 == 0xE0) lo = 0xA0;  // overlong
        if (b0 == 0xED) hi = 0x9F;  // surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        if (b0 == 0xF0) lo = 0x90;  // overlong
        if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return std::nullopt;
    }
    if (s.size() - i < len) return std::nullopt;
    if (byte(1) < lo || byte(1) > hi) return std::nullopt;
    char32_t cp = b0 & (0x7F >> len);
    for (std::size_t k = 1; k < len; ++k) {
        if (!is_continuation(byte(k))) return std::nullopt;
        cp = (cp << 6) | (byte(k) & 0x3F);
    }
    return CodePoint{cp, len};
}

// Characters a name must not contain, besides ':' (see check_user_name).
bool is_forbidden(char32_t c) {
    if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return true;  // C0, DEL, C1
    switch (c) {
        case 0x00AD:  // soft hyphen
        case 0x061C:  // Arabic letter mark
        case 0x180E:  // Mongolian vowel separator
        case 0x2028:  // line separator
        case 0x2029:  // paragraph separator
        case 0xFEFF:  // zero-width no-break space (BOM)
            return true;
        default: break;
    }
    if (c >= 0x200B && c <= 0x200F) return true;  // zero-width space/joiners, LRM, RLM
    if (c >= 0x202A && c <= 0x202E) return true;  // bidi embeddings and overrides
    if (c >= 0x2060 && c <= 0x206F) return true;  // word joiner, invisible operators, isolates
    if (c >= 0xFFF9 && c <= 0xFFFB) return true;  // interlinear annotation
    return false;
}

ParseError error_at(errc code, std::size_t line, std::size_t column, std::string message) {
    return ParseError{make_error_code(code), line, column, std::move(message)};
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string fold_user_name(std::string_view name) {
    std::string out(name);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool UsersTable::try_add(UserEntry entry) {
    assert(!check_user_name(entry.name, entry.name.size() + 1));
    auto [it, inserted] = index_.try_emplace(fold_user_name(entry.name), entries_.size());
    if (!inserted) return false;
    entries_.push_back(std::move(entry));
    return true;
}

const UserEntry* UsersTable::find(std::string_view name) const {
    const auto it = index_.find(fold_user_name(name));
    return it == index_.end() ? nullptr : &entries_[it->second];
}

std::optional<NameProblem> check_user_name(std::string_view name, std::size_t max_bytes) {
    if (name.empty()) return NameProblem{0, "user name is empty"};
    if (name.size() > max_bytes) return NameProblem{0, "user name is too long"};
    if (name.front() == ' ') return NameProblem{0, "user name starts with a space"};
    if (name.front() == '#') return NameProblem{0, "user name starts with '#'"};
    if (name.back() == ' ') return NameProblem{name.size() - 1, "user name ends with a space"};
    for (std::size_t i = 0; i < name.size();) {
        const auto cp = decode_utf8(name, i);
        if (!cp) return NameProblem{i, "user name is not valid UTF-8"};
        if (cp->value == ':') return NameProblem{i, "user name contains ':'"};
        if (is_forbidden(cp->value))
            return NameProblem{i, "user name contains a control or invisible format character"};
        i += cp->length;
    }
    return std::nullopt;
}

ParseResult<UsersTable> parse_users_file(std::string_view text, const UsersFileLimits& limits) {
    if (text.size() > limits.max_file_bytes)
        return error_at(errc::file_too_large, 0, 0,
                        "users file larger than " + std::to_string(limits.max_file_bytes) + " bytes");
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);

    UsersTable table;
    std::size_t line_no = 0;
    std::size_t pos = 0;
    while (pos < text.size()) {
        ++line_no;
        const std::size_t eol = text.find('\n', pos);
        std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
        pos = eol == std::string_view::npos ? text.size() : eol + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.size() > limits.max_line_bytes)
            return error_at(errc::line_too_long, line_no, limits.max_line_bytes + 1,
                            "line longer than " + std::to_string(limits.max_line_bytes) + " bytes");
        while (!line.empty() && is_blank(line.back())) line.remove_suffix(1);

        std::size_t first = 0;
        while (first < line.size() && is_blank(line[first])) ++first;
        if (first == line.size() || line[first] == '#') continue;

        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos)
            return error_at(errc::missing_separator, line_no, 1, "expected NAME:HASH");
        const std::string_view name = line.substr(0, colon);
        if (const auto problem = check_user_name(name, limits.max_name_bytes))
            return error_at(errc::bad_user_name, line_no, problem->offset + 1, std::string(problem->reason));
        if (table.size() >= limits.max_users)
            return error_at(errc::too_many_users, line_no, 1,
                            "more than " + std::to_string(limits.max_users) + " users");

        auto hash = parse_phc(line.substr(colon + 1), limits.phc);
        if (!hash) {
            ParseError e = hash.error();
            e.line = line_no;
            e.column = e.column == 0 ? colon + 2 : colon + 1 + e.column;
            return e;
        }
        if (const UserEntry* earlier = table.find(name))
            return error_at(errc::duplicate_user, line_no, 1,
                            "duplicate user name (first defined on line " + std::to_string(earlier->line) +
                                "; names are compared ignoring ASCII case)");
        const bool added = table.try_add(UserEntry{std::string(name), std::move(*hash), line_no});
        assert(added);
        (void)added;
    }
    return table;
}

}  // namespace pg::auth
