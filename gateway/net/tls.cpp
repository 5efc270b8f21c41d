// SPDX-License-Identifier: Apache-2.0
// IPPS server context and the self-signed certificate made on first start.
//
// Design note. IPP Everywhere printers ship a self-signed certificate and clients
// (CUPS, Windows, macOS) trust it on first use (RFC 8010 §8.2 leaves trust to the
// client), so a branch appliance does the same when the admin sets no pair: one EC
// P-256 key and one certificate for this host, kept under STATE_DIR/tls so every
// restart presents the same fingerprint (a new one each start would break TOFU
// pinning). The key is written to a temp file created 0600 with O_EXCL, fsynced and
// renamed, then the directory is fsynced: after a crash either the old state or a
// complete file is there. A half-made pair (one file missing) is made again.
//
// RFC 8010 §8.2 asks for TLS 1.2 or later; RFC 9325 (BCP 195) for AEAD ciphers with
// forward secrecy, no compression (CRIME) and no renegotiation.
#include "gateway/net/tls.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string_view>

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace pg::net {

namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;

namespace {

// TLS 1.2 suites (TLS 1.3 keeps OpenSSL's defaults, all AEAD): ECDHE/DHE with AES-GCM
// or ChaCha20-Poly1305, ECDSA first (our generated key), RSA for configured RSA keys.
constexpr const char* kCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

constexpr long kValidityDays = 3653;  // 10 years

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ExtFree {
    void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};

// The reason of the last OpenSSL error (and clears the queue).
std::string openssl_error() {
    unsigned long code = 0;
    unsigned long last = 0;
    while ((code = ERR_get_error()) != 0) last = code;
    if (last == 0) return "unknown OpenSSL error";
    std::array<char, 256> buf{};
    ERR_error_string_n(last, buf.data(), buf.size());
    return buf.data();
}

std::string fingerprint_of(X509* cert) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (X509_digest(cert, EVP_sha256(), md.data(), &len) != 1) return "?";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) out += fmt::format("{}{:02X}", i == 0 ? "" : ":", md[i]);
    return out;
}

// The host name if it is a plain DNS name we can put in a certificate, else "".
std::string dns_hostname() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0) return {};
    std::string name(buf.data());
    if (name.empty() || name.size() > 253 || name == "localhost" || name.front() == '.' || name.front() == '-')
        return {};
    for (char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '.';
        if (!ok) return {};
    }
    return name;
}

bool add_extension(X509* cert, X509V3_CTX& v3, int nid, const std::string& value, std::string& error) {
    std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        error = fmt::format("cannot add certificate extension {}: {}", OBJ_nid2sn(nid), openssl_error());
        return false;
    }
    return true;
}

// Writes `data` to `path` atomically: PATH.tmp created with O_EXCL and `mode`,
// written, fsynced, renamed over `path`. The caller fsyncs the directory.
bool write_file_atomic(const fs::path& path, std::string_view data, mode_t mode, std::string& error) {
    fs::path tmp = path;
    tmp += ".tmp";
    int fd = -1;
    for (int attempt = 0; attempt < 2 && fd < 0; ++attempt) {
        fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        // A temp file left by a crash: we hold the state lock, so it is stale.
        if (fd < 0 && errno == EEXIST && attempt == 0) ::unlink(tmp.c_str());
        else if (fd < 0) break;
    }
    if (fd < 0) {
        error = fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno));
        return false;
    }
    int err = 0;
    if (::fchmod(fd, mode) != 0) err = errno;
    std::size_t off = 0;
    while (err == 0 && off < data.size()) {
        const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) err = errno;
        else if (n == 0) err = EIO;
        else off += static_cast<std::size_t>(n);
    }
    if (err == 0 && ::fsync(fd) != 0) err = errno;
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err != 0) {
        error = fmt::format("cannot write {}: {}", path.string(), std::strerror(err));
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

bool fsync_dir(const fs::path& dir, std::string& error) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        error = fmt::format("cannot fsync {}: {}", dir.string(), std::strerror(errno));
        if (fd >= 0) ::close(fd);
        return false;
    }
    ::close(fd);
    return true;
}

// The bytes written to a memory BIO (a BIO_s_secmem one wipes its buffer when freed).
std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string{};
}

