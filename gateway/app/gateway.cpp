// SPDX-License-Identifier: Apache-2.0
// Gateway lifecycle: start (state dir, lock, key, spool recovery, listeners),
// run (READY=1, watchdog, signals), reload (SIGHUP), shutdown (SIGTERM).
//
// Shutdown follows the house style: stop accepting -> let in-flight jobs finish
// until limits.shutdown_timeout -> abort what is left (their jobs are discarded,
// their clients see a reset, never a clean close) -> drain commits -> STOPPING=1.
#include "gateway/app/gateway.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/ssl/context.hpp>
#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include "auth/cache/credential_cache.hpp"
#include "auth/cache/lockout.hpp"
#include "auth/passwd/authenticator.hpp"
#include "gateway/ctl/server.hpp"
#include "gateway/net/http_session.hpp"
#include "gateway/net/lpd_session.hpp"
#include "gateway/net/raw_session.hpp"
#include "gateway/net/tls.hpp"
#include "gateway/net/async.hpp"
#include "gateway/output/forwarder.hpp"
#include "gateway/service/failover.hpp"
#include "gateway/service/health.hpp"
#include "gateway/service/ipp_service.hpp"
#include "gateway/service/login.hpp"
#include "gateway/service/release.hpp"
#include "gateway/service/release_http.hpp"
#include "gateway/service/terminal_keys.hpp"
#include "gateway/service/user_sync.hpp"
#include "gateway/upstream/monitor.hpp"
#include "gateway/upstream/myq_upstream.hpp"

