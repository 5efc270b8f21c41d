// SPDX-License-Identifier: Apache-2.0
// printgate crypto primitives over OpenSSL 3: random bytes, AES-256-GCM sealed
// segments (a STREAM-style construction), key wrapping and key derivation.
//
// Owns: every call into libcrypto for data at rest. Must not: do file I/O, log,
// or keep secrets beyond the objects that own them (Key wipes itself).
//
// Segment format (see docs/job-states.md, "At rest"): a stream of plaintext is cut
// into segments of kSegmentSize bytes; the last one may be shorter (even empty,
// for a 0-byte document). Each segment is sealed with the job's data key as
//   ciphertext(len) || tag(16)
// under the 12-byte nonce  stream(1) || index(8, big-endian) || final(1) || 0x0000
// and the AAD  "printgate-seg-v1" || job_id(8, big-endian) || stream(1).
// The key is unique per job, so nonces never repeat under one key; the job id,
// index and final flag bind each segment to its place, so reordering, truncation at
// a segment boundary, extension and bit flips all fail authentication.
//
// Only the final segment may be shorter than kSegmentSize, and it is empty only
// when the whole plaintext is empty: a plaintext of k * kSegmentSize bytes (k >= 1)
// is exactly k full segments, the k-th flagged final. A writer that does not know
// the length in advance therefore holds back one full segment until it sees more
// input or the end.
//
// Errors: opening never says why data is not authentic. Any defect in sealed input
// (bit flip, wrong place, wrong key, impossible length) is authentication_failed;
// bad_length is for shape arithmetic and for plaintext the caller should not pass.
//
// Threads: every function may be called from any thread at once. Each thread keeps
// one reusable cipher context (thread_local); it is re-keyed with zeros after every
// operation, so no key schedule outlives the call that used it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <boost/system/result.hpp>

namespace pg::crypto {

template <class T>
using Result = boost::system::result<T>;

enum class errc {
    ok = 0,
    rng_failed = 1,        // the OS random source failed
    cipher_failed,         // OpenSSL refused an operation (should not happen)
    authentication_failed, // tag mismatch: tampered, truncated, reordered or wrong key
    bad_length,            // input size impossible for the format
};
const boost::system::error_category& category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), category()};
}

inline constexpr std::size_t kKeySize = 32;
inline constexpr std::size_t kTagSize = 16;
inline constexpr std::size_t kNonceSize = 12;
inline constexpr std::size_t kSegmentSize = 64 * 1024;
inline constexpr std::size_t kSealedSegmentSize = kSegmentSize + kTagSize;
// wrap_key output: nonce(12) || sealed key(32) || tag(16)
inline constexpr std::size_t kWrappedKeySize = kNonceSize + kKeySize + kTagSize;

// A 256-bit secret key. Wiped with OPENSSL_cleanse on destruction and move.
class Key {
public:
    Key() = default;
    explicit Key(std::span<const std::byte, kKeySize> bytes);
    Key(const Key&) = default;
    Key& operator=(const Key&) = default;
    // Moves copy the bytes and wipe the source (it becomes the all-zero key).
    Key(Key&& other) noexcept;
    Key& operator=(Key&& other) noexcept;
    ~Key();
    std::span<const std::byte, kKeySize> bytes() const { return bytes_; }
    std::span<std::byte, kKeySize> mutable_bytes() { return bytes_; }

private:
    std::array<std::byte, kKeySize> bytes_{};
};

// Fills `out` from the OS CSPRNG (RAND_bytes).
Result<void> random_bytes(std::span<std::byte> out);
Result<Key> random_key();

// HKDF-SHA256(master, info) -> 32-byte subkey. `info` names the purpose
// ("printgate key-wrap v1", ...), so one master key yields independent keys.
// Salt "printgate-hkdf-v1". bad_length if info exceeds 1024 bytes (OpenSSL's limit).
Result<Key> derive_key(const Key& master, std::string_view info);

