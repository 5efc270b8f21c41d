// SPDX-License-Identifier: Apache-2.0
// printgate's event log: one structured event per line, to the systemd journal
// (with fields JOB_ID, QUEUE, PEER, PROTO, EVENT, PRIORITY via sd_journal_sendv)
// or to stderr as plain text when not run under systemd.
//
// Owns: the spdlog logger and its sinks. Must not: ever receive secrets or
// document content; callers pass only identifiers and sizes. Untrusted text
// (peer-supplied names) is escaped here, so callers never print it raw.
//
// Levels (docs/logging.md): error = printgate failed at something it should do;
// warning = a peer or the environment misbehaved (bad input, full disk, timeouts);
// info = a job or lifecycle event; debug/trace = detail for developers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "conf/config.hpp"

namespace spdlog { class logger; }

namespace pg::log {

enum class Target { automatic, journal, stderr_text };

// The structured fields of one event. Empty / nullopt fields are left out.
struct Fields {
    std::string_view event;               // EVENT=, lower snake: job_committed, upstream_offline
    std::optional<std::uint64_t> job_id;  // JOB_ID=
    std::string_view queue;               // QUEUE= (untrusted-safe: escaped)
    std::string_view peer;                // PEER= "ADDR:PORT"
    std::string_view proto;               // PROTO= ipp|lpd|raw|ctl
    std::string_view reason;              // REASON= why a state changed (escaped; never a secret)
    std::optional<std::int64_t> outage_ms;  // OUTAGE_MS= upstream_online: how long it was offline
    std::string_view method;              // METHOD= login method: card, pin, password, card_pin, card_password
    std::string_view source;              // SOURCE= where a login came from: terminal id or address (escaped)
    std::string_view user;                // USER= a user name (escaped; never a secret)
};

class Logger {
public:
    // `target` automatic = journal when stderr is connected to the journal
    // ($JOURNAL_STREAM matches fd 2), else stderr text.
    explicit Logger(Target target = Target::automatic, conf::LogLevel level = conf::LogLevel::info);
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    void set_level(conf::LogLevel level);
    bool enabled(conf::LogLevel level) const;
    bool to_journal() const { return journal_; }
    void flush();

    void write(conf::LogLevel level, const Fields& fields, std::string_view message);

    template <class... A>
    void info(const Fields& f, fmt::format_string<A...> fmt, A&&... args) {
        emit(conf::LogLevel::info, f, fmt, std::forward<A>(args)...);
    }
    template <class... A>
    void warn(const Fields& f, fmt::format_string<A...> fmt, A&&... args) {
        emit(conf::LogLevel::warning, f, fmt, std::forward<A>(args)...);
    }
    template <class... A>
    void error(const Fields& f, fmt::format_string<A...> fmt, A&&... args) {
        emit(conf::LogLevel::error, f, fmt, std::forward<A>(args)...);
    }
    template <class... A>
    void debug(const Fields& f, fmt::format_string<A...> fmt, A&&... args) {
        emit(conf::LogLevel::debug, f, fmt, std::forward<A>(args)...);
    }

private:
    template <class... A>
    void emit(conf::LogLevel level, const Fields& f, fmt::format_string<A...> fmt, A&&... args) {
        if (!enabled(level)) return;
        write(level, f, fmt::format(fmt, std::forward<A>(args)...));
    }

    bool journal_ = false;
    std::shared_ptr<spdlog::logger> logger_;
};

// Escapes untrusted text for a log line: printable ASCII and valid UTF-8 pass,
// quotes and backslashes are backslash-escaped, control bytes and invalid UTF-8
// become \xNN. Output is capped at `max` bytes (then "..." is appended).
std::string escape(std::string_view untrusted, std::size_t max = 256);

// True when fd 2 is the journal stream systemd set up ($JOURNAL_STREAM).
bool stderr_is_journal();

}  // namespace pg::log
