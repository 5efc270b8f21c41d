// SPDX-License-Identifier: Apache-2.0
// Unit tests for pg::conf (conf/config.hpp): malformed input first, then each key's
// rules, overrides, and the repository's conf/printgate.yaml.
#include "conf/config.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace pg::conf;
using namespace std::chrono_literals;
using Lines = std::vector<std::string>;

namespace {

ParseResult run(std::string_view yaml, std::vector<Override> overrides = {},
                std::string_view base_dir = "/etc/printgate") {
    return parse(yaml, "t.yaml", base_dir, overrides);
}

Lines errors(std::string_view yaml, std::vector<Override> overrides = {}) {
    Lines out;
    for (const auto& d : run(yaml, std::move(overrides)).errors) out.push_back(d.to_string());
    return out;
}

// The single error of a document.
std::string error(std::string_view yaml, std::vector<Override> overrides = {}) {
    const Lines all = errors(yaml, std::move(overrides));
    INFO("yaml: " << yaml);
    REQUIRE(all.size() == 1);
    return all.front();
}

Config ok(std::string_view yaml, std::vector<Override> overrides = {}) {
    const auto r = run(yaml, std::move(overrides));
    for (const auto& d : r.errors) UNSCOPED_INFO(d.to_string());
    REQUIRE(r.ok());
    return r.config;
}

std::string repeat(std::string_view s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i) out += s;
    return out;
}

// `levels` nested block maps "k:", the innermost holding `leaf`.
std::string nested_maps(int levels, std::string_view leaf) {
    std::string out;
    for (int i = 0; i < levels; ++i) out += std::string(2 * static_cast<std::size_t>(i), ' ') + "k:\n";
    out += std::string(2 * static_cast<std::size_t>(levels), ' ') + std::string(leaf) + "\n";
    return out;
}