namespace pg::app {

namespace {

// sd_notify(3) without blocking: libsystemd's sendmsg() waits when the receiver's
// queue is full (a service manager that does not read, or a test harness), and
// that would stall the I/O thread. A message that does not fit is dropped; the
// next STATUS= replaces it anyway. READY=1 goes first, to an empty queue.
void notify(std::string_view message) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') return;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::size_t len = std::strlen(path);
    if (len >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return;
    std::memcpy(addr.sun_path, path, len);
    if (path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return;
    const auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    ::sendto(fd, message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
             addr_len);
    ::close(fd);
}


spool::Limits spool_limits(const conf::Config& c) {
    return {c.spool.max_job_size, c.spool.max_total_size, c.spool.min_free_space};
}

// "24h", "90m", "45s", "1500ms": the largest unit that divides the duration.
std::string describe_duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    return std::to_string(ms) + "ms";
}

// Raise the soft descriptor limit to the hard one: each connection costs one,
// and a burst of clients must meet limits.max_connections, not EMFILE.
void raise_nofile_limit() {
    struct rlimit rl {};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

}  // namespace

Gateway::Gateway(conf::Config config, Options options, log::Logger& log)
    : initial_(std::move(config)), options_(std::move(options)), log_(log) {
    config_ = std::make_shared<const conf::Config>(initial_);
}

Gateway::~Gateway() {
    // Order matters: commits still queued complete (their callbacks post to io_),
    // blocking work finishes, then io_ (declared after spool_) is destroyed with any
    // session frames left by a forced stop, whose writers still need the spool.
    if (spool_) spool_->join();
    pool_.join();
    if (lock_fd_ >= 0) ::close(lock_fd_);
    if (!control_path_.empty()) ::unlink(control_path_.c_str());
}

bool Gateway::start(std::string& error) {
    started_at_ = std::chrono::system_clock::now();
    raise_nofile_limit();
    const conf::Config& c = *config_;
    std::error_code ec;
    std::filesystem::path state(c.state_dir);
    std::filesystem::create_directories(state, ec);
    if (ec) {
        error = "cannot create state_dir " + state.string() + ": " + ec.message();
        return false;
    }
    ::chmod(state.c_str(), 0700);
    // One daemon per state directory.
    lock_fd_ = ::open((state / "printgated.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
        error = "state_dir " + state.string() + " is in use by another printgated (lock held)";
        return false;
    }

    std::filesystem::path key_path = c.master_key_file.empty() ? state / "master.key" : std::filesystem::path(c.master_key_file);
    bool created = false;
    std::string key_source;
    auto key = spool::load_or_create_master_key(key_path, error, created, key_source);
    if (!key) return false;
    if (created)
        log_.info({.event = "master_key_created"}, "created a new master key at {}", log::escape(key_source));
    else
        log_.info({.event = "master_key_loaded"}, "master key loaded from {}", log::escape(key_source));

    spool::SpoolOptions so;
    so.dir = state / "spool";
    // Server queues keep each document's SHA-256 (encrypted with its metadata) for
    // the duplicate check after a failover. begin_job runs on the I/O thread.
    so.digest_filter = [this](const spool::JobMeta& m) {
        const auto& cfg = *config_;
        auto q = cfg.queues.find(m.queue);
        return q != cfg.queues.end() && q->second.mode == conf::QueueMode::server &&
               cfg.upstream.duplicate_window.count() > 0;
    };
    // The credential cache wraps its keys under the same master key as the spool.
    const crypto::Key master = *key;
    so.master_key = std::move(*key);
    so.limits = spool_limits(c);
    spool::RecoveryReport report;
    spool_ = spool::Spool::open(std::move(so), log_, report, error);
    if (!spool_) return false;
    log_.info({.event = "spool_recovered"}, "spool recovered: {} job(s), {} partial job(s) removed, {} corrupt",
              report.jobs, report.orphans_removed, report.corrupt);
    if (!open_credential_cache(master, error)) return false;

    // The TLS context serves listen.ipps and RFC 2817 upgrades on listen.ipp. With
    // IPPS configured a bad certificate or key is a start failure, not a listener
    // that silently stays off.
    if (!c.listen.ipps.empty() || !c.listen.release.empty()) {
        net::TlsIdentity identity;
        tls_ = net::create_server_tls_context(c, log_, identity, error);
        if (!tls_) return false;
    } else if (!c.listen.ipp.empty()) {
        // Upgrades are optional: plain IPP still starts without them.
        net::TlsIdentity identity;
        std::string why;
        tls_ = net::create_server_tls_context(c, log_, identity, why);
        if (!tls_)
            log_.warn({.event = "tls_unavailable"}, "TLS upgrades on listen.ipp are off: {}", log::escape(why, 1024));
    }
    if (!c.auth.users_file.empty()) {
        authenticator_ = load_users(c, error);
        if (!authenticator_) return false;
    }
    terminal_keys_ = service::TerminalKeys::load(c, error);
    if (!terminal_keys_) return false;
    if (!c.terminals.empty())
        log_.info({.event = "terminal_keys_loaded"}, "API keys of {} terminal(s) loaded", terminal_keys_->size());
    std::unique_ptr<upstream::Upstream> adapter;
    if (c.upstream.enabled()) {
        auto creds = upstream::load_credentials(c.upstream.credentials_file);
        if (!creds) {
            error = "upstream.credentials_file: " + creds.error().message;
            return false;
        }
        auto myq = std::make_unique<upstream::MyqUpstream>(io_.get_executor(), c.upstream, std::move(*creds));
        if (const auto& why = myq->setup_error()) {
            error = "upstream: " + why->message;
            return false;
        }
        adapter = std::move(myq);
    }
    monitor_ = std::make_unique<upstream::Monitor>(io_, c.upstream, std::move(adapter));
    monitor_->on_change([this](const upstream::StateChange& change) { upstream_changed(change); });
    failover_ = std::make_unique<service::Failover>(*this);
    {
        const conf::OfflineLoginConfig& ol = c.offline_login;
        auth::LockoutOptions lo;
        lo.max_failures = ol.max_failures;
        lo.window = std::chrono::duration_cast<std::chrono::seconds>(ol.failure_window);
        lockout_ = std::make_unique<auth::Lockout>(lo);
        login_ = std::make_unique<service::LoginService>(pool_, *monitor_, *cache_, *lockout_, log_,
                                                         ol.hash_concurrency);
        login_->set_online_timeout(ol.online_timeout);
        login_->restore_lockout();
        user_sync_ = std::make_unique<service::UserSync>(io_, pool_, *monitor_, *cache_, log_, ol);
    }
    release_ = std::make_unique<service::ReleaseService>(*this);
    ipp_ = std::make_unique<service::IppService>(*this);
    forwarder_ = std::make_unique<output::Forwarder>(*this);
    for (const auto& ep : c.listen.raw)
        if (!bind_tcp("raw", ep, error)) return false;
    for (const auto& ep : c.listen.ipp)
        if (!bind_tcp("ipp", ep, error)) return false;
    for (const auto& ep : c.listen.ipps)
        if (!bind_tcp("ipps", ep, error)) return false;
    for (const auto& ep : c.listen.lpd)
        if (!bind_tcp("lpd", ep, error)) return false;
    for (const auto& ep : c.listen.admin)
        if (!bind_tcp("admin", ep, error)) return false;
    for (const auto& ep : c.listen.release)
        if (!bind_tcp("release", ep, error)) return false;
    if (!bind_control(error)) return false;
    return true;
}

bool Gateway::open_credential_cache(const crypto::Key& master, std::string& error) {
    const conf::OfflineLoginConfig& ol = config_->offline_login;
    auth::CacheOptions co;
    co.argon2 = {ol.argon2_memory_kib, ol.argon2_iterations, ol.argon2_lanes};
    co.validity = ol.validity;
    co.max_offline_age = std::chrono::duration_cast<std::chrono::seconds>(ol.max_offline_age);
    co.sync_limit = ol.sync_limit;
    co.max_concurrent_hashes = ol.hash_concurrency;
    const std::filesystem::path path = std::filesystem::path(config_->state_dir) / "credentials.db";
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    auto cache = auth::CredentialCache::open(path.string(), master, co, now);
    if (!cache) {
        error = "cannot open the credential cache " + path.string() + ": " + cache.error().message();
        return false;
    }
    cache_ = std::move(*cache);
    for (const char* suffix : {"", "-wal", "-shm"}) ::chmod((path.string() + suffix).c_str(), 0600);
    log_.info({.event = "credential_cache_opened"}, "credential cache opened at {}", log::escape(path.string()));
    return true;
}

bool Gateway::bind_tcp(const std::string& proto, const conf::Endpoint& ep, std::string& error) {
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(ep.host, ec);
    if (ec) {
        error = "bad listen address " + ep.host;
        return false;
    }
    asio::ip::tcp::endpoint endpoint(addr, ep.port);
    auto acc = std::make_unique<asio::ip::tcp::acceptor>(io_);
    acc->open(endpoint.protocol(), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec && addr.is_v6()) acc->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acc->bind(endpoint, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        error = fmt::format("cannot listen on {} for {}: {}", net::endpoint_string(endpoint), proto, ec.message());
        return false;
    }
    auto local = acc->local_endpoint(ec);
    // An empty queue means "default_queue at the time of each job" (it may change on reload).
    std::string queue = ep.queue;
    bound_.push_back({proto, local, queue});
    log_.info({.event = "listening", .queue = queue, .peer = net::endpoint_string(local), .proto = proto},
              "listening on {}", net::endpoint_string(local));
    auto* raw = acc.get();
    acceptors_.push_back(std::move(acc));
    if (proto == "raw") {
        asio::co_spawn(io_, net::raw_accept_loop(*this, *raw, queue), asio::detached);
    } else if (proto == "lpd") {
        asio::co_spawn(io_, net::lpd_accept_loop(*this, *raw), asio::detached);
    } else if (proto == "admin") {
        net::HttpLimits limits;
        limits.idle_timeout = std::chrono::seconds(10);
        limits.request_timeout = std::chrono::seconds(10);
        net::HttpHandler handler = [this](const net::HttpRequestHead& h, net::BodySource& b) {
            return service::health_handler(*this, h, b);
        };
        asio::co_spawn(io_, net::http_accept_loop(*this, *raw, proto, std::move(handler), limits), asio::detached);
    } else if (proto == "release") {
        // The release page and terminal API: HTTPS only (session cookies are Secure).
        net::HttpLimits limits;
        limits.idle_timeout = std::chrono::seconds(30);
        limits.request_timeout = std::chrono::seconds(15);
        limits.drain_limit = 64 * 1024;
        net::HttpHandler handler = [this](const net::HttpRequestHead& h, net::BodySource& b) {
            return service::release_handler(*this, h, b);
        };
        asio::co_spawn(io_, net::https_accept_loop(*this, *raw, *tls_, proto, std::move(handler), limits),
                       asio::detached);
    } else {
        net::HttpLimits limits;
        // A peer silent this long between requests, or inside one (a stalled body),
        // loses its connection; a stalled job is discarded.
        limits.idle_timeout = std::min<std::chrono::milliseconds>(config_->limits.idle_timeout, std::chrono::seconds(60));
        limits.request_timeout = limits.idle_timeout;
        auto* svc = ipp_.get();
        net::HttpHandler handler = [svc](const net::HttpRequestHead& h, net::BodySource& b) { return svc->handle(h, b); };
        if (proto == "ipps")
            asio::co_spawn(io_, net::https_accept_loop(*this, *raw, *tls_, proto, std::move(handler), limits),
                           asio::detached);
        else
            asio::co_spawn(io_, net::http_accept_loop(*this, *raw, proto, std::move(handler), limits, tls_.get()),
                           asio::detached);
    }
    return true;
}

bool Gateway::bind_control(std::string& error) {
    const conf::Config& c = *config_;
    control_path_ = c.control_socket.empty() ? (std::filesystem::path(c.state_dir) / "control.sock").string()
                                             : c.control_socket;
    // We hold the state lock, so a socket file left here is stale.
    ::unlink(control_path_.c_str());
    boost::system::error_code ec;
    control_ = std::make_unique<asio::local::stream_protocol::acceptor>(io_);
    asio::local::stream_protocol::endpoint ep(control_path_);
    mode_t old = ::umask(0177);  // the socket is created 0600
    control_->open(ep.protocol(), ec);
    if (!ec) control_->bind(ep, ec);
    ::umask(old);
    if (!ec) control_->listen(16, ec);
    if (ec) {
        error = "cannot create control socket " + control_path_ + ": " + ec.message();
        control_path_.clear();
        return false;
    }
    ::chmod(control_path_.c_str(), 0600);
    asio::co_spawn(io_, ctl::control_accept_loop(*this, *control_), asio::detached);
    return true;
}

std::uint64_t Gateway::register_connection(std::function<void()> abort) {
    if (stopping_ || connections_.size() >= config_->limits.max_connections) return 0;
    std::uint64_t id = next_connection_++;
    connections_.emplace(id, std::move(abort));
    return id;
}

void Gateway::unregister_connection(std::uint64_t id) {
    connections_.erase(id);
    if (stopping_ && connections_.empty()) asio::post(io_, [this] { finish_shutdown(); });
}

std::string Gateway::status_line() const {
    auto u = spool_ ? spool_->usage() : spool::Spool::Usage{};
    std::string upstream;
    if (monitor_ && monitor_->enabled()) upstream = fmt::format(", upstream {}", upstream::to_string(monitor_->state()));
    return fmt::format("{} job(s) in spool, {} connection(s){}{}", u.jobs, connections_.size(), upstream,
                       stopping_ ? ", stopping" : "");
}

void Gateway::upstream_changed(const upstream::StateChange& change) {
    using upstream::State;
    const std::string reason = log::escape(change.reason, 512);
    if (change.to == State::offline) {
        log_.warn({.event = "upstream_offline", .reason = reason}, "upstream offline ({} before): {}",
                  upstream::to_string(change.from), reason);
    } else if (change.from == State::offline) {
        log_.info({.event = "upstream_online", .reason = reason, .outage_ms = change.outage.count()},
                  "upstream {} after an outage of {} ms: {}", upstream::to_string(change.to), change.outage.count(),
                  reason);
    } else {
        log_.info({.event = change.to == State::degraded ? "upstream_degraded" : "upstream_online", .reason = reason},
                  "upstream {}: {}", upstream::to_string(change.to), reason);
    }
    notify_status();
    last_status_ = status_line();
    failover_->on_change(change);
    if (change.from == State::offline) user_sync_->server_back();
}

void Gateway::notify_status() {
    std::string s = "STATUS=" + status_line();
    notify(s);
}

void Gateway::arm_watchdog() {
    if (watchdog_interval_.count() == 0) return;
    watchdog_.expires_after(watchdog_interval_);
    watchdog_.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        // The ping comes from the I/O thread itself: a wedged loop stops it.
        notify("WATCHDOG=1");
        arm_watchdog();
    });
}

void Gateway::arm_status() {
    status_timer_.expires_after(std::chrono::seconds(5));
    status_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || stopping_) return;
        std::string line = status_line();
        if (line != last_status_) {
            last_status_ = line;
            notify_status();
        }
        arm_status();
    });
}

