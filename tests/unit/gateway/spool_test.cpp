// SPDX-License-Identifier: Apache-2.0
// Unit tests for gateway/spool: round trips of every document shape (inline and
// file storage), recovery after a restart, discarded and orphaned jobs, tampering
// at rest (job files and index rows), wrong master key, no plaintext at rest,
// quotas, group commit, crypto-shredding on remove, and the master key file.
//
// Everything runs against real SQLite and real fsync in a private mkdtemp
// directory under /tmp, removed at the end. Commits are asynchronous: the tests
// wait on a future fed by the commit callback, never on a sleep.
#include "gateway/spool/spool.hpp"
#include "tests/unit/test_bytes.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace spool = pg::spool;
namespace crypto = pg::crypto;
namespace fs = std::filesystem;
using spool::errc;
using pg::test::Bytes;
using pg::test::bytes_of;
using pg::test::pattern;

// Catch prints the operands of failed checks: give it readable forms.
namespace Catch {
template <class T>
struct StringMaker<boost::system::result<T>> {
    static std::string convert(const boost::system::result<T>& r) {
        return r ? std::string("value") : "error: " + r.error().message();
    }
};
template <>
struct StringMaker<pg::spool::errc> {
    static std::string convert(pg::spool::errc e) {
        return pg::spool::make_error_code(e).message() + " (" + std::to_string(static_cast<int>(e)) + ")";
    }
};
template <>
struct StringMaker<pg::spool::JobMeta> {
    static std::string convert(const pg::spool::JobMeta& m) {
        return "{queue \"" + pg::log::escape(m.queue) + "\", user \"" + pg::log::escape(m.user) + "\", name \"" +
               pg::log::escape(m.name) + "\", peer \"" + pg::log::escape(m.peer) + "\", protocol \"" +
               pg::log::escape(m.protocol) + "\", format \"" + pg::log::escape(m.document_format) + "\"}";
    }
};
}  // namespace Catch

namespace {

constexpr std::size_t kInlineLimit = 128 * 1024;

// ---------------------------------------------------------------------------
// Small helpers

crypto::Key test_key(unsigned seed) {
    std::array<std::byte, crypto::kKeySize> b{};
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(seed * 31 + i * 7 + 1);
    return crypto::Key(std::span<const std::byte, crypto::kKeySize>(b));
}

// The spool error of a failed result (errc::ok for a value).
template <class T>
errc errc_of(const spool::Result<T>& r) {
    if (r) return errc::ok;
    if (r.error().category() != spool::category()) return static_cast<errc>(1000 + r.error().value());
    return static_cast<errc>(r.error().value());
}

// A private directory under /tmp, removed with everything in it.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/pg-spool-test-XXXXXX";
        char* p = ::mkdtemp(tmpl);
        REQUIRE(p != nullptr);
        path_ = p;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Restores an environment variable on scope exit.
class EnvGuard {
public:
    explicit EnvGuard(const char* name) : name_(name) {
        if (const char* v = std::getenv(name)) old_ = std::string(v);
    }
    ~EnvGuard() {
        if (old_)
            ::setenv(name_, old_->c_str(), 1);
        else
            ::unsetenv(name_);
    }
    EnvGuard(const EnvGuard&) = delete;
    EnvGuard& operator=(const EnvGuard&) = delete;

private:
    const char* name_;
    std::optional<std::string> old_;
};

Bytes read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    Bytes out(raw.size());
    if (!raw.empty()) std::memcpy(out.data(), raw.data(), raw.size());
    return out;
}

void write_file(const fs::path& p, const Bytes& data, mode_t mode) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    REQUIRE(fd >= 0);
    bool ok = data.empty() || ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    ::fchmod(fd, mode);
    ::close(fd);
    REQUIRE(ok);
}

void flip_byte(const fs::path& p, std::uint64_t offset) {
    int fd = ::open(p.c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(fd >= 0);
    std::byte b{};
    bool ok = ::pread(fd, &b, 1, static_cast<off_t>(offset)) == 1;
    b ^= std::byte{0x40};
    ok = ok && ::pwrite(fd, &b, 1, static_cast<off_t>(offset)) == 1;
    ::close(fd);
    REQUIRE(ok);
}

void append_bytes(const fs::path& p, const Bytes& data) {
    int fd = ::open(p.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    REQUIRE(fd >= 0);
    bool ok = ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    ::close(fd);
    REQUIRE(ok);
}

std::uint64_t size_on_disk(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.st_size);
}

// Every regular file under `root` (recursively) that contains `needle`.
std::vector<std::string> files_containing(const fs::path& root, std::span<const std::byte> needle) {
    std::vector<std::string> hits;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        Bytes content = read_file(e.path());
        auto it = std::search(content.begin(), content.end(),
                              std::boyer_moore_horspool_searcher(needle.begin(), needle.end()));
        if (it != content.end()) hits.push_back(e.path().string());
    }
    return hits;
}

std::vector<std::string> files_containing(const fs::path& root, std::string_view needle) {
    Bytes b = bytes_of(needle);
    return files_containing(root, b);
}

std::set<std::string> names_in(const fs::path& dir) {
    std::set<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
    return out;
}

// The test's own connection to dir/index.db, to read and tamper with rows.
class IndexDb {
public:
    explicit IndexDb(const fs::path& path) {
        REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
        sqlite3_busy_timeout(db_, 5000);
    }
    ~IndexDb() { sqlite3_close_v2(db_); }
    IndexDb(const IndexDb&) = delete;
    IndexDb& operator=(const IndexDb&) = delete;

    // `column` is one of the schema's fixed names, never input.
    std::optional<Bytes> blob(std::uint64_t id, const std::string& column) {
        sqlite3_stmt* st = prepare("SELECT " + column + " FROM jobs WHERE id=?");
        sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(id));
        std::optional<Bytes> out;
        if (sqlite3_step(st) == SQLITE_ROW) {
            const void* p = sqlite3_column_blob(st, 0);
            int n = sqlite3_column_bytes(st, 0);
            Bytes b(static_cast<std::size_t>(n));
            if (n > 0) std::memcpy(b.data(), p, b.size());
            out = std::move(b);
        }
        sqlite3_finalize(st);
        return out;
    }
    void set_blob(std::uint64_t id, const std::string& column, const Bytes& value) {
        sqlite3_stmt* st = prepare("UPDATE jobs SET " + column + "=? WHERE id=?");
        static const std::byte empty{};
        sqlite3_bind_blob64(st, 1, value.empty() ? &empty : value.data(), value.size(), SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(id));
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        REQUIRE(rc == SQLITE_DONE);
        REQUIRE(sqlite3_changes(db_) == 1);
    }
    void set_int(std::uint64_t id, const std::string& column, std::int64_t value) {
        sqlite3_stmt* st = prepare("UPDATE jobs SET " + column + "=? WHERE id=?");
        sqlite3_bind_int64(st, 1, value);
        sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(id));
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        REQUIRE(rc == SQLITE_DONE);
        REQUIRE(sqlite3_changes(db_) == 1);
    }
    void flip_blob_byte(std::uint64_t id, const std::string& column, std::size_t index) {
        auto b = blob(id, column);
        REQUIRE(b);
        REQUIRE(index < b->size());
        (*b)[index] ^= std::byte{0x01};
        set_blob(id, column, *b);
    }

private:
    sqlite3_stmt* prepare(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        INFO(sql << ": " << sqlite3_errmsg(db_));
        REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
        return st;
    }
    sqlite3* db_ = nullptr;
};

// ---------------------------------------------------------------------------
// Spool helpers

spool::Limits open_limits() {
    spool::Limits l;
    l.min_free_space = 0;  // the build machine's free space must not matter
    return l;
}

