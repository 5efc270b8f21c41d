// SPDX-License-Identifier: Apache-2.0
// printgate configuration: the typed form of printgate.yaml.
//
// Owns: the Config structs, their defaults, and the parser that turns YAML text
// (plus --set overrides) into a Config and a list of diagnostics.
// Must not: read files, touch the network, log. The caller reads the file and
// prints the diagnostics (FILE:LINE:COL: message) itself.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/offline_login.hpp"

namespace pg::conf {

// A listening address. `host` is an IP literal (v4 or v6, without brackets);
// "localhost" is normalised to 127.0.0.1 and "*" to 0.0.0.0. Port 0 means "any
// free port" (the daemon reports the bound port in `printgatectl status`).
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;
    // Raw 9100 only: the queue this port feeds; empty = `default_queue`.
    std::string queue;

    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// hold: committed jobs wait (pending-held) until released to the queue's printer.
// direct: each committed job is routed to the queue's printer at once.
// server: while the upstream is reachable each committed job is forwarded to the
// queue's server_queue; while it is not, jobs are held for release at the branch.
enum class QueueMode { hold, direct, server };
std::string_view to_string(QueueMode mode);

// How a document the printer does not take is made printable: none (it is refused
// at release), or ghostscript (PDF and PostScript are converted to the first of the
// printer's `formats` Ghostscript can write; gateway/output/convert.hpp).
enum class Conversion { none, ghostscript };
std::string_view to_string(Conversion c);

// The MIME types Ghostscript converts from (application/pdf, application/postscript)
// and to (ghostscript_output_formats: PostScript, PDF, PCL 5, PCL XL, PWG raster).
bool ghostscript_reads(std::string_view mime);
// MIME types compare without regard to case (RFC 2045 §5.1).
bool mime_equal(std::string_view a, std::string_view b);
bool ghostscript_writes(std::string_view mime);
extern const std::array<std::string_view, 5> ghostscript_output_formats;

// What a destination printer accepts; the queue's IPP printer object advertises it.
struct PrinterProfile {
    // MIME types the printer takes; empty = whatever the printer says it supports.
    std::vector<std::string> formats;
    bool color = true;
    bool duplex = true;
    // PWG 5101.1 self-describing media names (iso_a4_210x297mm, na_letter_8.5x11in);
    // the first is the default. Empty = A4, Letter, Legal, A5, A3.
    std::vector<std::string> media;
    // Resolutions in dpi (square); the highest is the default. Empty = 300 and 600.
    std::vector<int> resolutions;
    // printers.NAME.convert; ghostscript needs `formats` to name a format it writes.
    Conversion convert = Conversion::none;

    friend bool operator==(const PrinterProfile&, const PrinterProfile&) = default;
};

// A destination: an entry of the top-level `printers` map, or one made from a
// queue whose `printer` is a URI (then `name` is the URI itself).
struct PrinterConfig {
    std::string name;
    std::string uri;          // ipp://HOST[:PORT]/PATH or ipps://...
    PrinterProfile profile;
    // ipps: verify the printer's certificate against the system store. Off by default:
    // printers mostly present self-signed certificates.
    bool tls_verify = false;
    // Release points (issue #7): the terminals (keys of Config::terminals) at or beside
    // this printer, which may release jobs to it; and whether the release web page
    // offers it.
    std::vector<std::string> terminals;
    bool release_page = true;

    friend bool operator==(const PrinterConfig&, const PrinterConfig&) = default;
};

// none: requesting-user-name is trusted (as CUPS without authentication).
// basic: job operations need HTTP Basic credentials from auth.users_file, and only
// over TLS (IPPS or an RFC 2817 upgrade); the authenticated name owns the job.
enum class QueueAuth { none, basic };
std::string_view to_string(QueueAuth auth);

// mode: server queues, jobs held while the upstream was offline: forward them when it
// is back, or keep them for release here (the user may be at a printer already).
enum class OnRecovery { keep_local, forward };
std::string_view to_string(OnRecovery r);

struct QueueConfig {
    std::string name;         // the key in the `queues` map
    std::string description;  // free text shown to admins
    QueueMode mode = QueueMode::hold;
    // The key of the destination in Config::printers; empty = none (hold queues only:
    // then jobs are released with an explicit printer).
    std::string printer;
    QueueAuth auth = QueueAuth::none;
    // Users who may pause and resume the queue and act on anyone's jobs; honoured
    // only for users authenticated on an auth: basic queue.
    std::vector<std::string> operators;
    // mode: server only. The central server's queue (ipp://, ipps:// or lpd://), and what
    // happens to jobs held during an outage once the server is back.
    std::string server_queue;
    OnRecovery on_recovery = OnRecovery::keep_local;

