// SPDX-License-Identifier: Apache-2.0
// printgated: the composition root. Parses the command line and the
// configuration, builds the one Gateway, runs it in the foreground.
//
// Exit status: 0 after a clean stop; 78 (EX_CONFIG) for a bad configuration;
// 2 for a bad command line; 1 when starting failed (state_dir, key, ports).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "gateway/app/config_file.hpp"
#include "gateway/app/gateway.hpp"
#include "gateway/log/log.hpp"

namespace {

void usage(FILE* out) {
    std::fputs(
        "usage: printgated [--config FILE] [--set KEY=VALUE]... [--check-config]\n"
        "                  [--log-target auto|journal|stderr]\n"
        "  --config FILE     configuration (default: $PRINTGATE_CONFIG, else /etc/printgate/printgate.yaml)\n"
        "  --set KEY=VALUE   override a configuration key (dotted, repeatable), e.g. --set log.level=debug\n"
        "  --check-config    validate the configuration and exit (0 = valid, 78 = errors)\n"
        "  --log-target T    where events go (auto: the journal under systemd, else stderr)\n",
        out);
}

}  // namespace

int main(int argc, char** argv) try {
    std::string config_flag;
    std::vector<pg::conf::Override> overrides;
    bool check_only = false;
    pg::log::Target target = pg::log::Target::automatic;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char* name) -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "printgated: %s needs a value\n", name);
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--config" || a == "-c") {
            config_flag = value("--config");
        } else if (a.rfind("--config=", 0) == 0) {
            config_flag = a.substr(9);
        } else if (a == "--set") {
            std::string kv = value("--set");
            auto o = pg::conf::parse_override(kv);
            if (!o) {
                std::fprintf(stderr, "printgated: --set wants KEY=VALUE, got '%s'\n", kv.c_str());
                return 2;
            }
            overrides.push_back(*o);
        } else if (a == "--check-config") {
            check_only = true;
        } else if (a == "--log-target") {
            std::string t = value("--log-target");
            if (t == "journal") target = pg::log::Target::journal;
            else if (t == "stderr") target = pg::log::Target::stderr_text;
            else if (t == "auto") target = pg::log::Target::automatic;
            else {
                std::fprintf(stderr, "printgated: unknown log target '%s'\n", t.c_str());
                return 2;
            }
        } else if (a == "--help" || a == "-h") {
            usage(stdout);
            return 0;
        } else if (a == "--version") {
            std::puts("printgated 0.1.0");
            return 0;
        } else {
            std::fprintf(stderr, "printgated: unknown argument '%s'\n", a.c_str());
            usage(stderr);
            return 2;
        }
    }

    auto loaded = pg::app::load_config(pg::app::resolve_config_path(config_flag), overrides);
    if (!loaded.result.ok()) {
        for (const auto& d : loaded.result.errors) std::fprintf(stderr, "%s\n", d.to_string().c_str());
        std::fprintf(stderr, "printgated: %zu configuration error(s)\n", loaded.result.errors.size());
        return pg::app::kExitConfig;
    }
    if (check_only) {
        std::printf("%s: configuration OK\n", loaded.path.c_str());
        return 0;
    }

    pg::log::Logger log(target, loaded.result.config.log.level);
    pg::app::Gateway::Options opts{loaded.path, loaded.base_dir, overrides};
    pg::app::Gateway gateway(std::move(loaded.result.config), std::move(opts), log);
    std::string error;
    if (!gateway.start(error)) {
        log.error({.event = "start_failed"}, "cannot start: {}", error);
        log.flush();
        return 1;
    }
    gateway.run();
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "printgated: fatal: %s\n", e.what());
    return 1;
}
