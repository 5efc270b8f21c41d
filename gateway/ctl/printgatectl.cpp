// SPDX-License-Identifier: Apache-2.0
// printgatectl: the administrator's tool. Talks to printgated over the control
// socket (ctl/protocol.hpp); check-config works without a daemon.
//
// Exit status: 0 ok; 1 the daemon refused (no such job, corrupt job, ...);
// 2 bad usage; 69 (EX_UNAVAILABLE) printgated not reachable; 78 bad configuration.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "gateway/app/config_file.hpp"
#include "gateway/ctl/client.hpp"
#include "gateway/ctl/protocol.hpp"
#include "gateway/log/log.hpp"

namespace json = boost::json;

namespace {

constexpr int kExitUnavailable = 69;

void usage(FILE* out) {
    std::fputs(
        "usage: printgatectl [--config FILE] [--set KEY=VALUE]... COMMAND\n"
        "commands:\n"
        "  status [--json]     daemon state, listeners, spool usage\n"
        "  jobs [--json]       list jobs (id, queue, user, name, size, protocol, state, created)\n"
        "  show ID [--json]    one job in detail\n"
        "  cat ID              write the job's decrypted document to stdout\n"
        "  rm ID               delete a job (crypto-shredded)\n"
        "  release ID          send a held job to its queue's printer\n"
        "  send ID TARGET [--timeout S]\n"
        "                      send a held job to TARGET (a printer from the configuration, or an\n"
        "                      ipp://, ipps://, lpd://HOST/QUEUE or socket://HOST URI) and wait up to\n"
        "                      S seconds (120): prints the remote job id, the state and the\n"
        "                      impressions; exit 1 unless it completed (a job still waiting for\n"
        "                      its printer stays queued)\n"
        "  upstream probe      probe the central server now: latency or the error, and the state\n"
        "  drill --for D       act as if the central server were unreachable for D (like 30s), then\n"
        "                      report what happened: jobs held, logins from the cache, records queued\n"
        "  users [--json]      cached and synced users: name, source, methods, last login, expiry,\n"
        "                      locked out or not (never a secret)\n"
        "  users rm NAME       remove the cache entries of NAME (a name or alias); a synced user\n"
        "                      comes back with the next full sync\n"
        "  users sync          sync the users from the central server now and print the outcome\n"
        "  check-config        validate the configuration file\n",
        out);
}

std::string human_size(std::uint64_t n) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(n);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        ++u;
    }
    return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string str(const json::value& v) {
    if (v.is_string()) return std::string(v.as_string());
    return json::serialize(v);
}

// Untrusted text (names from clients) is escaped before it reaches a terminal.
std::string safe(const json::value& v) { return pg::log::escape(str(v), 64); }

int print_jobs(const json::value& v) {
    std::printf("%-6s %-12s %-16s %-24s %10s %-5s %-13s %s\n", "ID", "QUEUE", "USER", "NAME", "SIZE", "PROTO",
                "STATE", "CREATED");
    for (const auto& j : v.as_array()) {
        const auto& o = j.as_object();
        std::string name = safe(o.at("name"));
        std::printf("%-6s %-12s %-16s %-24s %10s %-5s %-13s %s\n", str(o.at("id")).c_str(),
                    safe(o.at("queue")).c_str(), safe(o.at("user")).c_str(), name.empty() ? "-" : name.c_str(),
                    human_size(o.at("size").to_number<std::uint64_t>()).c_str(), str(o.at("protocol")).c_str(),
                    str(o.at("state")).c_str(), str(o.at("created")).c_str());
    }
    return 0;
}