std::string source_dir() {
#ifdef PG_SOURCE_DIR
    return PG_SOURCE_DIR;
#else
    std::string file = __FILE__;  // .../tests/unit/conf/config_test.cpp
    return file.substr(0, file.rfind("/tests/unit/conf/"));
#endif
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Malformed documents

TEST_CASE("YAML syntax errors are located", "[conf][malformed]") {
    CHECK(error("a: b: c\n") == "t.yaml:1:5: invalid YAML: illegal map value");
    CHECK(error("listen:\n  raw: [127.0.0.1:9100\n") == "t.yaml:3:1: invalid YAML: end of sequence flow not found");
    CHECK(error("log:\n\tlevel: info\n").rfind("t.yaml:2:", 0) == 0);
    CHECK(error("state_dir: \"abc") == "t.yaml:1:16: invalid YAML: illegal EOF in scalar");
    CHECK(error("a: [1, }\n") == "t.yaml:1:8: invalid YAML: illegal flow end");
    // yaml-cpp's own LoadAll never returns on these.
    CHECK(error(",") == "t.yaml:1:1: invalid YAML: unexpected ','");
    CHECK(error(",\nlog: {}\n") == "t.yaml:1:1: invalid YAML: unexpected ','");
    // An unquoted IPv6 address starts a flow list.
    CHECK(error("listen:\n  ipp: [::1]:631\n") == "t.yaml:2:13: invalid YAML: end of map not found");
}

TEST_CASE("several documents in one file are refused", "[conf][malformed]") {
    CHECK(error("log: {level: info}\n---\nlog: {level: debug}\n") ==
          "t.yaml:2: more than one YAML document; printgate reads exactly one");
    CHECK(error("---\n---\n") == "t.yaml:2: more than one YAML document; printgate reads exactly one");
    CHECK(error("log: {level: info}\n...\nlog: {level: debug}\n") ==
          "t.yaml:3: more than one YAML document; printgate reads exactly one");
}

TEST_CASE("an empty document means all defaults", "[conf][malformed]") {
    for (const char* text : {"", "\n\n", "# nothing here\n", "---\n", "---\n...\n"}) {
        INFO(text);
        const Config c = ok(text);
        CHECK(c.state_dir == "/var/lib/printgate");
        CHECK(c.queues.size() == 1);
        CHECK(c.queues.count("default") == 1);
        CHECK(c.default_queue == "default");
        CHECK(c.listen.raw.empty());
        CHECK(c.listen.ipp.empty());
        CHECK(c.spool.max_job_size == (2ull << 30));
        CHECK(c.spool.max_total_size == (20ull << 30));
        CHECK(c.spool.min_free_space == (256ull << 20));
        CHECK(c.log.level == LogLevel::info);
        CHECK(c.limits.max_connections == 512);
        CHECK(c.limits.idle_timeout == 5min);
        CHECK(c.limits.shutdown_timeout == 10s);
        CHECK(c.control_socket.empty());
        CHECK(c.master_key_file.empty());
    }
}

TEST_CASE("the top level must be a map", "[conf][malformed]") {
    CHECK(error("- a\n- b\n") == "t.yaml:1:1: expected a map of settings at the top level, got a list");
    CHECK(error("hello\n") == "t.yaml:1:1: expected a map of settings at the top level, got 'hello'");
}

TEST_CASE("documents over 1 MiB are refused", "[conf][malformed]") {
    std::string big = "# " + std::string(max_config_bytes, 'x') + "\n";
    CHECK(error(big) == "t.yaml: the text is " + std::to_string(big.size()) + " bytes, over the 1 MiB limit");
    // Just under the limit is read.
    std::string fits = "#" + std::string(max_config_bytes - 2, 'x') + "\n";
    CHECK(run(fits).ok());
}

TEST_CASE("nesting deeper than 32 levels is refused", "[conf][malformed]") {
    // The top-level map is level 1, so 31 lists inside it make 32 levels: allowed.
    CHECK(error("x: " + repeat("[", 31) + repeat("]", 31)) == "t.yaml:1:1: unknown key 'x'");
    CHECK(error("x: " + repeat("[", 32) + repeat("]", 32)) == "t.yaml:1:35: nesting deeper than 32 levels");
    CHECK(error(nested_maps(31, "v")) == "t.yaml:1:1: unknown key 'k'");
    CHECK(error(nested_maps(32, "k: v")) == "t.yaml:33:65: nesting deeper than 32 levels");
    // Far too deep for yaml-cpp's recursion: refused by the pre-scan, before parsing.
    CHECK(error("x: " + repeat("[", 100000)) == "t.yaml:1:67: nesting deeper than 32 levels");
    CHECK(error(repeat("- ", 5000) + "x\n") == "t.yaml:1:129: nesting deeper than 32 levels");
    CHECK(error(nested_maps(600, "v")) == "t.yaml:65:129: nesting deeper than 32 levels");
    // Block scalars are text, however indented.
    std::string block = "queues:\n  q:\n    description: |\n";
    for (int i = 0; i < 80; ++i) block += std::string(6 + static_cast<std::size_t>(i), ' ') + "line\n";
    CHECK(ok(block).queues.at("q").description.size() == 80 * 5 + 79 * 80 / 2);
}

TEST_CASE("aliases cannot recurse or explode", "[conf][malformed]") {
    CHECK(error("a: &x [*x]\n") == "t.yaml:1:8: an alias refers to a node that contains it");
    CHECK(error("a: &x {b: [c, *x]}\n") == "t.yaml:1:15: an alias refers to a node that contains it");
    CHECK(error("a: *nowhere\n").rfind("t.yaml:1:4: invalid YAML: ", 0) == 0);
    // Aliases count towards the depth where they are used.
    const std::string deep_anchor = "a: &x " + repeat("[", 20) + repeat("]", 20) + "\n";
    CHECK(errors(deep_anchor + "b: " + repeat("[", 11) + "*x" + repeat("]", 11) + "\n") ==
          Lines{"t.yaml:1:1: unknown key 'a'", "t.yaml:2:1: unknown key 'b'"});
    CHECK(errors(deep_anchor + "b: " + repeat("[", 12) + "*x" + repeat("]", 12) + "\n") ==
          Lines{"t.yaml:2:16: nesting deeper than 32 levels"});
    std::string laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    for (char c = 'b'; c <= 'h'; ++c) {
        const char prev = static_cast<char>(c - 1);
        laughs += std::string(1, c) + ": &" + c + " [";
        for (int i = 0; i < 9; ++i) laughs += std::string(i ? ", *" : "*") + prev;
        laughs += "]\n";
    }
    const std::string e = error(laughs);
    CHECK(e.find("too many values once aliases are expanded") != std::string::npos);
    // Ordinary aliases are fine.
    const Config c = ok("queues:\n  a: &q {description: same}\n  b: *q\ndefault_queue: a\n");
    CHECK(c.queues.at("b").description == "same");
}

TEST_CASE("keys must be unique plain text", "[conf][malformed]") {
    CHECK(error("log: {level: info}\nlog: {level: debug}\n") == "t.yaml:2:1: duplicate key 'log' (first at line 1)");
    CHECK(error("? [a]\n: b\n") == "t.yaml:1:3: a key must be plain text, got a list");
}

TEST_CASE("wrong types name what was expected", "[conf][malformed]") {
    CHECK(error("spool:\n  max_job_size: {a: 1}\n") == "t.yaml:2:17: expected a size like 100MiB, got a map");
    CHECK(error("spool:\n  max_job_size: [1]\n") == "t.yaml:2:17: expected a size like 100MiB, got a list");
    CHECK(error("limits:\n  idle_timeout: {}\n") ==
          "t.yaml:2:17: expected a duration like 30s, 5m or 24h, got a map");
    CHECK(error("state_dir: [a]\n") == "t.yaml:1:12: expected a path, got a list");
    CHECK(error("spool: 5\n") == "t.yaml:1:8: expected a map of settings, got '5'");
    CHECK(error("listen: [127.0.0.1:9100]\n") == "t.yaml:1:9: expected a map of settings, got a list");
    CHECK(error("queues: [a]\n") == "t.yaml:1:9: expected a map from queue name to queue settings, got a list");
    CHECK(error("queues:\n  q: {description: [x]}\n") == "t.yaml:2:20: expected a text, got a list");
    CHECK(error("log:\n  level: {x: 1}\n") == "t.yaml:2:10: expected a log level, got a map");
}

TEST_CASE("null where a value is expected is an error", "[conf][malformed]") {
    CHECK(error("log:\n  level:\n") == "t.yaml:2:3: expected a log level, got nothing (null)");
    CHECK(error("log:\n  level: ~\n") == "t.yaml:2:10: expected a log level, got nothing (null)");
    CHECK(error("state_dir:\nlog: {}\n") == "t.yaml:1:1: expected a path, got nothing (null)");
    CHECK(error("listen:\n  raw: null\n") ==
          "t.yaml:2:8: expected an address like 127.0.0.1:9100 or {address: ..., queue: ...} or a list of them, "
          "got nothing (null)");
    CHECK(error("default_queue: ~\n") == "t.yaml:1:16: expected a queue name, got nothing (null)");
    // A section whose keys are all commented out is simply empty.
    CHECK(run("spool:\n  # max_job_size: 1GiB\nlog:\nlimits: ~\nlisten:\n").ok());
    // Quoted "null" is text.
    CHECK(error("log:\n  level: \"null\"\n").find("unknown log level 'null'") != std::string::npos);
}

TEST_CASE("all errors are reported together, in file order", "[conf][malformed]") {
    const std::string yaml =
        "limits:\n"
        "  idle_timeout: 30\n"
        "listen:\n"
        "  raw: 300.1.1.1:9100\n"
        "  ipp: localhost\n"
        "spool:\n"
        "  max_job_size: abc\n"
        "log:\n"
        "  level: loud\n"
        "colour: red\n";
    const Lines expected{
        "t.yaml:2:17: duration needs a unit (ms, s, m, h, d), got '30'",
        "t.yaml:4:8: bad address '300.1.1.1:9100': '300.1.1.1' is not an IPv4 address (host names other than "
        "localhost are not resolved; IPv6 goes in brackets)",
        "t.yaml:5:8: bad address 'localhost': the port is missing (expected HOST:PORT)",
        "t.yaml:7:17: expected a size like 100MiB, got 'abc'",
        "t.yaml:9:10: unknown log level 'loud' (expected: trace, debug, info, warning, error, critical, off)",
        "t.yaml:10:1: unknown key 'colour'",
    };
    CHECK(errors(yaml) == expected);
}

TEST_CASE("parse never throws on odd input", "[conf][malformed]") {
    const char* inputs[] = {
        "\t",        "&a",           "*b\n",          "!!binary x",   "? \n: \n",     "a: !!map {}",
        "{{{{",      "]]]]",         "'",             "\"\\",         "%YAML 1.2\n",  "key: *unknown",
        "- - - -",   "a: |\n  x\n b", "!<tag> {}: 1", "a: {b: [c, {d: e}]}\n...\n...",
    };
    for (const char* text : inputs) {
        INFO(text);
        CHECK_NOTHROW(run(text));
    }
    const std::string with_nul("log:\n  level: in\0fo\n", 20);
    CHECK_NOTHROW(run(with_nul));
}

// ---------------------------------------------------------------------------------------
// Diagnostics

TEST_CASE("Diagnostic::to_string drops unknown parts", "[conf][diagnostic]") {
    CHECK(Diagnostic{"a.yaml", 3, 7, "msg"}.to_string() == "a.yaml:3:7: msg");
    CHECK(Diagnostic{"a.yaml", 3, 0, "msg"}.to_string() == "a.yaml:3: msg");
    CHECK(Diagnostic{"a.yaml", 0, 0, "msg"}.to_string() == "a.yaml: msg");
    CHECK(Diagnostic{"--set", 2, 0, "log.level: msg"}.to_string() == "--set:2: log.level: msg");
}

TEST_CASE("scalars in messages are escaped and shortened", "[conf][diagnostic]") {
    CHECK(error("log:\n  level: \"a\\tb\"\n").find("'a\\x09b'") != std::string::npos);
    const std::string e = error("log:\n  level: " + std::string(200, 'z') + "\n");
    CHECK(e.find("'" + std::string(60, 'z') + "...'") != std::string::npos);
}

// ---------------------------------------------------------------------------------------
// Unknown keys

TEST_CASE("unknown keys are errors, with a suggestion when close", "[conf][keys]") {
    CHECK(error("queue:\n  default: {}\n") == "t.yaml:1:1: unknown key 'queue', did you mean 'queues'?");
    CHECK(error("listen:\n  rwa: 127.0.0.1:9100\n") == "t.yaml:2:3: unknown key 'rwa' in 'listen', did you mean 'raw'?");
    CHECK(error("listen:\n  lpr: 127.0.0.1:515\n") == "t.yaml:2:3: unknown key 'lpr' in 'listen', did you mean 'lpd'?");
    CHECK(error("listen:\n  http: 127.0.0.1:80\n") == "t.yaml:2:3: unknown key 'http' in 'listen'");
    CHECK(error("spool:\n  max_jobsize: 1GiB\n") ==
          "t.yaml:2:3: unknown key 'max_jobsize' in 'spool', did you mean 'max_job_size'?");
    CHECK(error("State_Dir: /x\n") == "t.yaml:1:1: unknown key 'State_Dir', did you mean 'state_dir'?");
    CHECK(error("colour: red\n") == "t.yaml:1:1: unknown key 'colour'");
    CHECK(error("queues:\n  q: {descr: x}\n") == "t.yaml:2:7: unknown key 'descr' in 'queues.q'");
    CHECK(error("limits:\n  max_conections: 5\n") ==
          "t.yaml:2:3: unknown key 'max_conections' in 'limits', did you mean 'max_connections'?");
    CHECK(error("log:\n  lvl: info\n") == "t.yaml:2:3: unknown key 'lvl' in 'log', did you mean 'level'?");
}

// ---------------------------------------------------------------------------------------
// Addresses

TEST_CASE("parse_endpoint accepts IPv4, bracketed IPv6 and two names", "[conf][listen]") {
    CHECK(parse_endpoint("127.0.0.1:9100") == Endpoint{"127.0.0.1", 9100, ""});
    CHECK(parse_endpoint("localhost:631") == Endpoint{"127.0.0.1", 631, ""});
    CHECK(parse_endpoint("*:515") == Endpoint{"0.0.0.0", 515, ""});
    CHECK(parse_endpoint("[::1]:9100") == Endpoint{"::1", 9100, ""});
    CHECK(parse_endpoint("[0:0:0::1]:1") == Endpoint{"::1", 1, ""});  // canonical form
    CHECK(parse_endpoint("[::]:0") == Endpoint{"::", 0, ""});
    CHECK(parse_endpoint("10.1.2.3:65535") == Endpoint{"10.1.2.3", 65535, ""});
    CHECK(parse_endpoint("10.1.2.3:0") == Endpoint{"10.1.2.3", 0, ""});
}

TEST_CASE("parse_endpoint refuses bad addresses", "[conf][listen]") {
    for (const char* text : {"", "300.1.1.1:9100", "127.0.0.1", "127.0.0.1:70000", "127.0.0.1:", "[::1]9100",
                             "[::1]", "[::1:9100", "::1:9100", ":9100", "[]:1", "[*]:1", "printer.lan:9100",
                             "1.2.3:9100", "01.2.3.4:1", "127.0.0.1:-1", "127.0.0.1:+1", "127.0.0.1:1x",
                             "[127.0.0.1]:1", "[fe80::1%eth0]:1", " 127.0.0.1:1", "localhost :1"}) {
        INFO(text);
        CHECK_FALSE(parse_endpoint(text));
    }
    CHECK_FALSE(parse_endpoint(std::string_view("127.0.0.1\0:1", 12)));
    CHECK_FALSE(parse_endpoint(std::string_view("[::1\0x]:1", 9)));
}

TEST_CASE("bad addresses in the file say what is wrong", "[conf][listen]") {
    CHECK(error("listen:\n  raw: 300.1.1.1:9100\n") ==
          "t.yaml:2:8: bad address '300.1.1.1:9100': '300.1.1.1' is not an IPv4 address (host names other than "
          "localhost are not resolved; IPv6 goes in brackets)");
    CHECK(error("listen:\n  raw: 127.0.0.1\n") ==
          "t.yaml:2:8: bad address '127.0.0.1': the port is missing (expected HOST:PORT)");
    CHECK(error("listen:\n  raw: 127.0.0.1:70000\n") ==
          "t.yaml:2:8: bad address '127.0.0.1:70000': port 70000 is out of range (0-65535)");
    CHECK(error("listen:\n  raw: \"[::1]9100\"\n") ==
          "t.yaml:2:8: bad address '[::1]9100': expected ':' after ']' (like [::1]:631)");
    CHECK(error("listen:\n  ipp: ::1:631\n") ==
          "t.yaml:2:8: bad address '::1:631': an IPv6 address needs brackets, like [::1]:631");
    CHECK(error("listen:\n  lpd: :515\n") == "t.yaml:2:8: bad address ':515': the host is empty (use * for all addresses)");
    CHECK(error("listen:\n  lpd: \"*:x\"\n") == "t.yaml:2:8: bad address '*:x': port 'x' is not a number");
    CHECK(error("listen:\n  ipps: [\"[::1]:631\", 127.0.0.1:99999]\n") ==
          "t.yaml:2:23: bad address '127.0.0.1:99999': port 99999 is out of range (0-65535)");
}

TEST_CASE("listeners take one address or a list", "[conf][listen]") {
    const Config c = ok(
        "listen:\n"
        "  ipp: [127.0.0.1:631, \"[::1]:631\"]\n"
        "  ipps: localhost:8443\n"
        "  lpd: []\n"
        "  raw:\n"
        "    - \"*:9100\"\n"
        "    - 127.0.0.1:0\n");
    CHECK(c.listen.ipp == std::vector<Endpoint>{{"127.0.0.1", 631, ""}, {"::1", 631, ""}});
    CHECK(c.listen.ipps == std::vector<Endpoint>{{"127.0.0.1", 8443, ""}});
    CHECK(c.listen.lpd.empty());
    CHECK(c.listen.raw == std::vector<Endpoint>{{"0.0.0.0", 9100, ""}, {"127.0.0.1", 0, ""}});
}

TEST_CASE("one address cannot be used twice", "[conf][listen]") {
    CHECK(errors(
              "listen:\n"
              "  ipp: 127.0.0.1:631\n"
              "  raw: [127.0.0.1:631, localhost:631, 127.0.0.1:0, 127.0.0.1:0, \"[::1]:631\"]\n") ==
          Lines{"t.yaml:3:9: address 127.0.0.1:631 is already used by listen.ipp (127.0.0.1:631 at line 2)",
                "t.yaml:3:24: address 127.0.0.1:631 is already used by listen.ipp (127.0.0.1:631 at line 2)"});
    // A wildcard overlaps every address of its family on that port, in either order.
    CHECK(error("listen:\n  lpd: 10.0.0.1:9100\n  raw: \"*:9100\"\n") ==
          "t.yaml:3:8: address 0.0.0.0:9100 is already used by listen.lpd (10.0.0.1:9100 at line 2)");
    CHECK(error("listen:\n  raw: \"[::]:9100\"\n  lpd: \"[::1]:9100\"\n") ==
          "t.yaml:3:8: address [::1]:9100 is already used by listen.raw ([::]:9100 at line 2)");
    CHECK(run("listen:\n  raw: \"*:9100\"\n  lpd: \"[::1]:9100\"\n").ok());
}

// ---------------------------------------------------------------------------------------
// Queues

TEST_CASE("queues default to one queue named default", "[conf][queues]") {
    const Config c = ok("log: {level: debug}\n");
    REQUIRE(c.queues.size() == 1);
    CHECK(c.queues.at("default") == QueueConfig{"default", "", QueueMode::hold});
    CHECK(c.default_queue == "default");
    CHECK(error("default_queue: office\n") == "t.yaml:1:16: default_queue 'office' is not one of the queues (default)");
}

TEST_CASE("queue settings", "[conf][queues]") {
    const Config c = ok(
        "queues:\n"
        "  office: {description: Second floor, mode: hold}\n"
        "  lab: {}\n"
        "  print.example-1_x: ~\n"
        "default_queue: lab\n");
    REQUIRE(c.queues.size() == 3);
    CHECK(c.queues.at("office") == QueueConfig{"office", "Second floor", QueueMode::hold});
    CHECK(c.queues.at("lab") == QueueConfig{"lab", "", QueueMode::hold});
    CHECK(c.queues.count("print.example-1_x") == 1);
    CHECK(c.default_queue == "lab");
    CHECK(ok("queues:\n  " + std::string(64, 'q') + ": {}\n").default_queue == std::string(64, 'q'));
}

TEST_CASE("queue errors", "[conf][queues]") {
    CHECK(error("queues: {}\n") ==
          "t.yaml:1:9: no queue defined: 'queues' needs at least one queue, like queues: {default: {}}");
    CHECK(error("queues:\n") ==
          "t.yaml:1:1: no queue defined: 'queues' needs at least one queue, like queues: {default: {}}");
    CHECK(error("queues:\n  q:\n    mode: print\n") == "t.yaml:3:11: unknown mode 'print' (expected: hold, direct, server)");
    CHECK(error("queues:\n  q: text\n") == "t.yaml:2:6: expected a map of queue settings (or {}), got 'text'");
    const std::string name_rule = ": use 1-64 letters, digits, '_', '.' or '-', not starting with '.' or '-'";
    CHECK(error("queues:\n  .hidden: {}\n") == "t.yaml:2:3: bad queue name '.hidden'" + name_rule);
    CHECK(error("queues:\n  -x: {}\n") == "t.yaml:2:3: bad queue name '-x'" + name_rule);
    CHECK(error("queues:\n  a/b: {}\n") == "t.yaml:2:3: bad queue name 'a/b'" + name_rule);
    CHECK(error("queues:\n  \"\": {}\n") == "t.yaml:2:3: bad queue name ''" + name_rule);
    CHECK(error("queues:\n  " + std::string(65, 'q') + ": {}\n").find("bad queue name") != std::string::npos);
}

TEST_CASE("printers and queue routing", "[conf][queues][printers]") {
    const Config c = ok(
        "printers:\n"
        "  hall: {uri: 'ipps://printer.example:8443/ipp/print', formats: [application/pdf, image/jpeg],\n"
        "         color: false, duplex: no, tls_verify: true}\n"
        "  lab: ipp://192.0.2.7/ipp/print\n"
        "queues:\n"
        "  office: {mode: direct, printer: hall}\n"
        "  release: {printer: lab}\n"
        "  quick: {mode: direct, printer: 'ipp://[::1]:8631/ipp/print'}\n"
        "  plain: {}\n"
        "default_queue: office\n"
        "spool: {job_history: 2h}\n");
    REQUIRE(c.printers.size() == 3);
    const PrinterConfig& hall = c.printers.at("hall");
    CHECK(hall.uri == "ipps://printer.example:8443/ipp/print");
    CHECK(hall.profile.formats == std::vector<std::string>{"application/pdf", "image/jpeg"});
    CHECK_FALSE(hall.profile.color);
    CHECK_FALSE(hall.profile.duplex);
    CHECK(hall.tls_verify);
    CHECK(c.printers.at("lab").uri == "ipp://192.0.2.7/ipp/print");
    CHECK(c.printers.at("lab").profile.color);
    CHECK(c.queues.at("office") == QueueConfig{"office", "", QueueMode::direct, "hall"});
    CHECK(c.queues.at("release") == QueueConfig{"release", "", QueueMode::hold, "lab"});
    // A URI as the printer makes a destination named by the URI.
    CHECK(c.queues.at("quick").printer == "ipp://[::1]:8631/ipp/print");
    CHECK(c.printers.at("ipp://[::1]:8631/ipp/print").uri == "ipp://[::1]:8631/ipp/print");
    CHECK(c.queues.at("plain").printer.empty());
    CHECK(c.spool.job_history == std::chrono::hours(2));
    CHECK(ok("log: {level: info}\n").spool.job_history == std::chrono::hours(24));
}

TEST_CASE("printer media and resolutions", "[conf][printers]") {
    const Config c = ok("printers:\n  p: {uri: 'ipp://h/p', media: [na_letter_8.5x11in, iso_a4_210x297mm], "
                        "resolutions: [600, 1200]}\n");
    CHECK(c.printers.at("p").profile.media == std::vector<std::string>{"na_letter_8.5x11in", "iso_a4_210x297mm"});
    CHECK(c.printers.at("p").profile.resolutions == std::vector<int>{600, 1200});
    CHECK(media_size("na_letter_8.5x11in") == std::make_pair(21590, 27940));
    CHECK(media_size("iso_a4_210x297mm") == std::make_pair(21000, 29700));
    CHECK(!media_size("a4"));
    CHECK(!media_size("iso_a4_0x297mm"));
    CHECK(error("printers:\n  p: {uri: 'ipp://h/p', media: [a4]}\n") ==
          "t.yaml:2:33: expected a PWG media name like iso_a4_210x297mm or na_letter_8.5x11in, got 'a4'");
    CHECK(error("printers:\n  p: {uri: 'ipp://h/p', resolutions: [10]}\n") ==
          "t.yaml:2:39: expected a resolution from 72 to 4800 dpi, got '10'");
}

TEST_CASE("printer and routing errors", "[conf][queues][printers]") {
    CHECK(error("queues:\n  q: {mode: direct}\n") ==
          "t.yaml:2:3: queue 'q' has mode: direct but no printer to send its jobs to "
          "(set printer: NAME or printer: ipp://HOST/PATH)");
    CHECK(error("queues:\n  q: {printer: hal}\n") ==
          "t.yaml:2:16: printer 'hal' is not defined in 'printers' (there is no 'printers' map)");
    CHECK(error("printers: {hall: ipp://h/p}\nqueues:\n  q: {printer: hal}\n") ==
          "t.yaml:3:16: printer 'hal' is not defined in 'printers', did you mean 'hall'?");
    CHECK(error("printers: {p: {uri: 'smb://h/q'}}\n") ==
          "t.yaml:1:21: bad printer URI 'smb://h/q': the scheme must be ipp, ipps, lpd or socket");
    CHECK(error("printers: {p: {uri: 'lpd://h'}}\n") ==
          "t.yaml:1:21: bad printer URI 'lpd://h': an lpd URI names one queue: lpd://HOST[:PORT]/QUEUE");
    CHECK(ok("printers: {p: 'lpd://h:515/q?order=data,control', s: 'socket://h:9100?pjl=on'}\n").printers.size() == 2);
    CHECK(error("printers: {p: {uri: 'ipp:///q'}}\n") == "t.yaml:1:21: bad printer URI 'ipp:///q': no host");
    CHECK(error("printers: {p: {uri: 'ipp://h:0/q'}}\n") ==
          "t.yaml:1:21: bad printer URI 'ipp://h:0/q': the port must be a number from 1 to 65535");
    CHECK(error("printers: {p: {uri: 'ipp://h:99999/q'}}\n") ==
          "t.yaml:1:21: bad printer URI 'ipp://h:99999/q': the port must be a number from 1 to 65535");
    CHECK(error("printers: {p: {color: true}}\n") == "t.yaml:1:15: missing 'uri' (like uri: ipp://192.0.2.10/ipp/print)");
    CHECK(error("printers: {p: {uri: 'ipp://h/q', formats: [pdf]}}\n") ==
          "t.yaml:1:44: expected a MIME type like application/pdf, got 'pdf'");
    CHECK(error("printers: {p: {uri: 'ipp://h/q', color: maybe}}\n") ==
          "t.yaml:1:41: expected true or false, got 'maybe'");
    CHECK(error("printers: {p: {uri: 'ipp://h/q', colour: true}}\n") ==
          "t.yaml:1:34: unknown key 'colour' in 'printers.p', did you mean 'color'?");
    CHECK(error("printers: [a]\n") == "t.yaml:1:11: expected a map from printer name to printer settings, got a list");
    CHECK(error("queues:\n  q: {printer: 'ipp://'}\n") == "t.yaml:2:16: bad printer URI 'ipp://': no host");
    CHECK(error("spool: {job_history: forever}\n") ==
          "t.yaml:1:22: expected a duration like 30s, 5m or 24h, got 'forever'");
}

TEST_CASE("queue auth and the users file", "[conf][queues][auth]") {
    const Config c = ok("queues:\n  q: {auth: basic}\n  o: {auth: none}\ndefault_queue: q\nauth: {users_file: users.txt}\n");
    CHECK(c.queues.at("q").auth == QueueAuth::basic);
    CHECK(c.queues.at("o").auth == QueueAuth::none);
    CHECK(c.auth.users_file == "/etc/printgate/users.txt");
    CHECK(error("queues:\n  q: {auth: basic}\n") ==
          "t.yaml:2:13: a queue has auth: basic, so auth.users_file must name the users file "
          "(name:argon2id lines, see docs/authentication.md), or upstream.url a central server that checks "
          "the credentials");
    // With an upstream the central server (and the offline cache) checks the credentials.
    CHECK(ok("queues:\n  q: {auth: basic}\nupstream: {url: 'https://m', credentials_file: c, gateway_id: g}\n")
              .auth.users_file.empty());
    CHECK(error("queues:\n  q: {auth: kerberos}\n") == "t.yaml:2:13: unknown auth 'kerberos' (expected: none, basic)");
    CHECK(ok("queues:\n  q: {auth: basic, operators: [alice, bob]}\nauth: {users_file: u}\n").queues.at("q").operators ==
          std::vector<std::string>{"alice", "bob"});
    CHECK(ok("queues:\n  q: {operators: carol}\n").queues.at("q").operators == std::vector<std::string>{"carol"});
    CHECK(error("queues:\n  q: {operators: {a: b}}\n") == "t.yaml:2:18: expected a user name or a list of them, got a map");
    CHECK(error("auth: {users: x}\n") == "t.yaml:1:8: unknown key 'users' in 'auth'");
}

TEST_CASE("peer owners", "[conf][owners]") {
    const Config c = ok("peer_owners:\n  10.0.0.0/8: branch\n  10.1.2.3: kiosk\n  '2001:db8::/32': v6user\n");
    REQUIRE(c.peer_owners.size() == 3);
    CHECK(c.peer_owners[0].user == "kiosk");  // most specific first
    CHECK(c.peer_owners[0].prefix == 32);
    CHECK(c.peer_owners[1].address == "2001:db8::");
    CHECK(error("peer_owners:\n  10.0.0.0/33: x\n") ==
          "t.yaml:2:3: bad network '10.0.0.0/33' (expected an address or ADDRESS/PREFIX like 192.0.2.0/24)");
    CHECK(error("peer_owners:\n  printers: x\n") ==
          "t.yaml:2:3: bad network 'printers' (expected an address or ADDRESS/PREFIX like 192.0.2.0/24)");
}

TEST_CASE("default_queue rules", "[conf][queues]") {
    CHECK(ok("queues:\n  only: {}\n").default_queue == "only");
    CHECK(error("log: {level: info}\nqueues:\n  a: {}\n  b: {}\n") ==
          "t.yaml:2:1: several queues are defined, so default_queue must name the one raw 9100 jobs go to (a, b)");
    CHECK(error("queues: {a: {}, b: {}}\ndefault_queue: c\n") ==
          "t.yaml:2:16: default_queue 'c' is not one of the queues (a, b)");
    CHECK(error("queues: {office: {}, lab: {}}\ndefault_queue: ofice\n") ==
          "t.yaml:2:16: default_queue 'ofice' is not one of the queues (office, lab), did you mean 'office'?");
    CHECK(ok("queues: {a: {}, b: {}}\ndefault_queue: b\n").default_queue == "b");
}

TEST_CASE("raw listeners may feed a named queue", "[conf][queues][listen]") {
    const Config c = ok(
        "queues: {office: {}, lab: {}}\n"
        "default_queue: office\n"
        "listen:\n"
        "  raw:\n"
        "    - 127.0.0.1:9100\n"
        "    - {address: 127.0.0.1:9101, queue: lab}\n"
        "    - address: \"[::1]:9102\"\n"
        "      queue: office\n");
    CHECK(c.listen.raw == std::vector<Endpoint>{{"127.0.0.1", 9100, ""}, {"127.0.0.1", 9101, "lab"},
                                                {"::1", 9102, "office"}});
    CHECK(errors(
              "queues: {office: {}, lab: {}}\n"
              "default_queue: office\n"
              "listen:\n"
              "  raw:\n"
              "    - {address: 127.0.0.1:9101, queue: labs}\n"
              "    - {queue: lab}\n"
              "    - {address: 127.0.0.1:9103, port: 1}\n"
              "  ipp:\n"
              "    - {address: 127.0.0.1:631}\n") ==
          Lines{"t.yaml:5:40: queue 'labs' is not defined in 'queues', did you mean 'lab'?",
                "t.yaml:6:7: missing 'address' (like address: 127.0.0.1:9100)",
                "t.yaml:7:33: unknown key 'port' in 'listen.raw[2]'",
                "t.yaml:9:7: expected an address like 127.0.0.1:631, got a map"});
    CHECK(error("listen:\n  raw: {address: 127.0.0.1:9100}\n") ==
          "t.yaml:2:8: expected an address like 127.0.0.1:9100 or {address: ..., queue: ...} or a list of them, "
          "got a map");
}

// ---------------------------------------------------------------------------------------
// Sizes and durations

TEST_CASE("parse_size accepts bytes and units", "[conf][units]") {
    CHECK(parse_size("0") == 0u);
    CHECK(parse_size("4096") == 4096u);
    CHECK(parse_size("4096B") == 4096u);
    CHECK(parse_size("10KB") == 10000u);
    CHECK(parse_size("3MB") == 3000000u);
    CHECK(parse_size("2GB") == 2000000000u);
    CHECK(parse_size("1TB") == 1000000000000u);
    CHECK(parse_size("10KiB") == 10240u);
    CHECK(parse_size("100MiB") == 100u << 20);
    CHECK(parse_size("100 MiB") == 100u << 20);
    CHECK(parse_size("2GiB") == 2ull << 30);
    CHECK(parse_size("3TiB") == 3ull << 40);
    CHECK(parse_size("100M") == 100u << 20);
    CHECK(parse_size("4K") == 4096u);
    CHECK(parse_size("1G") == 1ull << 30);
    CHECK(parse_size("1.5GiB") == 3ull << 29);
    CHECK(parse_size("0.5KB") == 500u);
    CHECK(parse_size("1.1KiB") == 1126u);  // 1126.4 bytes, truncated
    CHECK(parse_size("007MiB") == 7u << 20);
    CHECK(parse_size("18446744073709551615") == 18446744073709551615ull);
    CHECK(parse_size("16777215TiB") == 16777215ull << 40);
}

TEST_CASE("parse_size refuses bad text and overflow", "[conf][units]") {
    for (const char* text : {"", "abc", "MiB", "-1", "+1", "1.5", "1.5B", "10XB", "10mib", "100  MiB", "1.",
                             ".5G", "1..5G", "1 ", " 1", "1e3", "0x10", "1,000", "10 K B", "1_000",
                             "18446744073709551616", "17179869184GiB", "16777216TiB", "99999999999999999999999KB",
                             "18446744073709551615.5KiB"}) {
        INFO(text);
        CHECK_FALSE(parse_size(text));
    }
}

TEST_CASE("parse_duration needs a unit", "[conf][units]") {
    CHECK(parse_duration("250ms") == 250ms);
    CHECK(parse_duration("30s") == 30s);
    CHECK(parse_duration("5m") == 5min);
    CHECK(parse_duration("24h") == 24h);
    CHECK(parse_duration("7d") == 168h);
    CHECK(parse_duration("1.5h") == 90min);
    CHECK(parse_duration("0.25s") == 250ms);
    CHECK(parse_duration("10 s") == 10s);
    CHECK(parse_duration("0") == 0ms);
    CHECK(parse_duration("0s") == 0ms);
    for (const char* text : {"", "30", "1.5", "01", "abc", "5 min", "5min", "-1s", "1h30m", "s", "1S", "5M",
                             "9999999999999999999d", "106751991168d", "1e3s"}) {
        INFO(text);
        CHECK_FALSE(parse_duration(text));
    }
    CHECK(parse_duration("106751991167d"));  // just fits in 64-bit milliseconds
    CHECK(parse_duration("00") == 0ms);
}

TEST_CASE("sizes and durations in the file", "[conf][units]") {
    const Config c = ok(
        "spool:\n"
        "  max_job_size: 1.5GiB\n"
        "  max_total_size: 10 GB\n"
        "  min_free_space: 0\n"
        "limits:\n"
        "  max_connections: 100000\n"
        "  idle_timeout: 24h\n"
        "  shutdown_timeout: 0\n");
    CHECK(c.spool.max_job_size == 3ull << 29);
    CHECK(c.spool.max_total_size == 10000000000ull);
    CHECK(c.spool.min_free_space == 0u);
    CHECK(c.limits.max_connections == 100000u);
    CHECK(c.limits.idle_timeout == 24h);
    CHECK(c.limits.shutdown_timeout == 0ms);
    CHECK(ok("limits: {idle_timeout: 1s, shutdown_timeout: 10m, max_connections: 1}\n").limits.idle_timeout == 1s);
}

TEST_CASE("size and duration errors", "[conf][units]") {
    CHECK(error("spool:\n  max_job_size: abc\n") == "t.yaml:2:17: expected a size like 100MiB, got 'abc'");
    CHECK(error("spool:\n  max_job_size: 20000000TiB\n") ==
          "t.yaml:2:17: size '20000000TiB' is too large (over 16 EiB)");
    CHECK(error("spool:\n  max_job_size: 0\n") == "t.yaml:2:17: max_job_size must be at least 1 byte");
    CHECK(error("spool:\n  max_job_size: 2GiB\n  max_total_size: 1GiB\n") ==
          "t.yaml:3:19: max_total_size (1GiB) is smaller than max_job_size (2GiB)");
    CHECK(error("spool:\n  max_job_size: 30GiB\n") ==
          "t.yaml:2:17: max_total_size (20GiB) is smaller than max_job_size (30GiB)");
    CHECK(error("limits:\n  idle_timeout: 30\n") == "t.yaml:2:17: duration needs a unit (ms, s, m, h, d), got '30'");
    CHECK(error("limits:\n  idle_timeout: soon\n") ==
          "t.yaml:2:17: expected a duration like 30s, 5m or 24h, got 'soon'");
    CHECK(error("limits:\n  idle_timeout: 500ms\n") == "t.yaml:2:17: idle_timeout must be between 1s and 24h, got '500ms'");
    CHECK(error("limits:\n  idle_timeout: 2d\n") == "t.yaml:2:17: idle_timeout must be between 1s and 24h, got '2d'");
    CHECK(error("limits:\n  shutdown_timeout: 11m\n") ==
          "t.yaml:2:21: shutdown_timeout must be between 0s and 10m, got '11m'");
    CHECK(error("limits:\n  shutdown_timeout: 99999999999999999999d\n") ==
          "t.yaml:2:21: duration '99999999999999999999d' is too long");
    CHECK(error("limits:\n  max_connections: 0\n") ==
          "t.yaml:2:20: max_connections must be between 1 and 100000, got '0'");
    CHECK(error("limits:\n  max_connections: 100001\n") ==
          "t.yaml:2:20: max_connections must be between 1 and 100000, got '100001'");
    CHECK(error("limits:\n  max_connections: 99999999999999999999999\n") ==
          "t.yaml:2:20: max_connections must be between 1 and 100000, got '99999999999999999999999'");
    CHECK(error("limits:\n  max_connections: 1.5\n") == "t.yaml:2:20: expected a whole number, got '1.5'");
    CHECK(error("limits:\n  max_connections: -1\n") == "t.yaml:2:20: expected a whole number, got '-1'");
}

// ---------------------------------------------------------------------------------------
// Log level

TEST_CASE("log levels", "[conf][log]") {
    CHECK(ok("log: {level: trace}\n").log.level == LogLevel::trace);
    CHECK(ok("log: {level: warn}\n").log.level == LogLevel::warning);
    CHECK(ok("log: {level: warning}\n").log.level == LogLevel::warning);
    CHECK(ok("log: {level: CRITICAL}\n").log.level == LogLevel::critical);
    CHECK(ok("log: {level: off}\n").log.level == LogLevel::off);
    CHECK(error("log:\n  level: infoo\n") ==
          "t.yaml:2:10: unknown log level 'infoo' (expected: trace, debug, info, warning, error, critical, off), "
          "did you mean 'info'?");
    for (auto level : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warning, LogLevel::error,
                       LogLevel::critical, LogLevel::off})
        CHECK(parse_log_level(to_string(level)) == level);
}

