// SPDX-License-Identifier: Apache-2.0
// The control socket's user commands (issue #7): users, users-rm, users-sync.
//
// Owns: their JSON replies. Must not: put a secret, tag, verifier or key into a reply
// (CredentialCache::list_users returns none), or block the I/O thread (cache reads and
// writes run on the blocking pool).
//
// Threads: I/O thread.
#pragma once

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace pg::app { class Gateway; }

namespace pg::ctl {

struct UsersReply {
    boost::json::value body;  // the 'J' reply when error is empty
    std::string code;         // else an 'E' reply: "not_found", "bad_request", "failed"
    std::string error;
};

// users: every cached and synced user, sorted by name; users-rm {"name"}: removes the
// cache entries of that name or alias; users-sync: one sync now, its outcome (ok or not).
boost::asio::awaitable<UsersReply> users_command(app::Gateway& gw, const std::string& cmd,
                                                 const boost::json::object& req);

// The status command's "offline_login" object: users, sync state, login counters.
boost::asio::awaitable<boost::json::value> offline_login_status(app::Gateway& gw);

}  // namespace pg::ctl
