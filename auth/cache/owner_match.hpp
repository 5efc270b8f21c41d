// SPDX-License-Identifier: Apache-2.0
// Job owners against users: which held jobs a logged-in user sees (issue #7, "Release
// points"). Pure functions; any thread.
//
// Owns: the normalisation rules below. Must not: do I/O, log, or consult a directory.
//
// A job's owner arrives as the client wrote it: IPP requesting-user-name, LPD P, a PJL
// USERNAME, often `DOMAIN\user` from Windows or `user@REALM` from Kerberos/macOS. The
// user has a name and aliases from the server. normalize_owner maps each to a key:
//   1. ASCII white space (space, tab, CR, LF, FF, VT) is trimmed at both ends;
//   2. `DOMAIN\user`: everything up to and including the LAST backslash is dropped;
//   3. `user@realm`: everything from the LAST '@' on is dropped (an address-like
//      `a@b@REALM` keeps `a@b`);
//   4. white space is trimmed again (`DOMAIN\ alice`);
//   5. ASCII letters are lower-cased; other bytes (UTF-8 included) are kept as they are,
//      with no Unicode case folding or normalisation (as the server's login matching);
//   6. an empty result, or an input over kMaxOwnerBytes, matches nothing.
// owner_matches is true when the owner's key equals the key of the name or of any alias.
// So `EXAMPLE\Alice`, `alice@EXAMPLE.COM` and ` alice ` all match user `alice`.
//
// Why the domain is ignored rather than compared: owners are asserted by the client (a
// raw or LPD job can name anyone), so comparing domains adds no security, while NetBIOS
// domains (`EXAMPLE\`) and DNS realms (`@example.com`) of the same account would never
// compare equal. An owner that is a peer address or a shared name ("root", "guest")
// matches only a user whose name or alias is that string; the server decides aliases.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace pg::auth {

// IPP name(MAX) (RFC 8011 §5.1.3), the longest owner a job can carry.
inline constexpr std::size_t kMaxOwnerBytes = 255;

// The comparison key of an owner, name or alias; empty when it can match nothing.
std::string normalize_owner(std::string_view owner);

// True when `owner` and the user's `name` or one of `aliases` normalise to the same
// non-empty key.
bool owner_matches(std::string_view owner, std::string_view name, std::span<const std::string> aliases);

}  // namespace pg::auth