// ---------------------------------------------------------------------------------------
// Paths

TEST_CASE("relative paths resolve against the config directory", "[conf][paths]") {
    const auto r = run(
        "state_dir: ../state\n"
        "control_socket: run/./ctl.sock\n"
        "master_key_file: keys//master.key\n",
        {}, "/work/repo/conf");
    REQUIRE(r.ok());
    CHECK(r.config.state_dir == "/work/repo/state");
    CHECK(r.config.control_socket == "/work/repo/conf/run/ctl.sock");
    CHECK(r.config.master_key_file == "/work/repo/conf/keys/master.key");

    const auto abs = run("state_dir: /var/lib/pg/../printgate/\nmaster_key_file: /etc/creds/key\n", {}, "/x");
    REQUIRE(abs.ok());
    CHECK(abs.config.state_dir == "/var/lib/printgate");
    CHECK(abs.config.master_key_file == "/etc/creds/key");

    const auto trailing = run("state_dir: state/\n", {}, "/srv/pg/");
    REQUIRE(trailing.ok());
    CHECK(trailing.config.state_dir == "/srv/pg/state");

    // Without a base directory, relative paths stay relative (normalised).
    const auto bare = run("state_dir: ./a/../state\n", {}, "");
    REQUIRE(bare.ok());
    CHECK(bare.config.state_dir == "state");
}

