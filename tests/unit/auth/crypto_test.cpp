// SPDX-License-Identifier: Apache-2.0
// Unit tests for auth/crypto: AES-256-GCM known answers, the sealed segment format
// (round trips, tampering, stream shape), HKDF derivation and key wrapping.
//
// Known-answer sources:
// - AES-256-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)",
//   Appendix B, Test Cases 13-16 (the 256-bit key cases); also re-checked with
//   Python `cryptography` 38 (AESGCM) when these tests were written.
// - Segment layout, HKDF and wrap layout: computed with Python `cryptography`
//   (AESGCM, HKDF/SHA256) from the nonce/AAD/salt layouts in crypto.hpp, built
//   independently of crypto.cpp.
#include "auth/crypto/crypto.hpp"

#include <catch2/catch.hpp>

#include "tests/unit/test_bytes.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// Catch prints operands of failed checks; boost's result<T> streaming needs T to be
// streamable, so print only "value" or the error instead.
namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T>> {
    static std::string convert(const boost::system::result<T>& r) {
        return r ? std::string("value") : "error: " + r.error().message();
    }
};
}  // namespace Catch

namespace crypto = pg::crypto;
using crypto::errc;
using pg::test::Bytes;
using pg::test::bytes_of;
using pg::test::pattern;

namespace {

Bytes hex(std::string_view s) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return c - 'A' + 10;
    };
    Bytes out;
    for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
        out.push_back(static_cast<std::byte>(nibble(s[i]) * 16 + nibble(s[i + 1])));
    }
    return out;
}



crypto::Key key_from(std::string_view h) {
    Bytes b = hex(h);
    REQUIRE(b.size() == crypto::kKeySize);
    return crypto::Key(std::span<const std::byte, crypto::kKeySize>(b.data(), crypto::kKeySize));
}

crypto::Key counting_key(unsigned start) {
    std::array<std::byte, crypto::kKeySize> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(start + i);
    return crypto::Key(b);
}

crypto::Key fresh_key() {
    auto k = crypto::random_key();
    REQUIRE(k);
    return *k;
}

std::array<std::byte, crypto::kNonceSize> nonce_from(std::string_view h) {
    Bytes b = hex(h);
    REQUIRE(b.size() == crypto::kNonceSize);
    std::array<std::byte, crypto::kNonceSize> n{};
    std::copy(b.begin(), b.end(), n.begin());
    return n;
}

bool same_key(const crypto::Key& a, const crypto::Key& b) {
    return std::equal(a.bytes().begin(), a.bytes().end(), b.bytes().begin());
}

constexpr std::uint64_t kJob = 0x0102030405060708ull;
constexpr std::uint8_t kStream = 1;

// A stream sealed segment by segment through seal_segment, kept as segments.
struct Segment {
    std::uint64_t index;
    bool final;
    Bytes sealed;
};

std::vector<Segment> seal_stream(const crypto::Key& key, std::uint64_t job, std::uint8_t stream,
                                 const Bytes& pt) {
    const std::size_t n = pt.empty() ? 1 : (pt.size() + crypto::kSegmentSize - 1) / crypto::kSegmentSize;
    std::vector<Segment> segs;
    Bytes out;
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t begin = i * crypto::kSegmentSize;
        const std::size_t len = std::min(crypto::kSegmentSize, pt.size() - begin);
        auto r = crypto::seal_segment(key, job, stream, i, i + 1 == n,
                                      std::span(pt).subspan(begin, len), out);
        REQUIRE(r);
        REQUIRE(out.size() == len + crypto::kTagSize);
        segs.push_back({i, i + 1 == n, out});
    }
    return segs;
}

Bytes join(const std::vector<Segment>& segs) {
    Bytes out;
    for (const auto& s : segs) out.insert(out.end(), s.sealed.begin(), s.sealed.end());
    return out;
}

// Opens a joined stream the way a reader does: shape first, then each segment in
// place with the final flag on the last one.
crypto::Result<Bytes> open_stream(const crypto::Key& key, std::uint64_t job, std::uint8_t stream,
                                  const Bytes& sealed) {
    auto shape = crypto::shape_of_sealed(sealed.size());
    if (!shape) return shape.error();
    Bytes pt, seg;
    for (std::uint64_t i = 0; i < shape->segments; ++i) {
        const std::size_t begin = i * crypto::kSealedSegmentSize;
        const std::size_t len = std::min(crypto::kSealedSegmentSize, sealed.size() - begin);
        auto r = crypto::open_segment(key, job, stream, i, i + 1 == shape->segments,
                                      std::span(sealed).subspan(begin, len), seg);
        if (!r) {
            CHECK(seg.empty());
            return r.error();
        }
        pt.insert(pt.end(), seg.begin(), seg.end());
    }
    return pt;
}

