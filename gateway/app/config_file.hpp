// SPDX-License-Identifier: Apache-2.0
// Finding and reading the configuration file, shared by printgated and printgatectl.
#pragma once

#include <string>
#include <vector>

#include "conf/config.hpp"

namespace pg::app {

inline constexpr int kExitConfig = 78;  // EX_CONFIG (sysexits.h)
inline constexpr const char* kDefaultConfigPath = "/etc/printgate/printgate.yaml";

// --config FILE if given, else $PRINTGATE_CONFIG, else /etc/printgate/printgate.yaml.
std::string resolve_config_path(const std::string& from_flag);

struct LoadedConfig {
    conf::ParseResult result;
    std::string path;
    std::string base_dir;
};

// Reads and parses; an unreadable file becomes one diagnostic ("FILE: cannot read: ...").
LoadedConfig load_config(const std::string& path, const std::vector<conf::Override>& overrides);

}  // namespace pg::app
