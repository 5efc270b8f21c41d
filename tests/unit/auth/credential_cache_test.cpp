// SPDX-License-Identifier: Apache-2.0
// Unit tests for auth/cache/credential_cache: real SQLite in a temp dir, real argon2id
// at a tiny cost (m=64 KiB, t=1) so the file runs in a few seconds.
//
// Known answers: the lookup-tag vectors of docs/upstream-protocol.md ("Lookup key").
#include "auth/cache/credential_cache.hpp"
#include "auth/cache/lookup_tag.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace auth = pg::auth;
namespace fs = std::filesystem;
using auth::LoginMethod;
using auth::VerifyReason;
using auth::VerifyStatus;
using namespace std::chrono_literals;

namespace {

constexpr auth::Argon2Params kCheap{64, 1, 1};
const auth::UnixTime t0{std::chrono::seconds{1'700'000'000}};

class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "pg-cache-test-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    fs::path path() const { return path_; }
    std::string db() const { return (path_ / "credentials.db").string(); }

private:
    fs::path path_;
};

pg::crypto::Key key_of(unsigned char seed) {
    std::array<std::byte, 32> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(seed + i);
    return pg::crypto::Key(b);
}

auth::CacheOptions cheap_options() {
    auth::CacheOptions o;
    o.argon2 = kCheap;
    o.validity = 10h;
    o.max_offline_age = 100h;
    return o;
}

std::unique_ptr<auth::CredentialCache> open_cache(const TempDir& dir, const auth::CacheOptions& o = cheap_options(),
                                                  auth::UnixTime now = t0, unsigned char seed = 1) {
    auto c = auth::CredentialCache::open(dir.db(), key_of(seed), o, now);
    if (!c) FAIL("open: " << c.error().message());
    return std::move(*c);
}

auth::CachedUser user(std::string id, std::string name) {
    auth::CachedUser u;
    u.id = std::move(id);
    u.name = name;
    u.full_name = "Full " + name;
    u.email = name + "@branch.example";
    u.aliases = {"BRANCH\\" + name, name + "@branch.example"};
    u.accounts = {{"a-1", "Sales"}};
    return u;
}

auth::LoginSecrets pin(std::string p) { return {.pin = std::move(p)}; }
auth::LoginSecrets card(std::string c) { return {.card = std::move(c)}; }
auth::LoginSecrets password(std::string u, std::string p) { return {.username = std::move(u), .password = std::move(p)}; }
auth::LoginSecrets card_pin(std::string c, std::string p) { return {.card = std::move(c), .pin = std::move(p)}; }
auth::LoginSecrets card_password(std::string c, std::string p) { return {.card = std::move(c), .password = std::move(p)}; }

void record(auth::CredentialCache& c, const auth::CachedUser& u, LoginMethod m, const auth::LoginSecrets& s,
            auth::UnixTime now = t0) {
    auto r = c.record_online_login(u, m, s, now);
    if (!r) FAIL("record_online_login: " << r.error().message());
}

std::string verifier(std::string_view secret) {
    auto h = auth::hash_password(secret, kCheap);
    REQUIRE(h.has_value());
    return auth::format_phc(*h);
}

// A synced user with the given PINs, cards and password (verifiers made here, as the
// server would, tags under the cache's lookup key).
auth::SyncUserIn synced(const auth::CredentialCache& c, std::string id, std::string name,
                        std::vector<std::string> pins, std::vector<std::string> cards, std::string pw = "") {
    auth::SyncUserIn s;
    s.user = user(std::move(id), std::move(name));
    for (const auto& p : pins) s.pins.push_back({c.tag_of(LoginMethod::pin, p), verifier(p)});
    for (const auto& k : cards) s.cards.push_back({c.tag_of(LoginMethod::card, k), verifier(*auth::normalize_card(k))});
    if (!pw.empty()) s.password_verifier = verifier(pw);
    return s;
}

auth::SyncReport apply(auth::CredentialCache& c, const auth::SyncBatch& b, auth::UnixTime now = t0) {
    auto r = c.apply_sync(b, now);
    if (!r) FAIL("apply_sync: " << r.error().message());
    return *r;
}

// A cache whose only entry is alice's PIN 1234, cached at t0 under these limits.
std::unique_ptr<auth::CredentialCache> alice_pin_cache(const TempDir& dir, std::chrono::hours validity,
                                                       std::chrono::hours max_age) {
    auto o = cheap_options();
    o.validity = validity;
    o.max_offline_age = max_age;
    auto c = open_cache(dir, o);
    record(*c, user("u-1", "alice"), LoginMethod::pin, pin("1234"));
    return c;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("lookup tags match the protocol's test vectors", "[cache]") {
    std::array<std::byte, 32> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(i);
    const pg::crypto::Key key(b);
    CHECK(auth::lookup_tag(key, "pin", "1234") == "CkXqijBgKGip-0AYjZVYydrfQtXY8UPO0j6otj7bnd4");
    const auto c = auth::normalize_card("04 a1 b2 c3");
    REQUIRE(c.has_value());
    CHECK(*c == "04A1B2C3");
    CHECK(auth::lookup_tag(key, "card", *c) == "emgEuU-3jgfm-kkUkQOMIz6Itc7lz6quOdcTpL86U0Y");
    CHECK_FALSE(auth::normalize_card("04-A1"));
    CHECK_FALSE(auth::normalize_card("  "));
    CHECK_FALSE(auth::normalize_card(std::string(65, 'A')));
    CHECK(auth::normalize_card(std::string(64, 'a')) == std::string(64, 'A'));
    CHECK(auth::fold_login_name("  Alice\t") == "alice");
}

TEST_CASE("each method round-trips after an online login", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    const auto alice = user("u-1", "alice");
    record(*c, alice, LoginMethod::pin, pin("4711"));
    record(*c, alice, LoginMethod::card, card("04A1B2C3"));
    record(*c, alice, LoginMethod::password, password("alice", "s3cret pw"));
    record(*c, alice, LoginMethod::card_pin, card_pin("0A0B", "9999"));
    record(*c, alice, LoginMethod::card_password, card_password("0C0D", "other pw"));

    struct Case {
        LoginMethod m;
        auth::LoginSecrets s;
    };
    const std::vector<Case> cases = {
        {LoginMethod::pin, pin("4711")},
        {LoginMethod::card, card("04 a1 b2 c3")},  // normalised like the server does
        {LoginMethod::password, password("ALICE", "s3cret pw")},
        {LoginMethod::password, password(" branch\\alice ", "s3cret pw")},  // an alias, case and blanks folded
        {LoginMethod::card_pin, card_pin("0a0b", "9999")},
        {LoginMethod::card_password, card_password("0C0D", "other pw")},
    };
    for (const auto& k : cases) {
        INFO("method " << static_cast<int>(k.m));
        const auto r = c->verify_offline(k.m, k.s, t0 + 1h);
        CHECK(r.status == VerifyStatus::ok);
        CHECK(r.reason == VerifyReason::ok);
        REQUIRE(r.user);
        CHECK(r.user->id == "u-1");
        CHECK(r.user->email == "alice@branch.example");
        CHECK(r.user->aliases == alice.aliases);
        REQUIRE(r.user->accounts.size() == 1);
        CHECK(r.user->accounts[0].name == "Sales");
        CHECK(r.source == auth::CredentialSource::cached);
        CHECK(r.lockout_key == "u:u-1");
        CHECK_FALSE(r.clock_suspect);
    }
    // A method the user did not use here is refused, even with a right factor.
    CHECK(c->verify_offline(LoginMethod::card, card("0A0B"), t0 + 1h).reason == VerifyReason::no_match);
    CHECK(c->verify_offline(LoginMethod::pin, pin("9999"), t0 + 1h).reason == VerifyReason::no_match);
    // Second factor wrong.
    CHECK(c->verify_offline(LoginMethod::card_pin, card_pin("0A0B", "9998"), t0 + 1h).reason ==
          VerifyReason::no_match);
}

TEST_CASE("a wrong secret and an unknown user give the same answer", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    record(*c, user("u-1", "alice"), LoginMethod::password, password("alice", "right"));
    record(*c, user("u-1", "alice"), LoginMethod::pin, pin("1234"));

    const auto wrong_pw = c->verify_offline(LoginMethod::password, password("alice", "wrong"), t0);
    const auto no_user = c->verify_offline(LoginMethod::password, password("mallory", "right"), t0);
    for (const auto& r : {wrong_pw, no_user}) {
        CHECK(r.status == VerifyStatus::denied);
        CHECK(r.reason == VerifyReason::no_match);
        CHECK_FALSE(r.user);
    }
    // The lockout key differs (internal), the answer does not.
    CHECK(wrong_pw.lockout_key == "u:u-1");
    CHECK(no_user.lockout_key == "n:mallory");

    const auto wrong_pin = c->verify_offline(LoginMethod::pin, pin("1235"), t0);
    CHECK(wrong_pin.status == VerifyStatus::denied);
    CHECK(wrong_pin.reason == VerifyReason::no_match);
    CHECK(wrong_pin.lockout_key.empty());  // names no user: throttled per source only
    CHECK(c->verify_offline(LoginMethod::card, card("not hex"), t0).status == VerifyStatus::denied);
}

TEST_CASE("entries expire by validity and by max_offline_age", "[cache]") {
    TempDir dir;
    auto c = alice_pin_cache(dir, 10h, 100h);
    CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 9h).ok());
    const auto late = c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 10h);
    CHECK(late.status == VerifyStatus::denied);
    CHECK(late.reason == VerifyReason::expired);
    // A wrong PIN past expiry says no_match, not expired.
    CHECK(c->verify_offline(LoginMethod::pin, pin("1235"), t0 + 11h).reason == VerifyReason::no_match);