TEST_CASE("path errors", "[conf][paths]") {
    CHECK(error("state_dir: \"\"\n") == "t.yaml:1:12: the path is empty");
    CHECK(error("master_key_file: \"a\\0b\"\n") == "t.yaml:1:18: the path contains a NUL byte");
    const std::string long_socket = "/" + std::string(107, 's');  // 108 bytes with the slash
    CHECK(error("control_socket: " + long_socket + "\n") ==
          "t.yaml:1:17: the control socket path is 108 bytes long; a Unix socket path must be shorter than 108 bytes");
    CHECK(run("control_socket: /" + std::string(106, 's') + "\n").ok());
    CHECK(error("state_dir: /" + std::string(100, 'd') + "\n") ==
          "t.yaml:1:12: the control socket under state_dir would be 114 bytes long; a Unix socket path must be "
          "shorter than 108 bytes (set control_socket)");
    CHECK(run("state_dir: /" + std::string(100, 'd') + "\ncontrol_socket: /run/pg.sock\n").ok());
}

// ---------------------------------------------------------------------------------------
// Overrides

TEST_CASE("parse_override splits at the first '='", "[conf][override]") {
    CHECK(parse_override("log.level=debug")->key == "log.level");
    CHECK(parse_override("log.level=debug")->value == "debug");
    CHECK(parse_override("a=b=c")->value == "b=c");
    CHECK(parse_override("a=")->value.empty());
    CHECK_FALSE(parse_override("=x"));
    CHECK_FALSE(parse_override("novalue"));
    CHECK_FALSE(parse_override(""));
}