int print_status(const json::value& v) {
    const auto& o = v.as_object();
    std::printf("printgated %s, pid %s, %s since %s\n", str(o.at("version")).c_str(), str(o.at("pid")).c_str(),
                str(o.at("state")).c_str(), str(o.at("started")).c_str());
    std::printf("state_dir: %s\n", safe(o.at("state_dir")).c_str());
    for (const auto& l : o.at("listeners").as_array()) {
        const auto& lo = l.as_object();
        std::printf("listening: %-4s %s port %s -> queue %s\n", str(lo.at("protocol")).c_str(),
                    str(lo.at("address")).c_str(), str(lo.at("port")).c_str(), safe(lo.at("queue")).c_str());
    }
    const auto& sp = o.at("spool").as_object();
    std::printf("spool: %s job(s), %s of %s used, %s being received\n", str(sp.at("jobs")).c_str(),
                human_size(sp.at("bytes").to_number<std::uint64_t>()).c_str(),
                human_size(sp.at("max_total_size").to_number<std::uint64_t>()).c_str(),
                human_size(sp.at("receiving_bytes").to_number<std::uint64_t>()).c_str());
    for (const auto& [q, n] : o.at("jobs_by_queue").as_object())
        std::printf("queue %s: %s job(s)%s\n", pg::log::escape(q).c_str(), str(n).c_str(),
                    q == str(o.at("default_queue")) ? " (default)" : "");
    for (const auto& [s, n] : o.at("jobs_by_state").as_object())
        std::printf("state %s: %s\n", std::string(s).c_str(), str(n).c_str());
    std::printf("connections: %s\n", str(o.at("connections")).c_str());
    if (auto* ol = o.if_contains("offline_login"); ol && ol->is_object() && ol->as_object().contains("users")) {
        const auto& l = ol->as_object();
        std::printf("offline login: %s user(s) (%s synced, %s cached), %s locked out; last sync %s%s%s\n",
                    str(l.at("users")).c_str(), str(l.at("synced_users")).c_str(), str(l.at("cached_users")).c_str(),
                    str(l.at("locked_out")).c_str(), l.at("last_sync").is_null() ? "never" : str(l.at("last_sync")).c_str(),
                    l.at("sync_error").as_string().empty() ? "" : "; last sync error: ",
                    l.at("sync_error").as_string().empty() ? "" : safe(l.at("sync_error")).c_str());
    }
    if (auto* up = o.if_contains("upstream"); up && up->is_object() && up->as_object().at("enabled").as_bool()) {
        const auto& u = up->as_object();
        std::printf("upstream: %s since %s (%.1f s)%s\n", str(u.at("state")).c_str(), str(u.at("since")).c_str(),
                    u.at("seconds_in_state").to_number<double>(), u.at("drill").as_bool() ? ", drill" : "");
        std::printf("upstream last probe: %s ms; last error: %s\n", str(u.at("last_probe_latency_ms")).c_str(),
                    u.at("last_error").as_string().empty() ? "-" : safe(u.at("last_error")).c_str());
        std::printf("upstream jobs waiting: %s; transitions: %s; outage: %.1f s\n", str(u.at("jobs_waiting")).c_str(),
                    str(u.at("transitions")).c_str(), u.at("outage_seconds").to_number<double>());
    }
    return 0;
}

int print_users(const json::value& v) {
    std::printf("%-20s %-14s %-36s %-20s %-20s %s\n", "NAME", "SOURCE", "METHODS", "LAST LOGIN", "EXPIRES", "LOCKED");
    for (const auto& u : v.as_array()) {
        const auto& o = u.as_object();
        // A method both cached and synced is shown once.
        std::vector<std::string> names;
        for (const auto& m : o.at("methods").as_array()) {
            std::string name = str(m.as_object().at("method"));
            if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
        }
        std::string methods;
        for (const auto& n : names) methods += (methods.empty() ? "" : ",") + n;
        std::string last = o.at("last_login").is_null() ? "-" : str(o.at("last_login"));
        if (!o.at("last_login").is_null() && o.at("last_login_offline").as_bool()) last += " (offline)";
        std::printf("%-20s %-14s %-36s %-20s %-20s %s\n", safe(o.at("name")).c_str(), str(o.at("source")).c_str(),
                    methods.empty() ? "-" : methods.c_str(), last.c_str(),
                    o.at("expires").is_null() ? "-" : str(o.at("expires")).c_str(),
                    o.at("locked_out").as_bool() ? ("until " + str(o.at("locked_until"))).c_str() : "no");
    }
    return 0;
}