    // max_offline_age bounds the entry whatever its validity says (e.g. lowered in the config).
    TempDir dir2;
    auto c2 = alice_pin_cache(dir2, 1000h, 48h);
    CHECK(c2->verify_offline(LoginMethod::pin, pin("1234"), t0 + 48h).ok());
    const auto old = c2->verify_offline(LoginMethod::pin, pin("1234"), t0 + 48h + 1s);
    CHECK(old.status == VerifyStatus::denied);
    CHECK(old.reason == VerifyReason::too_old);
}

TEST_CASE("a clock set back is suspect and never revives an entry", "[cache]") {
    TempDir dir;
    {
        auto c = open_cache(dir);
        record(*c, user("u-1", "alice"), LoginMethod::pin, pin("1234"));  // valid until t0 + 10h
        CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 11h).reason == VerifyReason::expired);
        const auto back = c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 1h);
        CHECK(back.status == VerifyStatus::denied);
        CHECK(back.reason == VerifyReason::expired);
        CHECK(back.clock_suspect);
        CHECK(back.last_seen == t0 + 11h);
        // Small differences (threads racing) are not suspect.
        CHECK_FALSE(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 11h - 30s).clock_suspect);
    }
    // Durable: a restart with the clock still behind remembers.
    auto c = open_cache(dir, cheap_options(), t0 + 2h);
    CHECK(c->last_seen() == t0 + 11h);
    const auto r = c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 2h);
    CHECK(r.reason == VerifyReason::expired);
    CHECK(r.clock_suspect);
}

