// SPDX-License-Identifier: Apache-2.0
// Failover of server queues. See failover.hpp and docs/failover.md.
#include "gateway/service/failover.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/app/gateway.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/upstream/monitor.hpp"

namespace pg::service {

namespace asio = boost::asio;
using spool::JobState;
using spool::kHeldReason;

namespace {

constexpr std::string_view kPrefix = "server:";

// job-hold-until asked for at creation (kept in the job's attributes).
bool client_holds(const spool::JobMeta& m) {
    boost::system::error_code ec;
    auto v = boost::json::parse(m.attributes, ec);
    if (ec || !v.is_object()) return false;
    auto* h = v.as_object().if_contains("job-hold-until");
    return h && h->is_string() && h->as_string() != "no-hold";
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

std::string server_route(std::string_view queue) { return std::string(kPrefix) + std::string(queue); }
bool is_server_route(std::string_view route) { return route.substr(0, kPrefix.size()) == kPrefix; }
std::string_view queue_of_server_route(std::string_view route) {
    return is_server_route(route) ? route.substr(kPrefix.size()) : std::string_view{};
}

Failover::Failover(app::Gateway& gw) : gw_(gw) {}

void Failover::route_at_commit(spool::JobWriter& writer) {
    const auto cfg = gw_.config_ptr();
    auto q = cfg->queues.find(writer.meta().queue);
    if (q == cfg->queues.end() || client_holds(writer.meta())) return;
    const conf::QueueConfig& queue = q->second;
    if (queue.mode == conf::QueueMode::direct) {
        writer.route_to(queue.printer);
        return;
    }
    if (queue.mode != conf::QueueMode::server) return;
    auto& monitor = gw_.monitor();
    if (!monitor.reachable()) {
        ++counters_.held_at_commit;
        writer.hold_with(kHeldReason, std::string(kOutageMessage), "outage");
        return;
    }
    // Right after a switch, clients re-submit what they think was lost: the same
    // owner and document within duplicate_window of a job already here is held
    // (never dropped: its owner can still release it).
    const auto window = cfg->upstream.duplicate_window;
    const bool switched_recently = monitor.snapshot().transitions > 0 &&
                                   std::chrono::steady_clock::now() - monitor.changed_at() <= window;
    if (window.count() > 0 && switched_recently && !writer.meta().digest.empty()) {
        const std::int64_t since = now_ms() - window.count();
        std::uint64_t twin = 0;
        gw_.spool().for_each([&](const spool::JobRecord& j) {
            if (twin != 0 || j.created_ms < since || j.state == JobState::canceled) return;
            if (j.meta.queue == writer.meta().queue && j.meta.user == writer.meta().user &&
                j.meta.digest == writer.meta().digest)
                twin = j.id;
        });
        if (twin != 0) {
            ++counters_.duplicates_held;
            writer.hold_with(kHeldReason,
                             fmt::format("looks like a duplicate of job {} (same owner and document right after "
                                         "a failover); release it to print it anyway",
                                         twin),
                             "duplicate");
            return;
        }
    }
    writer.route_to(server_route(queue.name));
}

void Failover::on_change(const upstream::StateChange& change) {
    if (change.to == upstream::State::offline) {
        asio::co_spawn(gw_.io(), hold_all(), asio::detached);
    } else if (change.from == upstream::State::offline) {
        asio::co_spawn(gw_.io(), forward_held(), asio::detached);
    }
}

asio::awaitable<bool> Failover::hold_for_outage(std::uint64_t id) {
    auto job = gw_.spool().find(id);
    if (!job || job->state != JobState::pending || !is_server_route(job->delivery.route) ||
        job->delivery.in_doubt || !job->delivery.remote_id.empty())
        co_return false;
    spool::Transition t;
    t.from = {JobState::pending};
    t.to = JobState::held;
    t.route = "";
    t.reason = kHeldReason;
    t.message = std::string(kOutageMessage);
    t.held_by = "outage";
    t.event = "job_held";
    auto r = co_await net::run_blocking(gw_.pool(), [this, id, &t] { return gw_.spool().transition(id, t); });
    if (r) ++counters_.held_on_outage;
    co_return r.has_value();
}

asio::awaitable<void> Failover::hold_all() {
    std::vector<std::uint64_t> ids;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.state == JobState::pending && is_server_route(j.delivery.route)) ids.push_back(j.id);
    });
    for (auto id : ids) {
        if (gw_.monitor().reachable()) break;  // back online meanwhile
        co_await hold_for_outage(id);
    }
}

asio::awaitable<void> Failover::forward_held() {
    const auto cfg = gw_.config_ptr();
    std::vector<std::uint64_t> ids;
    gw_.spool().for_each([&](const spool::JobRecord& j) {
        if (j.state != JobState::held || j.delivery.held_by != "outage") return;
        auto q = cfg->queues.find(j.meta.queue);
        if (q != cfg->queues.end() && q->second.mode == conf::QueueMode::server &&
            q->second.on_recovery == conf::OnRecovery::forward)
            ids.push_back(j.id);
    });
    std::vector<std::string> routes;
    for (auto id : ids) {
        if (!gw_.monitor().reachable()) break;  // offline again meanwhile
        auto job = gw_.spool().find(id);
        if (!job) continue;
        spool::Transition t;
        t.from = {JobState::held};
        t.to = JobState::pending;
        t.route = server_route(job->meta.queue);
        t.reason = "";
        t.message = "";
        t.event = "job_routed";
        auto r = co_await net::run_blocking(gw_.pool(), [this, id, &t] { return gw_.spool().transition(id, t); });
        if (r) {
            ++counters_.forwarded_on_recovery;
            routes.push_back(r->delivery.route);
        }
    }
    // Workers that waited for the server (jobs in doubt), then the routes just filled.
    gw_.forwarder().wake_all();
    for (const auto& route : routes) gw_.forwarder().wake(route);
}

}  // namespace pg::service