void require_auth_failed(const crypto::Result<Bytes>& r) {
    REQUIRE_FALSE(r);
    REQUIRE(r.error() == errc::authentication_failed);
}

// Both readers (open_all and the per-segment reader) reject the stream.
void require_stream_rejected(const crypto::Key& key, const Bytes& sealed,
                             std::uint64_t job = kJob, std::uint8_t stream = kStream) {
    require_auth_failed(crypto::open_all(key, job, stream, sealed));
    auto manual = open_stream(key, job, stream, sealed);
    REQUIRE_FALSE(manual);
    // The per-segment reader sees an impossible shape as bad_length, never success.
    REQUIRE((manual.error() == errc::authentication_failed || manual.error() == errc::bad_length));
}

const std::size_t kRoundTripSizes[] = {0, 1, 65535, 65536, 65537, 3 * 65536, 3 * 65536 + 5};

}  // namespace

TEST_CASE("error category names and messages", "[crypto]") {
    boost::system::error_code ec = errc::authentication_failed;
    CHECK(std::string(ec.category().name()) == "pg.crypto");
    CHECK(ec.message().find("authentication failed") != std::string::npos);
    CHECK_FALSE(make_error_code(errc::bad_length).message().empty());
    CHECK_FALSE(make_error_code(errc::rng_failed).message().empty());
    CHECK_FALSE(make_error_code(errc::cipher_failed).message().empty());
}

TEST_CASE("AES-256-GCM known answers (GCM spec test cases 13-16)", "[crypto][kat]") {
    const auto zero_key = crypto::Key();
    const auto zero_nonce = nonce_from("000000000000000000000000");
    const auto k15 = key_from("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
    const auto n15 = nonce_from("cafebabefacedbaddecaf888");
    const Bytes p15 = hex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
        "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255");
    const Bytes c15 = hex(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
        "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad");
    const Bytes a16 = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");

    struct Case {
        const char* name;
        const crypto::Key& key;
        std::array<std::byte, crypto::kNonceSize> nonce;
        Bytes aad, pt, expected;
    };
    auto cat = [](Bytes a, const Bytes& b) {
        a.insert(a.end(), b.begin(), b.end());
        return a;
    };
    const Case cases[] = {
        {"TC13", zero_key, zero_nonce, {}, {}, hex("530f8afbc74536b9a963b4f1c4cb738b")},
        {"TC14", zero_key, zero_nonce, {}, Bytes(16),
         hex("cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919")},
        {"TC15", k15, n15, {}, p15, cat(c15, hex("b094dac5d93471bdec1a502270e3cc6c"))},
        {"TC16", k15, n15, a16, Bytes(p15.begin(), p15.begin() + 60),
         cat(Bytes(c15.begin(), c15.begin() + 60), hex("76fc6ece0f4e1768cddf8853bb2d551b"))},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        Bytes sealed;
        REQUIRE(crypto::aead_seal(c.key, c.nonce, c.aad, c.pt, sealed));
        CHECK(sealed == c.expected);

        Bytes opened{std::byte{0x55}};
        REQUIRE(crypto::aead_open(c.key, c.nonce, c.aad, c.expected, opened));
        CHECK(opened == c.pt);

        Bytes flipped = c.expected;
        flipped.back() ^= std::byte{0x01};
        auto r = crypto::aead_open(c.key, c.nonce, c.aad, flipped, opened);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::authentication_failed);
        CHECK(opened.empty());
    }
}

TEST_CASE("aead_open rejects input shorter than a tag", "[crypto]") {
    Bytes out;
    auto r = crypto::aead_open(crypto::Key(), nonce_from("000000000000000000000000"), {},
                               Bytes(crypto::kTagSize - 1), out);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::authentication_failed);
}