TEST_CASE("online logins renew a method; offline logins do not; other methods stay", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);  // validity 10h
    const auto alice = user("u-1", "alice");
    record(*c, alice, LoginMethod::pin, pin("1234"), t0);
    record(*c, alice, LoginMethod::password, password("alice", "pw"), t0 + 8h);
    // Offline logins at +5h and +9h do not move the PIN's expiry (t0 + 10h).
    CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 5h).ok());
    CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 9h).ok());
    CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 10h).reason == VerifyReason::expired);
    // An online PIN login renews the PIN only (now valid until t0 + 22h).
    record(*c, alice, LoginMethod::pin, pin("1234"), t0 + 12h);
    CHECK(c->verify_offline(LoginMethod::password, password("alice", "pw"), t0 + 17h).ok());
    CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 21h).ok());
    CHECK(c->verify_offline(LoginMethod::password, password("alice", "pw"), t0 + 21h).reason ==
          VerifyReason::expired);
    // A changed PIN replaces the old one.
    record(*c, alice, LoginMethod::pin, pin("5678"), t0 + 22h);
    CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 23h).reason == VerifyReason::no_match);
    CHECK(c->verify_offline(LoginMethod::pin, pin("5678"), t0 + 23h).ok());
}

TEST_CASE("a PIN the server gives to another user leaves the old owner's entry", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    record(*c, user("u-1", "alice"), LoginMethod::pin, pin("1234"));
    record(*c, user("u-2", "bob"), LoginMethod::pin, pin("1234"), t0 + 1h);
    const auto r = c->verify_offline(LoginMethod::pin, pin("1234"), t0 + 2h);
    REQUIRE(r.ok());
    CHECK(r.user->id == "u-2");
}