// One spool directory and master key, reopened at will.
struct Env {
    TempDir tmp;
    fs::path dir = tmp.path() / "spool";
    crypto::Key key = test_key(1);
    pg::log::Logger log{pg::log::Target::stderr_text, pg::conf::LogLevel::off};
    spool::RecoveryReport report;

    std::unique_ptr<spool::Spool> open(const crypto::Key& master, spool::Limits limits = open_limits()) {
        spool::SpoolOptions o;
        o.dir = dir;
        o.master_key = master;
        o.limits = limits;
        o.inline_limit = kInlineLimit;
        report = {};
        std::string error;
        auto s = spool::Spool::open(std::move(o), log, report, error);
        INFO("Spool::open: " << error);
        REQUIRE(s);
        return s;
    }
    std::unique_ptr<spool::Spool> open() { return open(key); }
    fs::path job_file(std::uint64_t id) const { return dir / "jobs" / (std::to_string(id) + ".job"); }
};

spool::JobMeta meta_for(std::string name) {
    spool::JobMeta m;
    m.queue = "office";
    m.user = "alice";
    m.name = std::move(name);
    m.peer = "192.0.2.7:49152";
    m.protocol = "ipp";
    m.document_format = "application/pdf";
    return m;
}

// Commits a finished writer and waits for the committer's answer.
spool::Result<spool::JobRecord> commit_and_wait(spool::Spool& s, std::unique_ptr<spool::JobWriter> w) {
    // The callback owns the promise, so it outlives set_value on the committer thread.
    auto p = std::make_shared<std::promise<spool::Result<spool::JobRecord>>>();
    auto f = p->get_future();
    s.commit(std::move(w), [p](spool::Result<spool::JobRecord> r) { p->set_value(std::move(r)); });
    return f.get();
}

// begin_job + append in `chunk`-sized pieces + finish + commit.
spool::Result<spool::JobRecord> write_job(spool::Spool& s, const spool::JobMeta& meta, const Bytes& data,
                                          std::size_t chunk = 7919) {
    auto w = s.begin_job(meta);
    if (!w) return w.error();
    std::span<const std::byte> rest(data);
    while (!rest.empty()) {
        auto piece = rest.first(std::min(chunk, rest.size()));
        if (auto r = (*w)->append(piece); !r) return r.error();
        rest = rest.subspan(piece.size());
    }
    if (auto r = (*w)->finish(); !r) return r.error();
    return commit_and_wait(s, std::move(*w));
}

// What reading a document gave: the data returned before the end or the first
// error, and whether further next() calls after an error kept failing.
struct ReadOutcome {
    errc error = errc::ok;  // from open_document or next()
    bool opened = false;
    bool reached_end = false;
    bool error_sticky = true;
    Bytes data;
};

ReadOutcome read_document(spool::Spool& s, std::uint64_t id) {
    ReadOutcome out;
    auto r = s.open_document(id);
    if (!r) {
        out.error = errc_of(r);
        return out;
    }
    out.opened = true;
    spool::DocumentReader& reader = **r;
    for (;;) {
        auto chunk = reader.next();
        if (!chunk) {
            out.error = errc_of(chunk);
            // A caller that ignores the error must not get more data or a clean end.
            for (int i = 0; i < 3; ++i)
                if (reader.next()) out.error_sticky = false;
            return out;
        }
        if (chunk->empty()) {
            out.reached_end = true;
            return out;
        }
        out.data.insert(out.data.end(), chunk->begin(), chunk->end());
    }
}

// Reads a whole document; fails the test on any error.
Bytes read_ok(spool::Spool& s, std::uint64_t id) {
    auto out = read_document(s, id);
    INFO("job " << id);
    REQUIRE(out.error == errc::ok);
    REQUIRE(out.reached_end);
    return std::move(out.data);
}

// The reading of a tampered document: an error, corrupt, with only authentic
// segments before the damaged one returned (at most `good_segments` of them).
void check_corrupt_read(spool::Spool& s, std::uint64_t id, const Bytes& original, std::uint64_t good_segments) {
    auto out = read_document(s, id);
    CHECK_FALSE(out.reached_end);
    CHECK(out.error == errc::corrupt);
    CHECK(out.error_sticky);
    CHECK(out.data.size() % crypto::kSegmentSize == 0);
    CHECK(out.data.size() <= good_segments * crypto::kSegmentSize);
    REQUIRE(out.data.size() <= original.size());
    CHECK(std::equal(out.data.begin(), out.data.end(), original.begin()));
}

bool stored_inline(std::uint64_t plaintext_size) { return crypto::sealed_size_of(plaintext_size) <= kInlineLimit; }

// "" when equal, else where they differ (Catch would print megabytes of elements).
std::string diff_bytes(const Bytes& got, const Bytes& want) {
    if (got == want) return {};
    auto [a, b] = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
    return "got " + std::to_string(got.size()) + " bytes, want " + std::to_string(want.size()) +
           ", first difference at offset " + std::to_string(a - got.begin());
}

}  // namespace

// ---------------------------------------------------------------------------

TEST_CASE("spool: documents of every shape round-trip byte-exact", "[spool][roundtrip]") {
    Env env;
    auto s = env.open();
    CHECK(env.report.jobs == 0);
    CHECK(env.report.orphans_removed == 0);
    CHECK(env.report.corrupt == 0);

    // Segment edges, the largest inline job (131040 seals to exactly 128 KiB),
    // the first file-stored ones, and a multi-segment job with a short tail.
    const std::vector<std::size_t> sizes = {0,      1,      65535,  65536,  65537,       131040,
                                            131041, 131072, 131073, 1048579 /* 1 MiB + 3 */};
    std::vector<std::pair<spool::JobRecord, Bytes>> jobs;
    std::uint64_t sealed_total = 0;
    std::uint32_t seed = 1;
    for (std::size_t n : sizes) {
        CAPTURE(n);
        Bytes data = pattern(n, seed++);
        // Whole-buffer appends for some jobs, odd-sized chunks for the others.
        std::size_t chunk = (seed % 2) ? 7919 : std::max<std::size_t>(n, 1);
        auto meta = meta_for("job of " + std::to_string(n) + " bytes");
        auto rec = write_job(*s, meta, data, chunk);
        REQUIRE(rec);
        CHECK(rec->size == n);
        CHECK(rec->sealed_size == crypto::sealed_size_of(n));
        CHECK(rec->inline_doc == stored_inline(n));
        CHECK(rec->state == spool::JobState::held);
        CHECK(rec->meta == meta);
        CHECK(rec->created_ms > 0);
        if (rec->inline_doc) {
            CHECK_FALSE(fs::exists(env.job_file(rec->id)));
        } else {
            REQUIRE(fs::exists(env.job_file(rec->id)));
            CHECK(size_on_disk(env.job_file(rec->id)) == rec->sealed_size);
        }
        sealed_total += rec->sealed_size;
        jobs.emplace_back(*rec, std::move(data));
    }
    CHECK(jobs[0].first.inline_doc);
    CHECK(jobs[5].first.inline_doc);        // 131040: exactly at the limit
    CHECK_FALSE(jobs[6].first.inline_doc);  // 131041: one byte past it
    CHECK_FALSE(jobs.back().first.inline_doc);

    auto listed = s->list();
    REQUIRE(listed.size() == jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const auto& [rec, data] = jobs[i];
        CAPTURE(rec.size);
        CHECK(listed[i].id == rec.id);
        CHECK(listed[i].meta == rec.meta);
        auto found = s->find(rec.id);
        REQUIRE(found);
        CHECK(found->size == rec.size);
        CHECK(found->inline_doc == rec.inline_doc);
        CHECK(found->meta == rec.meta);

        auto reader = s->open_document(rec.id);
        REQUIRE(reader);
        CHECK((*reader)->size() == rec.size);
        Bytes back = read_ok(*s, rec.id);
        CHECK(back.size() == data.size());
        CHECK(diff_bytes(back, data) == "");
    }
    // Ids are distinct and increasing.
    for (std::size_t i = 1; i < jobs.size(); ++i) CHECK(jobs[i].first.id > jobs[i - 1].first.id);

    auto u = s->usage();
    CHECK(u.jobs == jobs.size());
    CHECK(u.committed_bytes == sealed_total);
    CHECK(u.reserved_bytes == 0);
    CHECK(u.commits == jobs.size());
    CHECK(u.commit_batches == jobs.size());  // one at a time: each commit its own batch

    CHECK_FALSE(s->find(jobs.back().first.id + 1000));
    CHECK(errc_of(s->open_document(jobs.back().first.id + 1000)) == errc::not_found);
}