TEST_CASE("segment format known answer (nonce and AAD layout)", "[crypto][kat]") {
    // key 00..1f, job 0x0102030405060708, stream 2, index 0x0000000100000003,
    // plaintext "printgate"; expected values from Python cryptography's AESGCM
    // with nonce = stream || index_be || final || 0000 and
    // aad = "printgate-seg-v1" || job_be || stream.
    const auto key = counting_key(0);
    const Bytes pt = bytes_of("printgate");
    Bytes out;
    REQUIRE(crypto::seal_segment(key, kJob, 2, 0x0000000100000003ull, true, pt, out));
    CHECK(out == hex("70c6e760a6b9425990edde5e6909b841c97c20721090b6e524"));
    REQUIRE(crypto::seal_segment(key, kJob, 2, 0x0000000100000003ull, false, pt, out));
    CHECK(out == hex("5064574ce7a17642599de78c8a1f436b71dfd6403aea53a14a"));
}

TEST_CASE("seal_segment/open_segment round trip per segment", "[crypto][roundtrip]") {
    const auto key = fresh_key();
    for (std::size_t size : kRoundTripSizes) {
        INFO("plaintext size " << size);
        const Bytes pt = pattern(size, static_cast<std::uint32_t>(size));
        auto segs = seal_stream(key, kJob, kStream, pt);
        const Bytes sealed = join(segs);
        CHECK(sealed.size() == crypto::sealed_size_of(size));
        auto shape = crypto::shape_of_sealed(sealed.size());
        REQUIRE(shape);
        CHECK(shape->segments == segs.size());
        CHECK(shape->plaintext_size == size);

        auto opened = open_stream(key, kJob, kStream, sealed);
        REQUIRE(opened);
        CHECK(*opened == pt);

        // seal_all produces the same bytes: the format is deterministic per key.
        auto all = crypto::seal_all(key, kJob, kStream, pt);
        REQUIRE(all);
        CHECK(*all == sealed);
    }
}

TEST_CASE("seal_all/open_all round trip", "[crypto][roundtrip]") {
    const auto key = fresh_key();
    for (std::size_t size : kRoundTripSizes) {
        INFO("plaintext size " << size);
        const Bytes pt = pattern(size, static_cast<std::uint32_t>(size) + 7);
        auto sealed = crypto::seal_all(key, 77, 3, pt);
        REQUIRE(sealed);
        CHECK(sealed->size() == crypto::sealed_size_of(size));
        auto opened = crypto::open_all(key, 77, 3, *sealed);
        REQUIRE(opened);
        CHECK(*opened == pt);
    }
}

TEST_CASE("threads seal and open at once with their own contexts", "[crypto][threads]") {
    const auto key_a = fresh_key();
    const auto key_b = fresh_key();
    const Bytes pt = pattern(2 * crypto::kSegmentSize + 3, 5);
    bool ok[2] = {false, false};
    auto work = [&pt](const crypto::Key& key, std::uint64_t job, bool& result) {
        result = true;
        for (int round = 0; round < 20 && result; ++round) {
            auto sealed = crypto::seal_all(key, job, kStream, pt);
            auto opened = sealed ? crypto::open_all(key, job, kStream, *sealed) : sealed;
            result = opened && *opened == pt;
        }
    };
    std::thread ta(work, std::cref(key_a), 1, std::ref(ok[0]));
    std::thread tb(work, std::cref(key_b), 2, std::ref(ok[1]));
    ta.join();
    tb.join();
    CHECK(ok[0]);
    CHECK(ok[1]);
}

TEST_CASE("seal_segment rejects an oversized plaintext", "[crypto]") {
    Bytes out;
    auto r = crypto::seal_segment(crypto::Key(), 1, 0, 0, true, Bytes(crypto::kSegmentSize + 1), out);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::bad_length);
}

TEST_CASE("open_segment reuses and clears its output buffer", "[crypto]") {
    const auto key = fresh_key();
    const Bytes pt = pattern(1000);
    Bytes sealed, out = pattern(5);
    REQUIRE(crypto::seal_segment(key, kJob, kStream, 0, true, pt, sealed));
    REQUIRE(crypto::open_segment(key, kJob, kStream, 0, true, sealed, out));
    CHECK(out == pt);
    sealed[10] ^= std::byte{0x80};
    auto r = crypto::open_segment(key, kJob, kStream, 0, true, sealed, out);
    REQUIRE_FALSE(r);
    CHECK(r.error() == errc::authentication_failed);
    CHECK(out.empty());

    for (std::size_t bad : {std::size_t{0}, crypto::kTagSize - 1, crypto::kSealedSegmentSize + 1}) {
        INFO("sealed size " << bad);
        out = pattern(3);
        auto rb = crypto::open_segment(key, kJob, kStream, 0, true, Bytes(bad), out);
        REQUIRE_FALSE(rb);
        CHECK(rb.error() == errc::authentication_failed);
        CHECK(out.empty());
    }
}