int print_sync(const json::value& v) {
    const auto& o = v.as_object();
    if (!o.at("ok").as_bool()) {
        std::printf("user sync failed after %s page(s): %s; the last good set stays\n", str(o.at("pages")).c_str(),
                    safe(o.at("error")).c_str());
        return 1;
    }
    std::printf("user sync (%s) done in %s ms: %s page(s), %s user record(s) written, %s removed, %s secret(s) "
                "revoked; %s synced user(s)\n",
                o.at("full").as_bool() ? "full" : "changes", str(o.at("took_ms")).c_str(), str(o.at("pages")).c_str(),
                str(o.at("upserted")).c_str(), str(o.at("removed")).c_str(), str(o.at("secrets_revoked")).c_str(),
                str(o.at("synced_users")).c_str());
    if (o.at("dropped_over_limit").to_number<std::uint64_t>() > 0)
        std::printf("%s user(s) over offline_login.sync_limit not kept\n", str(o.at("dropped_over_limit")).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) try {
    std::string config_flag;
    std::vector<pg::conf::Override> overrides;
    std::vector<std::string> args;
    bool as_json = false;
    int timeout = 0;
    std::int64_t drill_ms = 0;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if ((a == "--config" || a == "-c") && i + 1 < argc) {
            config_flag = argv[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            config_flag = a.substr(9);
        } else if (a == "--set" && i + 1 < argc) {
            auto o = pg::conf::parse_override(argv[++i]);
            if (!o) {
                std::fprintf(stderr, "printgatectl: --set wants KEY=VALUE\n");
                return 2;
            }
            overrides.push_back(*o);
        } else if (a == "--timeout" && i + 1 < argc) {
            timeout = std::atoi(argv[++i]);
            if (timeout <= 0) {
                std::fprintf(stderr, "printgatectl: --timeout wants a positive number of seconds\n");
                return 2;
            }
        } else if (a == "--for" && i + 1 < argc) {
            auto d = pg::conf::parse_duration(argv[++i]);
            if (!d || d->count() < 1000) {
                std::fprintf(stderr, "printgatectl: --for wants a duration of at least 1s, like 30s or 5m\n");
                return 2;
            }
            drill_ms = d->count();
        } else if (a == "--json") {
            as_json = true;
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else {
            args.push_back(a);
        }
    }
    if (args.empty()) {
        usage(stderr);
        return 2;
    }
    const std::string cmd = args[0];
    auto loaded = pg::app::load_config(pg::app::resolve_config_path(config_flag), overrides);
    if (!loaded.result.ok()) {
        for (const auto& d : loaded.result.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        std::fprintf(stderr, "printgatectl: %zu configuration error(s)\n", loaded.result.errors.size());
        return pg::app::kExitConfig;
    }
    if (cmd == "check-config") {
        std::printf("%s: configuration OK\n", loaded.path.c_str());
        return 0;
    }
    const auto& cfg = loaded.result.config;
    std::string sock = cfg.control_socket.empty()
                           ? (std::filesystem::path(cfg.state_dir) / "control.sock").string()
                           : cfg.control_socket;

    json::object req;
    const bool is_send = cmd == "send";
    bool needs_id = cmd == "show" || cmd == "cat" || cmd == "rm" || cmd == "release" || is_send;
    const bool is_probe = cmd == "upstream" && args.size() == 2 && args[1] == "probe";
    const bool is_drill = cmd == "drill";
    const bool is_users = cmd == "users";
    if (cmd != "status" && cmd != "jobs" && !needs_id && !is_probe && !is_drill && !is_users) {
        std::fprintf(stderr, "printgatectl: unknown command '%s'\n", cmd.c_str());
        usage(stderr);
        return 2;
    }
    if (is_drill && (drill_ms == 0 || args.size() != 1)) {
        std::fprintf(stderr, "printgatectl: drill needs --for DURATION (like --for 30s)\n");
        return 2;
    }
    std::string users_sub;
    if (is_users) {
        users_sub = args.size() > 1 ? args[1] : "";
        const bool good = (users_sub.empty() && args.size() == 1) || (users_sub == "sync" && args.size() == 2) ||
                          (users_sub == "rm" && args.size() == 3 && !args[2].empty());
        if (!good) {
            std::fprintf(stderr, "printgatectl: users takes nothing, 'rm NAME' or 'sync'\n");
            return 2;
        }
        if (users_sub == "rm") req["name"] = args[2];
    }
    req["cmd"] = is_probe ? "upstream-probe" : is_users && !users_sub.empty() ? "users-" + users_sub : cmd;
    if (is_drill) req["for_ms"] = drill_ms;
    if (needs_id) {
        std::uint64_t id = 0;
        try {
            std::size_t pos = 0;
            if (args.size() != (is_send ? 3u : 2u)) throw std::invalid_argument("id");
            id = std::stoull(args[1], &pos);
            if (pos != args[1].size() || id == 0) throw std::invalid_argument("id");
        } catch (...) {
            std::fprintf(stderr, "printgatectl: %s needs %s\n", cmd.c_str(),
                         is_send ? "a job id (a positive number) and a printer name or URI"
                                 : "one job id (a positive number)");
            return 2;
        }
        req["id"] = id;
        if (is_send) req["target"] = args[2];
        if (is_send && timeout > 0) req["timeout"] = timeout;
    }

    bool write_failed = false;
    auto reply = pg::ctl::call(sock, json::serialize(req), [&](std::string_view data) {
        if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size()) write_failed = true;
        return !write_failed;
    });
    if (!reply.transport_error.empty() && reply.type == 0) {
        if (write_failed) {
            std::fprintf(stderr, "printgatectl: writing to stdout failed\n");
            return 1;
        }
        std::fprintf(stderr, "printgatectl: cannot talk to printgated at %s: %s (is printgated running?)\n",
                     sock.c_str(), reply.transport_error.c_str());
        return kExitUnavailable;
    }
    boost::system::error_code ec;
    json::value v = json::parse(reply.payload, ec);
    if (ec) {
        std::fprintf(stderr, "printgatectl: malformed reply from printgated\n");
        return 1;
    }
    if (reply.type == pg::ctl::kError) {
        std::fflush(stdout);
        std::fprintf(stderr, "printgatectl: %s\n", str(v.as_object().at("error")).c_str());
        return 1;
    }
    if (cmd == "cat") {
        return std::fflush(stdout) == 0 ? 0 : 1;
    }
    if (as_json) {
        std::printf("%s\n", json::serialize(v).c_str());
        return is_users && users_sub == "sync" && !v.as_object().at("ok").as_bool() ? 1 : 0;
    }
    if (is_users && users_sub.empty()) return print_users(v);
    if (is_users && users_sub == "sync") return print_sync(v);
    if (is_users) {
        std::printf("%s cache entr%s of %s removed\n", str(v.as_object().at("removed")).c_str(),
                    v.as_object().at("removed").to_number<std::uint64_t>() == 1 ? "y" : "ies",
                    safe(v.as_object().at("name")).c_str());
        return 0;
    }
    if (cmd == "jobs") return print_jobs(v);
    if (cmd == "status") return print_status(v);
    if (is_send) {
        const auto& o = v.as_object();
        auto field = [&](const char* k) { return o.contains(k) ? safe(o.at(k)) : std::string("-"); };
        std::printf("job %s: %s on %s\nremote job id: %s\nimpressions: %s\n%s%s", str(o.at("id")).c_str(),
                    str(o.at("state")).c_str(), field("printer").c_str(), field("remote_job_id").c_str(),
                    field("impressions").c_str(), o.contains("message") ? "message: " : "",
                    o.contains("message") ? (field("message") + "\n").c_str() : "");
        return str(o.at("state")) == "completed" ? 0 : 1;
    }
    if (cmd == "release") {
        std::printf("job %s released to %s\n", str(v.as_object().at("id")).c_str(),
                    safe(v.as_object().at("printer")).c_str());
        return 0;
    }
    if (cmd == "rm") {
        std::printf("job %s removed\n", str(v.as_object().at("removed")).c_str());
        return 0;
    }
    if (is_probe) {
        const auto& o = v.as_object();
        if (o.at("ok").as_bool())
            std::printf("upstream answered in %s ms (server %s, time %s); state %s\n", str(o.at("latency_ms")).c_str(),
                        safe(o.at("server_version")).c_str(), safe(o.at("server_time")).c_str(),
                        str(o.at("state")).c_str());
        else
            std::printf("upstream probe failed: %s; state %s\n", safe(o.at("error")).c_str(),
                        str(o.at("state")).c_str());
        return o.at("ok").as_bool() ? 0 : 1;
    }
    for (const auto& [k, val] : v.as_object())
        std::printf("%-16s %s\n", (std::string(k) + ":").c_str(), safe(val).c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "printgatectl: %s\n", e.what());
    return 1;
}
