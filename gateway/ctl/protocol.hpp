// SPDX-License-Identifier: Apache-2.0
// The control socket protocol between printgatectl and printgated.
//
// Request: one line of JSON, at most kMaxRequest bytes: {"cmd":"jobs"} ...
// Reply: frames of  type(1) || length(4, big-endian) || payload
//   'J' JSON reply (ends the exchange)
//   'D' document bytes (cat), any number, each authenticated before it is sent
//   'Z' end of document, payload JSON {"size":N} (ends the exchange)
//   'E' error, payload JSON {"error":"...","code":"..."} (ends the exchange)
// The socket is 0600 under state_dir: whoever can open it is an administrator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pg::ctl {

inline constexpr std::size_t kMaxRequest = 4096;
inline constexpr std::size_t kMaxFrame = 16u << 20;
inline constexpr char kJson = 'J';
inline constexpr char kData = 'D';
inline constexpr char kEnd = 'Z';
inline constexpr char kError = 'E';

}  // namespace pg::ctl
