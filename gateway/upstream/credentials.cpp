// SPDX-License-Identifier: Apache-2.0
// Reading the upstream client credentials file. See credentials.hpp.
#include "gateway/upstream/credentials.hpp"

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

namespace pg::upstream {

namespace {

constexpr std::size_t kMaxFileSize = 64 * 1024;

// Wipes a std::string's whole buffer, then empties it.
void cleanse(std::string& s) noexcept {
    if (s.capacity() > 0) OPENSSL_cleanse(s.data(), s.capacity());
    s.clear();
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

Failure failed(const std::string& path, std::string why) {
    return Failure{errc::not_configured, "credentials file " + path + ": " + std::move(why), std::chrono::seconds(0)};
}

Failure failed_at(const std::string& path, int line, std::string why) {
    return Failure{errc::not_configured, path + ":" + std::to_string(line) + ": " + std::move(why),
                   std::chrono::seconds(0)};
}

// Holds the file's bytes and wipes them whatever way the parse ends.
struct WipedBuffer {
    std::string bytes;
    ~WipedBuffer() { cleanse(bytes); }
};

// Closes the descriptor whatever way the read ends.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

Secret::Secret(Secret&& other) noexcept : value_(other.value_) { other.wipe(); }

Secret& Secret::operator=(const Secret& other) {
    if (this != &other) {
        wipe();
        value_ = other.value_;
    }
    return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept {
    if (this != &other) {
        wipe();
        value_ = other.value_;
        other.wipe();
    }
    return *this;
}

void Secret::wipe() noexcept { cleanse(value_); }

boost::system::result<ClientCredentials, Failure> load_credentials(const std::string& path) {
    if (path.empty()) return Failure{errc::not_configured, "upstream.credentials_file is not set", std::chrono::seconds(0)};
    Fd f;
    f.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (f.fd < 0) return failed(path, std::string("cannot open: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(f.fd, &st) != 0) return failed(path, std::string("cannot stat: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return failed(path, "not a regular file");
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return failed(path, std::string("mode ") + mode +
                                " lets group or other access the secret; make it 0600 (or 0400), owned by printgate");
    }
    if (static_cast<std::uint64_t>(st.st_size) > kMaxFileSize) return failed(path, "larger than 64 KiB");

    WipedBuffer buf;
    buf.bytes.resize(kMaxFileSize + 1);
    std::size_t got = 0;
    for (;;) {
        const ssize_t n = ::read(f.fd, buf.bytes.data() + got, buf.bytes.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            return failed(path, std::string("cannot read: ") + std::strerror(errno));
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
        if (got > kMaxFileSize) return failed(path, "larger than 64 KiB");
    }

    ClientCredentials out;
    bool have_id = false;
    bool have_secret = false;
    std::string_view rest(buf.bytes.data(), got);
    int line_no = 0;
    while (!rest.empty()) {
        ++line_no;
        const auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        line = trim(line);
        if (line.empty() || line.front() == '#') continue;
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) return failed_at(path, line_no, "expected `client_id: ...` or `client_secret: ...`");
        const std::string_view key = trim(line.substr(0, colon));
        std::string_view value = trim(line.substr(colon + 1));
        // Quoted values ('...' or "...", a YAML subset: no escapes inside).
        if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
            value = value.substr(1, value.size() - 2);
        bool* seen = nullptr;
        if (key == "client_id") seen = &have_id;
        else if (key == "client_secret") seen = &have_secret;
        // An unknown key is not echoed: it may be a secret pasted without its key.
        else return failed_at(path, line_no, "unknown key (expected client_id or client_secret)");
        if (*seen) return failed_at(path, line_no, std::string(key) + " given twice");
        if (value.empty()) return failed_at(path, line_no, std::string(key) + " is empty");
        *seen = true;
        if (seen == &have_id) out.client_id = std::string(value);
        else out.client_secret = Secret(value);
    }
    if (!have_id) return failed(path, "client_id is missing");
    if (!have_secret) return failed(path, "client_secret is missing");
    return out;
}

}  // namespace pg::upstream
