// SPDX-License-Identifier: Apache-2.0
// Password-style authentication: the Authenticator interface and its users-file
// implementation.
//
// Owns: Verdict, Authenticator, UsersFileAuthenticator. Must not: log (the gateway
// picks the log line and the reply), keep a secret after verify returns, or let a
// caller tell an unknown user from a wrong password.
//
// Design note: one interface for "is this user+secret good?".
// Issue #4 checks HTTP Basic credentials against a users file; issue #7's credential
// cache will answer the same question for user+password logins from entries cached
// after online logins, behind the same interface, so the IPP and release-point code
// take an Authenticator& and do not know which store answers. PIN-only and card-only
// logins, which name no user, are a different question (find by a keyed lookup tag,
// then verify) and will get their own interface beside this one.
//
// Rules every implementation keeps (issue #7, "Credential cache"):
// - an unknown user and a wrong secret give the same Verdict (denied, no name) after
//   similar work: the users file runs the full argon2id hash against a dummy entry for
//   an unknown name, with the cost most entries of the file use;
// - tags are compared in constant time (CRYPTO_memcmp);
// - verify may be called from several pool threads at once; it blocks for one slow
//   hash, so never call it on an I/O thread.
// Lockout and throttling (issue #7) wrap an Authenticator; they are not in here.
#pragma once

#include <string>
#include <string_view>

#include "auth/passwd/phc.hpp"
#include "auth/passwd/users_file.hpp"

namespace pg::auth {

struct Verdict {
    enum class Status {
        ok,           // the secret matches: `user` holds the canonical name
        denied,       // unknown user or wrong secret (deliberately not told apart)
        unavailable,  // the store could not check now (hash out of memory): not a
                      // failed login, do not count it towards a lockout; reply 5xx
    };
    Status status = Status::denied;
    std::string user;  // canonical user name when status == ok, else empty

    bool ok() const { return status == Status::ok; }
    static Verdict granted(std::string canonical_user) { return {Status::ok, std::move(canonical_user)}; }
    static Verdict denied() { return {Status::denied, {}}; }
    static Verdict unavailable() { return {Status::unavailable, {}}; }
};

// Checks a user name and a password-style secret (the Basic-auth password; later the
// password of a cached user+password login).
class Authenticator {
public:
    virtual ~Authenticator() = default;
    // `user` as the client sent it (matched as the store defines: ASCII
    // case-insensitively for the users file); `secret` raw bytes, not trimmed.
    // Thread-safe; blocks for one slow hash whatever the outcome.
    virtual Verdict verify(std::string_view user, std::string_view secret) = 0;
};

// Verifies against a parsed users file. Immutable after construction: concurrent
// verify calls need no lock. To reload the file, build a new one and swap it in.
class UsersFileAuthenticator final : public Authenticator {
public:
    explicit UsersFileAuthenticator(UsersTable users);

    // denied for an unknown user, a wrong secret, or a secret longer than
    // kMaxSecretBytes (each after one full argon2id hash); unavailable when libargon2
    // fails; ok with the name as spelled in the file.
    Verdict verify(std::string_view user, std::string_view secret) override;

    const UsersTable& users() const { return users_; }
    // The cost spent on an unknown user: the parameters most entries use (the first
    // such entry's on a tie), or kDefaultParams for an empty table.
    const Argon2Params& dummy_params() const { return dummy_.params; }

private:
    UsersTable users_;
    PhcHash dummy_;  // never matches: verify denies it whatever the comparison says
};

}  // namespace pg::auth