TEST_CASE("sync: synced users log in; tombstones and disabled users remove entries", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    // Bob also has a cached password from an online login here.
    record(*c, user("u-2", "bob"), LoginMethod::password, password("bob", "bob-online"));

    auth::SyncBatch full;
    full.full = true;
    full.users.push_back(synced(*c, "u-1", "alice", {"1111", "1112"}, {"AA01"}, "alice-pw"));
    full.users.push_back(synced(*c, "u-2", "bob", {"2222"}, {"BB02"}));
    const auto rep = apply(*c, full, t0 + 1h);
    CHECK(rep.upserted == 2);
    CHECK(rep.synced_users == 2);
    CHECK(rep.rejected_verifiers == 0);
    REQUIRE(c->last_sync() == t0 + 1h);

    auto ok = [&](LoginMethod m, const auth::LoginSecrets& s, auth::UnixTime at = t0 + 2h) {
        return c->verify_offline(m, s, at);
    };
    CHECK(ok(LoginMethod::pin, pin("1112")).ok());
    CHECK(ok(LoginMethod::pin, pin("1112")).source == auth::CredentialSource::synced);
    CHECK(ok(LoginMethod::card, card("aa01")).ok());
    CHECK(ok(LoginMethod::password, password("Alice", "alice-pw")).ok());
    CHECK(ok(LoginMethod::card_pin, card_pin("AA01", "1111")).ok());
    CHECK(ok(LoginMethod::card_pin, card_pin("AA01", "2222")).reason == VerifyReason::no_match);  // bob's PIN
    CHECK(ok(LoginMethod::card_password, card_password("AA01", "alice-pw")).ok());
    CHECK(ok(LoginMethod::password, password("bob", "bob-online")).ok());

    // Change sync: one PIN revoked, a card tombstone for an unknown tag, bob disabled.
    auth::SyncBatch change;
    change.tombstone_pins = {c->tag_of(LoginMethod::pin, "1111")};
    change.tombstone_cards = {c->tag_of(LoginMethod::card, "FFFF")};
    auth::SyncUserIn bob_disabled;
    bob_disabled.user = user("u-2", "bob");
    bob_disabled.disabled = true;
    change.users.push_back(bob_disabled);
    const auto rep2 = apply(*c, change, t0 + 3h);
    CHECK(rep2.secrets_revoked == 1);
    CHECK(rep2.removed == 1);
    CHECK(rep2.synced_users == 1);
    CHECK(ok(LoginMethod::pin, pin("1111"), t0 + 4h).reason == VerifyReason::no_match);
    CHECK(ok(LoginMethod::pin, pin("1112"), t0 + 4h).ok());
    // A disabled user loses cached entries too.
    CHECK(ok(LoginMethod::password, password("bob", "bob-online"), t0 + 4h).reason == VerifyReason::no_match);
    CHECK(ok(LoginMethod::pin, pin("2222"), t0 + 4h).reason == VerifyReason::no_match);

    // A user tombstone removes the cached entry as well as the synced one.
    record(*c, user("u-1", "alice"), LoginMethod::pin, pin("7777"), t0 + 5h);
    auth::SyncBatch gone;
    gone.tombstone_users = {"u-1"};
    CHECK(apply(*c, gone, t0 + 6h).removed == 1);
    CHECK(ok(LoginMethod::pin, pin("7777"), t0 + 7h).reason == VerifyReason::no_match);
    CHECK(ok(LoginMethod::pin, pin("1112"), t0 + 7h).reason == VerifyReason::no_match);
    auto list = c->list_users(t0 + 7h);
    REQUIRE(list.has_value());
    CHECK(list->empty());
}