TEST_CASE("tampered streams fail authentication", "[crypto][tamper]") {
    const auto key = fresh_key();
    const Bytes pt = pattern(3 * crypto::kSegmentSize + 5, 99);
    const auto segs = seal_stream(key, kJob, kStream, pt);
    REQUIRE(segs.size() == 4);
    const Bytes sealed = join(segs);
    REQUIRE(crypto::open_all(key, kJob, kStream, sealed));

    SECTION("bit flip in ciphertext of every segment") {
        for (std::size_t i = 0; i < segs.size(); ++i) {
            Bytes t = sealed;
            t[i * crypto::kSealedSegmentSize + 2] ^= std::byte{0x04};
            INFO("segment " << i);
            require_stream_rejected(key, t);
        }
    }
    SECTION("bit flip in the tag of every segment") {
        for (std::size_t i = 0; i < segs.size(); ++i) {
            Bytes t = sealed;
            const std::size_t end = std::min(sealed.size(), (i + 1) * crypto::kSealedSegmentSize);
            t[end - 1] ^= std::byte{0x80};
            INFO("segment " << i);
            require_stream_rejected(key, t);
        }
    }
    SECTION("two segments swapped") {
        std::vector<Segment> swapped = segs;
        std::swap(swapped[0], swapped[1]);
        require_stream_rejected(key, join(swapped));
    }
    SECTION("last segment dropped (truncation at a boundary)") {
        std::vector<Segment> cut(segs.begin(), segs.end() - 1);
        const Bytes t = join(cut);
        REQUIRE(crypto::shape_of_sealed(t.size()));  // a plausible size
        require_stream_rejected(key, t);
    }
    SECTION("truncated inside the last segment, shape still plausible") {
        Bytes t(sealed.begin(), sealed.end() - 1);
        REQUIRE(crypto::shape_of_sealed(t.size()));
        require_stream_rejected(key, t);
    }
    SECTION("truncated inside the last segment, impossible shape") {
        Bytes t(sealed.begin(), sealed.end() - 10);  // 21 - 10 = 11 bytes left
        REQUIRE_FALSE(crypto::shape_of_sealed(t.size()));
        require_stream_rejected(key, t);
    }
    SECTION("truncated inside a full segment") {
        Bytes t(sealed.begin(), sealed.begin() + 2 * crypto::kSealedSegmentSize + 100);
        require_stream_rejected(key, t);
    }
    SECTION("an extra segment appended (extension)") {
        Bytes extra;
        REQUIRE(crypto::seal_segment(key, kJob, kStream, segs.size(), true, pattern(10), extra));
        Bytes t = sealed;
        t.insert(t.end(), extra.begin(), extra.end());
        require_stream_rejected(key, t);
        // Also: the old final segment followed by a copy of itself.
        Bytes dup = sealed;
        dup.insert(dup.end(), segs.back().sealed.begin(), segs.back().sealed.end());
        require_stream_rejected(key, dup);
    }
    SECTION("wrong job id, stream or key for the whole stream") {
        require_stream_rejected(key, sealed, kJob + 1, kStream);
        require_stream_rejected(key, sealed, kJob ^ (1ull << 63), kStream);
        require_stream_rejected(key, sealed, kJob, kStream + 1);
        require_stream_rejected(fresh_key(), sealed);
    }
}

