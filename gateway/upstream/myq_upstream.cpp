// SPDX-License-Identifier: Apache-2.0
// The MyQ upstream adapter over HTTPS + JSON. See myq_upstream.hpp and
// docs/upstream-protocol.md.
//
// Design note. All state lives in Impl, shared by the object and every call in
// flight (each public call holds a shared_ptr), and is touched only on the one
// I/O thread, so it needs no lock; what needs care is state across co_await:
// - The token: one fetch at a time. The first caller that finds no fresh token
//   fetches; later callers park on their own timer (expiring at their own
//   deadline) in `token_waiters`; the fetcher bumps `token_round` and cancels
//   those timers when done, and each waiter takes the fresh token or the
//   fetch's Failure. A waiter whose timer really expired gives up at its deadline.
// - Connections: idle ones sit in `idle` (at most max_idle, newest last); one in
//   use is owned by its call's frame and listed in `busy` so that close() can shut
//   its socket, which ends the pending operation with an error.
// - close() also cancels every parked timer (token waiters and name lookups) and
//   sets `closed`, which every call checks after each suspension.
// Secrets (client secret, bearer tokens, user credentials, the lookup key) are
// held in Secret or in strings wiped at scope exit: request bodies, the
// Authorization header value, response bodies of the token endpoint and the
// read buffer behind them. Messages name methods, paths, HTTP statuses and the
// server's fixed error code, never a value we sent or a free-text server field.
#include "gateway/upstream/myq_upstream.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "auth/crypto/crypto.hpp"

namespace pg::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using namespace std::chrono_literals;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

Failure fail(errc code, std::string message, int http_status = 0, std::chrono::seconds retry_after = {}) {
    return Failure{code, std::move(message), retry_after, http_status};
}

void wipe(std::string& s) noexcept {
    if (s.capacity() > 0) OPENSSL_cleanse(s.data(), s.capacity());
    s.clear();
}

std::string describe(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout) return "timed out";
    if (ec == asio::error::operation_aborted) return "canceled";
    return ec.message();
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// https://HOST[:PORT][/PREFIX], split for connecting.
struct Target {
    std::string host;       // without brackets
    std::string port;       // "443" when absent
    std::string authority;  // HOST[:PORT] as written, for Host and messages
    std::string prefix;     // path prefix without a trailing '/', "" for none
    bool ip = false;        // host is an address literal: no DNS, no SNI
};

std::optional<Target> parse_url(std::string_view url, std::string& why) {
    constexpr std::string_view scheme = "https://";
    if (url.size() < scheme.size() || !iequals(url.substr(0, scheme.size()), scheme)) {
        why = "upstream.url must be an https:// URL";
        return std::nullopt;
    }
    std::string_view rest = url.substr(scheme.size());
    const auto end = rest.find_first_of("/?#");
    std::string_view authority = rest.substr(0, end);
    std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (path.find_first_of("?#") != std::string_view::npos) {
        why = "upstream.url must not have a query or fragment";
        return std::nullopt;
    }
    if (authority.find('@') != std::string_view::npos) {
        why = "upstream.url must not hold user information";
        return std::nullopt;
    }
    Target t;
    t.authority = std::string(authority);
    std::string_view port;
    if (!authority.empty() && authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            why = "upstream.url has an unclosed [";
            return std::nullopt;
        }
        t.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                why = "upstream.url has junk after ]";
                return std::nullopt;
            }
            port = authority.substr(close + 2);
        }
    } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        t.host = std::string(authority.substr(0, colon));
        port = authority.substr(colon + 1);
    } else {
        t.host = std::string(authority);
    }
    if (t.host.empty()) {
        why = "upstream.url has no host";
        return std::nullopt;
    }
    if (port.empty()) {
        t.port = "443";
    } else {
        unsigned n = 0;
        for (const char c : port) {
            if (c < '0' || c > '9' || n > 65535) {
                why = "upstream.url has a bad port";
                return std::nullopt;
            }
            n = n * 10 + static_cast<unsigned>(c - '0');
        }
        if (n == 0 || n > 65535) {
            why = "upstream.url has a bad port";
            return std::nullopt;
        }
        t.port = std::string(port);
    }
    boost::system::error_code ec;
    (void)asio::ip::make_address(t.host, ec);
    t.ip = !ec;
    while (path.size() > 0 && path.back() == '/') path.remove_suffix(1);
    t.prefix = std::string(path);
    return t;
}

// Accepts what the config normalises (64 lower-case hex digits) and, to be safe,
// "sha256:" and colons in either case.
std::optional<std::string> normalise_pin(std::string_view pin) {
    if (pin.size() >= 7 && iequals(pin.substr(0, 7), "sha256:")) pin.remove_prefix(7);
    std::string out;
    for (const char c : pin) {
        if (c == ':') continue;
        const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!((l >= '0' && l <= '9') || (l >= 'a' && l <= 'f'))) return std::nullopt;
        out.push_back(l);
    }
    if (out.size() != 64) return std::nullopt;
    return out;
}