TEST_CASE("sync: a full sync replaces the synced set and keeps cached entries", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    auth::SyncBatch first;
    first.full = true;
    first.users.push_back(synced(*c, "u-1", "alice", {"1111"}, {}));
    first.users.push_back(synced(*c, "u-2", "bob", {"2222"}, {}));
    apply(*c, first);
    record(*c, user("u-2", "bob"), LoginMethod::card, card("B0B"), t0 + 1h);

    auth::SyncBatch second;
    second.full = true;
    second.users.push_back(synced(*c, "u-1", "alice", {"1113"}, {}));  // alice's PIN changed
    const auto rep = apply(*c, second, t0 + 2h);
    CHECK(rep.synced_users == 1);
    CHECK(c->verify_offline(LoginMethod::pin, pin("1111"), t0 + 3h).reason == VerifyReason::no_match);
    CHECK(c->verify_offline(LoginMethod::pin, pin("1113"), t0 + 3h).ok());
    CHECK(c->verify_offline(LoginMethod::pin, pin("2222"), t0 + 3h).reason == VerifyReason::no_match);
    CHECK(c->verify_offline(LoginMethod::card, card("B0B"), t0 + 3h).ok());  // cached, stays

    // Bad verifiers and tags are skipped and counted; the rest of the record stays.
    auth::SyncBatch bad;
    auto u = synced(*c, "u-3", "carol", {"3333"}, {});
    u.pins.push_back({c->tag_of(LoginMethod::pin, "3334"), "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo"});
    u.pins.push_back({"short-tag", verifier("3335")});
    bad.users.push_back(u);
    const auto rep2 = apply(*c, bad, t0 + 4h);
    CHECK(rep2.rejected_verifiers == 2);
    CHECK(c->verify_offline(LoginMethod::pin, pin("3333"), t0 + 5h).ok());
    // Synced users are bounded by max_offline_age (100h here) since the last sync.
    CHECK(c->verify_offline(LoginMethod::pin, pin("3333"), t0 + 104h).ok());
    CHECK(c->verify_offline(LoginMethod::pin, pin("3333"), t0 + 104h + 1s).reason == VerifyReason::too_old);
}

