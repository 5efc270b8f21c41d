// SPDX-License-Identifier: Apache-2.0
// Argon2id PHC strings: a pure parser and formatter.
//
// Owns: the PhcHash value type, the bounds a stored hash must respect (PhcLimits),
// and the unpadded base64 of the PHC string format. Must not: hash, do I/O, log,
// or keep state; every function may be called from any thread at once.
//
// Format (the one libargon2's argon2id_hash_encoded and the `argon2` CLI print; the
// PHC string format, github.com/P-H-C/phc-string-format, phc-sf-spec.md):
//
//   $argon2id$v=19$m=<memory KiB>,t=<passes>,p=<lanes>$<salt b64>$<hash b64>
//
// Only argon2id version 19 (0x13, RFC 9106) is accepted: argon2i and argon2d are
// refused (RFC 9106 §4 recommends id), and so is version 16 (0x10, Argon2 1.0, which
// RFC 9106 does not describe and which argon2id_hash_raw cannot compute). Parameters
// come in the order m, t, p, each once, as canonical decimal (no sign, no leading
// zero); base64 is the standard alphabet without padding, with zero trailing bits.
// So an accepted string is canonical: format_phc(parse_phc(s)) == s.
//
// Why bounds: a users file (or, later, a synced verifier) chooses the cost of every
// verification the daemon runs for it. Without a cap, one line with m=4194304 (4 GiB)
// or t=4294967295 makes each login attempt exhaust memory or a pool thread; so the
// parser refuses costs above PhcLimits before anything is hashed. The defaults allow
// RFC 9106 §4's second recommended option (m=64 MiB, t=3, p=4) and OWASP's argon2id
// table (m=19 MiB t=2 ... m=46 MiB t=1), and cap the worst case near one second of
// one core on this class of machine (m=256 MiB, t=4 measured at 1.2 s).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/passwd/error.hpp"

namespace pg::auth {

// Argon2 cost parameters, in the units of the PHC string.
struct Argon2Params {
    std::uint32_t memory_kib = 0;   // m: memory in KiB (1 KiB blocks)
    std::uint32_t time_cost = 0;    // t: passes over memory
    std::uint32_t parallelism = 0;  // p: lanes (libargon2 runs one thread per lane)
    friend bool operator==(const Argon2Params&, const Argon2Params&) = default;
};

// A parsed argon2id v19 PHC string.
struct PhcHash {
    Argon2Params params;
    std::vector<std::byte> salt;
    std::vector<std::byte> hash;
    friend bool operator==(const PhcHash&, const PhcHash&) = default;
};

// libargon2's own minima (argon2.h), enforced whatever the limits say, so that every
// accepted hash can be computed: t >= 1, p >= 1, m >= 8 * p, salt >= 8 bytes,
// tag >= 4 bytes.
inline constexpr std::uint32_t kArgon2MinBlocksPerLane = 8;
inline constexpr std::size_t kArgon2MinSaltBytes = 8;
inline constexpr std::size_t kArgon2MinHashBytes = 4;
// Longest PHC string parse_phc looks at; longer input is refused before parsing.
// The longest string the default limits allow is about 210 bytes.
inline constexpr std::size_t kMaxPhcLength = 512;

// Upper bounds (and policy minima) for a stored hash. The defaults are the bounds
// documented in docs/authentication.md.
struct PhcLimits {
    std::uint32_t max_memory_kib = 262144;  // 256 MiB per verification
    std::uint32_t max_time_cost = 16;
    std::uint32_t max_parallelism = 8;      // threads per verification
    std::uint64_t max_work_kib = 1048576;   // t * m: 1 GiB of memory passes
    std::size_t min_salt_bytes = 8;         // raised to kArgon2MinSaltBytes if lower
    std::size_t max_salt_bytes = 64;
    std::size_t min_hash_bytes = 16;        // shorter tags are guessable offline; raised to 4 if lower
    std::size_t max_hash_bytes = 64;
};

// Parses one PHC string (no surrounding whitespace, no newline). Errors carry
// `column`, the 1-based byte offset of the offending field, and line 0:
//   phc_syntax             wrong shape, missing or extra '$' / ',' / key
//   unsupported_algorithm  $argon2i$, $argon2d$, $2y$, ...
//   unsupported_version    v= missing or not 19
//   bad_number             a parameter value that is not canonical decimal or > 2^32-1
//   out_of_bounds          m, t, p, t*m, salt or hash length outside `limits` or
//                          libargon2's minima; input longer than kMaxPhcLength
//   bad_base64             salt or hash not canonical unpadded base64
ParseResult<PhcHash> parse_phc(std::string_view text, const PhcLimits& limits = {});

// Checks cost parameters against `limits` and libargon2's minima (the checks
// parse_phc applies). Returns out_of_bounds with a short message, else ok.
// `message` may be null.
boost::system::error_code check_params(const Argon2Params& params, const PhcLimits& limits,
                                       std::string* message = nullptr);

// Formats `h` as a PHC string. Precondition: salt and hash are not empty. Does not
// check bounds: a value from parse_phc or hash_password round-trips exactly.
std::string format_phc(const PhcHash& h);

// The PHC string format's base64: standard alphabet, no padding. decode refuses
// any other character, a length of 4k+1, and non-zero trailing bits.
std::string encode_base64_unpadded(std::span<const std::byte> bytes);
std::optional<std::vector<std::byte>> decode_base64_unpadded(std::string_view text);

}  // namespace pg::auth
