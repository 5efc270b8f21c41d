// SPDX-License-Identifier: Apache-2.0
// Lockout: sliding-window user lockout and per-source exponential delays.
//
// Owns: the arithmetic of both. Must not: read a clock or do I/O.

#include "auth/cache/lockout.hpp"

#include <algorithm>

namespace pg::auth {

Lockout::Lockout(LockoutOptions options) : options_(options) {
    if (options_.max_failures == 0) options_.max_failures = 1;
    if (options_.max_users == 0) options_.max_users = 1;
    if (options_.max_sources == 0) options_.max_sources = 1;
}

void Lockout::prune_locked(UserState& u, TimePoint now) const {
    std::erase_if(u.failures, [&](TimePoint t) { return now - t >= options_.window; });
}

std::chrono::milliseconds Lockout::delay_after(std::size_t failures) const {
    if (failures <= options_.free_failures) return std::chrono::milliseconds{0};
    const std::size_t doublings = failures - options_.free_failures - 1;
    auto d = options_.base_delay;
    for (std::size_t i = 0; i < doublings && d < options_.max_delay; ++i) d *= 2;
    return std::min(d, options_.max_delay);
}

Lockout::Decision Lockout::user_decision_locked(std::string_view key, TimePoint now) const {
    Decision d;
    if (key.empty()) return d;
    const auto it = users_.find(std::string(key));
    if (it == users_.end()) return d;
    // Failures in (now - window, now]; the list is ascending.
    const auto& f = it->second.failures;
    const auto first = std::find_if(f.begin(), f.end(), [&](TimePoint t) { return now - t < options_.window; });
    const auto in_window = static_cast<std::size_t>(f.end() - first);
    if (in_window < options_.max_failures) return d;
    // Locked until enough of them age out that fewer than max_failures remain.
    d.kind = Decision::Kind::locked;
    d.locked_until = *(f.end() - static_cast<std::ptrdiff_t>(options_.max_failures)) + options_.window;
    return d;
}

Lockout::Decision Lockout::source_decision_locked(std::string_view source, TimePoint now) const {
    Decision d;
    if (source.empty()) return d;
    const auto it = sources_.find(std::string(source));
    if (it == sources_.end() || now - it->second.last >= options_.source_reset) return d;
    const auto ready = it->second.last + delay_after(it->second.failures);
    if (ready > now) {
        d.kind = Decision::Kind::wait;
        d.wait = std::chrono::ceil<std::chrono::milliseconds>(ready - now);
    }
    return d;
}

Lockout::Decision Lockout::check(std::string_view user_key, std::string_view source, TimePoint now) const {
    std::lock_guard lock(mutex_);
    if (auto d = user_decision_locked(user_key, now); !d.allowed()) return d;
    return source_decision_locked(source, now);
}

void Lockout::make_room_users_locked(TimePoint now) {
    if (users_.size() < options_.max_users) return;
    for (auto it = users_.begin(); it != users_.end();) {
        prune_locked(it->second, now);
        it = it->second.failures.empty() ? users_.erase(it) : std::next(it);
    }
    while (users_.size() >= options_.max_users) {
        auto oldest = std::min_element(users_.begin(), users_.end(),
                                       [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
        users_.erase(oldest);
    }
}

void Lockout::make_room_sources_locked(TimePoint now) {
    if (sources_.size() < options_.max_sources) return;
    std::erase_if(sources_, [&](const auto& e) { return now - e.second.last >= options_.source_reset; });
    while (sources_.size() >= options_.max_sources) {
        auto oldest = std::min_element(sources_.begin(), sources_.end(),
                                       [](const auto& a, const auto& b) { return a.second.last < b.second.last; });
        sources_.erase(oldest);
    }
}

Lockout::Decision Lockout::record_failure(std::string_view user_key, std::string_view source, TimePoint now) {
    std::lock_guard lock(mutex_);
    if (!user_key.empty()) {
        std::string key(user_key);
        if (!users_.contains(key)) make_room_users_locked(now);
        UserState& u = users_[key];
        prune_locked(u, now);
        u.failures.push_back(now);
        std::sort(u.failures.begin(), u.failures.end());  // callers on several threads may pass times out of order
        if (u.failures.size() > options_.max_failures)
            u.failures.erase(u.failures.begin(),
                             u.failures.end() - static_cast<std::ptrdiff_t>(options_.max_failures));
        u.last = std::max(u.last, now);
    }
    if (!source.empty()) {
        std::string key(source);
        if (!sources_.contains(key)) make_room_sources_locked(now);
        SourceState& s = sources_[key];
        if (s.failures > 0 && now - s.last >= options_.source_reset) s.failures = 0;
        ++s.failures;
        s.last = std::max(s.last, now);
    }
    if (auto d = user_decision_locked(user_key, now); !d.allowed()) return d;
    return source_decision_locked(source, now);
}

bool Lockout::record_success(std::string_view user_key, std::string_view source, TimePoint now) {
    std::lock_guard lock(mutex_);
    if (!source.empty()) sources_.erase(std::string(source));
    if (user_key.empty() || !user_decision_locked(user_key, now).allowed()) return false;
    return users_.erase(std::string(user_key)) > 0;
}

bool Lockout::unlock(std::string_view user_key) {
    std::lock_guard lock(mutex_);
    return users_.erase(std::string(user_key)) > 0;
}

std::vector<Lockout::LockedUser> Lockout::locked_users(TimePoint now) const {
    std::lock_guard lock(mutex_);
    std::vector<LockedUser> out;
    for (const auto& [key, u] : users_) {
        const auto d = user_decision_locked(key, now);
        if (d.kind == Decision::Kind::locked) {
            const auto n = std::count_if(u.failures.begin(), u.failures.end(),
                                         [&](TimePoint t) { return now - t < options_.window; });
            out.push_back({key, d.locked_until, static_cast<std::size_t>(n)});
        }
    }
    std::sort(out.begin(), out.end(), [](const LockedUser& a, const LockedUser& b) { return a.key < b.key; });
    return out;
}

std::vector<Lockout::UserFailures> Lockout::user_failures(TimePoint now) const {
    std::lock_guard lock(mutex_);
    std::vector<UserFailures> out;
    for (const auto& [key, u] : users_) {
        UserFailures f{key, {}};
        for (TimePoint t : u.failures)
            if (now - t < options_.window) f.at.push_back(t);
        if (!f.at.empty()) out.push_back(std::move(f));
    }
    std::sort(out.begin(), out.end(), [](const UserFailures& a, const UserFailures& b) { return a.key < b.key; });
    return out;
}

void Lockout::restore(const std::vector<UserFailures>& users, TimePoint now) {
    std::lock_guard lock(mutex_);
    for (const auto& f : users) {
        if (f.key.empty()) continue;
        UserState u;
        for (TimePoint t : f.at)
            if (now - t < options_.window) u.failures.push_back(t);
        if (u.failures.empty()) continue;
        std::sort(u.failures.begin(), u.failures.end());
        if (u.failures.size() > options_.max_failures)
            u.failures.erase(u.failures.begin(),
                             u.failures.end() - static_cast<std::ptrdiff_t>(options_.max_failures));
        u.last = u.failures.back();
        if (!users_.contains(f.key)) make_room_users_locked(now);
        users_[f.key] = std::move(u);
    }
}

std::size_t Lockout::tracked_users() const {
    std::lock_guard lock(mutex_);
    return users_.size();
}

std::size_t Lockout::tracked_sources() const {
    std::lock_guard lock(mutex_);
    return sources_.size();
}

}  // namespace pg::auth