TEST_CASE("spool: metadata round-trips UTF-8, quotes and control bytes", "[spool][meta]") {
    Env env;
    spool::JobMeta m;
    m.queue = "Büro-Drucker β";
    m.user = "José Müller-Łukasiewicz";
    m.name = std::string("Report €2025 😀 \"quoted\" back\\slash\ttab\nnewline\r\x01\x1b[31m\x7f end") +
             std::string("nul:\0:nul", 9);
    m.peer = "[2001:db8::1]:631";
    m.protocol = "lpd";
    m.document_format = "application/vnd.cups-raster; charset=\"utf-8\"";
    spool::JobMeta empty;  // every field empty

    std::uint64_t id = 0, empty_id = 0;
    {
        auto s = env.open();
        auto rec = write_job(*s, m, pattern(10));
        REQUIRE(rec);
        id = rec->id;
        CHECK(rec->meta == m);
        auto rec2 = write_job(*s, empty, {});
        REQUIRE(rec2);
        empty_id = rec2->id;
        // open_document re-authenticates the sealed metadata read back from the index.
        CHECK(diff_bytes(read_ok(*s, id), pattern(10)) == "");
        CHECK(read_ok(*s, empty_id).empty());
    }
    auto s = env.open();  // the metadata now comes from the sealed JSON in the index
    CHECK(env.report.jobs == 2);
    CHECK(env.report.corrupt == 0);
    auto found = s->find(id);
    REQUIRE(found);
    CHECK(found->meta == m);
    CHECK(found->meta.name.size() == m.name.size());
    auto found_empty = s->find(empty_id);
    REQUIRE(found_empty);
    CHECK(found_empty->meta == empty);
}

TEST_CASE("spool: metadata with invalid UTF-8 stays readable", "[spool][meta]") {
    // Peer-supplied names (LPD 'J'/'N' lines, IPP job-name) are not guaranteed to
    // be UTF-8; the spool stores std::string and must give back the same bytes.
    // Known bug (hence !mayfail): encode_meta serialises the bytes raw, but
    // decode_meta (job.cpp) parses with Boost.JSON's default UTF-8 validation, so
    // open_document and recovery report such a job as corrupt.
    Env env;
    spool::JobMeta m = meta_for(std::string("bad \xff\xfe utf8 \xc0\xaf \xed\xa0\x80 end"));
    m.user = "l\xe9on";  // Latin-1 e-acute
    std::uint64_t id = 0;
    {
        auto s = env.open();
        auto rec = write_job(*s, m, pattern(100));
        REQUIRE(rec);
        id = rec->id;
        auto out = read_document(*s, id);
        CHECK(out.error == errc::ok);
        CHECK(diff_bytes(out.data, pattern(100)) == "");
    }
    auto s = env.open();
    CHECK(env.report.corrupt == 0);
    auto found = s->find(id);
    REQUIRE(found);
    CHECK(found->meta == m);
    auto out = read_document(*s, id);
    CHECK(out.error == errc::ok);
    CHECK(diff_bytes(out.data, pattern(100)) == "");
}

TEST_CASE("spool: recovery reloads committed jobs and never reuses ids", "[spool][recovery]") {
    Env env;
    std::vector<spool::JobRecord> kept;
    std::vector<Bytes> kept_data;
    std::uint64_t highest = 0;
    {
        auto s = env.open();
        for (std::size_t n : {std::size_t{5}, std::size_t{300000}, std::size_t{70000}}) {
            Bytes data = pattern(n, static_cast<std::uint32_t>(n));
            auto meta = meta_for("recover " + std::to_string(n));
            meta.user = "user-" + std::to_string(n);
            auto rec = write_job(*s, meta, data);
            REQUIRE(rec);
            kept.push_back(*rec);
            kept_data.push_back(std::move(data));
        }
        // The highest job is removed before the restart.
        auto top = write_job(*s, meta_for("the highest"), pattern(200000, 9));
        REQUIRE(top);
        highest = top->id;
        REQUIRE(s->remove(highest));
        CHECK_FALSE(fs::exists(env.job_file(highest)));
    }
    for (int round = 0; round < 2; ++round) {
        CAPTURE(round);
        auto s = env.open();
        CHECK(env.report.jobs == kept.size());
        CHECK(env.report.orphans_removed == 0);
        CHECK(env.report.corrupt == 0);
        auto listed = s->list();
        REQUIRE(listed.size() == kept.size());
        for (std::size_t i = 0; i < kept.size(); ++i) {
            const auto& want = kept[i];
            const auto& got = listed[i];
            CAPTURE(want.id);
            CHECK(got.id == want.id);
            CHECK(got.meta == want.meta);
            CHECK(got.size == want.size);
            CHECK(got.sealed_size == want.sealed_size);
            CHECK(got.inline_doc == want.inline_doc);
            CHECK(got.state == want.state);
            CHECK(got.created_ms == want.created_ms);
            CHECK(got.updated_ms == want.updated_ms);
            CHECK(diff_bytes(read_ok(*s, want.id), kept_data[i]) == "");
        }
        CHECK(s->usage().committed_bytes ==
              kept[0].sealed_size + kept[1].sealed_size + kept[2].sealed_size);
        CHECK_FALSE(s->find(highest));

        // The next id is above every id ever handed out, the removed highest included.
        auto w = s->begin_job(meta_for("after restart"));
        REQUIRE(w);
        CHECK((*w)->id() > highest);
        if (round == 0) {
            // Commit it and remove it again: the second restart must skip it too.
            REQUIRE((*w)->finish());
            auto rec = commit_and_wait(*s, std::move(*w));
            REQUIRE(rec);
            highest = rec->id;
            REQUIRE(s->remove(highest));
        }
    }
}

