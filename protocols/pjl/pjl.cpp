// SPDX-License-Identifier: Apache-2.0
// PJL job header scanner (see pjl.hpp for the design note).
#include "protocols/pjl/pjl.hpp"

#include <algorithm>
#include <initializer_list>

#include "protocols/text/sanitize.hpp"

namespace pg::pjl {

namespace {

constexpr std::string_view kPrefix = "@PJL";

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

char to_upper(char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

char to_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (to_upper(a[i]) != to_upper(b[i])) return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && (is_blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// A comment key as compared: ASCII lower case without blanks, '_' and '-', so
// "User Name", "USER_NAME" and "username" agree.
std::string comment_key(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (is_blank(c) || c == '_' || c == '-') continue;
        out.push_back(to_lower(c));
    }
    return out;
}

bool is_one_of(std::string_view key, std::initializer_list<std::string_view> keys) {
    for (std::string_view k : keys) {
        if (key == k) return true;
    }
    return false;
}

// Reads one PJL line left to right.
class Cursor {
public:
    explicit Cursor(std::string_view s) : s_(s) {}

    bool at_end() const { return i_ >= s_.size(); }
    void skip_blanks() {
        while (i_ < s_.size() && is_blank(s_[i_])) ++i_;
    }
    bool eat(char c) {
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void skip_one() {
        if (i_ < s_.size()) ++i_;
    }
    // A command, option or variable name: up to a blank, '=', ':' or '"'.
    std::string_view word() {
        const std::size_t start = i_;
        while (i_ < s_.size() && !is_blank(s_[i_]) && s_[i_] != '=' && s_[i_] != ':' && s_[i_] != '"') ++i_;
        return s_.substr(start, i_ - start);
    }
    // A quoted string (to the next quote, or the line end when unclosed), else one
    // token up to a blank.
    std::string_view value() {
        if (eat('"')) return quoted();
        const std::size_t start = i_;
        while (i_ < s_.size() && !is_blank(s_[i_])) ++i_;
        return s_.substr(start, i_ - start);
    }
    // A quoted string, else the rest of the line without surrounding blanks (for
    // string variables sent unquoted, against the manual, with spaces inside).
    std::string_view string_value() {
        if (eat('"')) return quoted();
        return rest();
    }
    std::string_view rest() {
        const std::string_view r = trim(s_.substr(i_));
        i_ = s_.size();
        return r;
    }
    bool peek(char c) const { return i_ < s_.size() && s_[i_] == c; }
    std::string_view remaining() const { return s_.substr(std::min(i_, s_.size())); }

private:
    std::string_view quoted() {
        const std::size_t close = s_.find('"', i_);
        const std::size_t end = close == std::string_view::npos ? s_.size() : close;
        const std::string_view v = s_.substr(i_, end - i_);
        i_ = close == std::string_view::npos ? s_.size() : close + 1;
        return v;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

// `NAME = value` options of JOB, LJOBINFO and ENTER; calls f(name, value) for
// each option that has a value.
template <class F>
void for_each_option(Cursor& c, F&& f) {
    while (true) {
        c.skip_blanks();
        if (c.at_end()) return;
        const std::string_view name = c.word();
        if (name.empty()) {
            c.skip_one();  // a stray '=', ':' or '"'
            continue;
        }
        c.skip_blanks();
        if (!c.eat('=')) continue;
        c.skip_blanks();
        f(name, c.value());
    }
}

}  // namespace

std::optional<std::string_view> Header::owner() const {
    for (const auto* field : {&job_acct_user, &username, &host_login_name, &joau_user, &ljobinfo_user,
                              &comment_user, &user_id}) {
        if (*field) return std::string_view(**field);
    }
    return std::nullopt;
}

std::optional<std::string_view> Header::title() const {
    for (const auto* field : {&job_name, &set_jobname, &comment_title}) {
        if (*field) return std::string_view(**field);
    }
    return std::nullopt;
}

HeaderScanner::HeaderScanner(ScanLimits limits) : limits_(limits) {}

void HeaderScanner::reset() {
    *this = HeaderScanner(limits_);
}

void HeaderScanner::stop(StopReason reason) {
    reason_ = reason;
    header_size_ = reason == StopReason::enter_language ? offset_ : good_end_;
    line_.clear();
}

std::string HeaderScanner::text(std::string_view raw) const {
    // A stream that declared UTF-8 is taken as such; otherwise old drivers' Latin-1.
    return header_.utf8 ? text::sanitize_name(raw) : text::sanitize_legacy_name(raw);
}

ScanStatus HeaderScanner::feed(std::span<const std::byte> bytes) {
    if (is_done()) return ScanStatus::done;

    for (const std::byte byte : bytes) {
        if (offset_ >= limits_.max_scan_bytes) {
            stop(StopReason::scan_limit);
            return ScanStatus::done;
        }
        const auto c = static_cast<char>(byte);
        ++offset_;
        const bool started = header_.uel || header_.pjl_lines > 0;
        const StopReason not_pjl = started ? StopReason::pdl_data : StopReason::no_pjl;

        switch (state_) {
            case State::lead:
                if (is_blank(c) || c == '\r' || c == '\n') break;
                if (c == uel_sequence[0] || c == kPrefix[0]) {
                    state_ = c == kPrefix[0] ? State::prefix : State::uel;
                    match_ = 1;
                    break;
                }
                stop(not_pjl);
                return ScanStatus::done;

            case State::uel:
                if (c != uel_sequence[match_]) {
                    stop(not_pjl);
                    return ScanStatus::done;
                }
                if (++match_ == uel_sequence.size()) {
                    header_.uel = true;
                    good_end_ = offset_;
                    state_ = State::lead;
                }
                break;

            case State::prefix:
                if (match_ < kPrefix.size()) {
                    if (to_upper(c) != kPrefix[match_]) {
                        stop(not_pjl);
                        return ScanStatus::done;
                    }
                    ++match_;
                    break;
                }
                // "@PJL" must end at a blank or the line end ("@PJLX" is not PJL).
                if (c != '\n' && c != '\r' && !is_blank(c)) {
                    stop(not_pjl);
                    return ScanStatus::done;
                }
                state_ = State::body;
                line_.clear();
                [[fallthrough]];

            case State::body:
                if (c == '\n') {
                    on_line();
                    if (is_done()) return ScanStatus::done;
                    good_end_ = offset_;
                    state_ = State::lead;
                    break;
                }
                if (line_.size() >= limits_.max_line) {
                    stop(StopReason::line_too_long);
                    return ScanStatus::done;
                }
                line_.push_back(c);
                break;
        }
    }
    if (offset_ >= limits_.max_scan_bytes) {
        stop(StopReason::scan_limit);
        return ScanStatus::done;
    }
    return ScanStatus::need_more;
}

ScanStatus HeaderScanner::finish() {
    if (is_done()) return ScanStatus::done;
    // A last PJL line without LF is complete at the end of the stream.
    if (state_ == State::body) {
        on_line();
        if (is_done()) return ScanStatus::done;
        good_end_ = offset_;
    }
    stop(StopReason::end_of_stream);
    return ScanStatus::done;
}

// Handles the PJL line in line_ (everything after "@PJL", CR included). Calls
// stop(enter_language) for an ENTER command.
void HeaderScanner::on_line() {
    ++header_.pjl_lines;
    const std::string line = std::move(line_);
    line_.clear();
    Cursor c(line);
    c.skip_blanks();
    const std::string_view command = c.word();

    if (iequals(command, "JOB")) {
        for_each_option(c, [&](std::string_view name, std::string_view value) {
            if (iequals(name, "NAME")) set_first(header_.job_name, value);
        });
    } else if (iequals(command, "LJOBINFO")) {
        // Lexmark: @PJL LJOBINFO USERID = "u" HOSTID = "h"
        for_each_option(c, [&](std::string_view name, std::string_view value) {
            if (iequals(name, "USERID")) set_first(header_.ljobinfo_user, value);
        });
    } else if (iequals(command, "ENTER")) {
        // Any ENTER switches the personality: the header ends even without a value.
        for_each_option(c, [&](std::string_view name, std::string_view value) {
            if (!iequals(name, "LANGUAGE")) return;
            std::string upper;
            for (char ch : value) upper.push_back(to_upper(ch));
            set_first(header_.language, upper);
        });
        stop(StopReason::enter_language);
    } else if (iequals(command, "SET")) {
        on_set(c.remaining());
    } else if (iequals(command, "COMMENT")) {
        c.skip_blanks();
        on_comment(c.rest());
    }
}

// `variable = value` after SET, with an optional `modifier : value` before it.
void HeaderScanner::on_set(std::string_view rest) {
    Cursor c(rest);
    c.skip_blanks();
    std::string_view variable = c.word();
    c.skip_blanks();
    if (c.eat(':')) {
        // SET LPARM : PCL SYMSET = ... (a personality modifier)
        c.skip_blanks();
        c.word();
        c.skip_blanks();
        variable = c.word();
        c.skip_blanks();
    }
    if (!c.eat('=')) return;
    c.skip_blanks();
    const std::string_view value = c.string_value();
    if (iequals(variable, "USERNAME")) {
        set_first(header_.username, value);
    } else if (iequals(variable, "JOBNAME")) {
        set_first(header_.set_jobname, value);
    } else if (iequals(variable, "HOSTLOGINNAME")) {
        set_first(header_.host_login_name, value);
    } else if (iequals(variable, "USERID")) {
        set_first(header_.user_id, value);
    } else if (iequals(variable, "STRINGCODESET")) {
        const std::string_view v = trim(value);
        if (iequals(v, "UTF8") || iequals(v, "UTF-8")) header_.utf8 = true;
    } else if (iequals(variable, "JOBATTR")) {
        // "JobAcct1=u" (HP), "@JOAU=u" (Xerox): key=value inside the string.
        const std::size_t eq = value.find('=');
        if (eq == std::string_view::npos) return;
        const std::string_view key = trim(value.substr(0, eq));
        if (iequals(key, "JobAcct1")) set_first(header_.job_acct_user, value.substr(eq + 1));
        if (iequals(key, "@JOAU")) set_first(header_.joau_user, value.substr(eq + 1));
    }
}

// COMMENT is free text; drivers put key/value pairs in it:
//   USERNAME="Username: u"  DOCNAME="t"  DNAME=t             (one key = value)
//   "Username: u; App Filename: t; 12-13-2003"  "username=u"  (a list)
void HeaderScanner::on_comment(std::string_view body) {
    auto classify = [this](std::string_view raw_key, std::string_view value) {
        const std::string key = comment_key(raw_key);
        value = trim(value);
        // USERNAME="Username: u": the value repeats its key.
        const std::size_t colon = value.find(':');
        if (colon != std::string_view::npos && comment_key(value.substr(0, colon)) == key)
            value = trim(value.substr(colon + 1));
        if (is_one_of(key, {"username", "user", "owner"})) {
            set_first(header_.comment_user, value);
        } else if (is_one_of(key, {"docname", "dname", "documentname", "appfilename", "filename", "jobname", "title"})) {
            set_first(header_.comment_title, value);
        }
    };

    Cursor c(body);
    if (!c.peek('"')) {
        const std::string_view key = c.word();
        c.skip_blanks();
        if (!key.empty() && c.eat('=')) {
            c.skip_blanks();
            classify(key, c.string_value());
            return;
        }
    }
    Cursor whole(body);
    std::string_view list = whole.string_value();
    while (!list.empty()) {
        const std::size_t semicolon = list.find(';');
        const std::string_view part = list.substr(0, semicolon);
        list = semicolon == std::string_view::npos ? std::string_view() : list.substr(semicolon + 1);
        const std::size_t separator = part.find_first_of(":=");
        if (separator != std::string_view::npos) classify(part.substr(0, separator), part.substr(separator + 1));
    }
}

void HeaderScanner::set_first(std::optional<std::string>& field, std::string_view raw) {
    if (field) return;
    std::string value = text(trim(raw));
    if (!value.empty()) field = std::move(value);
}

}  // namespace pg::pjl