std::string hex(std::span<const unsigned char> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

// SHA-256 of the peer's leaf certificate (DER), lower-case hex; "" when none.
std::string leaf_sha256(SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (cert == nullptr) return {};
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int n = 0;
    if (X509_digest(cert, EVP_sha256(), md.data(), &n) != 1) return {};
    return hex(std::span<const unsigned char>(md.data(), n));
}

// A pointer listed in a vector for the guard's lifetime.
template <class T>
class Listed {
public:
    Listed(std::vector<T*>& list, T* item) : list_(list), item_(item) { list_.push_back(item_); }
    ~Listed() { std::erase(list_, item_); }
    Listed(const Listed&) = delete;
    Listed& operator=(const Listed&) = delete;

private:
    std::vector<T*>& list_;
    T* item_;
};

struct Conn {
    asio::ssl::stream<beast::tcp_stream> stream;
    beast::flat_buffer buffer;
    TimePoint idle_since{};

    Conn(const asio::any_io_executor& ex, asio::ssl::context& ctx) : stream(ex, ctx) {}
    beast::tcp_stream& tcp() { return stream.next_layer(); }
};

// Wipes the read buffer's whole storage once it holds no unread bytes (the
// parser copied the body out of it, but the bytes stay behind).
void wipe_buffer(beast::flat_buffer& b) {
    if (b.size() != 0 || b.capacity() == 0) return;
    auto space = b.prepare(b.capacity());
    OPENSSL_cleanse(space.data(), space.size());
}

// One request as the calls describe it.
struct Call {
    http::verb verb = http::verb::get;
    std::string target;           // after the URL prefix, query included
    std::string what;             // "GET /api/v1/status", for messages (no query)
    std::string body;             // JSON, or "" for none; wiped when the call ends
    std::string idempotency_key;  // writes only
    bool secret_answer = false;   // the answer holds a token: wipe what held it
    ~Call() { wipe(body); }
};

struct Response {
    unsigned status = 0;
    std::string body;
    std::chrono::seconds retry_after{0};  // Retry-After in seconds; 0 = absent or not a number
    std::string error;                    // the error body's "error" code when it is a plain code
    bool secret = false;
    Response() = default;
    Response(Response&&) = default;
    Response& operator=(Response&&) = default;
    ~Response() {
        if (secret) wipe(body);
    }
};

// The outcome of one attempt on one connection.
struct Attempt {
    Result<Response> result;
    bool answered = false;  // some answer byte arrived
    bool reusable = false;  // the connection may go back to the pool
};

std::chrono::seconds parse_retry_after(std::string_view v) {
    if (v.empty() || v.size() > 9) return 0s;
    std::int64_t n = 0;
    for (const char c : v) {
        if (c < '0' || c > '9') return 0s;
        n = n * 10 + (c - '0');
    }
    return std::chrono::seconds(std::min<std::int64_t>(n, 86400));
}

// What a non-2xx answer (outside the cases a call handles itself) means.
Failure status_failure_of(const Response& r, std::string_view what) {
    std::string msg = "the server answered HTTP " + std::to_string(r.status);
    if (!r.error.empty()) msg += " " + r.error;
    msg += " to ";
    msg += what;
    const int status = static_cast<int>(r.status);
    // docs/upstream-protocol.md, "Errors": a 429 without a usable Retry-After counts as 5 s.
    if (r.status == 429) return fail(errc::unavailable, msg, status, r.retry_after.count() > 0 ? r.retry_after : 5s);
    if (r.status >= 500) return fail(errc::unavailable, msg, status, r.retry_after);
    if (r.status == 401 && (r.error == "invalid_client" || r.error == "unauthorized_client"))
        return fail(errc::unauthorized, msg, status);
    if (r.status >= 400) return fail(errc::rejected, msg, status);
    return fail(errc::bad_response, msg, status);
}

// The same, carrying the server's error code for callers that act on it (sync: 409
// no_lookup_key, 410 cursor_expired).
Failure status_failure(const Response& r, std::string_view what) {
    Failure f = status_failure_of(r, what);
    f.error = r.error;
    return f;
}

// ---- JSON --------------------------------------------------------------------

// Appends `s` as a JSON string. Used for bodies that hold secrets, so that they
// are built only in strings we wipe (boost::json values would keep copies).
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char digits[] = "0123456789abcdef";
    out.push_back('"');
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(c);
        } else if (u < 0x20) {
            out += "\\u00";
            out.push_back(digits[u >> 4]);
            out.push_back(digits[u & 15]);
        } else {
            out.push_back(c);
        }
    }
    out.push_back('"');
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.push_back(',');
    append_json_string(out, name);
    out.push_back(':');
    append_json_string(out, value);
}

std::optional<json::value> parse_json(std::string_view body) {
    json::parse_options opts;
    opts.max_depth = 16;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec, json::storage_ptr(), opts);
    if (ec) return std::nullopt;
    return v;
}

// The fixed error code of an error body ({"error":"invalid_grant",...}), when it
// looks like one (lower-case letters, digits, '_'): it goes into messages.
std::string error_code_of(std::string_view body) {
    auto v = parse_json(body);
    if (!v || !v->is_object()) return {};
    const auto* e = v->as_object().if_contains("error");
    if (e == nullptr || !e->is_string()) return {};
    const json::string& s = e->get_string();
    if (s.empty() || s.size() > 64) return {};
    for (const char c : s)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return {};
    return std::string(s);
}

// Reads typed fields, remembering the first one missing or of the wrong type.
class Decoder {
public:
    std::string problem;  // "users[2].pins[0].tag", or "" when all was well