// The AES-256-GCM primitive under the segment format, exposed for known-answer
// tests and key wrapping. aead_seal writes ciphertext || tag (plaintext.size() +
// kTagSize bytes) to `out`, resized once; `plaintext` must not alias `out`.
// bad_length if plaintext or aad exceeds INT_MAX bytes. The caller guarantees that
// a nonce is never reused under one key.
Result<void> aead_seal(const Key& key, std::span<const std::byte, kNonceSize> nonce,
                       std::span<const std::byte> aad, std::span<const std::byte> plaintext,
                       std::vector<std::byte>& out);
// Opens ciphertext || tag into `out` (resized to sealed.size() - kTagSize).
// authentication_failed on tag mismatch or when sealed.size() < kTagSize; `out` is
// then wiped and cleared.
Result<void> aead_open(const Key& key, std::span<const std::byte, kNonceSize> nonce,
                       std::span<const std::byte> aad, std::span<const std::byte> sealed,
                       std::vector<std::byte>& out);

// Seals one segment: writes plaintext.size() + kTagSize bytes to `out` (resized;
// reusing one `out` across calls avoids reallocating). `plaintext` must not alias
// `out`. bad_length if plaintext.size() > kSegmentSize.
Result<void> seal_segment(const Key& data_key, std::uint64_t job_id, std::uint8_t stream,
                          std::uint64_t index, bool final, std::span<const std::byte> plaintext,
                          std::vector<std::byte>& out);

// Opens one sealed segment (ciphertext || tag) into `out` (resized to the plaintext
// size). authentication_failed on any mismatch, including a sealed size outside
// [kTagSize, kSealedSegmentSize]; `out` is then wiped and cleared.
Result<void> open_segment(const Key& data_key, std::uint64_t job_id, std::uint8_t stream,
                          std::uint64_t index, bool final, std::span<const std::byte> sealed,
                          std::vector<std::byte>& out);

// Number of sealed segments in a sealed stream of `sealed_size` bytes, and the
// plaintext size; bad_length when no plaintext size maps to that many bytes:
// 0 bytes, a last segment of 1..15 bytes, or an empty last segment after a full one.
struct StreamShape {
    std::uint64_t segments = 0;
    std::uint64_t plaintext_size = 0;
};
Result<StreamShape> shape_of_sealed(std::uint64_t sealed_size);
// The sealed size of a plaintext of `plaintext_size` bytes (at least one segment).
// Precondition: the result fits in 64 bits (plaintext_size < 2^63 is plenty).
std::uint64_t sealed_size_of(std::uint64_t plaintext_size);

// Seals a whole small buffer (metadata) as one stream; returns the sealed bytes
// (sealed_size_of(plaintext.size()) of them). open_all reverses it; any defect,
// including a size shape_of_sealed rejects, is authentication_failed.
Result<std::vector<std::byte>> seal_all(const Key& data_key, std::uint64_t job_id,
                                        std::uint8_t stream, std::span<const std::byte> plaintext);
Result<std::vector<std::byte>> open_all(const Key& data_key, std::uint64_t job_id,
                                        std::uint8_t stream, std::span<const std::byte> sealed);

// Wraps a data key under a key-encryption key, bound to `job_id` through the AAD
// ("printgate-wrap-v1" || job_id). Random nonce. Output kWrappedKeySize bytes.
// unwrap_key: authentication_failed on any defect, a wrong length included.
Result<std::vector<std::byte>> wrap_key(const Key& kek, std::uint64_t job_id, const Key& data_key);
Result<Key> unwrap_key(const Key& kek, std::uint64_t job_id, std::span<const std::byte> wrapped);

// Streaming SHA-256 of a document (duplicate detection; never a key or a MAC).
class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    void update(std::span<const std::byte> data);
    // Lower-case hex of the digest; the object is spent afterwards.
    std::string hex_final();

private:
    void* ctx_ = nullptr;  // EVP_MD_CTX
};

}  // namespace pg::crypto

template <>
struct boost::system::is_error_code_enum<pg::crypto::errc> : std::true_type {};
