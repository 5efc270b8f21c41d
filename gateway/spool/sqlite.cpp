// SPDX-License-Identifier: Apache-2.0
#include "gateway/spool/sqlite.hpp"

namespace pg::spool {

Statement::Statement(sqlite3* db, std::string_view sql) {
    if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK)
        stmt_ = nullptr;
}

Statement::~Statement() {
    if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
}

Statement& Statement::bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind_blob(int i, std::span<const std::byte> blob) {
    // A zero-length blob must still be a BLOB, not NULL.
    static const std::byte empty{};
    sqlite3_bind_blob64(stmt_, i, blob.empty() ? &empty : blob.data(), blob.size(), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind_zeroblob(int i, int n) {
    sqlite3_bind_zeroblob(stmt_, i, n);
    return *this;
}

int Statement::step() { return stmt_ ? sqlite3_step(stmt_) : SQLITE_MISUSE; }

void Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::column_int(int i) const { return sqlite3_column_int64(stmt_, i); }

std::span<const std::byte> Statement::column_blob(int i) const {
    const void* p = sqlite3_column_blob(stmt_, i);
    int n = sqlite3_column_bytes(stmt_, i);
    if (!p || n <= 0) return {};
    return {static_cast<const std::byte*>(p), static_cast<std::size_t>(n)};
}

std::string Statement::column_text(int i) const {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
}

Database::~Database() {
    if (db_) sqlite3_close_v2(db_);
}

std::string Database::open(const std::string& path) {
    int rc = sqlite3_open_v2(path.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (rc != SQLITE_OK) return db_ ? sqlite3_errmsg(db_) : "cannot open database";
    sqlite3_busy_timeout(db_, 5000);
    // WAL + synchronous=FULL: every COMMIT fsyncs the WAL, so a committed job
    // survives power loss. secure_delete overwrites deleted content (wrapped keys).
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA secure_delete=ON", "PRAGMA foreign_keys=ON"}) {
        if (auto err = exec(pragma); !err.empty()) return err;
    }
    return {};
}

std::string Database::exec(std::string_view sql) {
    char* err = nullptr;
    std::string s(sql);
    if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "sqlite error";
        sqlite3_free(err);
        return msg;
    }
    return {};
}

std::string Database::last_error() const { return db_ ? sqlite3_errmsg(db_) : "no database"; }

}  // namespace pg::spool