// Makes the self-signed pair and writes it: key first, then the certificate, so a
// certificate on disk always has its key.
bool generate_pair(const fs::path& cert_path, const fs::path& key_path, std::string& fingerprint,
                   std::string& error) {
    std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) {
        error = "cannot generate an EC P-256 key: " + openssl_error();
        return false;
    }
    std::unique_ptr<X509, X509Free> cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
        error = "cannot create a certificate: " + openssl_error();
        return false;
    }
    // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 128 random bits
    // with the top bit cleared keep it positive.
    std::array<unsigned char, 16> serial{};
    if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1) {
        error = "cannot draw a certificate serial: " + openssl_error();
        return false;
    }
    serial[0] &= 0x7f;
    std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
    if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) == nullptr) {
        error = "cannot set the certificate serial: " + openssl_error();
        return false;
    }
    // Backdated an hour for clients whose clock runs a little behind.
    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(kValidityDays), 0, nullptr) == nullptr) {
        error = "cannot set the certificate validity: " + openssl_error();
        return false;
    }
    const std::string host = dns_hostname();
    const std::string cn = host.empty() ? "localhost" : host;
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1,
                                   -1, 0) != 1 ||
        X509_set_issuer_name(cert.get(), name) != 1 || X509_set_pubkey(cert.get(), key.get()) != 1) {
        error = "cannot set the certificate subject: " + openssl_error();
        return false;
    }
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    std::string san = "DNS:localhost";
    if (!host.empty()) san += ",DNS:" + host;
    san += ",IP:127.0.0.1,IP:::1";
    if (!add_extension(cert.get(), v3, NID_basic_constraints, "critical,CA:FALSE", error) ||
        !add_extension(cert.get(), v3, NID_key_usage, "critical,digitalSignature", error) ||
        !add_extension(cert.get(), v3, NID_ext_key_usage, "serverAuth", error) ||
        !add_extension(cert.get(), v3, NID_subject_key_identifier, "hash", error) ||
        !add_extension(cert.get(), v3, NID_subject_alt_name, san, error))
        return false;
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
        error = "cannot sign the certificate: " + openssl_error();
        return false;
    }

    std::unique_ptr<BIO, BioFree> key_bio(BIO_new(BIO_s_secmem()));
    std::unique_ptr<BIO, BioFree> cert_bio(BIO_new(BIO_s_mem()));
    if (!key_bio || !cert_bio ||
        PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
        PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) {
        error = "cannot encode the certificate and key: " + openssl_error();
        return false;
    }
    std::string key_pem = bio_text(key_bio.get());
    bool ok = write_file_atomic(key_path, key_pem, 0600, error);
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    if (!ok) return false;
    if (!write_file_atomic(cert_path, bio_text(cert_bio.get()), 0644, error)) return false;
    if (!fsync_dir(key_path.parent_path(), error)) return false;
    fingerprint = fingerprint_of(cert.get());
    return true;
}

bool readable(const std::string& path, const char* what, std::string& error) {
    if (::access(path.c_str(), R_OK) == 0) return true;
    error = fmt::format("cannot read the TLS {} {}: {}", what, path, std::strerror(errno));
    return false;
}

}  // namespace

std::unique_ptr<ssl::context> create_server_tls_context(const conf::Config& config, log::Logger& log,
                                                        TlsIdentity& identity, std::string& error) {
    identity = TlsIdentity{};
    if (!config.tls.certificate.empty()) {
        identity.certificate_path = config.tls.certificate;
        identity.private_key_path = config.tls.private_key;
    } else {
        const fs::path dir = fs::path(config.state_dir) / "tls";
        identity.generated = true;
        identity.certificate_path = (dir / "server.crt").string();
        identity.private_key_path = (dir / "server.key").string();
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec || ::chmod(dir.c_str(), 0700) != 0) {
            error = fmt::format("cannot create {}: {}", dir.string(), ec ? ec.message() : std::strerror(errno));
            return nullptr;
        }
        const bool have_cert = fs::exists(identity.certificate_path, ec);
        const bool have_key = fs::exists(identity.private_key_path, ec);
        if (!have_cert || !have_key) {
            std::string fingerprint;
            if (!generate_pair(identity.certificate_path, identity.private_key_path, fingerprint, error)) {
                error = "cannot create the self-signed TLS certificate: " + error;
                return nullptr;
            }
            identity.created = true;
            log.info({.event = "tls_certificate_created"},
                     "created a self-signed TLS certificate {} (SHA-256 fingerprint {})",
                     log::escape(identity.certificate_path), fingerprint);
        }
    }
    if (!readable(identity.certificate_path, "certificate", error) ||
        !readable(identity.private_key_path, "private key", error))
        return nullptr;

    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    boost::system::error_code ec;
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                         ssl::context::single_dh_use,
                     ec);
    SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    // No TLS 1.3 NewSessionTicket after the handshake: libcups with GnuTLS (Debian's
    // ipptool, lp) spins forever when a ticket arrives while it waits for a reply with
    // a timeout (ipptool -T). Clients open few connections; resumption gains little.
    SSL_CTX_set_num_tickets(native, 0);
    if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_cipher_list(native, kCipherList) != 1 || SSL_CTX_set_dh_auto(native, 1) != 1) {
        error = "cannot set up TLS: " + (ec ? ec.message() : openssl_error());
        return nullptr;
    }
    ctx->use_certificate_chain_file(identity.certificate_path, ec);
    if (ec) {
        error = fmt::format("cannot load the TLS certificate {}: {}", identity.certificate_path, ec.message());
        ERR_clear_error();
        return nullptr;
    }
    ctx->use_private_key_file(identity.private_key_path, ssl::context::pem, ec);
    if (ec) {
        error = fmt::format("cannot load the TLS private key {}: {}", identity.private_key_path, ec.message());
        ERR_clear_error();
        return nullptr;
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        error = fmt::format("the TLS private key {} does not match the certificate {}: {}",
                            identity.private_key_path, identity.certificate_path, openssl_error());
        return nullptr;
    }
    X509* cert = SSL_CTX_get0_certificate(native);
    identity.fingerprint = cert != nullptr ? fingerprint_of(cert) : "?";
    log.info({.event = "tls_certificate_loaded"}, "TLS certificate {} (SHA-256 fingerprint {}{})",
             log::escape(identity.certificate_path), identity.fingerprint,
             identity.generated ? ", self-signed" : "");
    if (cert != nullptr && X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
        log.warn({.event = "tls_certificate_expired"}, "the TLS certificate {} has expired; clients may refuse it",
                 log::escape(identity.certificate_path));
    ERR_clear_error();
    return ctx;
}

}  // namespace pg::net