TEST_CASE("spool: a job not committed leaves nothing behind", "[spool][discard]") {
    Env env;
    auto s = env.open();
    const auto jobs_dir = env.dir / "jobs";
    Bytes big = pattern(300000, 3);

    SECTION("writer destroyed mid-receive (spilled to a file)") {
        std::uint64_t id = 0;
        {
            auto w = s->begin_job(meta_for("dropped"));
            REQUIRE(w);
            id = (*w)->id();
            REQUIRE((*w)->append(big));
            CHECK(fs::exists(env.job_file(id)));  // past the inline limit: spilled
            CHECK(s->usage().reserved_bytes == big.size());
        }
        CHECK(names_in(jobs_dir).empty());
        CHECK_FALSE(s->find(id));
        CHECK(errc_of(s->open_document(id)) == errc::not_found);
    }
    SECTION("writer discarded after finish, then destroyed") {
        auto w = s->begin_job(meta_for("discarded"));
        REQUIRE(w);
        REQUIRE((*w)->append(big));
        REQUIRE((*w)->finish());
        CHECK(fs::exists(env.job_file((*w)->id())));
        (*w)->discard();
        CHECK(names_in(jobs_dir).empty());
        CHECK(s->usage().reserved_bytes == 0);
        (*w)->discard();  // idempotent
        CHECK(errc_of((*w)->append(big)) != errc::ok);  // dead after discard
        w->reset();
    }
    SECTION("small writer destroyed after finish") {
        auto w = s->begin_job(meta_for("small"));
        REQUIRE(w);
        REQUIRE((*w)->append(pattern(1000)));
        REQUIRE((*w)->finish());
        CHECK(s->usage().reserved_bytes == 1000);
        w->reset();
    }
    CHECK(names_in(jobs_dir).empty());
    CHECK(s->list().empty());
    auto u = s->usage();
    CHECK(u.jobs == 0);
    CHECK(u.reserved_bytes == 0);
    CHECK(u.committed_bytes == 0);
    CHECK(u.commits == 0);
    // And a restart finds nothing either.
    s.reset();
    s = env.open();
    CHECK(env.report.jobs == 0);
    CHECK(env.report.orphans_removed == 0);
    CHECK(s->list().empty());
}

TEST_CASE("spool: a job past several early flushes round-trips; one dropped mid-receive leaves nothing", "[spool][flush]") {
    // writer.cpp hands an fdatasync to a helper thread every 32 MiB of a spilled
    // job; 100 MiB in 1 MiB appends passes three of those points.
    Env env;
    auto s = env.open();
    Bytes data = pattern(100u << 20, 11);
    SECTION("committed") {
        auto rec = write_job(*s, meta_for("big"), data, 1u << 20);
        REQUIRE(rec);
        CHECK(rec->size == data.size());
        CHECK(size_on_disk(env.job_file(rec->id)) == rec->sealed_size);
        CHECK(diff_bytes(read_ok(*s, rec->id), data) == "");
    }
    SECTION("destroyed right after a flush point") {
        {
            auto w = s->begin_job(meta_for("dropped"));
            REQUIRE(w);
            for (std::size_t off = 0; off < (33u << 20); off += 1u << 20)
                REQUIRE((*w)->append(std::span<const std::byte>(data).subspan(off, 1u << 20)));
        }  // the destructor waits for the helper before closing and unlinking
        CHECK(names_in(env.dir / "jobs").empty());
        CHECK(s->usage().reserved_bytes == 0);
    }
}

TEST_CASE("spool: recovery removes files of jobs that died while receiving", "[spool][recovery]") {
    Env env;
    spool::JobRecord big, small;
    Bytes big_data = pattern(500000, 4), small_data = pattern(100, 5);
    {
        auto s = env.open();
        auto b = write_job(*s, meta_for("big"), big_data);
        REQUIRE(b);
        big = *b;
        REQUIRE_FALSE(big.inline_doc);
        auto sm = write_job(*s, meta_for("small"), small_data);
        REQUIRE(sm);
        small = *sm;
    }
    // What a crash mid-receive leaves: a partial job file with no index row, and
    // some stray file.
    const std::uint64_t orphan_id = small.id + 5;
    write_file(env.job_file(orphan_id), pattern(70000, 6), 0600);
    write_file(env.dir / "jobs" / "stray.tmp", bytes_of("stray"), 0600);
    REQUIRE(names_in(env.dir / "jobs").size() == 3);

    auto s = env.open();
    CHECK(env.report.orphans_removed == 2);
    CHECK(env.report.jobs == 2);
    CHECK(env.report.corrupt == 0);
    CHECK_FALSE(fs::exists(env.job_file(orphan_id)));
    CHECK_FALSE(fs::exists(env.dir / "jobs" / "stray.tmp"));
    CHECK(names_in(env.dir / "jobs") == std::set<std::string>{std::to_string(big.id) + ".job"});
    CHECK(s->list().size() == 2);
    CHECK_FALSE(s->find(orphan_id));
    CHECK(diff_bytes(read_ok(*s, big.id), big_data) == "");
    CHECK(diff_bytes(read_ok(*s, small.id), small_data) == "");
    // The orphan's id may have been shown to its client: it is not handed out again.
    auto w = s->begin_job(meta_for("next"));
    REQUIRE(w);
    CHECK((*w)->id() > orphan_id);
}

TEST_CASE("spool: tampering with a job file is detected", "[spool][tamper]") {
    Env env;
    auto s = env.open();
    // 16 full segments and a 3-byte final one.
    const Bytes data = pattern(16 * crypto::kSegmentSize + 3, 7);
    auto rec = write_job(*s, meta_for("tamper"), data);
    REQUIRE(rec);
    REQUIRE_FALSE(rec->inline_doc);
    const auto path = env.job_file(rec->id);
    const std::uint64_t seg = crypto::kSealedSegmentSize;
    REQUIRE(size_on_disk(path) == 16 * seg + 3 + crypto::kTagSize);
    REQUIRE(diff_bytes(read_ok(*s, rec->id), data) == "");  // intact before

    SECTION("byte flipped in the first segment") {
        flip_byte(path, 1000);
        check_corrupt_read(*s, rec->id, data, 0);
    }
    SECTION("byte flipped in the first segment's tag") {
        flip_byte(path, crypto::kSegmentSize + 5);
        check_corrupt_read(*s, rec->id, data, 0);
    }
    SECTION("byte flipped in a middle segment") {
        flip_byte(path, 8 * seg + 12345);
        check_corrupt_read(*s, rec->id, data, 8);
    }
    SECTION("byte flipped in the last segment") {
        flip_byte(path, 16 * seg + 1);
        check_corrupt_read(*s, rec->id, data, 16);
    }
    SECTION("byte flipped in the last tag") {
        flip_byte(path, size_on_disk(path) - 1);
        check_corrupt_read(*s, rec->id, data, 16);
    }
    SECTION("truncated by the final segment, at a segment boundary") {
        REQUIRE(::truncate(path.c_str(), static_cast<off_t>(16 * seg)) == 0);
        check_corrupt_read(*s, rec->id, data, 15);
    }
    SECTION("truncated by one byte") {
        REQUIRE(::truncate(path.c_str(), static_cast<off_t>(size_on_disk(path) - 1)) == 0);
        check_corrupt_read(*s, rec->id, data, 16);
    }
    SECTION("truncated to nothing") {
        REQUIRE(::truncate(path.c_str(), 0) == 0);
        check_corrupt_read(*s, rec->id, data, 0);
    }
    SECTION("16 bytes appended") {
        append_bytes(path, Bytes(16, std::byte{0}));
        check_corrupt_read(*s, rec->id, data, 16);
    }
    SECTION("a whole sealed segment's worth appended") {
        append_bytes(path, pattern(seg, 8));
        check_corrupt_read(*s, rec->id, data, 16);
    }
    SECTION("file deleted") {
        REQUIRE(::unlink(path.c_str()) == 0);
        CHECK(errc_of(s->open_document(rec->id)) == errc::corrupt);
        s.reset();
        s = env.open();
        CHECK(env.report.corrupt == 1);
        CHECK(errc_of(s->open_document(rec->id)) == errc::corrupt);
    }
}

TEST_CASE("spool: truncating an all-full-segments job by one segment is detected", "[spool][tamper]") {
    Env env;
    auto s = env.open();
    const Bytes data = pattern(4 * crypto::kSegmentSize, 10);
    auto rec = write_job(*s, meta_for("four segments"), data);
    REQUIRE(rec);
    const auto path = env.job_file(rec->id);
    REQUIRE(size_on_disk(path) == 4 * crypto::kSealedSegmentSize);
    REQUIRE(::truncate(path.c_str(), static_cast<off_t>(3 * crypto::kSealedSegmentSize)) == 0);
    // Segment 2 was sealed as not final; read as the final one it fails.
    check_corrupt_read(*s, rec->id, data, 2);
}

