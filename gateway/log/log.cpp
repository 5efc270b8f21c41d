// SPDX-License-Identifier: Apache-2.0
// Journal and stderr sinks for pg::log::Logger.
//
// Structured fields travel beside the spdlog message in a thread-local pointer:
// Logger::write sets it, calls the (synchronous) spdlog logger, and the journal
// sink reads it on the same thread. spdlog stays the only formatting and
// level-filtering path, and the fields never end up inside MESSAGE twice.
#include "gateway/log/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/chrono.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-journal.h>

namespace pg::log {
namespace {

thread_local const Fields* tls_fields = nullptr;

spdlog::level::level_enum to_spd(conf::LogLevel l) {
    switch (l) {
    case conf::LogLevel::trace: return spdlog::level::trace;
    case conf::LogLevel::debug: return spdlog::level::debug;
    case conf::LogLevel::info: return spdlog::level::info;
    case conf::LogLevel::warning: return spdlog::level::warn;
    case conf::LogLevel::error: return spdlog::level::err;
    case conf::LogLevel::critical: return spdlog::level::critical;
    case conf::LogLevel::off: return spdlog::level::off;
    }
    return spdlog::level::info;
}

int syslog_priority(spdlog::level::level_enum l) {
    switch (l) {
    case spdlog::level::trace:
    case spdlog::level::debug: return 7;
    case spdlog::level::info: return 6;
    case spdlog::level::warn: return 4;
    case spdlog::level::err: return 3;
    case spdlog::level::critical: return 2;
    default: return 6;
    }
}

// "EVENT=x JOB_ID=n QUEUE=q PEER=p PROTO=r" for the text form.
std::string fields_text(const Fields* f) {
    std::string out;
    if (!f) return out;
    auto add = [&](std::string_view k, std::string_view v) {
        if (v.empty()) return;
        if (!out.empty()) out += ' ';
        out += k;
        out += '=';
        out += escape(v);
    };
    add("EVENT", f->event);
    if (f->job_id) add("JOB_ID", std::to_string(*f->job_id));
    add("QUEUE", f->queue);
    add("PEER", f->peer);
    add("PROTO", f->proto);
    add("REASON", f->reason);
    if (f->outage_ms) add("OUTAGE_MS", std::to_string(*f->outage_ms));
    add("METHOD", f->method);
    add("SOURCE", f->source);
    add("USER", f->user);
    return out;
}

class JournalSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::vector<std::string> items;
        items.reserve(8);
        items.push_back("MESSAGE=" + std::string(msg.payload.data(), msg.payload.size()));
        items.push_back("PRIORITY=" + std::to_string(syslog_priority(msg.level)));
        items.push_back("SYSLOG_IDENTIFIER=printgated");
        if (const Fields* f = tls_fields) {
            if (!f->event.empty()) items.push_back("EVENT=" + std::string(f->event));
            if (f->job_id) items.push_back("JOB_ID=" + std::to_string(*f->job_id));
            if (!f->queue.empty()) items.push_back("QUEUE=" + escape(f->queue));
            if (!f->peer.empty()) items.push_back("PEER=" + escape(f->peer));
            if (!f->proto.empty()) items.push_back("PROTO=" + escape(f->proto));
            if (!f->reason.empty()) items.push_back("REASON=" + escape(f->reason));
            if (f->outage_ms) items.push_back("OUTAGE_MS=" + std::to_string(*f->outage_ms));
            for (const auto& [key, value] : {std::pair<const char*, std::string_view>{"METHOD=", f->method},
                                             {"SOURCE=", f->source},
                                             {"USER=", f->user}})
                if (!value.empty()) items.push_back(key + escape(value));
        }
        std::vector<iovec> iov;
        iov.reserve(items.size());
        for (auto& s : items) iov.push_back({s.data(), s.size()});
        sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
    }
    void flush_() override {}
};

class TextSink final : public spdlog::sinks::base_sink<std::mutex> {
protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        std::string line = fmt::format("{:%Y-%m-%dT%H:%M:%S}Z {} ",
                                       fmt::gmtime(std::chrono::system_clock::to_time_t(msg.time)),
                                       spdlog::level::to_string_view(msg.level));
        std::string f = fields_text(tls_fields);
        if (!f.empty()) {
            line += f;
            line += ": ";
        }
        line.append(msg.payload.data(), msg.payload.size());
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stderr);
    }
    void flush_() override { std::fflush(stderr); }
};

bool is_utf8_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (!js) return false;
    unsigned long long dev = 0, ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (fstat(2, &st) != 0) return false;
    return st.st_dev == dev && st.st_ino == ino;
}

Logger::Logger(Target target, conf::LogLevel level) {
    journal_ = target == Target::journal || (target == Target::automatic && stderr_is_journal());
    spdlog::sink_ptr sink;
    if (journal_)
        sink = std::make_shared<JournalSink>();
    else
        sink = std::make_shared<TextSink>();
    logger_ = std::make_shared<spdlog::logger>("printgated", sink);
    logger_->set_pattern("%v");
    set_level(level);
}

Logger::~Logger() { flush(); }

void Logger::set_level(conf::LogLevel level) {
    logger_->set_level(to_spd(level));
    logger_->flush_on(spdlog::level::trace);
}

bool Logger::enabled(conf::LogLevel level) const { return logger_->should_log(to_spd(level)); }

void Logger::flush() { logger_->flush(); }

void Logger::write(conf::LogLevel level, const Fields& fields, std::string_view message) {
    tls_fields = &fields;
    logger_->log(to_spd(level), "{}", message);
    tls_fields = nullptr;
}

std::string escape(std::string_view in, std::size_t max) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(std::min(in.size(), max) + 8);
    std::size_t i = 0;
    while (i < in.size()) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        auto c = static_cast<unsigned char>(in[i]);
        if (c == '\\' || c == '"') {
            out += '\\';
            out += static_cast<char>(c);
            ++i;
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
            ++i;
        } else if (c >= 0xC2 && c <= 0xF4) {
            // Pass a well-formed UTF-8 sequence (no overlongs, no surrogates, <= U+10FFFF).
            std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
            bool ok = i + len <= in.size();
            for (std::size_t k = 1; ok && k < len; ++k)
                ok = is_utf8_continuation(static_cast<unsigned char>(in[i + k]));
            if (ok && len == 3) {
                auto c1 = static_cast<unsigned char>(in[i + 1]);
                if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0)) ok = false;
            }
            if (ok && len == 4) {
                auto c1 = static_cast<unsigned char>(in[i + 1]);
                if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) ok = false;
            }
            // C1 controls U+0080..U+009F are escaped too.
            if (ok && len == 2 && c == 0xC2 && static_cast<unsigned char>(in[i + 1]) < 0xA0) ok = false;
            if (ok) {
                out.append(in.substr(i, len));
                i += len;
            } else {
                out += "\\x";
                out += hex[c >> 4];
                out += hex[c & 15];
                ++i;
            }
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
            ++i;
        }
    }
    return out;
}

}  // namespace pg::log