TEST_CASE("sync keeps at most sync_limit users: 101 keeps the first 100", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    auth::SyncBatch full;
    full.full = true;
    for (int i = 0; i < 101; ++i)
        full.users.push_back(synced(*c, "u-" + std::to_string(i), "user" + std::to_string(i),
                                    {std::to_string(100000 + i)}, {}));
    const auto rep = apply(*c, full);
    CHECK(rep.synced_users == 100);
    CHECK(rep.upserted == 100);
    CHECK(rep.dropped_over_limit == 1);
    CHECK(c->verify_offline(LoginMethod::pin, pin("100000"), t0 + 1h).ok());
    CHECK(c->verify_offline(LoginMethod::pin, pin("100099"), t0 + 1h).ok());
    CHECK(c->verify_offline(LoginMethod::pin, pin("100100"), t0 + 1h).reason == VerifyReason::no_match);

    // A change sync cannot add a 101st, but may update the 100 it has.
    auth::SyncBatch change;
    change.users.push_back(synced(*c, "u-500", "extra", {"555555"}, {}));
    change.users.push_back(synced(*c, "u-5", "user5", {"123123"}, {}));
    const auto rep2 = apply(*c, change, t0 + 2h);
    CHECK(rep2.dropped_over_limit == 1);
    CHECK(rep2.synced_users == 100);
    CHECK(c->verify_offline(LoginMethod::pin, pin("555555"), t0 + 3h).reason == VerifyReason::no_match);
    CHECK(c->verify_offline(LoginMethod::pin, pin("123123"), t0 + 3h).ok());
    auto list = c->list_users(t0 + 3h);
    REQUIRE(list.has_value());
    CHECK(list->size() == 100);
}

TEST_CASE("a caller's state blob is kept sealed and survives a reopen", "[cache]") {
    TempDir dir;
    const std::string blob = R"({"users":[{"k":"n:zacharias.quux","f":[1]}]})";
    {
        auto c = open_cache(dir);
        auto none = c->get_state("lockout");
        REQUIRE(none.has_value());
        CHECK_FALSE(none->has_value());
        REQUIRE(c->put_state("lockout", std::as_bytes(std::span(blob.data(), blob.size()))).has_value());
        REQUIRE(c->put_state("other", std::as_bytes(std::span(blob.data(), 3))).has_value());
    }
    for (const auto& entry : fs::directory_iterator(dir.path()))
        CHECK(slurp(entry.path()).find("zacharias") == std::string::npos);
    auto c = open_cache(dir);
    auto got = c->get_state("lockout");
    REQUIRE(got.has_value());
    REQUIRE(got->has_value());
    CHECK(std::string(reinterpret_cast<const char*>((*got)->data()), (*got)->size()) == blob);
    CHECK((*c->get_state("other"))->size() == 3);
    // Another master key cannot open the cache at all (so not the blob either).
    CHECK_FALSE(auth::CredentialCache::open(dir.db(), key_of(2), cheap_options(), t0).has_value());
}

TEST_CASE("nothing about a user is readable at rest", "[cache]") {
    TempDir dir;
    const std::vector<std::string> needles = {"739164", "04A1B2C3D4E5", "Tr0ub4dor&3", "zacharias.quux", "Quux",
                                              "zq@branch.example", "Sales-Nord", "u-90210", "synced.sam", "Sam Synced"};
    auto check_files = [&] {
        // Positive control: the plain schema and meta names are found, so the grep reads the
        // real bytes of the file.
        std::string all;
        for (const auto& entry : fs::directory_iterator(dir.path())) {
            const std::string bytes = slurp(entry.path());
            all += bytes;
            for (const auto& n : needles) {
                INFO(entry.path().filename() << " contains " << n);
                CHECK(bytes.find(n) == std::string::npos);
            }
        }
        CHECK(all.find("lookup_key_id") != std::string::npos);
    };
    {
        auto c = open_cache(dir);
        auth::CachedUser z;
        z.id = "u-90210";
        z.name = "zacharias.quux";
        z.full_name = "Zacharias Quux";
        z.email = "zq@branch.example";
        z.aliases = {"BRANCH\\zacharias.quux"};
        z.accounts = {{"a-9", "Sales-Nord"}};
        record(*c, z, LoginMethod::pin, pin("739164"));
        record(*c, z, LoginMethod::card_password, card_password("04a1b2c3d4e5", "Tr0ub4dor&3"));
        record(*c, z, LoginMethod::password, password("zacharias.quux", "Tr0ub4dor&3"));
        auth::SyncBatch b;
        b.full = true;
        b.users.push_back(synced(*c, "u-77", "synced.sam", {"246810"}, {}, "sam-pw"));
        b.users.back().user.full_name = "Sam Synced";
        apply(*c, b);
        CHECK(c->verify_offline(LoginMethod::pin, pin("739164"), t0 + 1h).ok());
        REQUIRE(fs::exists(dir.db() + "-wal"));
        check_files();  // the database and its WAL while open
    }
    check_files();  // after close (WAL checkpointed into the database)
}