TEST_CASE("spool: tampering with the index row is detected", "[spool][tamper]") {
    Env env;
    Bytes big_data = pattern(200000, 11), small_data = pattern(5000, 12);
    std::uint64_t big = 0, small = 0;
    auto s = env.open();
    {
        auto b = write_job(*s, meta_for("big"), big_data);
        REQUIRE(b);
        REQUIRE_FALSE(b->inline_doc);
        big = b->id;
        auto sm = write_job(*s, meta_for("small"), small_data);
        REQUIRE(sm);
        REQUIRE(sm->inline_doc);
        small = sm->id;
    }
    auto reopen_expect_corrupt = [&](std::uint64_t id, std::size_t corrupt) {
        s.reset();
        s = env.open();
        CHECK(env.report.jobs == 2);
        CHECK(env.report.corrupt == corrupt);
        CHECK(env.report.orphans_removed == 0);
        CHECK(s->find(id));  // kept, but unreadable
        CHECK(errc_of(s->open_document(id)) == errc::corrupt);
    };

    for (std::uint64_t id : {big, small}) {
        const Bytes& data = id == big ? big_data : small_data;
        DYNAMIC_SECTION("meta byte flipped, job " << id) {
            IndexDb(env.dir / "index.db").flip_blob_byte(id, "meta", 20);
            CHECK(errc_of(s->open_document(id)) == errc::corrupt);  // caught while running
            reopen_expect_corrupt(id, 1);
        }
        DYNAMIC_SECTION("wrapped_key byte flipped, job " << id) {
            IndexDb(env.dir / "index.db").flip_blob_byte(id, "wrapped_key", 30);
            CHECK(errc_of(s->open_document(id)) == errc::corrupt);
            reopen_expect_corrupt(id, 1);
        }
        DYNAMIC_SECTION("meta_gen changed, job " << id) {
            IndexDb(env.dir / "index.db").set_int(id, "meta_gen", 1);
            CHECK(errc_of(s->open_document(id)) == errc::corrupt);
            reopen_expect_corrupt(id, 1);
        }
        DYNAMIC_SECTION("storage kind flipped, job " << id) {
            IndexDb(env.dir / "index.db").set_int(id, "storage", id == big ? 0 : 1);
            check_corrupt_read(*s, id, data, 0);
        }
    }
    SECTION("wrapped keys swapped between two jobs") {
        IndexDb db(env.dir / "index.db");
        auto kb = db.blob(big, "wrapped_key");
        auto ks = db.blob(small, "wrapped_key");
        REQUIRE(kb);
        REQUIRE(ks);
        db.set_blob(big, "wrapped_key", *ks);
        db.set_blob(small, "wrapped_key", *kb);
        CHECK(errc_of(s->open_document(big)) == errc::corrupt);
        CHECK(errc_of(s->open_document(small)) == errc::corrupt);
        reopen_expect_corrupt(small, 2);
    }
    SECTION("inline doc byte flipped") {
        IndexDb(env.dir / "index.db").flip_blob_byte(small, "doc", 100);
        check_corrupt_read(*s, small, small_data, 0);
        s.reset();
        s = env.open();
        check_corrupt_read(*s, small, small_data, 0);
    }
    SECTION("inline doc truncated by one byte") {
        IndexDb db(env.dir / "index.db");
        auto doc = db.blob(small, "doc");
        REQUIRE(doc);
        doc->pop_back();
        db.set_blob(small, "doc", *doc);
        check_corrupt_read(*s, small, small_data, 0);
    }
    // The untouched job stays readable whatever happened to the other.
    SECTION("untouched") {}
    auto other = read_document(*s, big);
    if (other.error == errc::ok) CHECK(diff_bytes(other.data, big_data) == "");
}

TEST_CASE("spool: a wrong master key makes jobs corrupt, not readable", "[spool][tamper][key]") {
    Env env;
    Bytes big_data = pattern(300000, 13), small_data = pattern(77, 14);
    std::uint64_t big = 0, small = 0;
    {
        auto s = env.open();
        auto b = write_job(*s, meta_for("big"), big_data);
        REQUIRE(b);
        big = b->id;
        auto sm = write_job(*s, meta_for("small"), small_data);
        REQUIRE(sm);
        small = sm->id;
    }
    {
        auto s = env.open(test_key(2));
        CHECK(env.report.jobs == 2);
        CHECK(env.report.corrupt == 2);
        CHECK(env.report.orphans_removed == 0);  // the big job's file is kept
        CHECK(fs::exists(env.job_file(big)));
        for (std::uint64_t id : {big, small}) {
            auto rec = s->find(id);
            REQUIRE(rec);
            CHECK(rec->meta == spool::JobMeta{});  // nothing decrypted
            auto out = read_document(*s, id);
            CHECK_FALSE(out.opened);
            CHECK(out.error == errc::corrupt);
        }
    }
    // The right key still opens everything: nothing was destroyed.
    auto s = env.open();
    CHECK(env.report.corrupt == 0);
    CHECK(diff_bytes(read_ok(*s, big), big_data) == "");
    CHECK(diff_bytes(read_ok(*s, small), small_data) == "");
    CHECK(s->find(big)->meta == meta_for("big"));
}

TEST_CASE("spool: no plaintext at rest", "[spool][privacy]") {
    Env env;
    const std::string doc_marker = "PG-PLAINTEXT-MARKER-7f3a";
    const std::string name_marker = "PG-NAME-MARKER-c41d";
    const std::string user_marker = "PG-USER-MARKER-09be";
    const std::string queue_marker = "PG-QUEUE-MARKER-5e21";
    const std::string peer_marker = "PG-PEER-MARKER-a8f0";
    const std::vector<std::string> markers = {doc_marker, name_marker, user_marker, queue_marker, peer_marker};

    // The scanner itself finds a marker planted in the clear.
    {
        TempDir probe;
        write_file(probe.path() / "plain", bytes_of("xx" + doc_marker + "yy"), 0600);
        CHECK(files_containing(probe.path(), doc_marker).size() == 1);
    }

    spool::JobMeta m;
    m.queue = queue_marker;
    m.user = user_marker;
    m.name = "title " + name_marker;
    m.peer = peer_marker + ":631";
    m.protocol = "raw";
    m.document_format = "text/plain";
    auto document = [&](std::size_t repeats) {
        std::string text;
        for (std::size_t i = 0; i < repeats; ++i) text += doc_marker + " line " + std::to_string(i) + "\n";
        return bytes_of(text);
    };
    const Bytes small_doc = document(10), big_doc = document(20000);  // inline, and a file
    {
        auto s = env.open();
        auto a = write_job(*s, m, small_doc);
        REQUIRE(a);
        CHECK(a->inline_doc);
        auto b = write_job(*s, m, big_doc);
        REQUIRE(b);
        CHECK_FALSE(b->inline_doc);
        // While running: index.db, its -wal and -shm, and jobs/.
        for (const auto& marker : markers) {
            CAPTURE(marker);
            CHECK(files_containing(env.dir, marker).empty());
        }
        CHECK(diff_bytes(read_ok(*s, a->id), small_doc) == "");
    }
    // After a clean shutdown (checkpointed WAL) and after a restart.
    for (const auto& marker : markers) {
        CAPTURE(marker);
        CHECK(files_containing(env.dir, marker).empty());
    }
    auto s = env.open();
    CHECK(s->list().size() == 2);
    for (const auto& marker : markers) {
        CAPTURE(marker);
        CHECK(files_containing(env.dir, marker).empty());
    }
}

