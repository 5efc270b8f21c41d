// SPDX-License-Identifier: Apache-2.0
// SQLite RAII for the credential cache.

#include "auth/cache/sqlite_db.hpp"

namespace pg::auth::cache_detail {

Stmt::Stmt(sqlite3* db, std::string_view sql) {
    if (db == nullptr ||
        sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
        stmt_ = nullptr;
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

Stmt& Stmt::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
}

Stmt& Stmt::bind(int i, std::string_view text) {
    sqlite3_bind_text64(stmt_, i, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}

Stmt& Stmt::bind_blob(int i, std::span<const std::byte> blob) {
    static const std::byte empty{};  // a zero-length blob must stay a BLOB, not NULL
    sqlite3_bind_blob64(stmt_, i, blob.empty() ? &empty : blob.data(), blob.size(), SQLITE_TRANSIENT);
    return *this;
}

int Stmt::step() { return stmt_ ? sqlite3_step(stmt_) : SQLITE_MISUSE; }

void Stmt::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Stmt::column_int(int i) const { return sqlite3_column_int64(stmt_, i); }

std::span<const std::byte> Stmt::column_blob(int i) const {
    const void* p = sqlite3_column_blob(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    if (p == nullptr || n <= 0) return {};
    return {static_cast<const std::byte*>(p), static_cast<std::size_t>(n)};
}

std::string Stmt::column_text(int i) const {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

Db::~Db() { sqlite3_close_v2(db_); }

bool Db::open(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK)
        return false;
    sqlite3_busy_timeout(db_, 5000);
    // WAL + synchronous=FULL: every COMMIT fsyncs the log, so an online login's entry and a
    // sync survive power loss. secure_delete zeroes freed cells (old sealed rows).
    // No automatic checkpoint: it would run inside whichever commit crosses the threshold,
    // with its fsyncs, under the cache's lock and in a login's time; the owner checkpoints
    // from a connection of its own instead.
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA secure_delete=ON",
                               "PRAGMA wal_autocheckpoint=0"})
        if (!exec(pragma)) return false;
    return true;
}

bool Db::exec(const char* sql) { return db_ != nullptr && sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

}  // namespace pg::auth::cache_detail