    std::string str(const json::object& o, std::string_view key, std::string_view where, bool required = true) {
        const json::value* v = o.if_contains(key);
        if (v == nullptr || v->is_null()) {
            if (required) note(where, key);
            return {};
        }
        if (!v->is_string()) {
            note(where, key);
            return {};
        }
        return std::string(v->get_string());
    }
    bool boolean(const json::object& o, std::string_view key, std::string_view where, bool required = true) {
        const json::value* v = o.if_contains(key);
        if (v != nullptr && v->is_bool()) return v->get_bool();
        if (required || (v != nullptr && !v->is_null())) note(where, key);
        return false;
    }
    std::uint64_t count(const json::object& o, std::string_view key, std::string_view where) {
        const json::value* v = o.if_contains(key);
        if (v != nullptr && v->is_uint64()) return v->get_uint64();
        if (v != nullptr && v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
        note(where, key);
        return 0;
    }
    // An array (absent or null reads as empty unless required).
    const json::array* array(const json::object& o, std::string_view key, std::string_view where, bool required) {
        static const json::array empty;
        const json::value* v = o.if_contains(key);
        if (v != nullptr && v->is_array()) return &v->get_array();
        if (required || (v != nullptr && !v->is_null())) note(where, key);
        return &empty;
    }
    const json::object* object(const json::value& v, std::string_view where) {
        if (v.is_object()) return &v.get_object();
        note(where, "");
        return nullptr;
    }
    bool ok() const { return problem.empty(); }

private:
    void note(std::string_view where, std::string_view key) {
        if (!problem.empty()) return;
        problem = std::string(where);
        if (!key.empty()) problem += (problem.empty() ? "" : ".") + std::string(key);
        if (problem.empty()) problem = "(top level)";
    }
};

std::string indexed(std::string_view where, std::string_view key, std::size_t i) {
    std::string out(where);
    if (!out.empty()) out += '.';
    out += key;
    out += '[' + std::to_string(i) + ']';
    return out;
}

UserInfo decode_user(Decoder& d, const json::object& o, const std::string& where) {
    UserInfo u;
    u.id = d.str(o, "id", where);
    u.name = d.str(o, "name", where);
    u.full_name = d.str(o, "full_name", where, false);
    u.email = d.str(o, "email", where, false);
    const json::array* aliases = d.array(o, "aliases", where, false);
    for (std::size_t i = 0; i < aliases->size(); ++i) {
        if ((*aliases)[i].is_string()) u.aliases.emplace_back((*aliases)[i].get_string());
        else d.str(json::object(), "", indexed(where, "aliases", i));
    }
    const json::array* accounts = d.array(o, "accounts", where, false);
    for (std::size_t i = 0; i < accounts->size(); ++i) {
        const std::string at = indexed(where, "accounts", i);
        if (const json::object* a = d.object((*accounts)[i], at)) u.accounts.push_back({d.str(*a, "id", at), d.str(*a, "name", at)});
    }
    return u;
}

std::vector<SyncedSecret> decode_secrets(Decoder& d, const json::object& o, std::string_view key, const std::string& where) {
    std::vector<SyncedSecret> out;
    const json::array* list = d.array(o, key, where, true);
    for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string at = indexed(where, key, i);
        if (const json::object* s = d.object((*list)[i], at)) out.push_back({d.str(*s, "tag", at), d.str(*s, "verifier", at)});
    }
    return out;
}

std::vector<std::string> decode_strings(Decoder& d, const json::object& o, std::string_view key, const std::string& where) {
    std::vector<std::string> out;
    const json::array* list = d.array(o, key, where, false);
    for (std::size_t i = 0; i < list->size(); ++i) {
        if ((*list)[i].is_string()) out.emplace_back((*list)[i].get_string());
        else d.str(json::object(), "", indexed(where, key, i));
    }
    return out;
}

SyncPage decode_sync(Decoder& d, const json::object& o) {
    SyncPage page;
    page.cursor = d.str(o, "cursor", "");
    page.complete = d.boolean(o, "complete", "");
    page.key_id = d.str(o, "key_id", "", false);
    const json::array* users = d.array(o, "users", "", true);
    for (std::size_t i = 0; i < users->size() && d.ok(); ++i) {
        const std::string at = indexed("", "users", i);
        const json::object* u = d.object((*users)[i], at);
        if (u == nullptr) break;
        SyncedUser s;
        s.user = decode_user(d, *u, at);
        s.disabled = d.boolean(*u, "disabled", at, false);
        s.pins = decode_secrets(d, *u, "pins", at);
        s.cards = decode_secrets(d, *u, "cards", at);
        if (const json::value* p = u->if_contains("password"); p != nullptr && !p->is_null()) {
            if (const json::object* po = d.object(*p, at + ".password")) s.password_verifier = d.str(*po, "verifier", at + ".password");
        }
        page.users.push_back(std::move(s));
    }
    if (const json::value* t = o.if_contains("tombstones"); t != nullptr && !t->is_null()) {
        if (const json::object* to = d.object(*t, "tombstones")) {
            page.tombstone_users = decode_strings(d, *to, "users", "tombstones");
            page.tombstone_pins = decode_strings(d, *to, "pins", "tombstones");
            page.tombstone_cards = decode_strings(d, *to, "cards", "tombstones");
        }
    }
    return page;
}

json::object encode_record(const AccountingRecord& r) {
    json::object o;
    o["record_id"] = r.record_id;
    o["user"] = r.user;
    o["queue"] = r.queue;
    if (r.printer.empty()) o["printer"] = nullptr;
    else o["printer"] = r.printer;
    // The protocol has no "unknown": 0 stands for unknown or not printed.
    o["pages"] = std::max<std::int64_t>(r.pages, 0);
    o["sheets"] = std::max<std::int64_t>(r.sheets, 0);
    o["color"] = r.color;
    o["duplex"] = r.duplex;
    o["copies"] = std::max<std::int64_t>(r.copies, 0);
    o["bytes"] = r.bytes;
    o["submitted_at"] = r.submitted_at;
    o["finished_at"] = r.finished_at;
    o["offline"] = r.offline;
    o["outcome"] = r.outcome;
    return o;
}

