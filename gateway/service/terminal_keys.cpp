// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/terminal_keys.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace pg::service {

namespace {

// Reads at most `limit` + 1 bytes of an open file.
bool read_some(int fd, std::string& out, std::size_t limit) {
    out.assign(limit + 1, '\0');
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return true;
}

}  // namespace

std::optional<std::string> TerminalKeys::key_of(std::string_view text, std::string& why) {
    std::string_view line = text;
    if (!line.empty() && line.back() == '\n') {
        line.remove_suffix(1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    }
    if (line.find('\n') != std::string_view::npos) {
        why = "holds more than one line (the key is the file's only line)";
        return std::nullopt;
    }
    for (unsigned char c : line)
        if (c < 0x21 || c > 0x7e) {
            why = "holds a character other than printable ASCII without spaces";
            return std::nullopt;
        }
    if (line.size() < min_key_length) {
        why = fmt::format("holds a key of {} characters; at least {} are needed (e.g. openssl rand -hex 32)",
                          line.size(), min_key_length);
        return std::nullopt;
    }
    if (line.size() > max_key_length) {
        why = fmt::format("holds a key longer than {} characters", max_key_length);
        return std::nullopt;
    }
    return std::string(line);
}

TerminalKeys::Digest TerminalKeys::digest(std::string_view key) {
    Digest d{};
    unsigned int len = 0;
    if (EVP_Digest(key.data(), key.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size()) {
        // Without a digest nothing may match: a random-looking constant no key hashes to
        // is not available, so fill with a pattern and let identify() refuse empty keys.
        d.fill(0);
    }
    return d;
}

TerminalKeys::TerminalKeys(const std::vector<std::pair<std::string, std::string>>& keys) {
    for (const auto& [name, key] : keys) entries_.emplace_back(name, digest(key));
}

std::optional<std::string> TerminalKeys::identify(std::string_view presented) const {
    if (presented.empty() || presented.size() > max_key_length) return std::nullopt;
    const Digest d = digest(presented);
    // Every entry is compared, whatever matched before: the time does not depend on
    // which terminal (if any) the key belongs to.
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const bool same = CRYPTO_memcmp(d.data(), entries_[i].second.data(), d.size()) == 0;
        if (same) found = i;
    }
    if (!found) return std::nullopt;
    return entries_[*found].first;
}

std::shared_ptr<const TerminalKeys> TerminalKeys::load(const conf::Config& c, std::string& error) {
    std::vector<std::pair<std::string, std::string>> keys;
    auto wipe_all = [&keys] {
        for (auto& [name, key] : keys) OPENSSL_cleanse(key.data(), key.size());
    };
    for (const auto& [name, t] : c.terminals) {
        const std::string where = fmt::format("terminals.{}.key_file {}", name, t.key_file);
        const int fd = ::open(t.key_file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            error = fmt::format("cannot read {}: {}", where, std::strerror(errno));
            wipe_all();
            return nullptr;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            error = fmt::format("{} is not a regular file", where);
            wipe_all();
            return nullptr;
        }
        if ((st.st_mode & 077) != 0) {
            ::close(fd);
            error = fmt::format("{} has mode {:04o}: group and others must have no access to an API key (chmod 600 it)",
                                where, st.st_mode & 07777);
            wipe_all();
            return nullptr;
        }
        std::string text;
        const bool read_ok = read_some(fd, text, max_key_length + 2);
        ::close(fd);
        std::string why;
        std::optional<std::string> key;
        if (read_ok && text.size() <= max_key_length + 2) key = key_of(text, why);
        else why = read_ok ? "is too long for a key file" : std::string("cannot be read: ") + std::strerror(errno);
        OPENSSL_cleanse(text.data(), text.size());
        if (!key) {
            error = fmt::format("{} {}", where, why);
            wipe_all();
            return nullptr;
        }
        for (const auto& [other, k] : keys)
            if (k == *key) {
                error = fmt::format("terminals {} and {} have the same API key: each terminal needs its own", other, name);
                OPENSSL_cleanse(key->data(), key->size());
                wipe_all();
                return nullptr;
            }
        keys.emplace_back(name, std::move(*key));
    }
    auto out = std::make_shared<const TerminalKeys>(keys);
    wipe_all();
    return out;
}

}  // namespace pg::service
