// SPDX-License-Identifier: Apache-2.0
#include "gateway/app/config_file.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace pg::app {

std::string resolve_config_path(const std::string& from_flag) {
    if (!from_flag.empty()) return from_flag;
    if (const char* env = std::getenv("PRINTGATE_CONFIG"); env && *env) return env;
    return kDefaultConfigPath;
}

LoadedConfig load_config(const std::string& path, const std::vector<conf::Override>& overrides) {
    LoadedConfig out;
    out.path = path;
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    out.base_dir = (ec ? std::filesystem::path(path) : abs).parent_path().string();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        out.result.errors.push_back({path, 0, 0, std::string("cannot read: ") + std::strerror(errno)});
        return out;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    out.result = conf::parse(ss.str(), path, out.base_dir, overrides);
    return out;
}

}  // namespace pg::app