// RFC 3986 unreserved characters pass, everything else is %XX.
std::string percent_encode(std::string_view s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(digits[u >> 4]);
            out.push_back(digits[u & 15]);
        }
    }
    return out;
}

Failure closed_failure() { return fail(errc::unavailable, "the upstream client was closed"); }

// The JSON object of a 200 answer; any other outcome as a Failure.
Result<json::value> answer_object(const Result<Response>& r, const std::string& what) {
    if (!r) return r.error();
    if (r->status != 200) return status_failure(*r, what);
    auto doc = parse_json(r->body);
    if (!doc || !doc->is_object()) return fail(errc::bad_response, "the answer to " + what + " is not a JSON object", 200);
    return std::move(*doc);
}

Failure lacking(const std::string& what, const Decoder& d) {
    return fail(errc::bad_response, "the answer to " + what + " lacks " + d.problem, 200);
}

}  // namespace

// ---- the shared state and the calls --------------------------------------------

struct MyqUpstream::Impl {
    asio::any_io_executor ex;
    conf::UpstreamConfig config;
    MyqLimits limits;
    ClientCredentials credentials;
    std::optional<Failure> setup_error;
    Target target;
    std::string pin;  // lower-case hex, "" = none
    std::unique_ptr<asio::ssl::context> tls;
    std::string request_id_prefix;
    std::uint64_t request_count = 0;

    std::vector<std::unique_ptr<Conn>> idle;
    std::vector<Conn*> busy;
    std::vector<asio::steady_timer*> parked;  // name lookups: close() wakes them

    Secret token;
    TimePoint token_refresh_at{};
    bool token_fetching = false;
    std::uint64_t token_round = 0;
    std::optional<Failure> token_error;
    std::vector<asio::steady_timer*> token_waiters;

    bool closed = false;

    Impl(asio::any_io_executor e, const conf::UpstreamConfig& c, ClientCredentials creds, MyqLimits l)
        : ex(std::move(e)), config(c), limits(l), credentials(std::move(creds)) {}

    void setup() {
        std::string why;
        auto t = parse_url(config.url, why);
        if (!t) return set_error(why);
        target = std::move(*t);
        if (config.gateway_id.empty()) return set_error("upstream.gateway_id is not set");
        if (credentials.client_id.empty() || credentials.client_secret.empty())
            return set_error("no upstream client credentials");
        if (!config.pinned_cert.empty()) {
            auto p = normalise_pin(config.pinned_cert);
            if (!p) return set_error("upstream.pinned_cert is not a SHA-256 (64 hex digits)");
            pin = std::move(*p);
        }
        tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        boost::system::error_code ec;
        tls->set_options(asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1 | asio::ssl::context::no_compression,
                         ec);
        SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
        SSL_CTX_set_options(tls->native_handle(), SSL_OP_NO_RENEGOTIATION);
        tls->set_verify_mode(asio::ssl::verify_peer, ec);
        if (!config.ca_file.empty()) {
            tls->load_verify_file(config.ca_file, ec);
            if (ec) return set_error("upstream.ca_file " + config.ca_file + ": cannot load CA certificates: " + ec.message());
        } else {
            tls->set_default_verify_paths(ec);
            if (ec) return set_error("cannot load the system CA store: " + ec.message());
        }
        // X-Request-Id: 1 to 64 of [A-Za-z0-9-]: the gateway id's first 24
        // characters (others as '-'), 64 random bits per process, a counter.
        for (const char c : std::string_view(config.gateway_id).substr(0, 24))
            request_id_prefix.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
        std::array<std::byte, 8> r{};
        if (!crypto::random_bytes(r)) {
            const auto now = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
            for (std::size_t i = 0; i < r.size(); ++i) r[i] = static_cast<std::byte>(now >> (8 * i));
        }
        request_id_prefix += '-' + hex(std::span(reinterpret_cast<const unsigned char*>(r.data()), r.size())) + '-';
    }

    void set_error(std::string why) { setup_error = fail(errc::not_configured, std::move(why)); }

    std::string next_request_id() { return request_id_prefix + std::to_string(++request_count); }

    void close() {
        closed = true;
        for (Conn* c : busy) c->tcp().close();
        for (auto* t : parked) t->cancel();
        for (auto* t : token_waiters) t->cancel();
        idle.clear();
        token.wipe();
    }

    std::unique_ptr<Conn> take_idle() {
        const auto now = Clock::now();
        while (!idle.empty()) {
            auto c = std::move(idle.back());
            idle.pop_back();
            if (now - c->idle_since < limits.max_idle_age) return c;
        }
        return nullptr;
    }

    void give_back(std::unique_ptr<Conn> c) {
        if (closed || idle.size() >= limits.max_idle) return;
        c->tcp().expires_never();
        c->idle_since = Clock::now();
        idle.push_back(std::move(c));
    }

