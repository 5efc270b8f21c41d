// SPDX-License-Identifier: Apache-2.0
// Argon2id PHC string parser and formatter (see phc.hpp for the format and bounds).
//
// Owns: the field-by-field reading of a PHC string and its base64. Must not: call
// libargon2 (its decoder accepts parameters we refuse, and the fuzz target links this
// file without hashing), allocate more than the input's size, or echo input in errors.

#include "auth/passwd/phc.hpp"

#include <algorithm>
#include <array>
#include <limits>

namespace pg::auth {

namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_decode_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (std::size_t i = 0; i < kAlphabet.size(); ++i)
        t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto kDecode = make_decode_table();

ParseError error_at(errc code, std::size_t offset, std::string message) {
    return ParseError{make_error_code(code), 0, offset + 1, std::move(message)};
}

// Canonical PHC decimal: [1-9][0-9]* or "0", at most 32 bits.
std::optional<std::uint32_t> parse_decimal(std::string_view s) {
    if (s.empty() || s.size() > 10) return std::nullopt;
    if (s.size() > 1 && s[0] == '0') return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v > std::numeric_limits<std::uint32_t>::max()) return std::nullopt;
    return static_cast<std::uint32_t>(v);
}

// Reads the field that starts at `pos` and ends before the next '$' (or the end).
std::string_view field_at(std::string_view text, std::size_t pos) {
    const std::size_t end = text.find('$', pos);
    return text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
}

struct ParamField {
    char key;
    std::string_view what;
};
constexpr std::array<ParamField, 3> kParamOrder{{{'m', "memory"}, {'t', "time cost"}, {'p', "parallelism"}}};

// Which parameter (index into kParamOrder) breaks the bounds, and why.
struct ParamProblem {
    std::size_t which;
    std::string message;
};
std::optional<ParamProblem> find_param_problem(const Argon2Params& params, const PhcLimits& limits) {
    if (params.parallelism < 1 || params.parallelism > limits.max_parallelism)
        return ParamProblem{2, "p (parallelism) must be 1.." + std::to_string(limits.max_parallelism)};
    if (params.time_cost < 1 || params.time_cost > limits.max_time_cost)
        return ParamProblem{1, "t (time cost) must be 1.." + std::to_string(limits.max_time_cost)};
    const std::uint64_t min_memory = std::uint64_t{kArgon2MinBlocksPerLane} * params.parallelism;
    if (params.memory_kib < min_memory || params.memory_kib > limits.max_memory_kib)
        return ParamProblem{0, "m (memory KiB) must be " + std::to_string(min_memory) + " (8 per lane).." +
                                   std::to_string(limits.max_memory_kib)};
    if (std::uint64_t{params.time_cost} * params.memory_kib > limits.max_work_kib)
        return ParamProblem{1, "t * m exceeds " + std::to_string(limits.max_work_kib) + " KiB"};
    return std::nullopt;
}

}  // namespace

std::string encode_base64_unpadded(std::span<const std::byte> bytes) {
    std::string out;
    out.reserve((bytes.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = std::to_integer<std::uint32_t>(bytes[i]) << 16 |
                                std::to_integer<std::uint32_t>(bytes[i + 1]) << 8 |
                                std::to_integer<std::uint32_t>(bytes[i + 2]);
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += kAlphabet[v >> 6 & 63];
        out += kAlphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = std::to_integer<std::uint32_t>(bytes[i]) << 16;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
    } else if (rest == 2) {
        const std::uint32_t v = std::to_integer<std::uint32_t>(bytes[i]) << 16 |
                                std::to_integer<std::uint32_t>(bytes[i + 1]) << 8;
        out += kAlphabet[v >> 18 & 63];
        out += kAlphabet[v >> 12 & 63];
        out += kAlphabet[v >> 6 & 63];
    }
    return out;
}

std::optional<std::vector<std::byte>> decode_base64_unpadded(std::string_view text) {
    if (text.size() % 4 == 1) return std::nullopt;
    std::vector<std::byte> out;
    out.reserve(text.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : text) {
        const std::int8_t d = kDecode[static_cast<unsigned char>(c)];
        if (d < 0) return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(d);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<std::byte>(acc >> bits & 0xFF));
            acc &= (1u << bits) - 1;
        }
    }
    // 2 or 4 bits left over after a partial group: they must be zero, or two
    // strings would decode to the same bytes and the format would not round-trip.
    if (acc != 0) return std::nullopt;
    return out;
}

boost::system::error_code check_params(const Argon2Params& params, const PhcLimits& limits,
                                       std::string* message) {
    auto problem = find_param_problem(params, limits);
    if (!problem) return {};
    if (message) *message = std::move(problem->message);
    return make_error_code(errc::out_of_bounds);
}

