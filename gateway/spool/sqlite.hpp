// SPDX-License-Identifier: Apache-2.0
// Thin RAII over the SQLite C API for the spool index. Not thread-safe by itself:
// the owner serialises access (Spool holds db_mutex_).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <sqlite3.h>

namespace pg::spool {

class Statement {
public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    bool ok() const { return stmt_ != nullptr; }
    Statement& bind(int i, std::int64_t v);
    Statement& bind(int i, std::string_view text);
    Statement& bind_blob(int i, std::span<const std::byte> blob);
    Statement& bind_zeroblob(int i, int n);
    // SQLITE_ROW, SQLITE_DONE or an error code.
    int step();
    void reset();
    std::int64_t column_int(int i) const;
    std::span<const std::byte> column_blob(int i) const;
    std::string column_text(int i) const;

private:
    sqlite3_stmt* stmt_ = nullptr;
};

class Database {
public:
    Database() = default;
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Opens (creating) the file with WAL, synchronous=FULL, secure_delete=ON.
    // Returns an error message, empty on success.
    std::string open(const std::string& path);
    // Runs SQL without results; returns an error message, empty on success.
    std::string exec(std::string_view sql);
    std::string last_error() const;
    sqlite3* handle() const { return db_; }

private:
    sqlite3* db_ = nullptr;
};

}  // namespace pg::spool
