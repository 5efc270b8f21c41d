// SPDX-License-Identifier: Apache-2.0
// Test helpers for the upstream adapter: throw-away certificates made with
// OpenSSL's API, and a scripted in-process HTTPS server on 127.0.0.1:0 that runs
// on the test's io_context (single thread: no locks).
//
// The server answers each request with what the test's handler returns and
// records every request it saw; it can also swallow connections (black hole),
// hang after reading a request, or drop a kept-alive connection silently.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace pg::test {

// ---- certificates ----

struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;

struct Issued {
    Pkey key;
    Cert cert;
};

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) throw std::runtime_error("X509V3_EXT_conf_nid failed");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

// An EC P-256 certificate: a self-signed CA when `issuer` is null, else a leaf
// for 127.0.0.1 / localhost signed by `issuer`.
inline Issued issue(const char* cn, const Issued* issuer) {
    static long serial = 1;
    Issued out;
    out.key.reset(EVP_EC_gen("P-256"));
    out.cert.reset(X509_new());
    X509* x = out.cert.get();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, out.key.get());
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509* signer_cert = issuer ? issuer->cert.get() : x;
    X509_set_issuer_name(x, X509_get_subject_name(signer_cert));
    add_ext(x, signer_cert, NID_subject_key_identifier, "hash");
    if (issuer == nullptr) {
        add_ext(x, signer_cert, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, signer_cert, NID_authority_key_identifier, "keyid:always");
        add_ext(x, signer_cert, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x, signer_cert, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    }
    if (X509_sign(x, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) == 0)
        throw std::runtime_error("X509_sign failed");
    return out;
}

// PEM text of a certificate or a private key.
inline std::string pem_of(X509* cert, EVP_PKEY* key = nullptr) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (key != nullptr) PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
    else PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
}

// Lower-case hex SHA-256 of the certificate's DER (what upstream.pinned_cert holds).
inline std::string fingerprint(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), md, &n);
    std::string out;
    char buf[3];
    for (unsigned int i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", md[i]);
        out += buf;
    }
    return out;
}

// A temporary directory removed with its contents.
struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "pg-upstream-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        const auto p = path / name;
        std::ofstream(p, std::ios::binary) << text;
        return p.string();
    }
};

// Two CAs and a leaf from each: the client trusts `ca` (ca.pem in `dir`).
struct Pki {
    TempDir dir;
    Issued ca = issue("printgate test CA", nullptr);
    Issued leaf = issue("127.0.0.1", &ca);
    Issued other_ca = issue("another CA", nullptr);
    Issued other_leaf = issue("127.0.0.1", &other_ca);
    std::string ca_file = dir.write("ca.pem", pem_of(ca.cert.get()));
};

// ---- the server ----

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct Seen {
    std::string method;
    std::string target;
    std::string body;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string header(const std::string& name) const {
        auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

struct Reply {
    unsigned status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool hang = false;          // never answer (the connection stays open)
    bool drop_after = false;    // answer as kept-alive, then close the connection silently
};

inline Reply json_reply(unsigned status, std::string body) {
    Reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

class TestServer {
public:
    std::function<Reply(const Seen&)> handler;
    std::function<void()> on_accept;  // after each accepted connection
    std::vector<Seen> seen;
    int connections = 0;
    bool black_hole = false;  // accept and hold connections, never handshake

    TestServer(asio::io_context& ioc, const Issued& identity) : ioc_(ioc), ctx_(asio::ssl::context::tls_server),
                                                                acceptor_(ioc, {asio::ip::make_address("127.0.0.1"), 0}) {
        const std::string cert = pem_of(identity.cert.get());
        const std::string key = pem_of(nullptr, identity.key.get());
        ctx_.use_certificate(asio::buffer(cert), asio::ssl::context::pem);
        ctx_.use_private_key(asio::buffer(key), asio::ssl::context::pem);
        asio::co_spawn(ioc_, accept_loop(), asio::detached);
    }

    unsigned short port() const { return acceptor_.local_endpoint().port(); }
    std::string url() const { return "https://127.0.0.1:" + std::to_string(port()); }

    int count(const std::string& target_prefix) const {
        int n = 0;
        for (const auto& s : seen)
            if (s.target.rfind(target_prefix, 0) == 0) ++n;
        return n;
    }

private:
    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) co_return;
            ++connections;
            if (black_hole) held_.push_back(std::make_shared<asio::ip::tcp::socket>(std::move(socket)));
            else asio::co_spawn(ioc_, session(std::move(socket)), asio::detached);
            if (on_accept) on_accept();
        }
    }

    asio::awaitable<void> session(asio::ip::tcp::socket socket) {
        auto use = asio::as_tuple(asio::use_awaitable);
        asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), ctx_);
        auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use);
        if (hec) co_return;
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            auto [rec, rn] = co_await http::async_read(stream, buffer, req, use);
            if (rec) co_return;
            Seen s;
            s.method = std::string(req.method_string());
            s.target = std::string(req.target());
            s.body = req.body();
            for (const auto& f : req) {
                std::string name(f.name_string());
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                s.headers[name] = std::string(f.value());
            }
            seen.push_back(s);
            Reply r = handler ? handler(s) : json_reply(404, R"({"error":"not_found"})");
            if (r.hang) {
                asio::steady_timer forever(ioc_, std::chrono::hours(1));
                co_await forever.async_wait(use);
                co_return;
            }
            http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
            res.set(http::field::content_type, "application/json");
            for (const auto& [name, value] : r.headers) res.set(name, value);
            res.body() = r.body;
            res.keep_alive(req.keep_alive());
            res.prepare_payload();
            auto [wec, wn] = co_await http::async_write(stream, res, use);
            if (wec || !req.keep_alive() || r.drop_after) co_return;
        }
    }

    asio::io_context& ioc_;
    asio::ssl::context ctx_;
    asio::ip::tcp::acceptor acceptor_;
    std::vector<std::shared_ptr<asio::ip::tcp::socket>> held_;
};

}  // namespace pg::test