TEST_CASE("overrides replace values and create nested maps", "[conf][override]") {
    const std::string file =
        "listen:\n"
        "  raw: 127.0.0.1:9100\n"
        "spool:\n"
        "  max_job_size: 1GiB\n";
    const Config c = ok(file, {{"spool.max_job_size", "100MiB"},
                               {"listen.raw", "[127.0.0.1:0, 127.0.0.1:9101]"},
                               {"limits.idle_timeout", "30s"},
                               {"log.level", "debug"},
                               {"log.level", "warn"}});  // the later one wins
    CHECK(c.spool.max_job_size == 100u << 20);
    CHECK(c.listen.raw == std::vector<Endpoint>{{"127.0.0.1", 0, ""}, {"127.0.0.1", 9101, ""}});
    CHECK(c.limits.idle_timeout == 30s);
    CHECK(c.log.level == LogLevel::warning);

    const Config q = ok("", {{"queues.office.description", "Office"}, {"queues.lab", "{}"},
                             {"default_queue", "lab"}});
    REQUIRE(q.queues.size() == 2);  // no implicit "default" once queues exist
    CHECK(q.queues.at("office").description == "Office");
    CHECK(q.default_queue == "lab");

    // A null section becomes a map.
    CHECK(ok("spool:\n", {{"spool.min_free_space", "1GB"}}).spool.min_free_space == 1000000000u);
    // Relative paths from --set resolve like the file's.
    CHECK(ok("", {{"state_dir", "../st"}}).state_dir == "/etc/st");
}

