// SPDX-License-Identifier: Apache-2.0
// printgated's side of the control socket: status, jobs, show, cat, rm, send, release,
// upstream probe, drill; the user commands are in users.cpp.
#include "gateway/ctl/server.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "gateway/app/gateway.hpp"
#include "gateway/ctl/protocol.hpp"
#include "gateway/ctl/users.hpp"
#include "gateway/net/accept.hpp"
#include "gateway/net/async.hpp"
#include "gateway/net/raw_session.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/failover.hpp"
#include "gateway/service/health.hpp"
#include "gateway/service/login.hpp"
#include "gateway/upstream/monitor.hpp"

namespace pg::ctl {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::local::stream_protocol;

namespace {

struct Conn {
    explicit Conn(stream_protocol::socket s) : socket(std::move(s)) {}
    stream_protocol::socket socket;
};

std::string frame(char type, std::string_view payload) {
    std::string f;
    f.reserve(5 + payload.size());
    f += type;
    auto n = static_cast<std::uint32_t>(payload.size());
    f += static_cast<char>(n >> 24);
    f += static_cast<char>(n >> 16);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n);
    f += payload;
    return f;
}

std::string error_frame(std::string_view code, std::string_view message) {
    json::object o;
    o["error"] = message;
    o["code"] = code;
    return frame(kError, json::serialize(o));
}

json::object job_json(const spool::JobRecord& r) {
    json::object o;
    o["id"] = r.id;
    o["queue"] = r.meta.queue;
    o["user"] = r.meta.user;
    o["name"] = r.meta.name;
    o["size"] = r.size;
    o["protocol"] = r.meta.protocol;
    o["state"] = spool::ipp_name(r.state);
    o["created"] = spool::rfc3339(r.created_ms);
    const auto& d = r.delivery;
    if (!d.route.empty()) o["printer"] = d.route;
    if (d.attempts != 0) o["attempts"] = d.attempts;
    if (!d.remote_id.empty()) o["remote_job_id"] = d.remote_id;
    if (!d.reason.empty()) o["reason"] = d.reason;
    if (!d.message.empty()) o["message"] = d.message;
    if (d.impressions >= 0) o["impressions"] = d.impressions;
    if (d.done_ms != 0) o["done"] = spool::rfc3339(d.done_ms);
    return o;
}

json::object status_json(app::Gateway& gw) {
    const auto& cfg = gw.config();
    auto u = gw.spool().usage();
    auto lim = gw.spool().limits();
    json::object o;
    o["state"] = gw.stopping() ? "stopping" : "running";
    o["pid"] = static_cast<std::int64_t>(::getpid());
    o["version"] = "0.1.0";
    o["started"] = spool::rfc3339(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      gw.started_at().time_since_epoch())
                                      .count());
    o["state_dir"] = cfg.state_dir;
    o["log_level"] = conf::to_string(cfg.log.level);
    o["connections"] = gw.connection_count();
    json::array ls;
    for (const auto& l : gw.listeners()) {
        json::object lo;
        lo["protocol"] = l.proto;
        lo["address"] = l.endpoint.address().to_string();
        lo["port"] = l.endpoint.port();
        lo["queue"] = l.queue.empty() ? cfg.default_queue : l.queue;
        ls.push_back(std::move(lo));
    }
    o["listeners"] = std::move(ls);
    json::object by_state;
    json::object by_queue;
    for (const auto& [name, q] : cfg.queues) by_queue[name] = 0;
    gw.spool().for_each([&](const spool::JobRecord& r) {
        auto s = spool::ipp_name(r.state);
        by_state[s] = (by_state.contains(s) ? by_state[s].as_int64() : 0) + 1;
        if (!r.meta.queue.empty())
            by_queue[r.meta.queue] = (by_queue.contains(r.meta.queue) ? by_queue[r.meta.queue].as_int64() : 0) + 1;
    });
    o["jobs_by_state"] = std::move(by_state);
    o["jobs_by_queue"] = std::move(by_queue);
    o["default_queue"] = cfg.default_queue;
    json::object sp;
    sp["jobs"] = u.jobs;
    sp["bytes"] = u.committed_bytes;
    sp["receiving_bytes"] = u.reserved_bytes;
    sp["max_job_size"] = lim.max_job_size;
    sp["max_total_size"] = lim.max_total_size;
    sp["min_free_space"] = lim.min_free_space;
    sp["commits"] = u.commits;
    sp["commit_batches"] = u.commit_batches;
    o["spool"] = std::move(sp);
    json::array dests;
    for (const auto& st : gw.forwarder().statuses()) {
        json::object d;
        d["printer"] = st.route;
        d["uri"] = st.uri;
        json::array reasons;
        for (const auto& r : st.reasons) reasons.push_back(json::value(r));
        d["reasons"] = std::move(reasons);
        if (!st.message.empty()) d["message"] = st.message;
        if (st.current_job != 0) d["current_job"] = st.current_job;
        dests.push_back(std::move(d));
    }
    o["printers"] = std::move(dests);
    o["upstream"] = json::parse(service::upstream_status_json(gw));
    return o;
}

