// SPDX-License-Identifier: Apache-2.0
// printgate crypto primitives over OpenSSL 3 (EVP): CSPRNG, AES-256-GCM sealed
// segments, HKDF-SHA256 key derivation and key wrapping.
//
// Owns: every libcrypto call for data at rest, and the per-thread cipher context.
// Must not: do file I/O, log, throw, or leave key material behind after a call.
//
// Design note: the hot path.
// seal_segment/open_segment run on 64 KiB segments at GB/s, so a segment is about
// 15-30 us of AES-NI/CLMUL work. Creating an EVP_CIPHER_CTX and initialising it
// with EVP_aes_256_gcm() per call costs an implicit provider fetch (a lock and a
// hash lookup) and two allocations; that is measurable at this rate. Each thread
// therefore keeps one context, bound to the cipher once. Every later call passes a
// null cipher to EVP_CipherInit_ex, which keeps the provider context and only runs
// the key schedule and IV setup (OpenSSL 3 evp_cipher_init_internal: a non-null
// cipher would reset and re-fetch).
//
// Keeping a context must not keep a key: the header promises that secrets live
// only in the objects that own them. After each operation the context is re-keyed
// with the all-zero key, which overwrites the AES round keys and the GHASH table
// (the only key-derived state the GCM provider holds; it never stores the raw key).
// That costs one key schedule and one block encryption, far below a segment's work.
//
// Output buffers are resized exactly once per call and written in place; a caller
// that reuses one `out` vector pays no allocation and no zero-fill after the first
// segment. Decryption writes unauthenticated plaintext into `out` before the tag is
// checked (GCM checks at the end); on failure `out` is wiped with OPENSSL_cleanse
// before it is cleared, so nothing unauthenticated or partial stays readable.
//
// Tag comparison is OpenSSL's: the GCM provider compares with CRYPTO_memcmp, in
// constant time (providers/implementations/ciphers/ciphercommon_gcm.c).

#include "auth/crypto/crypto.hpp"

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <string>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

namespace pg::crypto {

namespace {

// ---------------------------------------------------------------------------
// Error category

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "pg.crypto"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
            case errc::ok: return "success";
            case errc::rng_failed: return "the OS random source failed";
            case errc::cipher_failed: return "the cipher library refused an operation";
            case errc::authentication_failed:
                return "authentication failed: data tampered, truncated, reordered or wrong key";
            case errc::bad_length: return "input size impossible for the format";
        }
        return "unknown pg.crypto error";
    }
};

// ---------------------------------------------------------------------------
// RAII for libcrypto objects

struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* p) const noexcept { EVP_CIPHER_CTX_free(p); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

struct KdfFree {
    void operator()(EVP_KDF* p) const noexcept { EVP_KDF_free(p); }
};
struct KdfCtxFree {
    void operator()(EVP_KDF_CTX* p) const noexcept { EVP_KDF_CTX_free(p); }
};

constexpr std::array<unsigned char, kKeySize> kZeroKey{};

// One GCM context per thread, bound to AES-256-GCM with no key (see design note).
// Returns null when OpenSSL cannot allocate or initialise it.
EVP_CIPHER_CTX* thread_cipher_ctx() {
    thread_local CipherCtxPtr ctx;
    if (!ctx) {
        ctx.reset(EVP_CIPHER_CTX_new());
        if (!ctx) {
            return nullptr;
        }
    }
    if (EVP_CIPHER_CTX_get0_cipher(ctx.get()) == nullptr) {
        // First use on this thread, or scrub() had to reset the context.
        if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, 1) != 1 ||
            EVP_CIPHER_CTX_get_iv_length(ctx.get()) != static_cast<int>(kNonceSize)) {
            EVP_CIPHER_CTX_reset(ctx.get());
            return nullptr;
        }
    }
    return ctx.get();
}

// Re-keys the thread context with zeros so no key schedule survives the call. If
// that fails, the context is reset instead: the provider's freectx cleanses the
// whole GCM state, and thread_cipher_ctx() binds the cipher again next time.
void scrub(EVP_CIPHER_CTX* ctx) {
    if (EVP_CipherInit_ex(ctx, nullptr, nullptr, kZeroKey.data(), nullptr, 1) != 1) {
        EVP_CIPHER_CTX_reset(ctx);
    }
}