TEST_CASE("spool: limits refuse jobs and take effect at run time", "[spool][limits]") {
    Env env;
    auto s = env.open();

    SECTION("max_job_size") {
        auto lim = open_limits();
        lim.max_job_size = 1000;
        s->set_limits(lim);
        CHECK(s->limits().max_job_size == 1000);
        {
            auto w = s->begin_job(meta_for("fits"));
            REQUIRE(w);
            REQUIRE((*w)->append(pattern(600)));
            REQUIRE((*w)->append(pattern(400)));  // exactly the limit
            REQUIRE((*w)->finish());
            auto rec = commit_and_wait(*s, std::move(*w));
            REQUIRE(rec);
            CHECK(rec->size == 1000);
        }
        {
            auto w = s->begin_job(meta_for("too big"));
            REQUIRE(w);
            REQUIRE((*w)->append(pattern(600)));
            CHECK(errc_of((*w)->append(pattern(401))) == errc::job_too_large);
            // The writer is dead after an error.
            CHECK(errc_of((*w)->append(pattern(1))) != errc::ok);
            CHECK(errc_of((*w)->finish()) != errc::ok);
        }
        {
            auto w = s->begin_job(meta_for("one shot"));
            REQUIRE(w);
            CHECK(errc_of((*w)->append(pattern(1001))) == errc::job_too_large);
        }
        {
            // Lowered while a job is being received.
            lim.max_job_size = 1 << 20;
            s->set_limits(lim);
            auto w = s->begin_job(meta_for("shrinking"));
            REQUIRE(w);
            REQUIRE((*w)->append(pattern(500)));
            lim.max_job_size = 600;
            s->set_limits(lim);
            CHECK(errc_of((*w)->append(pattern(200))) == errc::job_too_large);
        }
        CHECK(s->usage().reserved_bytes == 0);
        CHECK(s->list().size() == 1);
    }
    SECTION("max_total_size") {
        auto lim = open_limits();
        lim.max_total_size = 10000;
        s->set_limits(lim);
        auto w1 = s->begin_job(meta_for("first"));
        REQUIRE(w1);
        REQUIRE((*w1)->append(pattern(8000)));
        CHECK(s->usage().reserved_bytes == 8000);
        {
            auto w2 = s->begin_job(meta_for("second"));  // 8000 < 10000: may start
            REQUIRE(w2);
            CHECK(errc_of((*w2)->append(pattern(3000))) == errc::quota_exceeded);
        }
        CHECK(s->usage().reserved_bytes == 8000);  // the refused job's bytes are back
        REQUIRE((*w1)->append(pattern(2000)));     // exactly at the quota
        CHECK(errc_of(s->begin_job(meta_for("full"))) == errc::quota_exceeded);
        REQUIRE((*w1)->finish());
        auto rec = commit_and_wait(*s, std::move(*w1));
        REQUIRE(rec);
        CHECK(s->usage().reserved_bytes == 0);
        CHECK(s->usage().committed_bytes == rec->sealed_size);
        // Committed bytes count as sealed bytes: 10016 > 10000.
        CHECK(errc_of(s->begin_job(meta_for("over"))) == errc::quota_exceeded);
        // Raised at run time: accepted again.
        lim.max_total_size = 20000;
        s->set_limits(lim);
        auto w3 = s->begin_job(meta_for("after raise"));
        REQUIRE(w3);
        REQUIRE((*w3)->append(pattern(5000)));
        CHECK(errc_of((*w3)->append(pattern(5000))) == errc::quota_exceeded);
        w3->reset();
        // Removing the job frees its space.
        REQUIRE(s->remove(rec->id));
        lim.max_total_size = 10000;
        s->set_limits(lim);
        CHECK(s->usage().committed_bytes == 0);
        CHECK(s->begin_job(meta_for("after remove")));
    }
    SECTION("min_free_space") {
        auto lim = open_limits();
        lim.min_free_space = 1ull << 62;
        s->set_limits(lim);
        CHECK(errc_of(s->begin_job(meta_for("no room"))) == errc::low_disk_space);
        lim.min_free_space = 0;
        s->set_limits(lim);
        CHECK(s->begin_job(meta_for("room again")));
    }
    SECTION("min_free_space at open") {
        s.reset();
        auto lim = open_limits();
        lim.min_free_space = 1ull << 62;
        s = env.open(env.key, lim);
        CHECK(errc_of(s->begin_job(meta_for("no room"))) == errc::low_disk_space);
    }
    SECTION("stop refuses new jobs and commits") {
        auto w = s->begin_job(meta_for("late"));
        REQUIRE(w);
        REQUIRE((*w)->append(pattern(200000)));
        REQUIRE((*w)->finish());
        const auto id = (*w)->id();
        s->stop();
        CHECK(errc_of(s->begin_job(meta_for("refused"))) == errc::shutting_down);
        CHECK(errc_of(commit_and_wait(*s, std::move(*w))) == errc::shutting_down);
        CHECK_FALSE(fs::exists(env.job_file(id)));
        CHECK(s->usage().reserved_bytes == 0);
    }
}

TEST_CASE("spool: concurrent commits from 8 threads", "[spool][group-commit]") {
    Env env;
    auto s = env.open();
    constexpr int kThreads = 8;
    constexpr int kPerThread = 25;
    std::atomic<int> failures{0};
    std::vector<std::vector<spool::JobRecord>> records(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            // No Catch assertions off the main thread: collect, check afterwards.
            for (int j = 0; j < kPerThread; ++j) {
                auto meta = meta_for("t" + std::to_string(t) + "j" + std::to_string(j));
                auto rec = write_job(*s, meta, pattern(100 + t * 7 + j, static_cast<std::uint32_t>(t * 100 + j)));
                if (rec)
                    records[t].push_back(*rec);
                else
                    ++failures;
            }
        });
    }
    for (auto& th : threads) th.join();
    REQUIRE(failures == 0);

    auto u = s->usage();
    CHECK(u.commits == kThreads * kPerThread);
    CHECK(u.jobs == kThreads * kPerThread);
    CHECK(u.commit_batches >= 1);
    CHECK(u.commit_batches <= u.commits);
    WARN("group commit, free-running: " << u.commits << " commits in " << u.commit_batches << " batches ("
                                        << static_cast<double>(u.commits) / static_cast<double>(u.commit_batches)
                                        << " jobs per fsync'ed transaction)");

    std::set<std::uint64_t> ids;
    for (int t = 0; t < kThreads; ++t) {
        REQUIRE(records[t].size() == kPerThread);
        for (int j = 0; j < kPerThread; ++j) {
            const auto& rec = records[t][j];
            ids.insert(rec.id);
            CHECK(rec.meta.name == "t" + std::to_string(t) + "j" + std::to_string(j));
            CHECK(diff_bytes(read_ok(*s, rec.id), pattern(100 + t * 7 + j, static_cast<std::uint32_t>(t * 100 + j))) == "");
        }
    }
    CHECK(ids.size() == kThreads * kPerThread);
    CHECK(s->list().size() == kThreads * kPerThread);
}