TEST_CASE("a segment opened out of place fails authentication", "[crypto][tamper]") {
    const auto key = fresh_key();
    const Bytes pt = pattern(777);
    Bytes sealed, out;
    REQUIRE(crypto::seal_segment(key, kJob, kStream, 5, false, pt, sealed));
    REQUIRE(crypto::open_segment(key, kJob, kStream, 5, false, sealed, out));
    REQUIRE(out == pt);

    auto expect_fail = [&](const crypto::Key& k, std::uint64_t job, std::uint8_t stream,
                           std::uint64_t index, bool final) {
        Bytes o = pattern(4);
        auto r = crypto::open_segment(k, job, stream, index, final, sealed, o);
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::authentication_failed);
        CHECK(o.empty());
    };
    SECTION("wrong job id") { expect_fail(key, kJob + 1, kStream, 5, false); }
    SECTION("wrong stream") { expect_fail(key, kJob, kStream + 1, 5, false); }
    SECTION("wrong index") {
        expect_fail(key, kJob, kStream, 4, false);
        expect_fail(key, kJob, kStream, 5 + (1ull << 32), false);
    }
    SECTION("wrong final flag") { expect_fail(key, kJob, kStream, 5, true); }
    SECTION("wrong key") { expect_fail(fresh_key(), kJob, kStream, 5, false); }
}

TEST_CASE("shape_of_sealed and sealed_size_of", "[crypto][shape]") {
    constexpr std::uint64_t S = crypto::kSegmentSize;
    constexpr std::uint64_t SS = crypto::kSealedSegmentSize;
    constexpr std::uint64_t T = crypto::kTagSize;

    SECTION("valid sizes") {
        struct Row {
            std::uint64_t sealed, segments, plaintext;
        };
        const Row rows[] = {
            {T, 1, 0},                       // empty document: one empty final segment
            {T + 1, 1, 1},
            {SS - 1, 1, S - 1},
            {SS, 1, S},                      // exact multiple: last full segment is final
            {SS + T + 1, 2, S + 1},
            {2 * SS, 2, 2 * S},
            {3 * SS, 3, 3 * S},
            {3 * SS + T + 5, 4, 3 * S + 5},
            {3 * SS + SS - 1, 4, 4 * S - 1},
        };
        for (const auto& row : rows) {
            INFO("sealed " << row.sealed);
            auto shape = crypto::shape_of_sealed(row.sealed);
            REQUIRE(shape);
            CHECK(shape->segments == row.segments);
            CHECK(shape->plaintext_size == row.plaintext);
            CHECK(crypto::sealed_size_of(row.plaintext) == row.sealed);
        }
    }
    SECTION("impossible sizes") {
        const std::uint64_t bad[] = {
            0,                     // every stream has a segment
            1, T - 1,              // shorter than a tag
            SS + 1, SS + T - 1,    // trailing 1..15 bytes
            SS + T,                // an empty final segment after a full one
            3 * SS + T,
            3 * SS + 7,
        };
        for (std::uint64_t s : bad) {
            INFO("sealed " << s);
            auto shape = crypto::shape_of_sealed(s);
            REQUIRE_FALSE(shape);
            CHECK(shape.error() == errc::bad_length);
        }
    }
    SECTION("sealed_size_of inverts shape_of_sealed") {
        const std::uint64_t sizes[] = {0, 1, 2, S - 1, S, S + 1, 2 * S - 1, 2 * S, 2 * S + 1,
                                       10 * S + 12345, std::uint64_t{1} << 40};
        for (std::uint64_t p : sizes) {
            INFO("plaintext " << p);
            auto shape = crypto::shape_of_sealed(crypto::sealed_size_of(p));
            REQUIRE(shape);
            CHECK(shape->plaintext_size == p);
            CHECK(shape->segments == (p == 0 ? 1 : (p + S - 1) / S));
        }
        // Every sealed size in a window either maps back exactly or is rejected.
        for (std::uint64_t s = 0; s < 3 * SS + 40; s += (s > 40 && s < SS - 40) ? 997 : 1) {
            auto shape = crypto::shape_of_sealed(s);
            if (shape) {
                CHECK(crypto::sealed_size_of(shape->plaintext_size) == s);
            }
        }
    }
}

TEST_CASE("random bytes and keys", "[crypto][rng]") {
    auto a = fresh_key();
    auto b = fresh_key();
    CHECK_FALSE(same_key(a, b));
    CHECK_FALSE(same_key(a, crypto::Key()));

    Bytes buf(64), buf2(64);
    REQUIRE(crypto::random_bytes(buf));
    REQUIRE(crypto::random_bytes(buf2));
    CHECK(buf != buf2);
    REQUIRE(crypto::random_bytes({}));
}