const unsigned char* uc(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

bool fits_int(std::size_t n) { return n <= static_cast<std::size_t>(INT_MAX); }

// AES-256-GCM seal of `pt` into out[0, pt.size()) and the tag into
// out[pt.size(), pt.size() + kTagSize). `out` must have room and not alias `pt`.
Result<void> gcm_seal_raw(const Key& key, const std::byte* nonce, std::span<const std::byte> aad,
                          std::span<const std::byte> pt, std::byte* out) {
    if (!fits_int(pt.size()) || !fits_int(aad.size())) {
        return errc::bad_length;
    }
    EVP_CIPHER_CTX* ctx = thread_cipher_ctx();
    if (ctx == nullptr) {
        return errc::cipher_failed;
    }
    bool ok = EVP_CipherInit_ex(ctx, nullptr, nullptr, uc(key.bytes().data()), uc(nonce), 1) == 1;
    int len = 0;
    if (ok && !aad.empty()) {
        ok = EVP_EncryptUpdate(ctx, nullptr, &len, uc(aad.data()), static_cast<int>(aad.size())) == 1;
    }
    if (ok && !pt.empty()) {
        ok = EVP_EncryptUpdate(ctx, uc(out), &len, uc(pt.data()), static_cast<int>(pt.size())) == 1 &&
             static_cast<std::size_t>(len) == pt.size();
    }
    if (ok) {
        // GCM is a stream mode: Final writes nothing, it computes the tag.
        ok = EVP_EncryptFinal_ex(ctx, uc(out + pt.size()), &len) == 1 && len == 0;
    }
    if (ok) {
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagSize),
                                 out + pt.size()) == 1;
    }
    scrub(ctx);
    if (!ok) {
        OPENSSL_cleanse(out, pt.size() + kTagSize);
        return errc::cipher_failed;
    }
    return {};
}

// AES-256-GCM open of `ct` with `tag` into out[0, ct.size()). On any failure
// out[0, ct.size()) is wiped. `out` must have room and not alias `ct`.
Result<void> gcm_open_raw(const Key& key, const std::byte* nonce, std::span<const std::byte> aad,
                          std::span<const std::byte> ct, const std::byte* tag, std::byte* out) {
    if (!fits_int(ct.size()) || !fits_int(aad.size())) {
        return errc::authentication_failed;
    }
    EVP_CIPHER_CTX* ctx = thread_cipher_ctx();
    if (ctx == nullptr) {
        return errc::cipher_failed;
    }
    // The tag ctrl takes a non-const pointer; hand it a copy.
    std::array<std::byte, kTagSize> tag_copy;
    std::memcpy(tag_copy.data(), tag, kTagSize);

    errc failure = errc::cipher_failed;
    bool ok = EVP_CipherInit_ex(ctx, nullptr, nullptr, uc(key.bytes().data()), uc(nonce), 0) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagSize),
                                  tag_copy.data()) == 1;
    int len = 0;
    if (ok && !aad.empty()) {
        ok = EVP_DecryptUpdate(ctx, nullptr, &len, uc(aad.data()), static_cast<int>(aad.size())) == 1;
    }
    if (ok && !ct.empty()) {
        ok = EVP_DecryptUpdate(ctx, uc(out), &len, uc(ct.data()), static_cast<int>(ct.size())) == 1 &&
             static_cast<std::size_t>(len) == ct.size();
    }
    if (ok) {
        // Final compares the computed tag with tag_copy (CRYPTO_memcmp).
        std::byte none[1];
        ok = EVP_DecryptFinal_ex(ctx, uc(none), &len) == 1;
        if (!ok) {
            failure = errc::authentication_failed;
        }
    }
    scrub(ctx);
    if (!ok) {
        OPENSSL_cleanse(out, ct.size());
        return failure;
    }
    return {};
}

// ---------------------------------------------------------------------------
// Segment nonce and AAD (layouts in crypto.hpp)

