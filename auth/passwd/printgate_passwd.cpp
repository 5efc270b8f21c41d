// SPDX-License-Identifier: Apache-2.0
// printgate-passwd NAME: reads a password and prints a users-file line
// `NAME:$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` on stdout.
//
// Owns: terminal handling for the password prompt. Must not: echo or print the
// password, or leave the terminal without echo (a signal restores it).
//
// Input: on a terminal, the password is asked twice with echo off (prompts on
// stderr); otherwise the first line of stdin is the password (a final LF or CRLF is
// not part of it), so `printf '%s\n' "$PW" | printgate-passwd alice` works in scripts.
// Exit status (sysexits.h): 0 done, 64 usage or invalid NAME, 65 empty, too long or
// mismatched password, 70 hashing failed, 74 stdout not writable.

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "auth/passwd/password_hash.hpp"
#include "auth/passwd/phc.hpp"
#include "auth/passwd/users_file.hpp"

namespace {

// The terminal state to restore from a signal handler: a tool-local static is the
// only way a handler can reach it.
struct termios saved_termios;
volatile std::sig_atomic_t echo_disabled = 0;

extern "C" void restore_and_reraise(int sig) {
    if (echo_disabled) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// Owns the password bytes: capacity reserved once so the string never reallocates
// (no stray copies), wiped on destruction.
class Secret {
public:
    Secret() { text_.reserve(pg::auth::kMaxSecretBytes + 2); }
    Secret(const Secret&) = delete;
    Secret& operator=(const Secret&) = delete;
    ~Secret() { OPENSSL_cleanse(text_.data(), text_.capacity()); }
    std::string& text() { return text_; }

private:
    std::string text_;
};

enum class ReadResult { ok, too_long, error };

// Reads up to a LF (not stored) or end of input, one byte at a time so nothing
// after the line is consumed; a trailing CR is dropped.
ReadResult read_line(Secret& out) {
    std::string& s = out.text();
    for (;;) {
        char c = 0;
        const ssize_t n = read(STDIN_FILENO, &c, 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            return ReadResult::error;
        }
        if (n == 0 || c == '\n') break;
        if (s.size() > pg::auth::kMaxSecretBytes) return ReadResult::too_long;
        s.push_back(c);
    }
    if (!s.empty() && s.back() == '\r') s.pop_back();
    return s.size() > pg::auth::kMaxSecretBytes ? ReadResult::too_long : ReadResult::ok;
}

ReadResult read_hidden(const char* prompt, Secret& out) {
    std::fputs(prompt, stderr);
    std::fflush(stderr);
    struct termios raw = saved_termios;
    raw.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    raw.c_lflag |= ECHONL;
    echo_disabled = 1;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    const ReadResult r = read_line(out);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_termios);
    echo_disabled = 0;
    return r;
}

int usage(int status) {
    std::fputs("usage: printgate-passwd NAME\n"
               "Reads a password (twice with echo off on a terminal, else the first line of\n"
               "stdin) and prints NAME:HASH for a printgate users file (argon2id, m=19456 KiB,\n"
               "t=2, p=1; see docs/authentication.md).\n",
               status == 0 ? stdout : stderr);
    return status;
}

int complain(int status, const char* message) {
    std::fprintf(stderr, "printgate-passwd: %s\n", message);
    return status;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && (std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0)) return usage(0);
    if (argc != 2) return usage(EX_USAGE);
    const std::string_view name = argv[1];
    if (const auto problem = pg::auth::check_user_name(name)) {
        std::fprintf(stderr, "printgate-passwd: %.*s\n", static_cast<int>(problem->reason.size()),
                     problem->reason.data());
        return EX_USAGE;
    }

    Secret password;
    ReadResult r = ReadResult::ok;
    if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
        for (int sig : kSignals) std::signal(sig, restore_and_reraise);
        r = read_hidden("Password: ", password);
        if (r == ReadResult::ok && !password.text().empty()) {
            Secret again;
            r = read_hidden("Retype password: ", again);
            if (r == ReadResult::ok && again.text() != password.text())
                return complain(EX_DATAERR, "passwords do not match");
        }
        for (int sig : kSignals) std::signal(sig, SIG_DFL);
    } else {
        r = read_line(password);
    }
    if (r == ReadResult::error) return complain(EX_DATAERR, "cannot read the password");
    if (r == ReadResult::too_long) {
        std::fprintf(stderr, "printgate-passwd: password longer than %zu bytes\n", pg::auth::kMaxSecretBytes);
        return EX_DATAERR;
    }
    if (password.text().empty()) return complain(EX_DATAERR, "empty password");

    const auto hashed = pg::auth::hash_password(password.text());
    if (!hashed) {
        std::fprintf(stderr, "printgate-passwd: %s\n", hashed.error().message().c_str());
        return EX_SOFTWARE;
    }
    const std::string line = std::string(name) + ':' + pg::auth::format_phc(*hashed) + '\n';
    if (std::fputs(line.c_str(), stdout) == EOF || std::fflush(stdout) != 0)
        return complain(EX_IOERR, "cannot write to stdout");
    return 0;
}