TEST_CASE("reopening with the same master key reads everything; a wrong key fails cleanly", "[cache]") {
    TempDir dir;
    std::string key_id;
    {
        auto c = open_cache(dir);
        key_id = c->lookup_key().key_id;
        CHECK(key_id.rfind("pg-", 0) == 0);
        CHECK(key_id.size() == 19);
        record(*c, user("u-1", "alice"), LoginMethod::password, password("alice", "pw"));
        auth::SyncBatch b;
        b.full = true;
        b.users.push_back(synced(*c, "u-2", "bob", {"2222"}, {"B0B0"}));
        apply(*c, b);
    }
    {
        auto c = open_cache(dir, cheap_options(), t0 + 1h);
        CHECK(c->lookup_key().key_id == key_id);
        CHECK(c->verify_offline(LoginMethod::password, password("alice", "pw"), t0 + 1h).ok());
        CHECK(c->verify_offline(LoginMethod::card_pin, card_pin("b0b0", "2222"), t0 + 1h).ok());
        CHECK(c->last_sync() == t0);
        auto list = c->list_users(t0 + 1h);
        REQUIRE(list.has_value());
        REQUIRE(list->size() == 2);
        CHECK((*list)[0].name == "alice");
        CHECK((*list)[0].cached);
        CHECK_FALSE((*list)[0].synced);
        REQUIRE((*list)[0].methods.size() == 1);
        CHECK((*list)[0].methods[0].method == LoginMethod::password);
        CHECK((*list)[0].methods[0].expires == t0 + 10h);
        CHECK((*list)[0].last_login == t0 + 1h);
        CHECK((*list)[0].last_login_offline);
        CHECK((*list)[1].name == "bob");
        CHECK((*list)[1].synced);
        CHECK((*list)[1].methods.size() == 3);  // card, pin, card+pin
    }
    auto wrong = auth::CredentialCache::open(dir.db(), key_of(2), cheap_options(), t0);
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error() == auth::cache_errc::wrong_master_key);
    // The failed open changed nothing.
    auto again = open_cache(dir, cheap_options(), t0 + 2h);
    CHECK(again->verify_offline(LoginMethod::password, password("alice", "pw"), t0 + 2h).ok());
}

TEST_CASE("checkpoint() moves the log into the database file; an offline login keeps its index", "[cache]") {
    TempDir dir;
    TempDir copy;
    auto c = open_cache(dir);
    record(*c, user("u-1", "alice"), LoginMethod::pin, pin("4711"));
    // No automatic checkpoint: until checkpoint() runs, the user lives in the log only,
    // so a copy of the database file alone (without its -wal) has no user.
    fs::copy_file(dir.db(), copy.db());
    {
        auto without_log = open_cache(copy, cheap_options(), t0 + 1h);
        CHECK(without_log->verify_offline(LoginMethod::pin, pin("4711"), t0 + 1h).reason == VerifyReason::no_match);
    }
    fs::remove(copy.db());
    // An offline login rewrites the user's body only (last login): the lookup rows stay.
    REQUIRE(c->verify_offline(LoginMethod::pin, pin("4711"), t0 + 1h).ok());
    REQUIRE(c->checkpoint().has_value());
    fs::copy_file(dir.db(), copy.db());
    auto with_log = open_cache(copy, cheap_options(), t0 + 2h);
    auto list = with_log->list_users(t0 + 2h);
    REQUIRE(list.has_value());
    REQUIRE(list->size() == 1);
    CHECK((*list)[0].last_login == t0 + 1h);  // the offline login's body write was checkpointed
    CHECK((*list)[0].last_login_offline);
    CHECK(with_log->verify_offline(LoginMethod::pin, pin("4711"), t0 + 2h).ok());
    // The original still finds alice by PIN after the body-only write.
    CHECK(c->verify_offline(LoginMethod::pin, pin("4711"), t0 + 3h).ok());
}

