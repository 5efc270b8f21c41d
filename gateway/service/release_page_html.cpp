// SPDX-License-Identifier: Apache-2.0
#include "gateway/service/release_page_html.hpp"

#include <ctime>

#include <fmt/format.h>

#include "protocols/text/sanitize.hpp"

namespace pg::service::page {

namespace {

constexpr std::string_view kStyle = R"css(*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:18px;line-height:1.4;color:#111;background:#f4f5f7}
body{margin:0}
header{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem;padding:.6rem 1rem;background:#1f3b5a;color:#fff}
header h1{font-size:1.3rem;margin:0}
header .who{font-size:1rem}
main{max-width:46rem;margin:0 auto;padding:1rem}
h2{font-size:1.2rem;margin:1.2rem 0 .6rem}
.banner{margin:0;padding:.8rem 1rem;background:#fff3cd;border-bottom:3px solid #e0a800;color:#3d2e00}
.banner.offline-user{background:#e7f1ff;border-color:#3d7bd9;color:#0b2a55}
.notice{padding:.8rem 1rem;border-radius:.4rem;margin:0 0 1rem;background:#e7f1ff}
.notice.error{background:#fde2e1;color:#6b0f0a;border:2px solid #d93025}
form.login{background:#fff;border-radius:.5rem;padding:1rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
label{display:block;font-weight:600;margin:.4rem 0 .2rem}
input[type=text],input[type=password],select{width:100%;font-size:1.1rem;min-height:3rem;padding:.5rem;border:2px solid #8a94a6;border-radius:.4rem;background:#fff}
button,a.button{display:inline-block;min-height:3rem;min-width:8rem;margin:.6rem .4rem 0 0;padding:.6rem 1.1rem;font-size:1.05rem;font-weight:600;border:0;border-radius:.4rem;background:#1f6feb;color:#fff;text-decoration:none;text-align:center;cursor:pointer}
button.secondary,a.button.secondary{background:#e1e5ec;color:#111}
button.danger{background:#c62828}
header button{margin:0;min-height:2.6rem;background:#fff;color:#1f3b5a}
ul.jobs,ul.outcomes,ul.status{list-style:none;margin:0;padding:0}
ul.jobs li,ul.outcomes li,ul.status li{background:#fff;border-radius:.5rem;margin:0 0 .6rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
label.job{display:flex;gap:.8rem;align-items:flex-start;font-weight:400;margin:0;padding:.8rem;cursor:pointer}
label.job input{width:1.8rem;height:1.8rem;flex:none;margin:.1rem 0 0}
.title{display:block;font-weight:700;word-break:break-word}
.meta,.printers{display:block;font-size:.9rem;color:#4a5160}
.printers.none{color:#8a1c12}
ul.outcomes li,ul.status li{padding:.8rem}
ul.outcomes li.ok{border-left:.4rem solid #1e8e3e}
ul.outcomes li.refused{border-left:.4rem solid #d93025}
.actions{margin-top:.6rem}
)css";

std::string attr(std::string_view v) { return escape(v); }

// A page around `content`.
std::string layout(const Frame& f, std::string_view title, std::string_view content) {
    std::string out;
    out.reserve(2048 + content.size());
    out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
           "<meta name=\"robots\" content=\"noindex\">";
    out += "<title>" + escape(title) + " - print release</title>";
    out += "<link rel=\"stylesheet\" href=\"/style.css\"></head><body>\n<header><h1>Print release</h1>";
    if (f.logged_in) {
        out += "<span class=\"who\">" + escape(f.user) + "</span>";
        out += "<form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"" + attr(f.csrf) +
               "\"><button type=\"submit\" id=\"logout\">Log out</button></form>";
    }
    out += "</header>\n";
    if (f.server_unreachable)
        out += "<p class=\"banner\" id=\"offline-banner\" role=\"status\">The central print server cannot be reached. "
               "Logins are checked against the credentials this gateway keeps from your last login here.</p>\n";
    if (f.logged_in && f.logged_in_offline)
        out += "<p class=\"banner offline-user\" id=\"offline-login\" role=\"status\">You are logged in offline: "
               "held jobs can be released at this branch's printers; your login was checked against the "
               "credentials you last used here.</p>\n";
    out += "<main>\n";
    out += content;
    out += "</main></body></html>\n";
    return out;
}

std::string notice_html(const std::optional<Notice>& n) {
    if (!n) return {};
    const bool err = n->tone == Tone::error;
    return fmt::format("<p class=\"notice{}\" id=\"notice\" role=\"{}\">{}</p>\n", err ? " error" : "",
                       err ? "alert" : "status", escape(n->text));
}

std::string hidden_csrf(std::string_view token) {
    return "<input type=\"hidden\" name=\"csrf\" value=\"" + attr(token) + "\">";
}

std::string size_words(std::uint64_t bytes) {
    if (bytes < 1000) return fmt::format("{} B", bytes);
    if (bytes < 1000 * 1000) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
    if (bytes < 1000ull * 1000 * 1000) return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
    return fmt::format("{:.2f} GB", static_cast<double>(bytes) / 1e9);
}

// The gateway's local time: the branch's clock is what people at the printer read.
std::string time_words(std::int64_t unix_ms) {
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    if (!localtime_r(&t, &tm)) return "unknown";
    char buf[32];
    if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm) == 0) return "unknown";
    return buf;
}

std::string job_meta(const HeldJob& j) {
    std::vector<std::string> parts;
    parts.push_back("queue " + escape(j.queue));
    if (j.pages >= 0) parts.push_back(fmt::format("{} page{}", j.pages, j.pages == 1 ? "" : "s"));
    parts.push_back(size_words(j.size));
    if (j.color) parts.push_back(*j.color ? "colour" : "black and white");
    parts.push_back(fmt::format("{} cop{}", j.copies, j.copies == 1 ? "y" : "ies"));
    if (!j.sides.empty()) parts.push_back(escape(j.sides == "one-sided" ? "one-sided" : "two-sided"));
    parts.push_back("submitted " + time_words(j.submitted_ms));
    std::string out;
    for (const auto& p : parts) {
        if (!out.empty()) out += " &middot; ";
        out += p;
    }
    return out;
}

std::string status_item(const StatusLine& s) {
    if (!s.job)
        return fmt::format("<li id=\"status-{}\" data-state=\"unknown\">Job {}: not found</li>\n", s.id, s.id);
    const auto& j = *s.job;
    std::string text = fmt::format("<li id=\"status-{}\" data-state=\"{}\"><span class=\"title\">{}</span>", s.id,
                                   spool::ipp_name(j.state), escape(j.meta.name.empty() ? "(untitled)" : j.meta.name));
    text += "<span class=\"meta\">" + std::string(state_words(j.state));
    if (!j.delivery.route.empty()) text += " &middot; printer " + escape(j.delivery.route);
    if (!j.delivery.message.empty()) text += " &middot; " + escape(j.delivery.message);
    text += "</span></li>\n";
    return text;
}

std::string status_link(const std::vector<StatusLine>& lines) {
    std::string href = "/status";
    char sep = '?';
    for (const auto& s : lines) {
        href += fmt::format("{}job={}", sep, s.id);
        sep = '&';
    }
    return "<a class=\"button\" id=\"refresh\" href=\"" + attr(href) + "\">Refresh status</a>";
}

}  // namespace

std::string escape(std::string_view text) {
    // Valid UTF-8 without control characters first; then the five HTML specials.
    const std::string clean = text::sanitize_name(text, text.size() * 3 + 16);
    std::string out;
    out.reserve(clean.size() + 16);
    for (char c : clean) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

std::string_view stylesheet() { return kStyle; }

std::string_view state_words(spool::JobState s) {
    switch (s) {
    case spool::JobState::held: return "held";
    case spool::JobState::pending: return "waiting to print";
    case spool::JobState::processing: return "printing";
    case spool::JobState::completed: return "printed";
    case spool::JobState::aborted: return "could not be printed";
    case spool::JobState::canceled: return "canceled";
    }
    return "unknown";
}

std::string login(const Frame& f, const std::optional<Notice>& notice, std::string_view form_token) {
    std::string c = notice_html(notice);
    const std::string csrf = hidden_csrf(form_token);
    c += "<form class=\"login\" id=\"login-pin\" method=\"post\" action=\"/login\" accept-charset=\"utf-8\" "
         "autocomplete=\"off\">" + csrf +
         "<input type=\"hidden\" name=\"method\" value=\"pin\">"
         "<label for=\"pin\">PIN</label><input id=\"pin\" name=\"pin\" type=\"password\" inputmode=\"numeric\" "
         "maxlength=\"32\" autocomplete=\"off\" required>"
         "<button type=\"submit\">Log in with PIN</button></form>\n";
    c += "<form class=\"login\" id=\"login-card\" method=\"post\" action=\"/login\" accept-charset=\"utf-8\" "
         "autocomplete=\"off\">" + csrf +
         "<input type=\"hidden\" name=\"method\" value=\"card\">"
         "<label for=\"card\">Card number</label><input id=\"card\" name=\"card\" type=\"password\" "
         "maxlength=\"64\" autocomplete=\"off\" required>"
         "<button type=\"submit\">Log in with card</button></form>\n";
    c += "<form class=\"login\" id=\"login-password\" method=\"post\" action=\"/login\" accept-charset=\"utf-8\">" +
         csrf +
         "<input type=\"hidden\" name=\"method\" value=\"password\">"
         "<label for=\"username\">User name</label><input id=\"username\" name=\"username\" type=\"text\" "
         "maxlength=\"128\" autocapitalize=\"off\" autocorrect=\"off\" spellcheck=\"false\" autocomplete=\"username\" "
         "required>"
         "<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" "
         "maxlength=\"256\" autocomplete=\"current-password\" required>"
         "<button type=\"submit\">Log in</button></form>\n";
    return layout(f, "Log in", c);
}

std::string jobs(const Frame& f, const std::vector<HeldJob>& held, const std::vector<PrinterChoice>& printers,
                 const std::optional<Notice>& notice) {
    std::string c = notice_html(notice);
    c += fmt::format("<h2>Your held jobs ({})</h2>\n", held.size());
    if (held.empty()) {
        c += "<p id=\"no-jobs\">You have no held jobs.</p>\n";
        return layout(f, "Held jobs", c);
    }
    c += "<form method=\"post\" action=\"/release\" accept-charset=\"utf-8\">" + hidden_csrf(f.csrf) +
         "\n<ul class=\"jobs\">\n";
    for (const auto& j : held) {
        c += fmt::format("<li><label class=\"job\" id=\"job-{}\"><input type=\"checkbox\" name=\"job\" value=\"{}\">"
                         "<span><span class=\"title\">{}</span><span class=\"meta\">{}</span>",
                         j.id, j.id, escape(j.title.empty() ? "(untitled)" : j.title), job_meta(j));
        // Why the gateway holds it, when it said (a printer that stayed unreachable, an outage).
        if (!j.held_reason.empty()) c += "<span class=\"meta why\">" + escape(j.held_reason) + "</span>";
        if (j.printers.empty()) {
            c += "<span class=\"printers none\">No printer here can take this job";
            if (!j.format.empty()) c += " (" + escape(j.format) + ")";
            c += "</span>";
        } else {
            std::string names;
            for (const auto& p : j.printers) names += (names.empty() ? "" : ", ") + escape(p);
            c += "<span class=\"printers\">Can print on: " + names + "</span>";
        }
        c += "</span></label></li>\n";
    }
    c += "</ul>\n";
    if (printers.empty()) {
        c += "<p class=\"notice error\">No printer is offered for release on this page.</p>\n";
    } else {
        c += "<label for=\"printer\">Printer</label><select id=\"printer\" name=\"printer\">";
        for (const auto& p : printers) {
            c += "<option value=\"" + attr(p.name) + "\">" + escape(p.name);
            if (!p.description.empty()) c += " (" + escape(p.description) + ")";
            c += "</option>";
        }
        c += "</select>\n";
    }
    c += "<div class=\"actions\">"
         "<button type=\"submit\" name=\"do\" value=\"selected\" id=\"release-selected\">Release selected</button>"
         "<button type=\"submit\" name=\"do\" value=\"all\" id=\"release-all\">Release all</button>"
         "<button type=\"submit\" name=\"do\" value=\"delete\" formaction=\"/delete\" class=\"danger\" "
         "id=\"delete-selected\">Delete selected</button></div></form>\n";
    return layout(f, "Held jobs", c);
}

std::string outcomes(const Frame& f, bool deleting, const std::vector<OutcomeLine>& lines,
                     const std::vector<StatusLine>& released) {
    std::string c = deleting ? "<h2>Delete</h2>\n" : "<h2>Release</h2>\n";
    if (lines.empty()) c += "<p class=\"notice\" id=\"notice\">No job was selected.</p>\n";
    c += "<ul class=\"outcomes\">\n";
    for (const auto& l : lines) {
        const bool ok = l.outcome.status == ReleaseStatus::released || l.outcome.status == ReleaseStatus::deleted;
        const std::string name = l.title.empty() ? fmt::format("Job {}", l.id) : escape(l.title);
        c += fmt::format("<li class=\"{}\" id=\"outcome-{}\" data-status=\"{}\"><span class=\"title\">{}</span>"
                         "<span class=\"meta\">{}{}</span></li>\n",
                         ok ? "ok" : "refused", l.id, to_string(l.outcome.status), name, ok ? "" : "refused: ",
                         escape(l.outcome.message));
    }
    c += "</ul>\n";
    if (!released.empty()) {
        c += "<h2>Status of released jobs</h2>\n<ul class=\"status\">\n";
        for (const auto& s : released) c += status_item(s);
        c += "</ul>\n<p>" + status_link(released) + "</p>\n";
    }
    c += "<p><a class=\"button secondary\" id=\"back\" href=\"/jobs\">Back to my jobs</a></p>\n";
    return layout(f, deleting ? "Deleted" : "Released", c);
}

std::string status(const Frame& f, const std::vector<StatusLine>& lines) {
    std::string c = "<h2>Status of released jobs</h2>\n<ul class=\"status\">\n";
    for (const auto& s : lines) c += status_item(s);
    c += "</ul>\n<p>";
    if (!lines.empty()) c += status_link(lines);
    c += "<a class=\"button secondary\" id=\"back\" href=\"/jobs\">Back to my jobs</a></p>\n";
    return layout(f, "Status", c);
}

std::string message(const Frame& f, std::string_view title, std::string_view text, std::string_view link,
                    std::string_view link_text) {
    std::string c = "<h2>" + escape(title) + "</h2>\n<p class=\"notice error\" id=\"notice\" role=\"alert\">" +
                    escape(text) + "</p>\n";
    if (!link.empty())
        c += "<p><a class=\"button\" href=\"" + attr(link) + "\">" + escape(link_text) + "</a></p>\n";
    return layout(f, title, c);
}

}  // namespace pg::service::page