TEST_CASE("override keys under queues may contain dots", "[conf][override]") {
    const Config c = ok("queues:\n  print.example: {}\n",
                        {{"queues.print.example.description", "x"},
                         {"queues.new.q.description", "y"},
                         {"queues.plain", "{mode: hold}"},
                         {"default_queue", "print.example"}});
    REQUIRE(c.queues.size() == 3);
    CHECK(c.queues.at("print.example").description == "x");
    CHECK(c.queues.at("new.q").description == "y");
    CHECK(c.queues.count("plain") == 1);
}

TEST_CASE("override errors are located at --set:N", "[conf][override]") {
    CHECK(error("", {{"spool.max_job_size", "abc"}}) ==
          "--set:1: spool.max_job_size: expected a size like 100MiB, got 'abc'");
    CHECK(error("", {{"log.level", "debug"}, {"spool.max_jobsize", "1"}}) ==
          "--set:2: spool.max_jobsize: unknown key 'max_jobsize' in 'spool', did you mean 'max_job_size'?");
    CHECK(error("", {{"colour", "red"}}) == "--set:1: colour: unknown key 'colour'");
    CHECK(error("log:\n  level: info\n", {{"log.level.x", "1"}}) ==
          "--set:1: log.level.x: 'log.level' is 'info', not a map");
    CHECK(error("", {{"listen.raw", "[127.0.0.1:0]"}, {"listen.raw.x", "1"}}) ==
          "--set:2: listen.raw.x: 'listen.raw' is a list, not a map");
    CHECK(error("", {{"listen.raw", "[a"}}) == "--set:1: listen.raw: invalid YAML: end of sequence flow not found");
    CHECK(error("", {{"spool..x", "1"}}) == "--set:1: spool..x: bad key 'spool..x': a part between dots is empty");
    CHECK(error("", {{"", "1"}}) == "--set:1: the key is empty (expected KEY=VALUE)");
    CHECK(error("", {{"listen.raw", "[127.0.0.1:0, bad]"}}) ==
          "--set:1: listen.raw[1]: bad address 'bad': the port is missing (expected HOST:PORT)");
    CHECK(error("", {{"queues", "{}"}}) ==
          "--set:1: queues: no queue defined: 'queues' needs at least one queue, like queues: {default: {}}");
    CHECK(error("", {{"queues.x", "{mode: print}"}}) == "--set:1: queues.x.mode: unknown mode 'print' (expected: hold, direct, server)");
    CHECK(error("", {{"default_queue", ""}}) == "--set:1: default_queue: expected a queue name, got nothing (null)");
    CHECK(error("", {{"log.level", "a\n---\nb"}}) ==
          "--set:1: log.level: more than one YAML document; printgate reads exactly one");
    CHECK(error("", {{"log.level", "[" + repeat("[", 40) + repeat("]", 41)}}) ==
          "--set:1: log.level: nesting deeper than 32 levels");
    CHECK(error("", {{repeat("a.", 40) + "a", "1"}}) ==
          "--set:1: " + repeat("a.", 40) + "a: the key is nested deeper than 32 levels");
}

