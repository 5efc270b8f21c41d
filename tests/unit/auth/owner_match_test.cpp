// SPDX-License-Identifier: Apache-2.0
// Unit tests for auth/cache/owner_match: job-owner normalisation and matching.
#include "auth/cache/owner_match.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace auth = pg::auth;

TEST_CASE("owners normalise as documented", "[owners]") {
    CHECK(auth::normalize_owner("alice") == "alice");
    CHECK(auth::normalize_owner("Alice") == "alice");
    CHECK(auth::normalize_owner("  alice\t\r\n") == "alice");
    CHECK(auth::normalize_owner("EXAMPLE\\Alice") == "alice");
    CHECK(auth::normalize_owner("corp\\sub\\alice") == "alice");
    CHECK(auth::normalize_owner("alice@EXAMPLE.COM") == "alice");
    CHECK(auth::normalize_owner("a.b@mail@REALM") == "a.b@mail");
    CHECK(auth::normalize_owner("EXAMPLE\\alice@EXAMPLE.COM") == "alice");
    CHECK(auth::normalize_owner("EXAMPLE\\ alice ") == "alice");
    CHECK(auth::normalize_owner("J\xC3\x9CRGEN") == "j\xC3\x9Crgen");  // non-ASCII kept as is
    CHECK(auth::normalize_owner("").empty());
    CHECK(auth::normalize_owner("   ").empty());
    CHECK(auth::normalize_owner("EXAMPLE\\").empty());
    CHECK(auth::normalize_owner("@realm").empty());
    CHECK(auth::normalize_owner(std::string(256, 'a')).empty());
    CHECK(auth::normalize_owner(std::string(255, 'a')) == std::string(255, 'a'));
}

TEST_CASE("owners match a user's name or aliases", "[owners]") {
    const std::vector<std::string> aliases = {"EXAMPLE\\asmith", "alice.smith@example.com"};
    CHECK(auth::owner_matches("alice", "Alice", aliases));
    CHECK(auth::owner_matches("EXAMPLE\\ALICE", "alice", aliases));
    CHECK(auth::owner_matches("alice@EXAMPLE.COM", "alice", aliases));
    CHECK(auth::owner_matches("asmith", "alice", aliases));
    CHECK(auth::owner_matches("OTHER\\asmith", "alice", aliases));  // domains are not compared
    CHECK(auth::owner_matches("Alice.Smith@corp.example", "alice", aliases));
    CHECK_FALSE(auth::owner_matches("bob", "alice", aliases));
    CHECK_FALSE(auth::owner_matches("alice2", "alice", aliases));
    CHECK_FALSE(auth::owner_matches("192.0.2.10", "alice", aliases));
    CHECK_FALSE(auth::owner_matches("", "", {}));
    CHECK_FALSE(auth::owner_matches("EXAMPLE\\", "", {}));
}
