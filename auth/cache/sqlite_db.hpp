// SPDX-License-Identifier: Apache-2.0
// Minimal RAII over the SQLite C API for the credential cache (the auth layer may not use
// gateway/spool's wrapper). Not thread-safe: CredentialCache serialises every call.
//
// Owns: the connection settings (WAL, synchronous=FULL, secure_delete, no automatic
// checkpoint) and transactions.
// Must not: log, or put an SQLite error text into a user-facing message.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <sqlite3.h>

namespace pg::auth::cache_detail {

class Stmt {
public:
    Stmt(sqlite3* db, std::string_view sql);
    ~Stmt();
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    bool ok() const { return stmt_ != nullptr; }
    Stmt& bind(int i, std::int64_t v);
    Stmt& bind(int i, std::string_view text);
    Stmt& bind_blob(int i, std::span<const std::byte> blob);
    // SQLITE_ROW, SQLITE_DONE or an error code (SQLITE_MISUSE when preparing failed).
    int step();
    void reset();
    std::int64_t column_int(int i) const;
    std::span<const std::byte> column_blob(int i) const;
    std::string column_text(int i) const;

private:
    sqlite3_stmt* stmt_ = nullptr;
};

class Db {
public:
    Db() = default;
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    // Opens (creating) `path` with WAL, synchronous=FULL, secure_delete=ON and no automatic
    // checkpoint (the owner runs them: CredentialCache::checkpoint). False on error.
    bool open(const std::string& path);
    // True inside BEGIN ... COMMIT.
    bool in_transaction() const { return db_ != nullptr && sqlite3_get_autocommit(db_) == 0; }
    // Runs SQL without results. False on error.
    bool exec(const char* sql);
    sqlite3* handle() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
public:
    explicit Transaction(Db& db) : db_(db), open_(db.exec("BEGIN IMMEDIATE")) {}
    ~Transaction() {
        if (open_) db_.exec("ROLLBACK");
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    bool began() const { return open_; }
    bool commit() {
        if (!open_ || !db_.exec("COMMIT")) return false;
        open_ = false;
        return true;
    }

private:
    Db& db_;
    bool open_;
};

// synchronous=NORMAL for the statements run while it lives, outside a transaction only
// (inside one, the surrounding COMMIT decides). In WAL mode such a commit is not fsynced:
// a process crash keeps it (it is in the OS's page cache), a power loss may lose it until
// the next fsynced commit or checkpoint. For writes that only record what was last seen.
class RelaxedSync {
public:
    explicit RelaxedSync(Db& db) : db_(db), on_(!db.in_transaction() && db.exec("PRAGMA synchronous=NORMAL")) {}
    ~RelaxedSync() {
        if (on_) db_.exec("PRAGMA synchronous=FULL");
    }
    RelaxedSync(const RelaxedSync&) = delete;
    RelaxedSync& operator=(const RelaxedSync&) = delete;

private:
    Db& db_;
    bool on_;
};

}  // namespace pg::auth::cache_detail