    // getaddrinfo cannot be interrupted: the lookup runs on, and the caller
    // stops waiting for it at `until` (its result is then dropped).
    asio::awaitable<Result<std::vector<tcp::endpoint>>> resolve(TimePoint until) {
        struct Lookup {
            tcp::resolver resolver;
            asio::steady_timer done;
            boost::system::error_code ec;
            std::vector<tcp::endpoint> endpoints;
            bool finished = false;
            explicit Lookup(const asio::any_io_executor& e) : resolver(e), done(e) {}
        };
        auto lookup = std::make_shared<Lookup>(ex);
        lookup->done.expires_at(until);
        lookup->resolver.async_resolve(target.host, target.port,
                                       [lookup](boost::system::error_code ec, tcp::resolver::results_type results) {
                                           lookup->ec = ec;
                                           for (const auto& e : results) lookup->endpoints.push_back(e.endpoint());
                                           lookup->finished = true;
                                           lookup->done.cancel();
                                       });
        {
            Listed<asio::steady_timer> listed(parked, &lookup->done);
            co_await lookup->done.async_wait(kUseTuple);
        }
        if (closed) co_return closed_failure();
        if (!lookup->finished) {
            lookup->resolver.cancel();
            co_return fail(errc::unavailable, "cannot resolve " + target.host + ": timed out");
        }
        if (lookup->ec) co_return fail(errc::unavailable, "cannot resolve " + target.host + ": " + lookup->ec.message());
        co_return std::move(lookup->endpoints);
    }