constexpr std::string_view kSegmentAadLabel = "printgate-seg-v1";
constexpr std::string_view kWrapAadLabel = "printgate-wrap-v1";
constexpr std::string_view kHkdfSalt = "printgate-hkdf-v1";
constexpr std::size_t kSegmentAadSize = kSegmentAadLabel.size() + 8 + 1;
constexpr std::size_t kWrapAadSize = kWrapAadLabel.size() + 8;
constexpr std::size_t kMaxInfoSize = 1024;

void put_be64(std::byte* p, std::uint64_t v) {
    for (int i = 7; i >= 0; --i) {
        p[i] = static_cast<std::byte>(v & 0xff);
        v >>= 8;
    }
}

void copy_label(std::byte* p, std::string_view label) {
    std::memcpy(p, label.data(), label.size());
}

// stream(1) || index(8, big-endian) || final(1) || 0x0000
std::array<std::byte, kNonceSize> segment_nonce(std::uint8_t stream, std::uint64_t index,
                                                bool final) {
    std::array<std::byte, kNonceSize> n{};
    n[0] = static_cast<std::byte>(stream);
    put_be64(n.data() + 1, index);
    n[9] = final ? std::byte{1} : std::byte{0};
    return n;
}

// "printgate-seg-v1" || job_id(8, big-endian) || stream(1)
std::array<std::byte, kSegmentAadSize> segment_aad(std::uint64_t job_id, std::uint8_t stream) {
    std::array<std::byte, kSegmentAadSize> a{};
    copy_label(a.data(), kSegmentAadLabel);
    put_be64(a.data() + kSegmentAadLabel.size(), job_id);
    a[kSegmentAadLabel.size() + 8] = static_cast<std::byte>(stream);
    return a;
}

// "printgate-wrap-v1" || job_id(8, big-endian)
std::array<std::byte, kWrapAadSize> wrap_aad(std::uint64_t job_id) {
    std::array<std::byte, kWrapAadSize> a{};
    copy_label(a.data(), kWrapAadLabel);
    put_be64(a.data() + kWrapAadLabel.size(), job_id);
    return a;
}

// Segment i of a plaintext of `size` bytes: [i * kSegmentSize, min(size, ...)).
std::uint64_t segment_count(std::uint64_t plaintext_size) {
    return plaintext_size == 0 ? 1 : (plaintext_size + kSegmentSize - 1) / kSegmentSize;
}

void wipe_and_clear(std::vector<std::byte>& v) {
    if (!v.empty()) {
        OPENSSL_cleanse(v.data(), v.size());
    }
    v.clear();
}

}  // namespace

const boost::system::error_category& category() noexcept {
    static const Category instance;
    return instance;
}

// ---------------------------------------------------------------------------
// Key

Key::Key(std::span<const std::byte, kKeySize> bytes) {
    std::copy(bytes.begin(), bytes.end(), bytes_.begin());
}

Key::Key(Key&& other) noexcept : bytes_(other.bytes_) {
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
}

Key& Key::operator=(Key&& other) noexcept {
    if (this != &other) {
        bytes_ = other.bytes_;
        OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
    }
    return *this;
}

Key::~Key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

// ---------------------------------------------------------------------------
// Randomness and derivation

Result<void> random_bytes(std::span<std::byte> out) {
    // RAND_bytes takes an int length; feed it in chunks.
    constexpr std::size_t kChunk = 1u << 30;
    while (!out.empty()) {
        std::size_t n = std::min(out.size(), kChunk);
        if (RAND_bytes(uc(out.data()), static_cast<int>(n)) != 1) {
            return errc::rng_failed;
        }
        out = out.subspan(n);
    }
    return {};
}

Result<Key> random_key() {
    Key key;
    if (auto r = random_bytes(key.mutable_bytes()); !r) {
        return r.error();
    }
    return key;
}