    friend bool operator==(const QueueConfig&, const QueueConfig&) = default;
};

enum class LogLevel { trace, debug, info, warning, error, critical, off };

struct ListenConfig {
    std::vector<Endpoint> ipp;
    std::vector<Endpoint> ipps;
    std::vector<Endpoint> lpd;
    std::vector<Endpoint> raw;
    // Plain HTTP /healthz and /metrics for monitoring; loopback unless you mean it.
    std::vector<Endpoint> admin;
    // HTTPS (TLS from the first byte): the release web page and the terminal API.
    std::vector<Endpoint> release;
};

struct SpoolConfig {
    std::uint64_t max_job_size = 2ull << 30;      // 2 GiB
    std::uint64_t max_total_size = 20ull << 30;   // 20 GiB
    std::uint64_t min_free_space = 256ull << 20;  // 256 MiB
    // How long finished jobs (completed, aborted, canceled) stay listed (Get-Jobs
    // which-jobs=completed, printgatectl jobs) before they are shredded.
    std::chrono::milliseconds job_history{std::chrono::hours(24)};
    // Held jobs nobody released within this long are crypto-shredded; 0 = never.
    std::chrono::milliseconds held_job_ttl{std::chrono::hours(24)};
};

struct LogConfig {
    LogLevel level = LogLevel::info;
};

struct LimitsConfig {
    // Client connections open at once, all listeners and the control socket together;
    // more are closed at accept (a reset, logged as connection_refused).
    std::uint32_t max_connections = 512;
    // A raw/LPD peer that sends nothing for this long ends its job (AppSocket) or is dropped.
    std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};
    // SIGTERM: how long in-flight jobs may take to finish before they are aborted.
    std::chrono::milliseconds shutdown_timeout{std::chrono::seconds(10)};
};

// The IPPS server certificate: PEM files, both set or neither. Neither = a self-signed
// pair the daemon creates under STATE_DIR/tls on first start. Relative paths resolve
// like state_dir (against the config file's directory).
struct TlsConfig {
    std::string certificate;  // PEM, the leaf first, then any intermediates
    std::string private_key;  // PEM, unencrypted

    friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

// Owner of a job whose protocol names none (raw 9100 without PJL, LPD without a P
// line): the user of the most specific network containing the peer's address.
struct PeerOwner {
    std::string network;   // as written: "192.0.2.0/24", "2001:db8::/32", "192.0.2.7"
    std::string address;   // the network address, normalised text
    unsigned prefix = 0;   // prefix length (32/128 for a single address)
    std::string user;

    friend bool operator==(const PeerOwner&, const PeerOwner&) = default;
};

// LPD policy. A remove-jobs (lprm) request may remove any job when it comes from
// one of `admin_peers` (networks, as peer_owners keys); otherwise only the agent's own.
struct LpdConfig {
    std::vector<PeerOwner> admin_peers;  // `user` unused

    friend bool operator==(const LpdConfig&, const LpdConfig&) = default;
};

struct AuthConfig {
    // name:PHC lines (docs/authentication.md); required when a queue has auth: basic.
    // Relative paths resolve like state_dir. Read by the daemon at start and on SIGHUP.
    std::string users_file;

    friend bool operator==(const AuthConfig&, const AuthConfig&) = default;
};

// The central MyQ server (docs/upstream-protocol.md) and the reachability monitor
// (docs/failover.md has the arithmetic behind the defaults).
struct UpstreamConfig {
    std::string url;               // https://HOST[:PORT][/PREFIX]; empty = no upstream
    std::string credentials_file;  // client_id:/client_secret: lines, mode 0600; required with url
    std::string ca_file;           // PEM bundle to verify the server; empty = the system store
    std::string pinned_cert;       // lower-case hex SHA-256 of the server leaf's DER; empty = no pin
    std::string gateway_id;        // this gateway's id at the server; required with url
    std::chrono::milliseconds probe_interval{1000};
    std::chrono::milliseconds probe_timeout{1000};    // deadline of one probe (connect + TLS + status)
    unsigned fail_threshold = 3;                      // consecutive failures -> offline
    unsigned recover_threshold = 3;                   // consecutive successes (and hold_down) -> online
    std::chrono::milliseconds hold_down{10000};       // a success streak must span this long to go back online
    std::chrono::milliseconds request_timeout{10000}; // verify, sync, accounting calls
    std::chrono::milliseconds degraded_latency{500};  // slower probes mark the upstream degraded
    // A job whose owner and document hash equal a job forwarded or held within this window
    // is held as a likely duplicate (failover re-submissions); 0 = off.
    std::chrono::milliseconds duplicate_window{std::chrono::minutes(10)};
    // Raw 9100 jobs of server queues go to the server queue while they arrive
    // (docs/job-states.md, "Cut-through"); false = stored first, then forwarded.
    bool cut_through = true;

