// SPDX-License-Identifier: Apache-2.0
// Reconciliation over LPD (see lpd_reconcile.hpp).
#include "gateway/output/lpd_reconcile.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace pg::output {

namespace {

constexpr std::size_t kCupsLpdTitleBytes = 39;    // cups-lpd: printf("%-39.39s")
constexpr std::size_t kPrintgateTitlePoints = 40;  // protocols/lpd/reply.cpp, long form

std::string_view trim_right(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The first `points` code points of UTF-8 `s` (all of it when shorter).
std::string_view first_points(std::string_view s, std::size_t points) {
    std::size_t i = 0;
    for (std::size_t n = 0; i < s.size() && n < points; ++n) {
        ++i;
        while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
    }
    return s.substr(0, i);
}

bool size_matches(std::uint64_t listed, const std::vector<std::uint64_t>& sizes) {
    std::uint64_t exact = 0;
    std::uint64_t kib = 0;
    for (auto s : sizes) {
        exact += s;
        kib += (s + 1023) / 1024;  // cupsd: job-k-octets, each document rounded up
    }
    return listed == exact || listed == kib * 1024;
}

}  // namespace

bool title_matches(std::string_view listed, std::string_view sent) {
    listed = trim_right(listed);
    const std::string_view whole = trim_right(sent);
    if (listed.empty() || whole.empty()) return false;
    if (listed == whole) return true;
    if (sent.size() > kCupsLpdTitleBytes && listed == trim_right(sent.substr(0, kCupsLpdTitleBytes))) return true;
    const std::string_view cut = first_points(sent, kPrintgateTitlePoints);
    return cut.size() < sent.size() && listed == trim_right(cut);
}

bool titles_may_look_alike(std::string_view a, std::string_view b) {
    a = trim_right(a.substr(0, std::min(a.size(), kCupsLpdTitleBytes)));
    b = trim_right(b.substr(0, std::min(b.size(), kCupsLpdTitleBytes)));
    return a == b;
}

bool may_be_taken_for(const std::vector<std::string>& their_names, std::string_view our_title) {
    return std::any_of(their_names.begin(), their_names.end(),
                       [&](const std::string& n) { return titles_may_look_alike(n, our_title); });
}

std::vector<std::uint64_t> lookalikes_of(const lpd::QueueListing& listing, const LpdIdentity& job) {
    std::vector<std::uint64_t> out;
    if (job.title.empty()) return out;
    for (const auto& j : listing.jobs) {
        if (j.owner != job.user || j.files.size() != 1) continue;
        const auto& f = j.files.front();
        if (f.copies != 1 || !f.bytes || !title_matches(f.name, job.title)) continue;
        if (!size_matches(*f.bytes, job.sizes)) continue;
        out.push_back(j.number);
    }
    return out;
}

spool::Lookalikes record_before(const lpd::QueueListing& listing, const LpdIdentity& job, std::int64_t now_ms) {
    spool::Lookalikes l;
    if (!listing.is_listing()) return l;
    auto found = lookalikes_of(listing, job);
    if (found.size() > spool::Lookalikes::kMaxLookalikes) return l;
    l.known = true;
    l.listed_ms = now_ms;
    l.jobs = std::move(found);
    return l;
}

Reconciliation judge(const spool::Lookalikes& before, const lpd::QueueListing& now, const LpdIdentity& job) {
    if (job.title.empty())
        return {Verdict::unsure, 0, "the job has no title, so a job at the server cannot be told from another's"};
    if (!before.known) return {Verdict::unsure, 0, "the server's queue was not listed before the send"};
    if (!now.is_listing()) return {Verdict::unsure, 0, "the server's answer does not list its queue"};
    std::vector<std::uint64_t> fresh;
    for (auto n : lookalikes_of(now, job))
        if (std::find(before.jobs.begin(), before.jobs.end(), n) == before.jobs.end()) fresh.push_back(n);
    if (fresh.empty()) return {Verdict::absent, 0, "no new job at the server looks like it"};
    if (fresh.size() > 1)
        return {Verdict::unsure, 0, fmt::format("{} new jobs at the server look like it; not guessing", fresh.size())};
    return {Verdict::found, fresh.front(), fmt::format("listed by the server as job {}", fresh.front())};
}

}  // namespace pg::output