Result<Key> derive_key(const Key& master, std::string_view info) {
    if (info.size() > kMaxInfoSize) {
        return errc::bad_length;
    }
    std::unique_ptr<EVP_KDF, KdfFree> kdf(EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr));
    if (!kdf) {
        return errc::cipher_failed;
    }
    std::unique_ptr<EVP_KDF_CTX, KdfCtxFree> kctx(EVP_KDF_CTX_new(kdf.get()));
    if (!kctx) {
        return errc::cipher_failed;
    }
    // OSSL_PARAM wants non-const pointers but only reads them here. An empty
    // string_view may have a null data(); give the octet-string param a real address.
    static constexpr char kEmpty[1] = {};
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_KEY, const_cast<std::byte*>(master.bytes().data()), kKeySize),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                          const_cast<char*>(kHkdfSalt.data()), kHkdfSalt.size()),
        OSSL_PARAM_construct_octet_string(
            OSSL_KDF_PARAM_INFO, const_cast<char*>(info.empty() ? kEmpty : info.data()),
            info.size()),
        OSSL_PARAM_construct_end(),
    };
    Key out;
    if (EVP_KDF_derive(kctx.get(), uc(out.mutable_bytes().data()), kKeySize, params) != 1) {
        return errc::cipher_failed;
    }
    return out;
}

// ---------------------------------------------------------------------------
// AEAD primitive

Result<void> aead_seal(const Key& key, std::span<const std::byte, kNonceSize> nonce,
                       std::span<const std::byte> aad, std::span<const std::byte> plaintext,
                       std::vector<std::byte>& out) {
    if (!fits_int(plaintext.size()) || !fits_int(aad.size())) {
        return errc::bad_length;
    }
    out.resize(plaintext.size() + kTagSize);
    auto r = gcm_seal_raw(key, nonce.data(), aad, plaintext, out.data());
    if (!r) {
        out.clear();
    }
    return r;
}

Result<void> aead_open(const Key& key, std::span<const std::byte, kNonceSize> nonce,
                       std::span<const std::byte> aad, std::span<const std::byte> sealed,
                       std::vector<std::byte>& out) {
    if (sealed.size() < kTagSize) {
        wipe_and_clear(out);
        return errc::authentication_failed;
    }
    const std::size_t ct_size = sealed.size() - kTagSize;
    out.resize(ct_size);
    auto r = gcm_open_raw(key, nonce.data(), aad, sealed.first(ct_size), sealed.data() + ct_size,
                          out.data());
    if (!r) {
        wipe_and_clear(out);  // also covers a prefix left from an earlier use of `out`
    }
    return r;
}

// ---------------------------------------------------------------------------
// Segments

Result<void> seal_segment(const Key& data_key, std::uint64_t job_id, std::uint8_t stream,
                          std::uint64_t index, bool final, std::span<const std::byte> plaintext,
                          std::vector<std::byte>& out) {
    if (plaintext.size() > kSegmentSize) {
        return errc::bad_length;
    }
    const auto nonce = segment_nonce(stream, index, final);
    const auto aad = segment_aad(job_id, stream);
    return aead_seal(data_key, nonce, aad, plaintext, out);
}

Result<void> open_segment(const Key& data_key, std::uint64_t job_id, std::uint8_t stream,
                          std::uint64_t index, bool final, std::span<const std::byte> sealed,
                          std::vector<std::byte>& out) {
    if (sealed.size() > kSealedSegmentSize) {
        wipe_and_clear(out);
        return errc::authentication_failed;
    }
    const auto nonce = segment_nonce(stream, index, final);
    const auto aad = segment_aad(job_id, stream);
    return aead_open(data_key, nonce, aad, sealed, out);
}

Result<StreamShape> shape_of_sealed(std::uint64_t sealed_size) {
    if (sealed_size == 0) {
        return errc::bad_length;
    }
    const std::uint64_t full = sealed_size / kSealedSegmentSize;
    const std::uint64_t rest = sealed_size % kSealedSegmentSize;
    StreamShape shape;
    if (rest == 0) {
        // An exact multiple: the last full segment is the final one.
        shape.segments = full;
    } else if (rest < kTagSize) {
        return errc::bad_length;  // a segment too short to hold its tag
    } else if (rest == kTagSize && full > 0) {
        return errc::bad_length;  // an empty final segment only for an empty stream
    } else {
        shape.segments = full + 1;
    }
    shape.plaintext_size = sealed_size - shape.segments * kTagSize;
    return shape;
}

