// SPDX-License-Identifier: Apache-2.0
// The IPPS server's TLS context: protocol floor, ciphers, certificate and key.
//
// Owns: building the one `ssl::context` every IPPS connection shares, from the
// configured PEM pair (tls.certificate + tls.private_key) or, when none is set,
// from STATE_DIR/tls/server.crt + server.key, which it creates on first start
// (a self-signed EC P-256 certificate for this host). Must not: log key material,
// accept connections (http_session does), or run after start (it blocks on disk).
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "conf/config.hpp"
#include "gateway/log/log.hpp"

namespace pg::net {

struct TlsIdentity {
    std::string certificate_path;
    std::string private_key_path;
    std::string fingerprint;  // SHA-256 of the DER certificate, "AB:CD:..."
    bool generated = false;   // the self-signed pair under state_dir (not configured)
    bool created = false;     // ... and it was made by this start
};

// Builds the server context: TLS 1.2 minimum, no compression, no renegotiation,
// the server's cipher order (ECDHE with AEAD ciphers for TLS 1.2; OpenSSL's TLS
// 1.3 suites). Generates the self-signed pair when needed: EC P-256, X.509 v3,
// random 128-bit serial, 10 years, CN = hostname, SAN localhost, hostname,
// 127.0.0.1, ::1; key file 0600 written to a temp file (O_EXCL), fsynced and
// renamed; directory 0700. Logs tls_certificate_created / tls_certificate_loaded
// with the fingerprint. Runs once, at start, on the calling thread (blocking I/O).
// On failure returns nullptr and sets `error` to a message naming the file.
std::unique_ptr<boost::asio::ssl::context> create_server_tls_context(const conf::Config& config, log::Logger& log,
                                                                     TlsIdentity& identity, std::string& error);

}  // namespace pg::net