void Gateway::run() {
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    std::signal(SIGPIPE, SIG_IGN);
    std::function<void(boost::system::error_code, int)> on_signal = [this, &on_signal](boost::system::error_code ec,
                                                                                        int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
            reload();
        } else {
            begin_shutdown(sig == SIGTERM ? "SIGTERM" : "SIGINT");
        }
        signals_.async_wait(on_signal);
    };
    signals_.async_wait(on_signal);

    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_interval_ = std::chrono::microseconds(usec / 2);
        arm_watchdog();
    }
    if (std::getenv("PG_TEST_HELD_JOB_TTL_MS") != nullptr)
        log_.warn({.event = "test_override"}, "PG_TEST_HELD_JOB_TTL_MS is set: held jobs expire after {} (tests only)",
                  describe_duration(held_job_ttl()));
    log_.info({.event = "ready"}, "printgated ready; {}", status_line());
    std::string ready = "READY=1\nSTATUS=" + status_line();
    notify(ready);
    last_status_ = status_line();
    arm_status();
    forwarder_->start();
    monitor_->start();
    user_sync_->start();
    arm_history();
    io_.run();
    spool_->stop();
    log_.info({.event = "stopped"}, "printgated stopped");
    log_.flush();
}

void Gateway::begin_shutdown(const char* why) {
    if (stopping_) {
        // A second signal: abort at once.
        second_signal_ = true;
        aborting_ = false;
        finish_shutdown();
        return;
    }
    stopping_ = true;
    log_.info({.event = "stopping"}, "{}: stopping; {} connection(s) in flight", why, connections_.size());
    notify("STOPPING=1\nSTATUS=stopping");
    boost::system::error_code ec;
    for (auto& a : acceptors_) a->close(ec);
    spool_->stop();  // new jobs are refused from now on; queued commits still complete
    forwarder_->stop();  // sends in flight are cut; unacknowledged jobs are sent again at the next start
    monitor_->stop();
    user_sync_->stop();
    history_timer_.cancel();
    if (connections_.empty()) {
        asio::post(io_, [this] { finish_shutdown(); });
        return;
    }
    shutdown_timer_.expires_after(config_->limits.shutdown_timeout);
    shutdown_timer_.async_wait([this](boost::system::error_code e) {
        if (e) return;
        if (!connections_.empty())
            log_.warn({.event = "shutdown_abort"}, "shutdown deadline reached; aborting {} connection(s)",
                      connections_.size());
        finish_shutdown();
    });
}