TEST_CASE("spool: commits queued during a commit go in one batch", "[spool][group-commit]") {
    // Deterministic: the first job's callback holds the committer thread until the
    // other 199 commits are queued, so they must all land in the second batch.
    Env env;
    auto s = env.open();
    std::promise<void> entered, gate;
    auto entered_future = entered.get_future();
    auto gate_future = gate.get_future().share();
    auto first_done = std::make_shared<std::promise<spool::Result<spool::JobRecord>>>();
    auto first_future = first_done->get_future();
    {
        auto w = s->begin_job(meta_for("gate"));
        REQUIRE(w);
        REQUIRE((*w)->finish());
        s->commit(std::move(*w), [&entered, gate_future, first_done](spool::Result<spool::JobRecord> r) {
            entered.set_value();
            gate_future.wait();
            first_done->set_value(std::move(r));
        });
    }
    entered_future.wait();  // the committer thread is now parked in the callback

    constexpr int kThreads = 8;
    constexpr int kTotal = 199;
    std::vector<std::vector<std::future<spool::Result<spool::JobRecord>>>> futures(kThreads);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int j = t; j < kTotal; j += kThreads) {
                auto w = s->begin_job(meta_for("q" + std::to_string(j)));
                if (!w || !(*w)->append(pattern(50 + j, static_cast<std::uint32_t>(j))) || !(*w)->finish()) {
                    ++failures;
                    continue;
                }
                auto p = std::make_shared<std::promise<spool::Result<spool::JobRecord>>>();
                futures[t].push_back(p->get_future());
                s->commit(std::move(*w), [p](spool::Result<spool::JobRecord> r) { p->set_value(std::move(r)); });
            }
        });
    }
    for (auto& th : threads) th.join();  // every commit() has queued its job
    CHECK(s->usage().commits == 1);
    gate.set_value();
    REQUIRE(first_future.get());
    int ok = 0;
    for (auto& fs_of_thread : futures)
        for (auto& f : fs_of_thread)
            if (auto r = f.get(); r) ++ok;
    REQUIRE(failures == 0);
    CHECK(ok == kTotal);
    auto u = s->usage();
    CHECK(u.commits == 200);
    CHECK(u.commit_batches == 2);
    for (const auto& rec : s->list())
        if (rec.meta.name != "gate") {
            int j = std::stoi(rec.meta.name.substr(1));
            CHECK(diff_bytes(read_ok(*s, rec.id), pattern(50 + j, static_cast<std::uint32_t>(j))) == "");
        }
}

TEST_CASE("spool: remove crypto-shreds the job", "[spool][remove]") {
    Env env;
    auto s = env.open();
    Bytes big_data = pattern(250000, 21), small_data = pattern(3000, 22), kept_data = pattern(90000, 23);
    auto big = write_job(*s, meta_for("big"), big_data);
    auto small = write_job(*s, meta_for("small"), small_data);
    auto kept = write_job(*s, meta_for("kept"), kept_data);
    REQUIRE(big);
    REQUIRE(small);
    REQUIRE(kept);
    REQUIRE_FALSE(big->inline_doc);
    REQUIRE(small->inline_doc);

    Bytes big_key, small_key;
    {
        IndexDb db(env.dir / "index.db");
        big_key = db.blob(big->id, "wrapped_key").value();
        small_key = db.blob(small->id, "wrapped_key").value();
    }
    REQUIRE(big_key.size() == crypto::kWrappedKeySize);
    REQUIRE(small_key.size() == crypto::kWrappedKeySize);
    // The scan can see them before the removal (else the check below proves nothing).
    REQUIRE_FALSE(files_containing(env.dir, big_key).empty());
    REQUIRE_FALSE(files_containing(env.dir, small_key).empty());

    const auto before = s->usage();
    REQUIRE(s->remove(big->id));
    REQUIRE(s->remove(small->id));

    for (const auto* rec : {&*big, &*small}) {
        CAPTURE(rec->id);
        CHECK_FALSE(s->find(rec->id));
        CHECK(errc_of(s->open_document(rec->id)) == errc::not_found);
        CHECK(errc_of(s->remove(rec->id)) == errc::not_found);
        for (const auto& listed : s->list()) CHECK(listed.id != rec->id);
    }
    CHECK_FALSE(fs::exists(env.job_file(big->id)));
    CHECK(names_in(env.dir / "jobs") == std::set<std::string>{});  // `kept` is inline (90000 bytes)
    auto after = s->usage();
    CHECK(after.jobs == before.jobs - 2);
    CHECK(after.committed_bytes == kept->sealed_size);
    CHECK(diff_bytes(read_ok(*s, kept->id), kept_data) == "");

    // The wrapped keys survive nowhere: not in index.db, not in the WAL, not in
    // jobs/, while the spool still runs.
    {
        INFO("files still holding the removed big job's wrapped key: "
             << Catch::StringMaker<std::vector<std::string>>::convert(files_containing(env.dir, big_key)));
        CHECK(files_containing(env.dir, big_key).empty());
    }
    {
        INFO("files still holding the removed small job's wrapped key: "
             << Catch::StringMaker<std::vector<std::string>>::convert(files_containing(env.dir, small_key)));
        CHECK(files_containing(env.dir, small_key).empty());
    }
    // And after a restart.
    s.reset();
    s = env.open();
    CHECK(env.report.jobs == 1);
    CHECK(files_containing(env.dir, big_key).empty());
    CHECK(files_containing(env.dir, small_key).empty());

    CHECK(errc_of(s->remove(987654)) == errc::not_found);
}

TEST_CASE("spool: held_before picks held jobs by the time they were held, oldest first", "[spool][expiry]") {
    Env env;
    auto s = env.open();
    auto first = write_job(*s, meta_for("first"), pattern(100, 1));
    auto second = write_job(*s, meta_for("second"), pattern(100, 2));
    auto routed = write_job(*s, meta_for("routed"), pattern(100, 3));
    auto done = write_job(*s, meta_for("done"), pattern(100, 4));
    REQUIRE(first);
    REQUIRE(second);
    REQUIRE(routed);
    REQUIRE(done);
    REQUIRE(first->state == spool::JobState::held);
    spool::Transition release;
    release.from = {spool::JobState::held};
    release.to = spool::JobState::pending;
    release.route = "office";
    REQUIRE(s->transition(routed->id, release));
    spool::Transition cancel;
    cancel.to = spool::JobState::canceled;
    REQUIRE(s->transition(done->id, cancel));

    // Before every job was held, none; the cutoff is exclusive.
    CHECK(s->held_before(first->updated_ms).empty());
    const std::int64_t later = std::max(first->updated_ms, second->updated_ms) + 1;
    CHECK(s->held_before(later) == std::vector<std::uint64_t>{first->id, second->id});
    // Jobs not held (routed, finished) never expire as held jobs, however old.
    const std::int64_t far = later + 365LL * 24 * 3600 * 1000;
    CHECK(s->held_before(far) == std::vector<std::uint64_t>{first->id, second->id});

    // Held again by Hold-Job: held since then, not since its commit.
    spool::Transition hold;
    hold.from = {spool::JobState::pending};
    hold.to = spool::JobState::held;
    hold.route = "";
    auto held_again = s->transition(routed->id, hold);
    REQUIRE(held_again);
    CHECK(held_again->updated_ms >= routed->updated_ms);
    CHECK(s->held_before(held_again->updated_ms + 1).back() == routed->id);
    // A shredded job is gone from the selection.
    REQUIRE(s->remove(first->id));
    CHECK(s->held_before(far) == std::vector<std::uint64_t>{second->id, routed->id});
}

