// SPDX-License-Identifier: Apache-2.0
// Value types of the credential cache that the gateway fills from its upstream adapter.
//
// Owns: LoginMethod (numbered as docs/upstream-protocol.md's login_info.type, like
// pg::upstream::LoginType, which the auth layer may not include), CachedUser, LoginSecrets
// and the sync input. Must not: depend on gateway/. Plain values; no thread rules.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace pg::auth {

// How a user logs in. The numbers are the protocol's, so the gateway converts with a
// static_cast from upstream::LoginType.
enum class LoginMethod : int { card = 1, pin = 2, password = 3, card_pin = 4, card_password = 5 };

// Times are Unix seconds (std::chrono::sys_seconds): the cache stores no finer precision.
using UnixTime = std::chrono::sys_seconds;

struct CachedAccount {
    std::string id;
    std::string name;
};

// What the server says about a user (upstream::UserInfo).
struct CachedUser {
    std::string id;         // the server's user id: the identity of a cache entry
    std::string name;
    std::string full_name;
    std::string email;
    std::vector<std::string> aliases;  // other names the user's jobs may carry
    std::vector<CachedAccount> accounts;
};

// What was typed or presented. Holds secrets: never log it; the caller wipes it.
// Each method reads only its fields: card (1), pin (2), username+password (3),
// card+pin (4), card+password (5).
struct LoginSecrets {
    std::string card;
    std::string pin;
    std::string username;
    std::string password;
};

// One synced secret as the server sends it: tag under the lookup key, argon2id PHC.
struct SyncSecretIn {
    std::string tag;
    std::string verifier;
};

// One user record of a sync answer (upstream::SyncedUser).
struct SyncUserIn {
    CachedUser user;
    bool disabled = false;
    std::vector<SyncSecretIn> pins;   // at most 3 are kept
    std::vector<SyncSecretIn> cards;  // at most 3 are kept
    std::optional<std::string> password_verifier;
};

// A complete sync (all pages of one run, in answer order), applied in one transaction.
struct SyncBatch {
    // true: a sync without cursor; its users replace the synced set (tombstones empty).
    // false: a change sync; tombstones first, then the user records.
    bool full = false;
    std::vector<SyncUserIn> users;
    std::vector<std::string> tombstone_users;  // user ids
    std::vector<std::string> tombstone_pins;   // tags
    std::vector<std::string> tombstone_cards;  // tags
};

}  // namespace pg::auth