TEST_CASE("Key moves wipe the source", "[crypto]") {
    auto a = counting_key(1);
    const auto copy = a;
    crypto::Key b(std::move(a));
    CHECK(same_key(b, copy));
    CHECK(same_key(a, crypto::Key()));  // NOLINT(bugprone-use-after-move): checked on purpose
    crypto::Key c;
    c = std::move(b);
    CHECK(same_key(c, copy));
    CHECK(same_key(b, crypto::Key()));  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("derive_key is HKDF-SHA256 with the printgate salt", "[crypto][kdf]") {
    const auto master = counting_key(0);
    SECTION("known answers (Python cryptography HKDF)") {
        auto k = crypto::derive_key(master, "printgate key-wrap v1");
        REQUIRE(k);
        CHECK(same_key(*k, key_from("8de6aab0eda74616ec3b4a8ecd57e6e7fb5266e9acac52b867cdc600ea03b2dd")));
        auto e = crypto::derive_key(master, "");
        REQUIRE(e);
        CHECK(same_key(*e, key_from("f50b28f2bbf60069550c9fb379532e7bfad43209180f1faef1755db430af8080")));
    }
    SECTION("deterministic per info, independent across info and master") {
        auto a1 = crypto::derive_key(master, "printgate key-wrap v1");
        auto a2 = crypto::derive_key(master, "printgate key-wrap v1");
        auto b = crypto::derive_key(master, "printgate key-wrap v2");
        auto c = crypto::derive_key(counting_key(1), "printgate key-wrap v1");
        REQUIRE((a1 && a2 && b && c));
        CHECK(same_key(*a1, *a2));
        CHECK_FALSE(same_key(*a1, *b));
        CHECK_FALSE(same_key(*a1, *c));
        CHECK_FALSE(same_key(*a1, master));
    }
    SECTION("info length limit") {
        CHECK(crypto::derive_key(master, std::string(1024, 'i')));
        auto r = crypto::derive_key(master, std::string(1025, 'i'));
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::bad_length);
    }
}

TEST_CASE("wrap_key/unwrap_key", "[crypto][wrap]") {
    const auto kek = fresh_key();
    const auto dk = fresh_key();
    auto wrapped = crypto::wrap_key(kek, 42, dk);
    REQUIRE(wrapped);
    REQUIRE(wrapped->size() == crypto::kWrappedKeySize);

    auto expect_fail = [](const crypto::Result<crypto::Key>& r) {
        REQUIRE_FALSE(r);
        CHECK(r.error() == errc::authentication_failed);
    };

    SECTION("round trip, fresh nonce each time") {
        auto back = crypto::unwrap_key(kek, 42, *wrapped);
        REQUIRE(back);
        CHECK(same_key(*back, dk));
        auto again = crypto::wrap_key(kek, 42, dk);
        REQUIRE(again);
        CHECK(*again != *wrapped);
    }
    SECTION("known answer for the layout (Python cryptography)") {
        // kek 40..5f, data key a0..bf, nonce e0..eb, job 42:
        // nonce || AESGCM(kek).encrypt(nonce, dk, "printgate-wrap-v1" || job_be).
        const Bytes w = hex(
            "e0e1e2e3e4e5e6e7e8e9eaeb0f796bca7eaa12773d6a5c4c6612b9c73b87522c"
            "72800c482ea71297dc2254d3b66758f0e68f72a88fa0c80bea32269f");
        auto back = crypto::unwrap_key(counting_key(0x40), 42, w);
        REQUIRE(back);
        CHECK(same_key(*back, counting_key(0xa0)));
    }
    SECTION("wrong job id") { expect_fail(crypto::unwrap_key(kek, 43, *wrapped)); }
    SECTION("wrong kek") { expect_fail(crypto::unwrap_key(fresh_key(), 42, *wrapped)); }
    SECTION("flipped byte anywhere") {
        for (std::size_t i = 0; i < wrapped->size(); ++i) {
            Bytes t = *wrapped;
            t[i] ^= std::byte{0x01};
            INFO("byte " << i);
            expect_fail(crypto::unwrap_key(kek, 42, t));
        }
    }
    SECTION("wrong length") {
        Bytes shorter(wrapped->begin(), wrapped->end() - 1);
        expect_fail(crypto::unwrap_key(kek, 42, shorter));
        Bytes longer = *wrapped;
        longer.push_back(std::byte{0});
        expect_fail(crypto::unwrap_key(kek, 42, longer));
        expect_fail(crypto::unwrap_key(kek, 42, {}));
    }
}
