// SPDX-License-Identifier: Apache-2.0
// The probe loop. See monitor.hpp and docs/failover.md.
#include "gateway/upstream/monitor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace pg::upstream {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

ReachabilityOptions options_of(const conf::UpstreamConfig& c) {
    return {c.fail_threshold, c.recover_threshold, c.hold_down, c.degraded_latency};
}

}  // namespace

Monitor::Monitor(asio::io_context& io, const conf::UpstreamConfig& config, std::unique_ptr<Upstream> upstream)
    : io_(io),
      config_(config),
      upstream_(std::move(upstream)),
      reach_(options_of(config), Clock::now()),
      timer_(io),
      drill_timer_(io),
      since_wall_(std::chrono::system_clock::now()) {}

Monitor::~Monitor() = default;

void Monitor::start() {
    if (!upstream_ || running_) return;
    running_ = true;
    asio::co_spawn(io_, loop(), asio::detached);
}

void Monitor::stop() {
    stopping_ = true;
    timer_.cancel();
    drill_timer_.cancel();
    if (upstream_) upstream_->close();
}

void Monitor::reconfigure(const conf::UpstreamConfig& config) {
    config_.probe_interval = config.probe_interval;
    config_.fail_threshold = config.fail_threshold;
    config_.recover_threshold = config.recover_threshold;
    config_.hold_down = config.hold_down;
    config_.degraded_latency = config.degraded_latency;
    config_.duplicate_window = config.duplicate_window;
    reach_.set_options(options_of(config_));
}

asio::awaitable<void> Monitor::loop() {
    while (!stopping_) {
        const auto started = Clock::now();
        auto r = co_await upstream_->probe();
        if (stopping_) break;
        record(r, started);
        // The next probe starts probe_interval after this one started (a slow probe
        // does not stretch the schedule), and never before this one ended.
        timer_.expires_at(started + config_.probe_interval);
        co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    running_ = false;
}

// Outcomes are stamped with the probe's start: probes are scheduled by their start,
// so a success streak of N probes spans exactly (N - 1) intervals, whatever the
// first probe after an outage spent on a new TLS connection.
void Monitor::record(const Result<ProbeResult>& r, Clock::time_point now) {
    if (r) {
        ++probes_ok_;
        last_latency_ = r->latency;
        apply(reach_.success(now, r->latency, r->degraded));
    } else if (r.error().http_status == 429) {
        // Rate limited: the server is there and asks us to slow down.
        ++probes_ok_;
        apply(reach_.success(now, std::chrono::milliseconds(0), true));
    } else {
        ++probes_failed_;
        apply(reach_.failure(now, r.error().message));
    }
    apply(reach_.tick(Clock::now()));
}

void Monitor::apply(std::optional<StateChange> c) {
    if (!c) return;
    if (c->from == State::offline) outage_done_ += c->outage;
    since_wall_ = std::chrono::system_clock::now();
    changed_at_ = Clock::now();
    if (handler_) handler_(*c);
}

void Monitor::forward_failed(const std::string& reason) {
    if (!upstream_) return;
    ++forward_failures_;
    apply(reach_.failure(Clock::now(), "forward: " + reason));
}

void Monitor::call_failed(const std::string& reason) {
    if (!upstream_) return;
    apply(reach_.failure(Clock::now(), reason));
}

asio::awaitable<Result<ProbeResult>> Monitor::probe_now() {
    if (!upstream_) co_return Failure{errc::not_configured, "no upstream.url in the configuration", {}};
    const auto started = Clock::now();
    auto r = co_await upstream_->probe();
    if (!stopping_) record(r, started);
    co_return r;
}

void Monitor::drill(std::chrono::milliseconds period) {
    const auto now = Clock::now();
    apply(reach_.force_offline(now, now + period, "drill: forced offline by printgatectl"));
    drill_timer_.expires_at(now + period);
    drill_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopping_) return;
        apply(reach_.tick(Clock::now()));
    });
}

MonitorSnapshot Monitor::snapshot() const {
    MonitorSnapshot s;
    s.enabled = upstream_ != nullptr;
    s.state = reach_.state();
    s.since = since_wall_;
    s.last_error = reach_.last_error();
    s.last_latency = last_latency_;
    s.probes_ok = probes_ok_;
    s.probes_failed = probes_failed_;
    s.forward_failures = forward_failures_;
    s.transitions = reach_.transitions();
    s.outage_total = outage_done_;
    if (reach_.state() == State::offline)
        s.outage_total += std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - reach_.since());
    s.drill = reach_.forced();
    return s;
}

}  // namespace pg::upstream