TEST_CASE("remove_user deletes cached and synced entries by name or alias", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    record(*c, user("u-1", "alice"), LoginMethod::pin, pin("1234"));
    record(*c, user("u-2", "bob"), LoginMethod::pin, pin("5678"));
    auto r = c->remove_user("BRANCH\\Alice");
    REQUIRE(r.has_value());
    CHECK(*r == 1);
    CHECK(c->verify_offline(LoginMethod::pin, pin("1234"), t0).reason == VerifyReason::no_match);
    CHECK(c->verify_offline(LoginMethod::pin, pin("5678"), t0).ok());
    auto none = c->remove_user("alice");
    REQUIRE_FALSE(none.has_value());
    CHECK(none.error() == auth::cache_errc::not_found);
}

TEST_CASE("bad input is refused before hashing", "[cache]") {
    TempDir dir;
    auto c = open_cache(dir);
    CHECK(c->record_online_login(user("", "x"), LoginMethod::pin, pin("1"), t0).error() ==
          auth::cache_errc::bad_input);
    CHECK(c->record_online_login(user("u-1", "x"), LoginMethod::card, card("xyz"), t0).error() ==
          auth::cache_errc::bad_input);
    CHECK(c->record_online_login(user("u-1", "x"), LoginMethod::pin, pin(std::string(33, '1')), t0).error() ==
          auth::cache_errc::bad_input);
    CHECK(c->record_online_login(user("u-1", "x"), static_cast<LoginMethod>(9), pin("1"), t0).error() ==
          auth::cache_errc::bad_input);
    const auto r = c->verify_offline(LoginMethod::password, password("", "x"), t0);
    CHECK(r.status == VerifyStatus::denied);
    CHECK(r.reason == VerifyReason::bad_input);
    auto o = cheap_options();
    o.sync_limit = 0;
    CHECK(auth::CredentialCache::open(dir.db(), key_of(1), o, t0).error() == auth::cache_errc::bad_input);
}

TEST_CASE("concurrent verification is bounded by the hash limiter", "[cache]") {
    TempDir dir;
    auto o = cheap_options();
    o.max_concurrent_hashes = 2;
    auto c = open_cache(dir, o);
    record(*c, user("u-1", "alice"), LoginMethod::pin, pin("1234"));
    record(*c, user("u-2", "bob"), LoginMethod::password, password("bob", "pw"));
    std::atomic<int> ok{0}, denied{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&, i] {
            for (int k = 0; k < 5; ++k) {
                const auto r = i % 2 == 0 ? c->verify_offline(LoginMethod::pin, pin(k % 2 ? "1234" : "0000"), t0)
                                          : c->verify_offline(LoginMethod::password, password("bob", "pw"), t0);
                (r.ok() ? ok : denied)++;
            }
        });
    for (auto& t : threads) t.join();
    CHECK(ok == 28);      // 4 threads x 5 passwords, 4 threads x 2 right PINs
    CHECK(denied == 12);  // 4 threads x 3 wrong PINs
    CHECK(c->hash_limiter().peak() >= 1);
    CHECK(c->hash_limiter().peak() <= 2);
}