    // A new verified TLS connection, bounded by `deadline` and connect_timeout.
    asio::awaitable<Result<std::unique_ptr<Conn>>> connect(TimePoint deadline) {
        const TimePoint until = std::min(deadline, Clock::now() + limits.connect_timeout);
        auto conn = std::make_unique<Conn>(ex, *tls);
        Listed<Conn> listed(busy, conn.get());
        std::vector<tcp::endpoint> endpoints;
        if (target.ip) {
            endpoints.emplace_back(asio::ip::make_address(target.host),
                                   static_cast<unsigned short>(std::stoul(target.port)));
        } else {
            auto r = co_await resolve(until);
            if (!r) co_return r.error();
            endpoints = std::move(*r);
        }
        conn->tcp().expires_at(until);
        auto [cec, ep] = co_await conn->tcp().async_connect(endpoints, kUseTuple);
        (void)ep;
        if (closed) co_return closed_failure();
        if (cec) co_return fail(errc::unavailable, "cannot connect to " + target.authority + ": " + describe(cec));
        boost::system::error_code ignored;
        conn->tcp().socket().set_option(tcp::no_delay(true), ignored);
        SSL* ssl = conn->stream.native_handle();
        // RFC 6066 §3: no SNI for address literals.
        if (!target.ip) SSL_set_tlsext_host_name(ssl, target.host.c_str());
        conn->stream.set_verify_callback(asio::ssl::host_name_verification(target.host));
        conn->tcp().expires_at(until);
        auto [hec] = co_await conn->stream.async_handshake(asio::ssl::stream_base::client, kUseTuple);
        if (closed) co_return closed_failure();
        if (hec) {
            std::string why = describe(hec);
            if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK) why += ": " + std::string(X509_verify_cert_error_string(v));
            co_return fail(errc::unavailable, "TLS handshake with " + target.authority + " failed: " + why);
        }
        if (!pin.empty() && leaf_sha256(ssl) != pin)
            co_return fail(errc::unavailable, "server certificate does not match upstream.pinned_cert");
        co_return std::move(conn);
    }

    // Sends `req` on `c` and reads the answer, bounded by `deadline`.
    asio::awaitable<Attempt> transfer(Conn& c, http::request<http::string_body>& req, TimePoint deadline,
                                      const Call& call) {
        c.tcp().expires_at(deadline);
        auto [wec, wn] = co_await http::async_write(c.stream, req, kUseTuple);
        (void)wn;
        if (wec) co_return Attempt{fail(errc::unavailable, "sending " + call.what + " failed: " + describe(wec)), false, false};
        http::response_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(limits.max_header));
        parser.body_limit(limits.max_body);
        c.tcp().expires_at(deadline);
        auto [rec, rn] = co_await http::async_read(c.stream, c.buffer, parser, kUseTuple);
        (void)rn;
        const bool answered = parser.got_some();
        if (call.secret_answer) wipe_buffer(c.buffer);
        if (rec == http::error::body_limit)
            co_return Attempt{fail(errc::bad_response, "the answer to " + call.what + " is larger than " +
                                                           std::to_string(limits.max_body) + " bytes"),
                              true, false};
        if (rec == http::error::header_limit)
            co_return Attempt{fail(errc::bad_response, "the answer to " + call.what + " has oversized headers"), true, false};
        if (rec && rec.category() == http::make_error_code(http::error::bad_version).category() &&
            rec != http::error::end_of_stream && rec != http::error::partial_message)
            co_return Attempt{fail(errc::bad_response, "the answer to " + call.what + " is not valid HTTP"), true, false};
        if (rec)
            co_return Attempt{fail(errc::unavailable, "no answer to " + call.what + ": " + describe(rec)), answered, false};
        auto& res = parser.get();
        Response out;
        out.secret = call.secret_answer;
        out.status = res.result_int();
        out.body = std::move(res.body());
        out.retry_after = parse_retry_after(res[http::field::retry_after]);
        if (out.status >= 400) out.error = error_code_of(out.body);
        const bool reusable = res.keep_alive();
        co_return Attempt{std::move(out), true, reusable};
    }

    // One HTTP exchange, on a pooled connection when one is idle.
    asio::awaitable<Result<Response>> exchange(const Call& call, TimePoint deadline, const Secret* bearer) {
        http::request<http::string_body> req{call.verb, target.prefix + call.target, 11};
        req.set(http::field::host, target.authority);
        req.set(http::field::user_agent, "printgate");
        req.set(http::field::accept, "application/json");
        req.set("X-Gateway-Id", config.gateway_id);
        if (!call.idempotency_key.empty()) req.set("Idempotency-Key", call.idempotency_key);
        if (bearer != nullptr) {
            std::string value = "Bearer " + bearer->str();
            req.set(http::field::authorization, value);
            wipe(value);
        }
        if (!call.body.empty()) {
            req.set(http::field::content_type, "application/json");
            req.body() = call.body;
        }
        req.prepare_payload();
        struct Scrub {  // the header value and the body copy hold secrets
            http::request<http::string_body>& r;
            ~Scrub() {
                if (auto it = r.find(http::field::authorization); it != r.end())
                    OPENSSL_cleanse(const_cast<char*>(it->value().data()), it->value().size());
                wipe(r.body());
            }
        } scrub{req};
        for (int attempt = 0;; ++attempt) {
            if (closed) co_return closed_failure();
            req.set("X-Request-Id", next_request_id());
            std::unique_ptr<Conn> conn = attempt == 0 ? take_idle() : nullptr;
            const bool reused = conn != nullptr;
            if (!conn) {
                auto made = co_await connect(deadline);
                if (!made) co_return made.error();
                conn = std::move(*made);
            }
            Listed<Conn> listed(busy, conn.get());
            Attempt a = co_await transfer(*conn, req, deadline, call);
            if (closed) co_return closed_failure();
            if (!a.result) {
                // A pooled connection the server closed meanwhile fails before any
                // answer byte: once more on a new one (every request may be repeated).
                if (reused && !a.answered && Clock::now() < deadline) continue;
                co_return std::move(a.result);
            }
            if (a.reusable) give_back(std::move(conn));
            co_return std::move(a.result);
        }
    }

    // ---- token (docs/upstream-protocol.md, "Token") ----

    asio::awaitable<Result<void>> fetch_token(TimePoint deadline) {
        Call call;
        call.verb = http::verb::post;
        call.target = "/api/auth/token";
        call.what = "POST /api/auth/token (client credentials)";
        call.secret_answer = true;
        call.body = R"({"grant_type":"client_credentials")";
        append_field(call.body, "client_id", credentials.client_id);
        append_field(call.body, "client_secret", credentials.client_secret.view());
        call.body += R"(,"scope":"gateway users accounting"})";
        const TimePoint started = Clock::now();
        auto r = co_await exchange(call, deadline, nullptr);
        if (!r) co_return r.error();
        if (r->status != 200) {
            if (r->status == 401 || r->error == "invalid_client")
                co_return fail(errc::unauthorized, "the server refused the gateway's client credentials (HTTP " +
                                                       std::to_string(r->status) + (r->error.empty() ? "" : " " + r->error) + ")",
                               static_cast<int>(r->status));
            co_return status_failure(*r, call.what);
        }
        auto doc = answer_object(r, call.what);
        if (!doc) co_return doc.error();
        json::object& o = doc->get_object();
        json::value* access = o.if_contains("access_token");
        const json::value* type = o.if_contains("token_type");
        const json::value* expires = o.if_contains("expires_in");
        std::int64_t lifetime = 0;
        if (expires != nullptr && expires->is_int64()) lifetime = expires->get_int64();
        else if (expires != nullptr && expires->is_uint64()) lifetime = static_cast<std::int64_t>(std::min<std::uint64_t>(expires->get_uint64(), 1u << 30));
        const bool good = access != nullptr && access->is_string() && !access->get_string().empty() &&
                          access->get_string().size() <= 4096 && type != nullptr && type->is_string() &&
                          iequals(type->get_string(), "bearer") && lifetime > 0;
        Secret fresh;
        if (access != nullptr && access->is_string()) {
            json::string& s = access->get_string();
            if (good) fresh = Secret(std::string_view(s.data(), s.size()));
            OPENSSL_cleanse(s.data(), s.size());
        }
        if (!good) co_return fail(errc::bad_response, "the answer to " + call.what + " lacks a bearer token with expires_in", 200);
        if (closed) co_return closed_failure();
        token = std::move(fresh);
        // Renew when 80 % of the lifetime has passed, and at least 30 s before expiry
        // (docs/upstream-protocol.md, "Token"): a token only just valid would die in flight.
        const auto life = std::chrono::seconds(lifetime);
        token_refresh_at = started + life - std::max<std::chrono::seconds>(30s, life / 5);
        co_return Result<void>();
    }

    // The bearer token for a call ending at `deadline`: the cached one while fresh,
    // else the result of the one fetch in flight (started here when none is).
    asio::awaitable<Result<Secret>> bearer_token(TimePoint deadline) {
        for (;;) {
            if (closed) co_return closed_failure();
            if (!token.empty() && Clock::now() < token_refresh_at) co_return token;
            if (!token_fetching) {
                token_fetching = true;
                auto r = co_await fetch_token(std::min(deadline, Clock::now() + limits.token_timeout));
                token_fetching = false;
                ++token_round;
                token_error = r ? std::nullopt : std::optional<Failure>(r.error());
                for (auto* t : token_waiters) t->cancel();
                if (!r) co_return r.error();
                // Fresh even if already due for renewal (a short expires_in): use it.
                co_return token;
            }
            const std::uint64_t round = token_round;
            asio::steady_timer wait(ex, deadline);
            {
                Listed<asio::steady_timer> listed(token_waiters, &wait);
                co_await wait.async_wait(kUseTuple);
            }
            if (closed) co_return closed_failure();
            if (round == token_round) co_return fail(errc::unavailable, "timed out waiting for a token from " + target.authority);
            if (token_error) co_return *token_error;
            if (!token.empty()) co_return token;
        }
    }

    // An exchange under the bearer token. 401 invalid_token: the token is dropped
    // (unless another call replaced it already) and the call made once more
    // (RFC 6750 §3.1). `latency`: the last exchange alone.
    asio::awaitable<Result<Response>> authorized(const Call& call, TimePoint deadline,
                                                 std::chrono::milliseconds* latency = nullptr) {
        for (int attempt = 0;; ++attempt) {
            auto bearer = co_await bearer_token(deadline);
            if (!bearer) co_return bearer.error();
            const TimePoint start = Clock::now();
            auto r = co_await exchange(call, deadline, &*bearer);
            if (latency != nullptr) *latency = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
            if (r && r->status == 401 && r->error == "invalid_token" && attempt == 0) {
                if (token.view() == bearer->view()) token.wipe();
                continue;
            }
            co_return r;
        }
    }

    // ---- the calls ----

    std::optional<Failure> unusable() const {
        if (setup_error) return setup_error;
        if (closed) return closed_failure();
        return std::nullopt;
    }

    asio::awaitable<Result<ProbeResult>> probe() {
        if (auto f = unusable()) co_return *f;
        const TimePoint deadline = Clock::now() + config.probe_timeout;
        Call call;
        call.target = "/api/v1/status";
        call.what = "GET /api/v1/status";
        ProbeResult out;
        auto r = co_await authorized(call, deadline, &out.latency);
        auto doc = answer_object(r, call.what);
        if (!doc) co_return doc.error();
        Decoder d;
        const json::object& o = doc->get_object();
        const std::string status = d.str(o, "status", "");
        out.server_time = d.str(o, "server_time", "", false);
        out.server_version = d.str(o, "version", "", false);
        if (!d.ok()) co_return lacking(call.what, d);
        if (status != "ok" && status != "degraded")
            co_return fail(errc::bad_response, "the answer to " + call.what + " has an unknown status", 200);
        out.degraded = status == "degraded";
        co_return out;
    }

    asio::awaitable<Result<UserInfo>> verify_user(LoginInfo& login) {
        if (auto f = unusable()) co_return *f;
        const auto budget = login.timeout.count() > 0 ? std::min(login.timeout, config.request_timeout)
                                                      : config.request_timeout;
        const TimePoint deadline = Clock::now() + budget;
        const int type = static_cast<int>(login.type);
        if (type < 1 || type > 5) co_return fail(errc::rejected, "unknown login type " + std::to_string(type));
        Call call;
        call.verb = http::verb::post;
        call.target = "/api/auth/token";
        call.what = "POST /api/auth/token (login_info)";
        call.secret_answer = true;
        call.body = R"({"grant_type":"login_info","login_info":{"type":)" + std::to_string(type);
        // Only the fields of the type (docs/upstream-protocol.md, "User verification").
        if (login.type == LoginType::card || login.type == LoginType::card_pin || login.type == LoginType::card_password)
            append_field(call.body, "card", login.card);
        if (login.type == LoginType::pin || login.type == LoginType::card_pin) append_field(call.body, "pin", login.pin);
        if (login.type == LoginType::password) append_field(call.body, "username", login.username);
        if (login.type == LoginType::password || login.type == LoginType::card_password)
            append_field(call.body, "password", login.password);
        call.body += "}}";
        auto r = co_await authorized(call, deadline);
        if (!r) co_return r.error();
        const int status = static_cast<int>(r->status);
        if (r->status == 401 && r->error == "invalid_grant")
            co_return fail(errc::invalid_credentials, "the server did not accept the user's credentials", status);
        if (r->status == 403 && r->error == "user_disabled")
            co_return fail(errc::user_disabled, "the user is disabled at the server", status);
        auto doc = answer_object(r, call.what);
        if (!doc) co_return doc.error();
        json::object& o = doc->get_object();
        // The user's session token: not needed (v1 takes it nowhere), not kept.
        if (json::value* t = o.if_contains("access_token"); t != nullptr && t->is_string())
            OPENSSL_cleanse(t->get_string().data(), t->get_string().size());
        Decoder d;
        const json::value* user = o.if_contains("user");
        UserInfo info;
        if (user == nullptr) d.str(o, "user", "");
        else if (const json::object* u = d.object(*user, "user")) info = decode_user(d, *u, "user");
        if (!d.ok()) co_return lacking(call.what, d);
        co_return info;
    }

    asio::awaitable<Result<void>> register_lookup_key(const std::string& key_id, std::vector<std::byte>& key) {
        if (auto f = unusable()) co_return *f;
        const TimePoint deadline = Clock::now() + config.request_timeout;
        if (key.size() != 32) co_return fail(errc::rejected, "the lookup key must be 32 bytes");
        const bool id_ok = !key_id.empty() && key_id.size() <= 64 &&
                           std::all_of(key_id.begin(), key_id.end(), [](char c) {
                               return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
                           });
        if (!id_ok) co_return fail(errc::rejected, "the lookup key id must be 1 to 64 of [A-Za-z0-9._-]");
        Call call;
        call.verb = http::verb::put;
        call.target = "/api/v1/gateways/" + percent_encode(config.gateway_id) + "/lookup-key";
        call.what = "PUT /api/v1/gateways/{gateway_id}/lookup-key";
        call.idempotency_key = "lookup-key-" + key_id;
        std::string encoded(4 * ((key.size() + 2) / 3) + 1, '\0');
        const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                      reinterpret_cast<const unsigned char*>(key.data()), static_cast<int>(key.size()));
        encoded.resize(static_cast<std::size_t>(n));
        call.body = "{";
        append_json_string(call.body, "key_id");
        call.body += ':';
        append_json_string(call.body, key_id);
        append_field(call.body, "key", encoded);
        call.body += '}';
        wipe(encoded);
        auto r = co_await authorized(call, deadline);
        if (!r) co_return r.error();
        if (r->status / 100 != 2) co_return status_failure(*r, call.what);
        co_return Result<void>();
    }

    asio::awaitable<Result<SyncPage>> sync(const SyncRequest& request) {
        if (auto f = unusable()) co_return *f;
        const TimePoint deadline =
            Clock::now() + std::max<std::chrono::milliseconds>(config.request_timeout, limits.sync_timeout);
        Call call;
        call.target = "/api/v1/gateways/" + percent_encode(config.gateway_id) + "/sync?";
        if (!request.cursor.empty()) call.target += "cursor=" + percent_encode(request.cursor) + "&";
        call.target += "limit=" + std::to_string(request.limit) + "&argon2_m_kib=" + std::to_string(request.argon2_m_kib) +
                       "&argon2_t=" + std::to_string(request.argon2_t) + "&argon2_p=" + std::to_string(request.argon2_p);
        call.what = "GET /api/v1/gateways/{gateway_id}/sync";
        auto r = co_await authorized(call, deadline);
        auto doc = answer_object(r, call.what);
        if (!doc) co_return doc.error();
        Decoder d;
        SyncPage page = decode_sync(d, doc->get_object());
        if (!d.ok()) co_return lacking(call.what, d);
        co_return page;
    }

    asio::awaitable<Result<BatchAck>> upload_accounting(const std::string& batch_id,
                                                        const std::vector<AccountingRecord>& records) {
        if (auto f = unusable()) co_return *f;
        const TimePoint deadline = Clock::now() + config.request_timeout;
        if (batch_id.empty() || batch_id.size() > 128) co_return fail(errc::rejected, "the batch id must be 1 to 128 characters");
        json::array list;
        list.reserve(records.size());
        for (const auto& rec : records) list.push_back(encode_record(rec));
        json::object body;
        body["batch_id"] = batch_id;
        body["records"] = std::move(list);
        Call call;
        call.verb = http::verb::post;
        call.target = "/api/v1/accounting/batches";
        call.what = "POST /api/v1/accounting/batches";
        call.idempotency_key = batch_id;
        call.body = json::serialize(body);
        auto r = co_await authorized(call, deadline);
        auto doc = answer_object(r, call.what);
        if (!doc) co_return doc.error();
        Decoder d;
        const json::object& o = doc->get_object();
        BatchAck ack;
        ack.batch_id = d.str(o, "batch_id", "");
        ack.accepted = d.count(o, "accepted", "");
        ack.duplicates = d.count(o, "duplicates", "");
        if (!d.ok()) co_return lacking(call.what, d);
        if (ack.batch_id != batch_id) co_return fail(errc::bad_response, "the answer to " + call.what + " names another batch", 200);
        co_return ack;
    }
};