    bool enabled() const { return !url.empty(); }
    friend bool operator==(const UpstreamConfig&, const UpstreamConfig&) = default;
};

// A card reader or embedded MFD terminal that uses the terminal API
// (docs/terminal-api.md). Its API key is in `key_file` (never inline), mode 0600.
struct TerminalConfig {
    std::string name;         // the key in the `terminals` map
    std::string key_file;     // resolved like state_dir
    std::string description;  // free text (location)

    friend bool operator==(const TerminalConfig&, const TerminalConfig&) = default;
};

// The release points (issue #7): the web page and terminal API sessions.
struct ReleaseConfig {
    // A release page or terminal session unused this long ends.
    std::chrono::milliseconds session_idle{std::chrono::minutes(2)};
    // A job released to a printer that fails every send this long (and never took a
    // byte of it) goes back to held, so its owner can release it elsewhere.
    std::chrono::milliseconds printer_wait{std::chrono::minutes(3)};
    // Users who see and may release or delete anyone's held jobs (names as the server
    // or the cache knows them), on every release point.
    std::vector<std::string> admins;

    friend bool operator==(const ReleaseConfig&, const ReleaseConfig&) = default;
};

struct Config {
    // Absolute, or relative to the directory of the config file (resolved by the parser
    // against `base_dir` given to parse()).
    std::string state_dir = "/var/lib/printgate";
    // Overrides; empty = under state_dir.
    std::string control_socket;   // default: STATE_DIR/control.sock
    std::string master_key_file;  // default: $CREDENTIALS_DIRECTORY/master.key, else STATE_DIR/master.key
    ListenConfig listen;
    std::map<std::string, QueueConfig> queues;  // never empty after a successful parse
    std::map<std::string, PrinterConfig> printers;  // named ones and those made from queue URIs
    std::string default_queue;                  // always set after a successful parse
    SpoolConfig spool;
    LogConfig log;
    LimitsConfig limits;
    TlsConfig tls;
    AuthConfig auth;
    std::vector<PeerOwner> peer_owners;  // most specific first
    LpdConfig lpd;
    UpstreamConfig upstream;
    OfflineLoginConfig offline_login;
    std::map<std::string, TerminalConfig> terminals;
    ReleaseConfig release;
};

struct Diagnostic {
    std::string file;  // config file name, or "--set" for an override
    int line = 0;      // 1-based; 0 when unknown
    int column = 0;    // 1-based; 0 when unknown
    std::string message;

    // "FILE:LINE:COL: message"
    std::string to_string() const;
};

struct Override {
    std::string key;    // dotted, e.g. "spool.max_job_size" or "queues.office.description"
    std::string value;  // YAML scalar or flow text, e.g. "100MiB" or "[127.0.0.1:0]"
};

struct ParseResult {
    Config config;                        // meaningful only when errors is empty
    std::vector<Diagnostic> errors;       // every error found, in file order
    bool ok() const { return errors.empty(); }
};

// Refusal limits of parse(): bigger or deeper documents get one diagnostic and no Config.
// The same limits apply to the value of each override.
inline constexpr std::size_t max_config_bytes = std::size_t{1} << 20;  // 1 MiB
inline constexpr int max_config_depth = 32;  // nested maps/lists, the top-level map is 1
// Exit status of printgated/printgatectl for a configuration error (sysexits.h EX_CONFIG).
inline constexpr int exit_config_error = 78;

// Parses `yaml_text` (the contents of `file_name`), applies `overrides` in order,
// validates everything and reports all errors at once. Relative paths resolve
// against `base_dir` (the config file's directory). Limits: documents over 1 MiB
// or nested deeper than 32 levels are refused with a diagnostic. Never throws.
ParseResult parse(std::string_view yaml_text, std::string_view file_name,
                  std::string_view base_dir, std::span<const Override> overrides = {});

// Splits "KEY=VALUE" from the command line; nullopt when there is no '=' or the key is empty.
std::optional<Override> parse_override(std::string_view arg);

// "100MiB", "10KB", "4096" -> bytes. nullopt on syntax error or overflow.
std::optional<std::uint64_t> parse_size(std::string_view text);
// "250ms", "30s", "5m", "24h", "7d" -> duration. nullopt on syntax error or overflow.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "HOST:PORT", "[v6]:PORT" -> Endpoint (queue empty). nullopt on error.
std::optional<Endpoint> parse_endpoint(std::string_view text);

std::string_view to_string(LogLevel level);

// The size of a PWG 5101.1 self-describing media name ("iso_a4_210x297mm",
// "na_letter_8.5x11in") in hundredths of millimetres; nullopt when the name does
// not end in _WIDTHxHEIGHT{mm,in} or a dimension is 0 or over 10 m.
std::optional<std::pair<int, int>> media_size(std::string_view name);
// "info", "warn"/"warning", ... (case-insensitive) -> level. nullopt when unknown.
std::optional<LogLevel> parse_log_level(std::string_view text);

}  // namespace pg::conf