TEST_CASE("file errors come before override errors", "[conf][override]") {
    CHECK(errors("log:\n  level: loud\n", {{"limits.idle_timeout", "5"}, {"spool.max_job_size", "x"}}) ==
          Lines{"t.yaml:2:10: unknown log level 'loud' (expected: trace, debug, info, warning, error, critical, off)",
                "--set:1: limits.idle_timeout: duration needs a unit (ms, s, m, h, d), got '5'",
                "--set:2: spool.max_job_size: expected a size like 100MiB, got 'x'"});
    // A value fixed by an override is no longer an error.
    CHECK(run("log:\n  level: loud\n", {{"log.level", "info"}}).ok());
    // Several queues from the file plus an override, default_queue missing: located at the key.
    CHECK(error("queues:\n  a: {}\n", {{"queues.b", "{}"}}) ==
          "t.yaml:1:1: several queues are defined, so default_queue must name the one raw 9100 jobs go to (a, b)");
    CHECK(error("", {{"queues", "{a: {}, b: {}}"}}) ==
          "--set:1: queues: several queues are defined, so default_queue must name the one raw 9100 jobs go to (a, b)");
}

// ---------------------------------------------------------------------------------------
// The repository's configuration

TEST_CASE("conf/printgate.yaml parses cleanly", "[conf][repo]") {
    const std::string root = source_dir();
    std::ifstream in(root + "/conf/printgate.yaml", std::ios::binary);
    REQUIRE(in.good());
    const std::string text((std::istreambuf_iterator<char>(in)), {});
    const auto r = parse(text, "conf/printgate.yaml", root + "/conf");
    for (const auto& d : r.errors) UNSCOPED_INFO(d.to_string());
    REQUIRE(r.ok());
    const Config& c = r.config;
    CHECK(c.state_dir == std::filesystem::path(root + "/state").lexically_normal().string());
    CHECK(c.listen.raw == std::vector<Endpoint>{{"127.0.0.1", 9100, ""}});
    CHECK(c.listen.ipp == std::vector<Endpoint>{{"127.0.0.1", 8631, ""}});
    CHECK(c.listen.ipps.empty());
    CHECK(c.listen.lpd.empty());
    REQUIRE(c.queues.size() == 1);
    CHECK(c.queues.count("default") == 1);
    CHECK_FALSE(c.queues.at("default").description.empty());
    CHECK(c.default_queue == "default");
    CHECK(c.log.level == LogLevel::info);
    CHECK(c.spool.max_job_size == 2ull << 30);
    CHECK(c.spool.max_total_size == 20ull << 30);
    CHECK(c.spool.min_free_space == 256ull << 20);
    CHECK(c.limits.max_connections == 512u);
    CHECK(c.limits.idle_timeout == 5min);
    CHECK(c.limits.shutdown_timeout == 10s);
    // The README's overrides work on it.
    CHECK(parse(text, "conf/printgate.yaml", root + "/conf", std::vector<Override>{{"log.level", "debug"}}).ok());
}

// ---------------------------------------------------------------------------------------
// TLS certificate and key

TEST_CASE("tls defaults to a generated pair", "[conf][tls]") {
    const Config c = ok("");
    CHECK(c.tls.certificate.empty());
    CHECK(c.tls.private_key.empty());
    CHECK(ok("tls:\n").tls == TlsConfig{});
    CHECK(ok("tls: {}\n").tls == TlsConfig{});
}

TEST_CASE("tls paths resolve like state_dir", "[conf][tls]") {
    const auto r = run(
        "tls:\n"
        "  certificate: certs/./server.crt\n"
        "  private_key: ../keys/server.key\n",
        {}, "/work/repo/conf");
    for (const auto& d : r.errors) UNSCOPED_INFO(d.to_string());
    REQUIRE(r.ok());
    CHECK(r.config.tls.certificate == "/work/repo/conf/certs/server.crt");
    CHECK(r.config.tls.private_key == "/work/repo/keys/server.key");
    const Config abs = ok("tls: {certificate: /etc/pg/c.pem, private_key: /etc/pg/k.pem}\n");
    CHECK(abs.tls.certificate == "/etc/pg/c.pem");
    CHECK(abs.tls.private_key == "/etc/pg/k.pem");
    // --set works for each key, and relative values resolve the same way.
    const Config set = ok("", {{"tls.certificate", "c.pem"}, {"tls.private_key", "k.pem"}});
    CHECK(set.tls.certificate == "/etc/printgate/c.pem");
    CHECK(set.tls.private_key == "/etc/printgate/k.pem");
}

TEST_CASE("tls errors", "[conf][tls]") {
    CHECK(error("tls:\n  certificate: /etc/pg/c.pem\n") ==
          "t.yaml:2:16: tls.certificate is set but tls.private_key is not; set both or neither");
    CHECK(error("tls:\n  private_key: k.pem\n") ==
          "t.yaml:2:16: tls.private_key is set but tls.certificate is not; set both or neither");
    CHECK(error("tls:\n  certificate: c.pem\n  private_key: \"\"\n") == "t.yaml:3:16: the path is empty");
    CHECK(errors("tls:\n  certificate: c.pem\n  privatekey: k.pem\n") ==
          Lines{"t.yaml:2:16: tls.certificate is set but tls.private_key is not; set both or neither",
                "t.yaml:3:3: unknown key 'privatekey' in 'tls', did you mean 'private_key'?"});
    CHECK(error("tls:\n  certificate: [a, b]\n  private_key: k.pem\n") ==
          "t.yaml:2:16: expected a path, got a list");
    CHECK(error("tls: server.pem\n") == "t.yaml:1:6: expected a map of settings, got 'server.pem'");
    CHECK(error("", {{"tls.certificate", "c.pem"}}) ==
          "--set:1: tls.certificate: tls.certificate is set but tls.private_key is not; set both or neither");
}

TEST_CASE("upstream defaults and settings", "[conf][upstream]") {
    const Config d = ok("");
    CHECK_FALSE(d.upstream.enabled());
    CHECK(d.upstream.probe_interval == 1s);
    CHECK(d.upstream.probe_timeout == 1s);
    CHECK(d.upstream.fail_threshold == 3);
    CHECK(d.upstream.recover_threshold == 3);
    CHECK(d.upstream.hold_down == 10s);
    CHECK(d.upstream.duplicate_window == 10min);
    CHECK(d.upstream.cut_through);

    const Config c = ok(
        "upstream:\n"
        "  url: https://myq.example:8093/\n"
        "  credentials_file: creds\n"
        "  ca_file: /etc/printgate/ca.pem\n"
        "  pinned_cert: sha256:AB:" + repeat("0", 62) + "\n"
        "  gateway_id: branch-7\n"
        "  probe_interval: 2s\n"
        "  fail_threshold: 4\n"
        "  recover_threshold: 5\n"
        "  hold_down: 30s\n"
        "  duplicate_window: 0s\n"
        "  cut_through: false\n"
        "queues:\n"
        "  office: {mode: server, server_queue: 'ipps://myq.example/printers/branch', on_recovery: forward}\n"
        "  local: {}\n"
        "default_queue: local\n");
    CHECK(c.upstream.enabled());
    CHECK(c.upstream.url == "https://myq.example:8093");
    CHECK(c.upstream.credentials_file == "/etc/printgate/creds");
    CHECK(c.upstream.pinned_cert == "ab" + repeat("0", 62));
    CHECK(c.upstream.gateway_id == "branch-7");
    CHECK(c.upstream.probe_interval == 2s);
    CHECK(c.upstream.fail_threshold == 4);
    CHECK(c.upstream.recover_threshold == 5);
    CHECK(c.upstream.hold_down == 30s);
    CHECK(c.upstream.duplicate_window == 0s);
    CHECK_FALSE(c.upstream.cut_through);
    const auto& q = c.queues.at("office");
    CHECK(q.mode == QueueMode::server);
    CHECK(q.server_queue == "ipps://myq.example/printers/branch");
    CHECK(q.on_recovery == OnRecovery::forward);
    CHECK(ok("upstream: {url: 'https://m', credentials_file: c, gateway_id: g}\n"
             "queues: {q: {mode: server, server_queue: 'lpd://m/q'}}\n")
              .queues.at("q")
              .on_recovery == OnRecovery::keep_local);
}