std::uint64_t sealed_size_of(std::uint64_t plaintext_size) {
    return plaintext_size + segment_count(plaintext_size) * kTagSize;
}

Result<std::vector<std::byte>> seal_all(const Key& data_key, std::uint64_t job_id,
                                        std::uint8_t stream, std::span<const std::byte> plaintext) {
    const std::uint64_t segments = segment_count(plaintext.size());
    std::vector<std::byte> out(sealed_size_of(plaintext.size()));
    const auto aad = segment_aad(job_id, stream);
    for (std::uint64_t i = 0; i < segments; ++i) {
        const std::size_t begin = i * kSegmentSize;
        const std::size_t len = std::min<std::size_t>(kSegmentSize, plaintext.size() - begin);
        const auto nonce = segment_nonce(stream, i, i + 1 == segments);
        if (auto r = gcm_seal_raw(data_key, nonce.data(), aad, plaintext.subspan(begin, len),
                                  out.data() + i * kSealedSegmentSize);
            !r) {
            return r.error();
        }
    }
    return out;
}

Result<std::vector<std::byte>> open_all(const Key& data_key, std::uint64_t job_id,
                                        std::uint8_t stream, std::span<const std::byte> sealed) {
    auto shape = shape_of_sealed(sealed.size());
    if (!shape) {
        return errc::authentication_failed;  // truncated or extended mid-segment
    }
    std::vector<std::byte> out(shape->plaintext_size);
    const auto aad = segment_aad(job_id, stream);
    for (std::uint64_t i = 0; i < shape->segments; ++i) {
        const std::size_t begin = i * kSealedSegmentSize;
        const std::size_t len = std::min<std::size_t>(kSealedSegmentSize, sealed.size() - begin);
        const std::size_t ct_len = len - kTagSize;
        const auto nonce = segment_nonce(stream, i, i + 1 == shape->segments);
        if (auto r = gcm_open_raw(data_key, nonce.data(), aad, sealed.subspan(begin, ct_len),
                                  sealed.data() + begin + ct_len, out.data() + i * kSegmentSize);
            !r) {
            wipe_and_clear(out);
            return r.error();
        }
    }
    return out;
}

// ---------------------------------------------------------------------------
// Key wrapping

Result<std::vector<std::byte>> wrap_key(const Key& kek, std::uint64_t job_id, const Key& data_key) {
    std::vector<std::byte> out(kWrappedKeySize);
    if (auto r = random_bytes(std::span(out).first(kNonceSize)); !r) {
        return r.error();
    }
    const auto aad = wrap_aad(job_id);
    if (auto r = gcm_seal_raw(kek, out.data(), aad, data_key.bytes(), out.data() + kNonceSize); !r) {
        return r.error();
    }
    return out;
}

Result<Key> unwrap_key(const Key& kek, std::uint64_t job_id, std::span<const std::byte> wrapped) {
    if (wrapped.size() != kWrappedKeySize) {
        return errc::authentication_failed;
    }
    const auto aad = wrap_aad(job_id);
    Key key;  // decrypt straight into the Key so the secret never sits in a vector
    if (auto r = gcm_open_raw(kek, wrapped.data(), aad, wrapped.subspan(kNonceSize, kKeySize),
                              wrapped.data() + kNonceSize + kKeySize, key.mutable_bytes().data());
        !r) {
        return r.error();
    }
    return key;
}

Sha256::Sha256() {
    auto* ctx = EVP_MD_CTX_new();
    if (ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx);
        ctx = nullptr;
    }
    ctx_ = ctx;
}

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(std::span<const std::byte> data) {
    if (ctx_ != nullptr && !data.empty()) EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Sha256::hex_final() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (ctx_ == nullptr || EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &n) != 1) return {};
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(digits[md[i] >> 4]);
        out.push_back(digits[md[i] & 15]);
    }
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
    ctx_ = nullptr;
    return out;
}

}  // namespace pg::crypto