// False when the client went away (not an error of ours: printgatectl was interrupted).
asio::awaitable<bool> send(Conn& c, const std::string& bytes) {
    auto [ec, n] = co_await asio::async_write(c.socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    co_return !ec;
}

asio::awaitable<void> cmd_cat(app::Gateway& gw, Conn& c, std::uint64_t id) {
    auto opened = co_await net::run_blocking(gw.pool(), [&gw, id] { return gw.spool().open_document(id); });
    if (!opened) {
        if (opened.error() == spool::errc::corrupt)
            gw.log().error({.event = "job_corrupt", .job_id = id, .proto = "ctl"}, "cat: {}", opened.error().message());
        co_await send(c, error_frame(opened.error() == spool::errc::not_found ? "not_found" : "corrupt",
                                     opened.error().message()));
        co_return;
    }
    std::unique_ptr<spool::DocumentReader> reader = std::move(*opened);
    std::uint64_t sent = 0;
    for (;;) {
        // Gather up to ~1 MiB of authenticated plaintext per hop to the pool.
        auto chunk = co_await net::run_blocking(gw.pool(), [&reader]() -> spool::Result<std::string> {
            std::string out;
            while (out.size() < (1u << 20)) {
                auto next = reader->next();
                if (!next) return next.error();
                if (next->empty()) break;
                out.append(reinterpret_cast<const char*>(next->data()), next->size());
            }
            return out;
        });
        if (!chunk) {
            gw.log().error({.event = "job_corrupt", .job_id = id, .proto = "ctl"},
                           "cat: segment failed authentication after {} bytes", sent);
            co_await send(c, error_frame("corrupt", chunk.error().message()));
            co_return;
        }
        if (chunk->empty()) break;
        sent += chunk->size();
        if (!co_await send(c, frame(kData, *chunk))) co_return;
    }
    json::object end;
    end["size"] = sent;
    co_await send(c, frame(kEnd, json::serialize(end)));
}

// The job a command names; nullopt after answering with the error.
asio::awaitable<std::optional<spool::JobRecord>> find_job(app::Gateway& gw, Conn& c, std::uint64_t id) {
    if (id == 0) {
        co_await send(c, error_frame("bad_request", "a positive job id is required"));
        co_return std::nullopt;
    }
    auto rec = gw.spool().find(id);
    if (!rec) co_await send(c, error_frame("not_found", "no job " + std::to_string(id)));
    co_return rec;
}

// send ID TARGET: routes a held job to TARGET (a configured printer's name, or an
// ipp(s):// URI) and waits until it is done. release ID: routes it to its queue's
// printer and returns at once.
asio::awaitable<void> cmd_send(app::Gateway& gw, Conn& c, std::uint64_t id, const json::object& req, bool wait) {
    auto rec = co_await find_job(gw, c, id);
    if (!rec) co_return;
    const auto cfg = gw.config_ptr();
    std::string target;
    if (auto t = req.if_contains("target"); t && t->is_string()) target = std::string(t->as_string());
    if (target.empty()) {
        auto q = cfg->queues.find(rec->meta.queue);
        if (q != cfg->queues.end()) target = q->second.printer;
        if (target.empty()) {
            co_await send(c, error_frame("bad_request", "queue '" + rec->meta.queue +
                                                            "' has no printer; name one (a printer or a URI)"));
            co_return;
        }
    } else if (!cfg->printers.count(target) && !output::parse_printer_uri(target)) {
        co_await send(c, error_frame("bad_request", "'" + target +
                                                        "' is neither a configured printer nor an ipp://, ipps://, lpd:// or socket:// URI"));
        co_return;
    }
    spool::Transition t;
    t.from = {spool::JobState::held};
    t.to = spool::JobState::pending;
    t.route = target;
    t.reason = "job-queued";
    t.message = "released to " + target + " by an administrator";
    t.held_by = "";
    t.event = "job_routed";
    auto routed = co_await net::run_blocking(gw.pool(), [&gw, id, &t] { return gw.spool().transition(id, t); });
    if (!routed) {
        // Built outside co_await: GCC 12 destroys temporaries of a conditional
        // expression inside a co_await expression twice.
        const bool state = routed.error() == spool::errc::bad_state;
        std::string message = routed.error().message();
        if (state) message = "job " + std::to_string(id) + " is not held (it is " +
                             std::string(spool::ipp_name(rec->state)) + ")";
        const std::string reply = error_frame(state ? "bad_state" : "failed", message);
        co_await send(c, reply);
        co_return;
    }
    gw.forwarder().wake(target);
    if (!wait) {
        co_await send(c, frame(kJson, json::serialize(job_json(*routed))));
        co_return;
    }
    // Wait for the final state, at most `timeout` seconds (default 120); the reply
    // is the job as it ended, or as it stands at the deadline (still waiting).
    std::int64_t timeout = 120;
    if (auto v = req.if_contains("timeout"); v && v->is_int64() && v->as_int64() > 0)
        timeout = std::min<std::int64_t>(v->as_int64(), 86400);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
    asio::steady_timer tick(c.socket.get_executor());
    spool::JobRecord done = *routed;
    for (;;) {
        auto now = gw.spool().find(id);
        if (!now) {
            co_await send(c, error_frame("failed", "job " + std::to_string(id) + " is gone"));
            co_return;
        }
        done = *now;
        if (spool::is_final(done.state) || gw.stopping() || std::chrono::steady_clock::now() >= deadline) break;
        tick.expires_after(std::chrono::milliseconds(100));
        co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_await send(c, frame(kJson, json::serialize(job_json(done))));
}

// printgatectl upstream probe: one probe now, its outcome counted like any other.
asio::awaitable<void> cmd_probe(app::Gateway& gw, Conn& c) {
    auto r = co_await gw.monitor().probe_now();
    json::object o;
    o["ok"] = r.has_value();
    if (r) {
        o["latency_ms"] = r->latency.count();
        o["server_version"] = r->server_version;
        o["server_time"] = r->server_time;
    } else {
        o["error"] = r.error().message;
    }
    o["state"] = std::string(upstream::to_string(gw.monitor().state()));
    co_await send(c, frame(kJson, json::serialize(o)));
}

// printgatectl drill --for D: offline for D whatever the server says, then what
// happened meanwhile. The reply comes when the drill ends.
asio::awaitable<void> cmd_drill(app::Gateway& gw, Conn& c, const json::object& req) {
    std::int64_t ms = 0;
    if (auto v = req.if_contains("for_ms"); v && v->is_int64()) ms = v->as_int64();
    if (ms < 1000 || ms > 24 * 3600 * 1000) {
        co_await send(c, error_frame("bad_request", "a drill lasts from 1s to 24h"));
        co_return;
    }
    if (!gw.monitor().enabled()) {
        co_await send(c, error_frame("failed", "no upstream.url in the configuration: nothing to drill"));
        co_return;
    }
    const auto before = gw.failover().counters();
    const std::uint64_t cache_logins = gw.login().counters().offline_ok;
    gw.log().warn({.event = "upstream_drill", .proto = "ctl"}, "drill: offline for {} ms on an administrator's request",
                  ms);
    gw.monitor().drill(std::chrono::milliseconds(ms));
    asio::steady_timer t(gw.io());
    t.expires_after(std::chrono::milliseconds(ms));
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    const auto after = gw.failover().counters();
    json::object o;
    o["seconds"] = static_cast<double>(ms) / 1000.0;
    o["jobs_held"] = (after.held_at_commit - before.held_at_commit) + (after.held_on_outage - before.held_on_outage);
    // The accounting ledger arrives with issue #8.
    o["logins_from_cache"] = gw.login().counters().offline_ok - cache_logins;
    o["records_queued"] = 0;
    o["state_after"] = std::string(upstream::to_string(gw.monitor().state()));
    co_await send(c, frame(kJson, json::serialize(o)));
}

asio::awaitable<void> handle(app::Gateway& gw, Conn& c, const json::object& req) {
    auto cmd_v = req.if_contains("cmd");
    std::string cmd = cmd_v && cmd_v->is_string() ? std::string(cmd_v->as_string()) : "";
    std::uint64_t id = 0;
    if (auto v = req.if_contains("id"); v && v->is_int64() && v->as_int64() > 0)
        id = static_cast<std::uint64_t>(v->as_int64());
    else if (v && v->is_uint64())
        id = v->as_uint64();
    if (cmd == "status") {
        json::object o = status_json(gw);
        json::value offline = co_await offline_login_status(gw);
        o["offline_login"] = std::move(offline);
        co_await send(c, frame(kJson, json::serialize(o)));
    } else if (cmd == "users" || cmd == "users-rm" || cmd == "users-sync") {
        UsersReply r = co_await users_command(gw, cmd, req);
        const std::string reply = r.error.empty() ? frame(kJson, json::serialize(r.body)) : error_frame(r.code, r.error);
        co_await send(c, reply);
    } else if (cmd == "jobs") {
        json::array a;
        for (const auto& r : gw.spool().list()) a.push_back(job_json(r));
        co_await send(c, frame(kJson, json::serialize(a)));
    } else if (cmd == "upstream-probe") {
        co_await cmd_probe(gw, c);
    } else if (cmd == "drill") {
        co_await cmd_drill(gw, c, req);
    } else if (cmd == "send" || cmd == "release") {
        co_await cmd_send(gw, c, id, req, cmd == "send");
    } else if (cmd == "show" || cmd == "cat" || cmd == "rm") {
        auto rec = co_await find_job(gw, c, id);
        if (!rec) co_return;
        if (cmd == "show") {
            json::object o = job_json(*rec);
            o["peer"] = rec->meta.peer;
            o["document_format"] = rec->meta.document_format;
            o["updated"] = spool::rfc3339(rec->updated_ms);
            o["sealed_size"] = rec->sealed_size;
            o["storage"] = rec->inline_doc ? "index" : "file";
            if (!rec->meta.document_name.empty()) o["document_name"] = rec->meta.document_name;
            if (!rec->meta.documents.empty()) {
                json::array parts;
                for (const auto& d : rec->meta.documents) {
                    json::object p;
                    p["format"] = d.format;
                    if (!d.name.empty()) p["name"] = d.name;
                    p["size"] = d.size;
                    parts.push_back(std::move(p));
                }
                o["documents"] = std::move(parts);
            }
            co_await send(c, frame(kJson, json::serialize(o)));
        } else if (cmd == "cat") {
            co_await cmd_cat(gw, c, id);
        } else {
            auto removed = co_await net::run_blocking(gw.pool(), [&gw, id] { return gw.spool().remove(id); });
            if (!removed) {
                co_await send(c, error_frame("failed", removed.error().message()));
                co_return;
            }
            gw.log().info({.event = "job_shredded", .job_id = id, .queue = rec->meta.queue, .proto = "ctl"},
                          "job removed by an administrator (key destroyed, files deleted)");
            json::object o;
            o["removed"] = id;
            co_await send(c, frame(kJson, json::serialize(o)));
        }
    } else {
        co_await send(c, error_frame("bad_request", "unknown command"));
    }
}

asio::awaitable<void> control_session(app::Gateway& gw, stream_protocol::socket socket) {
    auto conn = std::make_shared<Conn>(std::move(socket));
    std::uint64_t reg = gw.register_connection([conn] {
        boost::system::error_code ec;
        conn->socket.close(ec);
    });
    if (reg == 0) co_return;
    net::Registration registration{gw, reg};
    asio::streambuf buf(kMaxRequest);
    auto [ec, n] = co_await asio::async_read_until(conn->socket, buf, '\n', asio::as_tuple(asio::use_awaitable));
    if (ec) {
        if (ec == asio::error::not_found)
            co_await send(*conn, error_frame("bad_request", "request too long"));
        co_return;
    }
    std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n));
    boost::system::error_code jec;
    json::value v = json::parse(line, jec);
    if (jec || !v.is_object()) {
        co_await send(*conn, error_frame("bad_request", "request is not a JSON object"));
        co_return;
    }
    co_await handle(gw, *conn, v.as_object());
}

}  // namespace

asio::awaitable<void> control_accept_loop(app::Gateway& gw, stream_protocol::acceptor& acceptor) {
    return net::accept_loop(gw, acceptor, "ctl", [&gw](stream_protocol::socket socket) {
        return control_session(gw, std::move(socket));
    });
}

}  // namespace pg::ctl