void Gateway::finish_shutdown() {
    if (aborting_) return;
    aborting_ = true;
    shutdown_timer_.cancel();
    auto conns = std::move(connections_);
    connections_.clear();
    for (auto& [id, abort] : conns) abort();
    boost::system::error_code ec;
    if (control_) control_->close(ec);
    // Stop waiting for signals (so run() can return) and restore their default
    // action: a further SIGTERM ends the process at once.
    signals_.cancel(ec);
    signals_.clear(ec);
    watchdog_.cancel();
    status_timer_.cancel();
    // Sessions still unwinding (a commit in flight) hold work on io_; run()
    // returns once they are done. A second signal stops at once.
    if (second_signal_) io_.stop();
}

void Gateway::reload() {
    log_.info({.event = "reload"}, "SIGHUP: reloading {}", log::escape(options_.config_path));
    std::ifstream in(options_.config_path, std::ios::binary);
    if (!in) {
        log_.error({.event = "reload_failed"}, "cannot read {}; keeping the running configuration",
                   log::escape(options_.config_path));
        return;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    auto parsed = conf::parse(ss.str(), options_.config_path, options_.base_dir, options_.overrides);
    if (!parsed.ok()) {
        for (const auto& d : parsed.errors)
            log_.error({.event = "reload_failed"}, "{}", log::escape(d.to_string(), 1024));
        log_.error({.event = "reload_failed"}, "configuration has {} error(s); keeping the running configuration",
                   parsed.errors.size());
        return;
    }
    conf::Config next = std::move(parsed.config);
    const conf::Config& cur = *config_;
    bool reload_routes = false;
    if (next.state_dir != cur.state_dir || next.control_socket != cur.control_socket ||
        next.master_key_file != cur.master_key_file || next.tls != cur.tls)
        log_.warn({.event = "reload_partial"},
                  "state_dir, control_socket, master_key_file and tls change only on restart");
    if (next.listen.raw != cur.listen.raw || next.listen.ipp != cur.listen.ipp ||
        next.listen.ipps != cur.listen.ipps || next.listen.lpd != cur.listen.lpd || next.listen.admin != cur.listen.admin ||
        next.listen.release != cur.listen.release)
        log_.warn({.event = "reload_partial"}, "listen addresses change only on restart");
    // Keep what cannot change at run time from the running configuration.
    next.state_dir = cur.state_dir;
    next.control_socket = cur.control_socket;
    next.master_key_file = cur.master_key_file;
    next.tls = cur.tls;
    next.listen = cur.listen;
    std::string why_keys;
    // Terminal API keys are read again (a key file may have changed), before anything
    // is replaced: a bad one keeps the running configuration whole.
    auto keys = service::TerminalKeys::load(next, why_keys);
    if (!keys) {
        log_.error({.event = "reload_failed"}, "{}; keeping the running configuration", log::escape(why_keys, 1024));
        return;
    }
    if (next.auth.users_file.empty()) {
        authenticator_.reset();
    } else {
        std::string why;
        if (auto users = load_users(next, why)) {
            authenticator_ = std::move(users);
        } else {
            log_.error({.event = "reload_failed"}, "{}; keeping the running configuration", log::escape(why, 1024));
            return;
        }
    }
    terminal_keys_ = std::move(keys);
    log_.set_level(next.log.level);
    if (next.printers != cur.printers || next.queues != cur.queues) reload_routes = true;
    if (next.upstream.url != cur.upstream.url || next.upstream.credentials_file != cur.upstream.credentials_file ||
        next.upstream.ca_file != cur.upstream.ca_file || next.upstream.pinned_cert != cur.upstream.pinned_cert ||
        next.upstream.gateway_id != cur.upstream.gateway_id)
        log_.warn({.event = "reload_partial"},
                  "upstream url, credentials_file, ca_file, pinned_cert and gateway_id change only on restart");
    {
        const conf::UpstreamConfig keep = cur.upstream;
        next.upstream.url = keep.url;
        next.upstream.credentials_file = keep.credentials_file;
        next.upstream.ca_file = keep.ca_file;
        next.upstream.pinned_cert = keep.pinned_cert;
        next.upstream.gateway_id = keep.gateway_id;
        next.upstream.probe_timeout = keep.probe_timeout;
        next.upstream.request_timeout = keep.request_timeout;
    }
    if (next.offline_login != cur.offline_login)
        log_.warn({.event = "reload_partial"}, "offline_login changes only on restart");
    next.offline_login = cur.offline_login;
    monitor_->reconfigure(next.upstream);
    spool_->set_limits(spool_limits(next));
    config_ = std::make_shared<const conf::Config>(std::move(next));
    log_.info({.event = "reloaded"}, "configuration reloaded: {} queue(s), log level {}", config_->queues.size(),
              conf::to_string(config_->log.level));
    notify_status();
    if (reload_routes) forwarder_->wake_all();
}

std::shared_ptr<auth::Authenticator> Gateway::load_users(const conf::Config& c, std::string& error) const {
    const std::string& path = c.auth.users_file;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = "cannot read auth.users_file " + path + ": " + std::strerror(errno);
        return nullptr;
    }
    // One byte past the parser's limit, so an oversized file is reported as such.
    std::string text(auth::UsersFileLimits{}.max_file_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    auto table = auth::parse_users_file(text);
    if (!table) {
        error = auth::describe(table.error(), path);
        return nullptr;
    }
    log_.info({.event = "users_loaded"}, "{} user(s) loaded from {}", table->size(), log::escape(path));
    return std::make_shared<auth::UsersFileAuthenticator>(std::move(*table));
}

// spool.held_job_ttl, unless PG_TEST_HELD_JOB_TTL_MS (tests only, like
// PG_FAULT_INJECT) gives milliseconds: the configuration refuses less than 1m, which
// would make the integration test wait minutes.
std::chrono::milliseconds Gateway::held_job_ttl() const {
    if (const char* t = std::getenv("PG_TEST_HELD_JOB_TTL_MS"); t != nullptr && *t != '\0') {
        char* end = nullptr;
        const long long v = std::strtoll(t, &end, 10);
        if (end != nullptr && *end == '\0' && v > 0) return std::chrono::milliseconds(v);
    }
    return config_->spool.held_job_ttl;
}

// Finished jobs stay listed for spool.job_history, then are shredded; held jobs
// nobody released within spool.held_job_ttl expire. Checked every 30 s (more often
// with a short history or ttl), on the blocking pool.
void Gateway::arm_history() {
    using namespace std::chrono;
    const auto ttl = held_job_ttl();
    milliseconds period = config_->spool.job_history / 2;
    if (ttl.count() > 0) period = std::min<milliseconds>(period, ttl / 2);
    period = std::clamp<milliseconds>(period, milliseconds(500), milliseconds(30000));
    history_timer_.expires_after(period);
    history_timer_.async_wait([this, ttl](boost::system::error_code ec) {
        if (ec || stopping_) return;
        if (history_running_) return arm_history();
        history_running_ = true;
        const auto history = config_->spool.job_history;
        asio::post(pool_, [this, history, ttl] {
            const auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
            if (ttl.count() > 0) expire_held(now, ttl);
            for (auto id : spool_->finished_before(now - history.count())) {
                auto rec = spool_->find(id);
                if (!rec) continue;
                if (spool_->remove(id))
                    log_.info({.event = "job_expired", .job_id = id, .queue = rec->meta.queue,
                               .proto = rec->meta.protocol, .reason = "job_history"},
                              "job {} ({}) shredded after the job history time", id, spool::ipp_name(rec->state));
            }
            // The credential cache's checkpoint runs here, off any login's path (see
            // CredentialCache::checkpoint); a failure is retried at the next round.
            if (cache_) (void)cache_->checkpoint();
            asio::post(io_, [this] {
                history_running_ = false;
                arm_history();
            });
        });
    });
}

// Held jobs held since before now - ttl: canceled (durable, so a crash between the
// two steps leaves a finished job the history expiry shreds later), then shredded.
// The transition is fenced like a release (from held only): a job released or
// deleted since held_before listed it is left alone. Blocking: the pool only.
void Gateway::expire_held(std::int64_t now_ms, std::chrono::milliseconds ttl) {
    const std::string limit = describe_duration(ttl);
    for (const std::uint64_t id : spool_->held_before(now_ms - ttl.count())) {
        spool::Transition t;
        t.from = {spool::JobState::held};
        t.to = spool::JobState::canceled;
        // RFC 8011 §5.3.8: no user canceled it; the operator's policy did (cupsd's
        // MaxHoldTime cancels stuck held jobs the same way).
        t.reason = "job-canceled-by-operator";
        t.message = "expired: held longer than " + limit;
        auto done = spool_->transition(id, t);
        if (!done) continue;
        // TODO(#7): the accounting record of the expiry (outcome "expired",
        // upstream::AccountingRecord) goes here, before the shred, once the ledger exists.
        const bool shredded = static_cast<bool>(spool_->remove(id));
        const log::Fields fields{.event = "job_expired", .job_id = id, .queue = done->meta.queue,
                                 .proto = done->meta.protocol, .reason = "held_job_ttl"};
        if (shredded)
            log_.info(fields, "held job {} expired: held longer than {}; canceled and shredded", id, limit);
        else
            log_.error(fields, "held job {} expired: held longer than {}; canceled, but shredding failed "
                               "(the job history expiry tries again)", id, limit);
    }
}

}  // namespace pg::app
