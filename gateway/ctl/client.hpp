// SPDX-License-Identifier: Apache-2.0
// printgatectl's side of the control socket (blocking; a CLI needs nothing more).
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace pg::ctl {

struct Reply {
    char type = 0;        // kJson, kEnd or kError; 0 when the exchange broke
    std::string payload;  // JSON text
    std::string transport_error;
};

// Connects to `socket_path`, sends one request, and reads frames until the end.
// Data frames are passed to `on_data` (which returns false to stop).
Reply call(const std::string& socket_path, std::string_view request_json,
           const std::function<bool(std::string_view)>& on_data = {});

}  // namespace pg::ctl