TEST_CASE("upstream and server queue errors", "[conf][upstream]") {
    const std::string up = "upstream: {url: 'https://m', credentials_file: c, gateway_id: g}\n";
    CHECK(error(up + "queues:\n  q: {mode: server}\n") ==
          "t.yaml:3:3: queue 'q' has mode: server but no server_queue (the MyQ queue's URI, like server_queue: "
          "ipps://myq.example/printers/branch)");
    CHECK(error(up + "queues:\n  q: {server_queue: 'ipp://m/q'}\n") ==
          "t.yaml:3:7: 'server_queue' applies only to queues with mode: server");
    CHECK(error(up + "queues:\n  q: {mode: server, server_queue: 'socket://m'}\n") ==
          "t.yaml:3:35: a server queue is reached by ipp://, ipps:// or lpd://, not socket://");
    CHECK(error(up + "queues:\n  q: {mode: server, server_queue: 'ipp://m/q', on_recovery: later}\n") ==
          "t.yaml:3:61: unknown on_recovery 'later' (expected: keep_local, forward)");
    CHECK(error("queues:\n  q: {mode: server, server_queue: 'ipp://m/q'}\n") ==
          "t.yaml:2:13: a queue has mode: server, so upstream.url must name the central server");
    CHECK(error("upstream: {url: 'http://m', credentials_file: c, gateway_id: g}\n") ==
          "t.yaml:1:17: expected the server's https:// URL like https://myq.example:8093, got "
          "'http://m'");
    CHECK(error("upstream: {url: 'https://m', gateway_id: g}\n") ==
          "t.yaml:1:11: upstream.url is set, so upstream.credentials_file must name the "
          "file with client_id: and client_secret: (never the secret inline)");
    CHECK(error("upstream: {url: 'https://m', credentials_file: c}\n") ==
          "t.yaml:1:11: upstream.url is set, so upstream.gateway_id must name this gateway");
    CHECK(error("upstream: {pinned_cert: 'sha256:abc'}\n") ==
          "t.yaml:1:25: expected the SHA-256 of the server certificate as sha256: and 64 hex "
          "digits, got 'sha256:abc'");
    CHECK(error("upstream: {fail_threshold: 0}\n") ==
          "t.yaml:1:28: fail_threshold must be a whole number from 1 to 100, got '0'");
    CHECK(error("upstream: {probe_interval: 10ms}\n") ==
          "t.yaml:1:28: probe_interval must be between 100ms and 10m, got '10ms'");
    CHECK(error("upstream: {gateway_id: 'a b'}\n") ==
          "t.yaml:1:24: use 1-64 letters, digits, '-', '_' or '.', got 'a b'");
    CHECK(error("upstream: {secret: x}\n") == "t.yaml:1:12: unknown key 'secret' in 'upstream'");
    CHECK(error("upstream: {cut_through: maybe}\n") == "t.yaml:1:25: expected true or false, got 'maybe'");
}

TEST_CASE("release points: listener, terminals, printers' terminals, sessions, held job expiry",
          "[conf][release]") {
    const Config c = ok(
        "listen: {release: 127.0.0.1:8444}\n"
        "terminals:\n"
        "  hall-1: {key_file: keys/hall-1.key, description: ground floor}\n"
        "  hall-2: {key_file: /etc/printgate/hall-2.key}\n"
        "printers:\n"
        "  hall: {uri: 'ipp://h/q', terminals: [hall-1, hall-2]}\n"
        "  back: {uri: 'socket://h2', release_page: false, terminals: hall-2}\n"
        "release: {session_idle: 90s, printer_wait: 45s, admins: [boss]}\n"
        "spool: {held_job_ttl: 2h}\n");
    REQUIRE(c.listen.release.size() == 1);
    CHECK(c.listen.release[0].port == 8444);
    CHECK(c.terminals.at("hall-1").key_file == "/etc/printgate/keys/hall-1.key");
    CHECK(c.terminals.at("hall-1").description == "ground floor");
    CHECK(c.printers.at("hall").terminals == std::vector<std::string>{"hall-1", "hall-2"});
    CHECK(c.printers.at("hall").release_page);
    CHECK_FALSE(c.printers.at("back").release_page);
    CHECK(c.printers.at("back").terminals == std::vector<std::string>{"hall-2"});
    CHECK(c.release.session_idle == std::chrono::seconds(90));
    CHECK(c.release.printer_wait == std::chrono::seconds(45));
    CHECK(c.release.admins == std::vector<std::string>{"boss"});
    CHECK(c.spool.held_job_ttl == std::chrono::hours(2));

    const Config d = ok("log: {level: info}\n");
    CHECK(d.release.session_idle == std::chrono::minutes(2));
    CHECK(d.release.printer_wait == std::chrono::minutes(3));
    CHECK(d.spool.held_job_ttl == std::chrono::hours(24));
    CHECK(d.terminals.empty());
    CHECK(ok("spool: {held_job_ttl: 0s}\n").spool.held_job_ttl.count() == 0);

    CHECK(error("printers:\n  p: {uri: 'ipp://h/q', terminals: [hal-1]}\nterminals: {hall-1: {key_file: k}}\n") ==
          "t.yaml:2:37: terminal 'hal-1' is not one of the terminals (hall-1), did you mean 'hall-1'?");
    CHECK(error("printers:\n  p: {uri: 'ipp://h/q', terminals: t}\n") ==
          "t.yaml:2:36: terminal 't' is not one of the terminals (none is defined under terminals:)");
    CHECK(error("terminals: {t: {description: x}}\n") ==
          "t.yaml:1:16: missing 'key_file' (the file holding this terminal's API key, mode 0600)");
    CHECK(error("terminals: {t: {key_file: k, api_key: secret}}\n") ==
          "t.yaml:1:30: unknown key 'api_key' in 'terminals.t'");
    CHECK(error("release: {session_idle: 1s}\n").rfind("t.yaml:1:25: ", 0) == 0);
    CHECK(error("release: {printer_wait: 500ms}\n").rfind("t.yaml:1:25: ", 0) == 0);
    CHECK(error("release: {printer_wait: 2d}\n").rfind("t.yaml:1:25: ", 0) == 0);
    CHECK(error("spool: {held_job_ttl: 30s}\n") == "t.yaml:1:23: held_job_ttl must be 0 (never) or at least 1m");
    CHECK(error("release: {idle: 2m}\n") == "t.yaml:1:11: unknown key 'idle' in 'release'");
}

TEST_CASE("printer conversion", "[conf][printers][convert]") {
    const Config c = ok("printers:\n  p: {uri: 'socket://h', convert: ghostscript,\n"
                        "      formats: [image/urf, application/vnd.hp-pclxl]}\n  q: {uri: 'ipp://h/q'}\n");
    CHECK(c.printers.at("p").profile.convert == Conversion::ghostscript);
    CHECK(c.printers.at("q").profile.convert == Conversion::none);
    CHECK(ok("printers:\n  p: {uri: 'ipp://h/p', convert: none}\n").printers.at("p").profile.convert ==
          Conversion::none);
    CHECK(error("printers:\n  p: {uri: 'ipp://h/p', convert: ghostscript}\n") ==
          "t.yaml:2:34: convert: ghostscript needs 'formats' to say what the printer takes (one of "
          "application/postscript, application/pdf, application/vnd.hp-pcl, application/vnd.hp-pclxl, "
          "image/pwg-raster)");
    CHECK(error("printers:\n  p: {uri: 'ipp://h/p', formats: [image/urf], convert: ghostscript}\n") ==
          "t.yaml:2:56: convert: ghostscript cannot write any of this printer's formats (it writes "
          "application/postscript, application/pdf, application/vnd.hp-pcl, application/vnd.hp-pclxl, "
          "image/pwg-raster)");
    CHECK(error("printers:\n  p: {uri: 'ipp://h/p', formats: [application/pdf], convert: cups}\n") ==
          "t.yaml:2:62: expected none or ghostscript, got 'cups'");
    CHECK(ghostscript_reads("Application/PDF"));
    CHECK(!ghostscript_reads("image/jpeg"));
    CHECK(ghostscript_writes("image/pwg-raster"));
    CHECK(!ghostscript_writes("image/urf"));
}
