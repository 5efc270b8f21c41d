// SPDX-License-Identifier: Apache-2.0
// The release web page's HTML (issue #7): every page as a string, from plain values.
//
// Owns: the markup and the one stylesheet (served from the binary as /style.css), HTML
// escaping, and the words people read (banners, outcomes, job states). Must not: read a
// request, touch sessions or the spool, or take a secret (the login page gets only the
// CSRF value for its hidden field, never what was typed).
//
// Every page: UTF-8, a viewport meta for phones, one stylesheet, no script (the CSP of
// release_reply forbids inline scripts and allows no script source), big touch targets.
// Every string that came from a user, a job or the configuration goes through escape().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/service/release.hpp"

namespace pg::service::page {

// `text` with & < > " ' as character references and control characters (and bytes that
// are not UTF-8) replaced, for element content and quoted attribute values alike.
std::string escape(std::string_view text);

// What every page shows around its content.
struct Frame {
    bool server_unreachable = false;  // the upstream monitor says offline: the banner
    bool logged_in = false;
    bool logged_in_offline = false;   // this session's login was checked against the cache
    std::string user;                 // logged in: the name shown
    std::string csrf;                 // logged in: for the log-out form
};

enum class Tone { info, error };

struct Notice {
    Tone tone = Tone::info;
    std::string text;
};

// The login page: three small forms (PIN, card, name and password), each with the
// pre-session CSRF value `form_token`.
std::string login(const Frame& f, const std::optional<Notice>& notice, std::string_view form_token);

// The held jobs with checkboxes, the printer choice and the actions.
std::string jobs(const Frame& f, const std::vector<HeldJob>& held, const std::vector<PrinterChoice>& printers,
                 const std::optional<Notice>& notice);

// One line of an outcome page, and one line of the status list.
struct OutcomeLine {
    std::uint64_t id = 0;
    std::string title;  // "" when the job is not visible
    ReleaseOutcome outcome;
};
struct StatusLine {
    std::uint64_t id = 0;
    std::optional<spool::JobRecord> job;  // nullopt: not found or not visible
};

// After POST /release or /delete: what happened to each job, then the status of the
// released ones with a link to refresh it (GET /status?job=ID...).
std::string outcomes(const Frame& f, bool deleting, const std::vector<OutcomeLine>& lines,
                     const std::vector<StatusLine>& released);
// GET /status: where the listed jobs are now.
std::string status(const Frame& f, const std::vector<StatusLine>& lines);

// A short page for refusals and errors (403, 404, 400...), with a link onwards.
std::string message(const Frame& f, std::string_view title, std::string_view text, std::string_view link,
                    std::string_view link_text);

// The stylesheet.
std::string_view stylesheet();

// "printed", "waiting to print"...: a job state for people.
std::string_view state_words(spool::JobState s);

}  // namespace pg::service::page
