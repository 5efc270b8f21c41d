// SPDX-License-Identifier: Apache-2.0
// Gateway: the one root object (PAPPL's "system"). It owns the I/O context, the
// blocking pool, the spool, the listeners and the control socket, and hands
// references down. Built once by app/main.cpp; no globals.
//
// Threads: one I/O thread runs io_ (every socket, timer and session lives there,
// so session bookkeeping needs no locks); pool_ runs blocking work (crypto, file
// I/O, SQLite reads); the spool's committer thread runs group commits.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "conf/config.hpp"
#include "gateway/log/log.hpp"
#include "gateway/spool/spool.hpp"

namespace boost::asio::ssl { class context; }
namespace pg::service { class IppService; }
namespace pg::output { class Forwarder; }
namespace pg::auth { class Authenticator; class CredentialCache; class Lockout; }
namespace pg::upstream { class Monitor; struct StateChange; }
namespace pg::service { class Failover; class LoginService; class ReleaseService; class TerminalKeys; class UserSync; }

namespace pg::app {

namespace asio = boost::asio;

struct BoundListener {
    std::string proto;  // raw | ipp | ipps | lpd | admin | release
    asio::ip::tcp::endpoint endpoint;
    std::string queue;
};

class Gateway {
public:
    struct Options {
        std::string config_path;                 // for SIGHUP reloads
        std::string base_dir;                    // config file's directory
        std::vector<conf::Override> overrides;   // --set, re-applied on reload
    };

    Gateway(conf::Config config, Options options, log::Logger& log);
    ~Gateway();

    // Creates the state directory, takes its lock, loads the master key, opens
    // the spool (recovery), binds listeners and the control socket. On failure
    // returns false with `error` set; nothing is left running.
    bool start(std::string& error);
    // Runs until shutdown completes. Sends READY=1 first.
    void run();

    // Accessors for sessions and the control server (I/O thread).
    asio::io_context& io() { return io_; }
    asio::thread_pool& pool() { return pool_; }
    spool::Spool& spool() { return *spool_; }
    // The IPP service behind every IPP listener (after a successful start()).
    service::IppService& ipp() { return *ipp_; }
    output::Forwarder& forwarder() { return *forwarder_; }
    // The upstream reachability monitor (always there; idle without upstream.url).
    upstream::Monitor& monitor() { return *monitor_; }
    service::Failover& failover() { return *failover_; }
    // Offline login (issue #7): the credential cache at STATE_DIR/credentials.db, the
    // lockout tables, the one login service every release point calls, and user sync.
    auth::CredentialCache& credential_cache() { return *cache_; }
    auth::Lockout& lockout() { return *lockout_; }
    service::LoginService& login() { return *login_; }
    service::UserSync& user_sync() { return *user_sync_; }
    // The one authenticate -> list -> release path of every release point.
    service::ReleaseService& release() { return *release_; }
    // HTTP Basic users (auth.users_file); null when none is configured. Replaced on
    // SIGHUP: hold the shared_ptr across a verification.
    std::shared_ptr<auth::Authenticator> authenticator() const { return authenticator_; }
    // The terminal API's keys (terminals.NAME.key_file; never null after start()).
    // Replaced on SIGHUP together with the configuration.
    std::shared_ptr<const service::TerminalKeys> terminal_keys() const { return terminal_keys_; }
    log::Logger& log() { return log_; }
    const conf::Config& config() const { return *config_; }
    std::shared_ptr<const conf::Config> config_ptr() const { return config_; }
    const std::vector<BoundListener>& listeners() const { return bound_; }
    std::chrono::system_clock::time_point started_at() const { return started_at_; }
    bool stopping() const { return stopping_; }

    // Connection bookkeeping (I/O thread only). `abort` closes the connection.
    // register_connection returns 0 when the limit is reached: refuse it.
    std::uint64_t register_connection(std::function<void()> abort);
    void unregister_connection(std::uint64_t id);
    std::size_t connection_count() const { return connections_.size(); }

    std::string status_line() const;

private:
    void begin_shutdown(const char* why);
    void finish_shutdown();
    void reload();
    void arm_watchdog();
    void arm_status();  // refreshes STATUS= every few seconds when it changed
    void arm_history();  // shreds finished jobs older than spool.job_history, expires held ones,
                         // checkpoints the credential cache
    // Cancels and shreds jobs held longer than `ttl` (EVENT=job_expired). Pool only.
    void expire_held(std::int64_t now_ms, std::chrono::milliseconds ttl);
    std::chrono::milliseconds held_job_ttl() const;
    void notify_status();
    void upstream_changed(const upstream::StateChange& change);
    bool bind_tcp(const std::string& proto, const conf::Endpoint& ep, std::string& error);
    bool bind_control(std::string& error);
    // Opens STATE_DIR/credentials.db with keys wrapped by the master key.
    bool open_credential_cache(const crypto::Key& master, std::string& error);
    // Reads and parses auth.users_file; null with `error` set on failure.
    std::shared_ptr<auth::Authenticator> load_users(const conf::Config& c, std::string& error) const;

    conf::Config initial_;
    std::shared_ptr<const conf::Config> config_;
    Options options_;
    log::Logger& log_;
    std::chrono::system_clock::time_point started_at_;

    // Declared before io_ so they outlive session frames destroyed with io_.
    std::unique_ptr<spool::Spool> spool_;
    std::unique_ptr<asio::ssl::context> tls_;  // IPPS and RFC 2817 upgrades; null without IPP listeners
    asio::io_context io_{1};
    asio::thread_pool pool_{2};
    asio::signal_set signals_{io_};
    asio::steady_timer watchdog_{io_};
    asio::steady_timer shutdown_timer_{io_};
    asio::steady_timer status_timer_{io_};
    asio::steady_timer history_timer_{io_};
    bool history_running_ = false;
    std::string last_status_;
    std::chrono::microseconds watchdog_interval_{0};

    std::unique_ptr<service::IppService> ipp_;
    std::unique_ptr<output::Forwarder> forwarder_;
    std::unique_ptr<upstream::Monitor> monitor_;
    std::unique_ptr<service::Failover> failover_;
    std::unique_ptr<auth::CredentialCache> cache_;
    std::unique_ptr<auth::Lockout> lockout_;
    std::unique_ptr<service::LoginService> login_;
    std::unique_ptr<service::UserSync> user_sync_;
    std::unique_ptr<service::ReleaseService> release_;
    std::shared_ptr<auth::Authenticator> authenticator_;
    std::shared_ptr<const service::TerminalKeys> terminal_keys_;
    int lock_fd_ = -1;
    std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
    std::vector<BoundListener> bound_;
    std::unique_ptr<asio::local::stream_protocol::acceptor> control_;
    std::string control_path_;

    std::map<std::uint64_t, std::function<void()>> connections_;
    std::uint64_t next_connection_ = 1;
    bool stopping_ = false;
    bool aborting_ = false;
    bool second_signal_ = false;
};

}  // namespace pg::app