TEST_CASE("spool: master key file", "[spool][key]") {
    TempDir tmp;
    EnvGuard guard("CREDENTIALS_DIRECTORY");
    ::unsetenv("CREDENTIALS_DIRECTORY");
    const fs::path path = tmp.path() / "master.key";
    std::string error, source;
    bool created = false;

    auto k1 = spool::load_or_create_master_key(path, error, created, source);
    INFO(error);
    REQUIRE(k1);
    CHECK(created);
    CHECK(source == path.string());
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(st.st_size == static_cast<off_t>(crypto::kKeySize));
    Bytes on_disk = read_file(path);
    CHECK(std::equal(on_disk.begin(), on_disk.end(), k1->bytes().begin(), k1->bytes().end()));
    CHECK_FALSE(std::all_of(on_disk.begin(), on_disk.end(), [](std::byte b) { return b == std::byte{0}; }));
    CHECK_FALSE(fs::exists(tmp.path() / "master.key.tmp"));

    SECTION("loaded again identically") {
        created = true;
        auto k2 = spool::load_or_create_master_key(path, error, created, source);
        REQUIRE(k2);
        CHECK_FALSE(created);
        CHECK(std::equal(k1->bytes().begin(), k1->bytes().end(), k2->bytes().begin(), k2->bytes().end()));
    }
    SECTION("a group/other-readable file is refused") {
        REQUIRE(::chmod(path.c_str(), 0644) == 0);
        error.clear();
        auto k = spool::load_or_create_master_key(path, error, created, source);
        CHECK_FALSE(k);
        CHECK_FALSE(error.empty());
        CHECK(size_on_disk(path) == crypto::kKeySize);  // not replaced
        REQUIRE(::chmod(path.c_str(), 0640) == 0);
        CHECK_FALSE(spool::load_or_create_master_key(path, error, created, source));
    }
    SECTION("a file of the wrong size is refused") {
        for (std::size_t n : {std::size_t{31}, std::size_t{33}, std::size_t{0}}) {
            CAPTURE(n);
            write_file(path, pattern(n), 0600);
            error.clear();
            auto k = spool::load_or_create_master_key(path, error, created, source);
            CHECK_FALSE(k);
            CHECK_FALSE(error.empty());
            CHECK_FALSE(created);
            CHECK(size_on_disk(path) == n);  // never overwritten
        }
    }
    SECTION("a symlink is refused") {
        const fs::path link = tmp.path() / "link.key";
        fs::create_symlink(path, link);
        CHECK_FALSE(spool::load_or_create_master_key(link, error, created, source));
    }
    SECTION("$CREDENTIALS_DIRECTORY/master.key wins") {
        const fs::path creds = tmp.path() / "creds";
        fs::create_directory(creds);
        const Bytes cred_key = pattern(crypto::kKeySize, 99);
        write_file(creds / "master.key", cred_key, 0400);  // systemd credentials are 0400/0440
        REQUIRE(::setenv("CREDENTIALS_DIRECTORY", creds.c_str(), 1) == 0);
        const fs::path other = tmp.path() / "other.key";
        auto k = spool::load_or_create_master_key(other, error, created, source);
        INFO(error);
        REQUIRE(k);
        CHECK_FALSE(created);
        CHECK(source == (creds / "master.key").string());
        CHECK(std::equal(cred_key.begin(), cred_key.end(), k->bytes().begin(), k->bytes().end()));
        CHECK_FALSE(fs::exists(other));  // nothing created beside it
        // Without master.key in it, the directory is ignored.
        fs::remove(creds / "master.key");
        auto k2 = spool::load_or_create_master_key(path, error, created, source);
        REQUIRE(k2);
        CHECK(source == path.string());
        CHECK(std::equal(k1->bytes().begin(), k1->bytes().end(), k2->bytes().begin(), k2->bytes().end()));
        ::unsetenv("CREDENTIALS_DIRECTORY");
    }
}

TEST_CASE("spool: the delivery's lookalikes are durable; older rows read as not known", "[spool][delivery]") {
    Env env;
    std::uint64_t id = 0;
    spool::Lookalikes seen;
    seen.known = true;
    seen.listed_ms = 1'800'000'000'123;
    seen.jobs = {12, 4'000'000'000};
    {
        auto s = env.open();
        auto rec = write_job(*s, meta_for("lookalikes"), pattern(100));
        REQUIRE(rec);
        id = rec->id;
        spool::Transition route;
        route.from = {spool::JobState::held};
        route.to = spool::JobState::pending;
        route.route = "server:office";
        REQUIRE(s->transition(id, route));
        spool::Transition start;
        start.to = spool::JobState::processing;
        start.count_attempt = true;
        start.in_doubt = true;
        start.lookalikes = seen;
        auto r = s->transition(id, start);
        REQUIRE(r);
        CHECK(r->delivery.lookalikes == seen);
        // A transition without lookalikes leaves them as they are.
        spool::Transition wait;
        wait.to = spool::JobState::pending;
        REQUIRE(s->transition(id, wait));
        CHECK(s->find(id)->delivery.lookalikes == seen);
    }
    {
        auto s = env.open();
        auto got = s->find(id);
        REQUIRE(got);
        CHECK(got->delivery.lookalikes == seen);
        CHECK(got->delivery.in_doubt);
        // "Not known" replaces them (a failed listing before the next attempt).
        spool::Transition start;
        start.to = spool::JobState::processing;
        start.lookalikes = spool::Lookalikes{};
        REQUIRE(s->transition(id, start));
    }
    CHECK_FALSE(env.open()->find(id)->delivery.lookalikes.known);

    // A row written before LPD reconciliation existed, and damaged ones.
    for (const std::string json :
         {R"({"route":"server:office","attempts":1,"in_doubt":true,"attempt_ms":5})",
          R"({"route":"server:office","in_doubt":true,"lookalikes":{"jobs":[1]}})",
          R"({"route":"server:office","in_doubt":true,"lookalikes":{"listed_ms":5,"jobs":[1,"x"]}})",
          R"({"route":"server:office","in_doubt":true,"lookalikes":{"listed_ms":5,"jobs":[-1]}})",
          R"({"route":"server:office","in_doubt":true,"lookalikes":[1,2]})"}) {
        CAPTURE(json);
        IndexDb(env.dir / "index.db").set_blob(id, "delivery", bytes_of(json));
        auto s = env.open();
        auto got = s->find(id);
        REQUIRE(got);
        CHECK(got->delivery.route == "server:office");
        CHECK(got->delivery.in_doubt);
        CHECK_FALSE(got->delivery.lookalikes.known);
        CHECK(got->delivery.lookalikes.jobs.empty());
    }
    // An empty list is known too: nothing looked like the job.
    spool::Delivery none;
    none.lookalikes.known = true;
    none.lookalikes.listed_ms = 7;
    CHECK(spool::decode_delivery(spool::encode_delivery(none)).lookalikes == none.lookalikes);
}

TEST_CASE("spool: an index from before the delivery column is upgraded", "[spool][upgrade]") {
    Env env;
    std::uint64_t id = 0;
    {
        auto s = env.open();
        auto rec = write_job(*s, meta_for("version 1"), pattern(100));
        REQUIRE(rec);
        id = rec->id;
    }
    {
        sqlite3* db = nullptr;
        REQUIRE(sqlite3_open_v2((env.dir / "index.db").c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
        const int rc = sqlite3_exec(db, "ALTER TABLE jobs DROP COLUMN delivery; PRAGMA user_version = 1", nullptr,
                                    nullptr, nullptr);
        sqlite3_close_v2(db);
        REQUIRE(rc == SQLITE_OK);
    }
    auto s = env.open();
    auto got = s->find(id);
    REQUIRE(got);
    CHECK(got->meta.name == "version 1");
    CHECK(got->delivery.route.empty());
    CHECK_FALSE(got->delivery.lookalikes.known);
    spool::Transition start;
    start.to = spool::JobState::pending;
    start.route = "server:office";
    start.lookalikes = spool::Lookalikes{true, 9, {3}};
    REQUIRE(s->transition(id, start));
    s.reset();
    CHECK(env.open()->find(id)->delivery.lookalikes.jobs == std::vector<std::uint64_t>{3});
}