// ---- the public face: each call holds the shared state for its whole life ----

MyqUpstream::MyqUpstream(asio::any_io_executor ex, const conf::UpstreamConfig& config, ClientCredentials credentials,
                         MyqLimits limits)
    : impl_(std::make_shared<Impl>(std::move(ex), config, std::move(credentials), limits)) {
    impl_->setup();
}

MyqUpstream::~MyqUpstream() { impl_->close(); }

const std::optional<Failure>& MyqUpstream::setup_error() const { return impl_->setup_error; }

asio::awaitable<Result<ProbeResult>> MyqUpstream::probe() {
    const std::shared_ptr<Impl> impl = impl_;
    co_return co_await impl->probe();
}

asio::awaitable<Result<UserInfo>> MyqUpstream::verify_user(LoginInfo login) {
    const std::shared_ptr<Impl> impl = impl_;
    auto r = co_await impl->verify_user(login);
    for (std::string* s : {&login.card, &login.pin, &login.username, &login.password}) wipe(*s);
    co_return r;
}

asio::awaitable<Result<void>> MyqUpstream::register_lookup_key(std::string key_id, std::vector<std::byte> key) {
    const std::shared_ptr<Impl> impl = impl_;
    auto r = co_await impl->register_lookup_key(key_id, key);
    if (!key.empty()) OPENSSL_cleanse(key.data(), key.size());
    co_return r;
}

asio::awaitable<Result<SyncPage>> MyqUpstream::sync(SyncRequest request) {
    const std::shared_ptr<Impl> impl = impl_;
    co_return co_await impl->sync(request);
}

asio::awaitable<Result<BatchAck>> MyqUpstream::upload_accounting(std::string batch_id,
                                                                 std::vector<AccountingRecord> records) {
    const std::shared_ptr<Impl> impl = impl_;
    co_return co_await impl->upload_accounting(batch_id, records);
}

void MyqUpstream::close() { impl_->close(); }

}  // namespace pg::upstream