ParseResult<PhcHash> parse_phc(std::string_view text, const PhcLimits& limits) {
    if (text.size() > kMaxPhcLength)
        return error_at(errc::out_of_bounds, 0,
                        "hash string longer than " + std::to_string(kMaxPhcLength) + " bytes");
    if (text.empty() || text[0] != '$')
        return error_at(errc::phc_syntax, 0, "hash must start with '$argon2id$'");

    // Algorithm id.
    std::size_t pos = 1;
    const std::string_view id = field_at(text, pos);
    if (id != "argon2id") {
        if (id == "argon2i" || id == "argon2d")
            return error_at(errc::unsupported_algorithm, pos, "argon2i and argon2d are not accepted: use argon2id");
        return error_at(errc::unsupported_algorithm, pos, "hash algorithm is not argon2id");
    }
    pos += id.size();
    if (pos >= text.size()) return error_at(errc::phc_syntax, pos, "missing '$v=19' after '$argon2id'");
    ++pos;

    // Version. Argon2 1.0 strings have no v= (libargon2 prints v=16 when asked for it).
    const std::string_view version = field_at(text, pos);
    if (version.substr(0, 2) != "v=")
        return error_at(errc::unsupported_version, pos, "missing 'v=19' (only argon2 version 1.3 is accepted)");
    const auto v = parse_decimal(version.substr(2));
    if (!v) return error_at(errc::bad_number, pos + 2, "version is not a decimal number");
    if (*v != 19) return error_at(errc::unsupported_version, pos, "version must be 19 (argon2 1.3)");
    pos += version.size();
    if (pos >= text.size()) return error_at(errc::phc_syntax, pos, "missing '$m=..,t=..,p=..' after version");
    ++pos;

    // Parameters, exactly m, t, p in this order (the order libargon2 writes and reads).
    const std::string_view params = field_at(text, pos);
    std::array<std::uint32_t, 3> values{};
    std::array<std::size_t, 3> columns{};
    std::size_t at = 0;
    for (std::size_t i = 0; i < kParamOrder.size(); ++i) {
        const auto& p = kParamOrder[i];
        if (i > 0) {
            if (at >= params.size() || params[at] != ',')
                return error_at(errc::phc_syntax, pos + at, "expected ',' between parameters m,t,p");
            ++at;
        }
        if (params.size() - at < 2 || params[at] != p.key || params[at + 1] != '=')
            return error_at(errc::phc_syntax, pos + at,
                            std::string("expected '") + p.key + "=' (parameters are m,t,p in this order)");
        at += 2;
        const std::size_t end = std::min(params.find(',', at), params.size());
        const auto value = parse_decimal(params.substr(at, end - at));
        if (!value)
            return error_at(errc::bad_number, pos + at,
                            std::string(p.what) + " is not a decimal number below 2^32");
        values[i] = *value;
        columns[i] = pos + at - 2;
        at = end;
    }
    if (at != params.size())
        return error_at(errc::phc_syntax, pos + at, "unexpected text after p= (no other parameters are accepted)");
    const Argon2Params cost{values[0], values[1], values[2]};
    if (auto problem = find_param_problem(cost, limits))
        return error_at(errc::out_of_bounds, columns[problem->which], std::move(problem->message));
    pos += params.size();
    if (pos >= text.size()) return error_at(errc::phc_syntax, pos, "missing '$salt' after parameters");
    ++pos;

    // Salt and hash.
    const std::string_view salt_b64 = field_at(text, pos);
    const std::size_t salt_pos = pos;
    pos += salt_b64.size();
    if (pos >= text.size()) return error_at(errc::phc_syntax, pos, "missing '$hash' after salt");
    ++pos;
    const std::string_view hash_b64 = text.substr(pos);
    if (const auto extra = hash_b64.find('$'); extra != std::string_view::npos)
        return error_at(errc::phc_syntax, pos + extra, "unexpected '$' after hash");

    auto salt = decode_base64_unpadded(salt_b64);
    if (!salt) return error_at(errc::bad_base64, salt_pos, "salt is not unpadded standard base64");
    const std::size_t min_salt = std::max(limits.min_salt_bytes, kArgon2MinSaltBytes);
    if (salt->size() < min_salt || salt->size() > limits.max_salt_bytes)
        return error_at(errc::out_of_bounds, salt_pos,
                        "salt must be " + std::to_string(min_salt) + ".." +
                            std::to_string(limits.max_salt_bytes) + " bytes");
    auto hash = decode_base64_unpadded(hash_b64);
    if (!hash) return error_at(errc::bad_base64, pos, "hash is not unpadded standard base64");
    const std::size_t min_hash = std::max(limits.min_hash_bytes, kArgon2MinHashBytes);
    if (hash->size() < min_hash || hash->size() > limits.max_hash_bytes)
        return error_at(errc::out_of_bounds, pos,
                        "hash must be " + std::to_string(min_hash) + ".." +
                            std::to_string(limits.max_hash_bytes) + " bytes");

    return PhcHash{cost, std::move(*salt), std::move(*hash)};
}

std::string format_phc(const PhcHash& h) {
    std::string out = "$argon2id$v=19$m=";
    out += std::to_string(h.params.memory_kib);
    out += ",t=";
    out += std::to_string(h.params.time_cost);
    out += ",p=";
    out += std::to_string(h.params.parallelism);
    out += '$';
    out += encode_base64_unpadded(h.salt);
    out += '$';
    out += encode_base64_unpadded(h.hash);
    return out;
}

}  // namespace pg::auth
