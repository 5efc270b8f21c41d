// SPDX-License-Identifier: Apache-2.0
// The users file of `auth: basic` queues: a pure parser into a UsersTable.
//
// Owns: the file format, user-name rules and UsersTable. Must not: read the file
// (the caller passes its bytes), hash, log, or keep globals. All functions may be
// called from any thread; a UsersTable is immutable once built and may then be read
// from any number of threads.
//
// Format (docs/authentication.md):
//
//   # comment                       a line whose first non-blank byte is '#'
//                                   blank lines (spaces and tabs only) are skipped
//   alice:$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// One `NAME:PHC` entry per line, split at the first ':'. Lines end in LF or CRLF;
// trailing spaces and tabs are ignored; a UTF-8 byte order mark at the very start is
// skipped. NAME follows check_user_name; PHC follows parse_phc (phc.hpp) under
// UsersFileLimits::phc. Names are matched ASCII case-insensitively (as user names
// typed at Windows and macOS clients are), so "Alice" and "alice" in one file are a
// duplicate; the spelling in the file is the canonical name reported after login.
// Bytes outside ASCII compare exactly (no Unicode normalisation).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/passwd/error.hpp"
#include "auth/passwd/phc.hpp"

namespace pg::auth {

// IPP's name(MAX) (RFC 8011 §5.1.3): the authenticated name becomes
// job-originating-user-name, so a longer name could not be shown.
inline constexpr std::size_t kMaxUserNameBytes = 255;

struct UsersFileLimits {
    std::size_t max_file_bytes = 1024 * 1024;
    std::size_t max_line_bytes = 1024;  // without the line end
    std::size_t max_users = 10000;
    std::size_t max_name_bytes = kMaxUserNameBytes;
    PhcLimits phc;
};

struct UserEntry {
    std::string name;      // canonical spelling, as in the file
    PhcHash hash;
    std::size_t line = 0;  // 1-based line in the users file; 0 when added by code
};

// Entries in file order plus an index by folded name.
class UsersTable {
public:
    // Adds `entry` unless a name equal to it under fold_user_name is present; returns
    // false (table unchanged) then. Precondition: check_user_name(entry.name) passes.
    bool try_add(UserEntry entry);
    // The entry whose name equals `name` under fold_user_name, or null.
    const UserEntry* find(std::string_view name) const;
    const std::vector<UserEntry>& entries() const { return entries_; }
    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }

private:
    std::vector<UserEntry> entries_;
    std::unordered_map<std::string, std::size_t> index_;  // folded name -> entries_ index
};

// The key names are compared by: ASCII letters lowered, every other byte kept.
std::string fold_user_name(std::string_view name);

// Why a name is refused: the 0-based byte offset of the offending character (0 for
// an empty or overlong name) and a short ASCII reason.
struct NameProblem {
    std::size_t offset = 0;
    std::string_view reason;
};
// A user name is 1..max_bytes bytes of valid UTF-8 (RFC 3629: no overlong forms,
// no surrogates, nothing above U+10FFFF) without ':', C0/C1 control characters or
// DEL, the line and paragraph separators U+2028/U+2029, and the invisible format
// characters that can make one name look like another in a log or a job list
// (soft hyphen, zero-width and bidirectional controls, U+FEFF, U+FFF9-U+FFFB);
// and it neither starts with a space or '#' (a comment) nor ends with a space.
std::optional<NameProblem> check_user_name(std::string_view name,
                                           std::size_t max_bytes = kMaxUserNameBytes);

// Parses a whole users file. Errors carry the 1-based line and byte column:
//   file_too_large (line 0), line_too_long, too_many_users, missing_separator,
//   bad_user_name, duplicate_user (the message names the first line), and every
//   parse_phc error, with the column counted from the start of the line.
ParseResult<UsersTable> parse_users_file(std::string_view text, const UsersFileLimits& limits = {});

}  // namespace pg::auth
