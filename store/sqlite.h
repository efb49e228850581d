// A thin RAII layer over SQLite: a connection, statements prepared once and
// reused, a BEGIN IMMEDIATE transaction guard and PRAGMA user_version
// migrations. Everything the store does goes through it, so the rules of
// docs/architecture.md (WAL, foreign keys, busy_timeout, one immediate
// transaction per multi-row change) live in one place.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "store/commit_sync.h"
#include "store/open_options.h"

struct sqlite3;
struct sqlite3_stmt;

namespace imap::store {

// Thrown for every SQLite failure but busy/locked; carries the SQLite result
// code so callers can tell "full" from corruption. SQLITE_BUSY and
// SQLITE_LOCKED (another connection holds the lock past busy_timeout) are
// thrown as StoreError(StoreErrc::Busy) instead, so callers above the store
// need no SQLite codes (store/errors.h).
class SqliteError : public std::runtime_error {
  public:
    SqliteError(int code, const std::string& message);
    int code() const { return code_; }

  private:
    int code_;
};

// Throws the error for a failed SQLite call: StoreError(StoreErrc::Busy) for
// SQLITE_BUSY / SQLITE_LOCKED (any extended code of them), else SqliteError.
[[noreturn]] void throw_sqlite_error(int code, const std::string& message);

class Statement;
class Query;

// Process-wide SQLite settings, applied once before the first connection
// opens (later calls do nothing). Every opener calls it. Memory statistics
// are off: SQLite otherwise counts every allocation under one global
// mutex, which every thread's connection takes for each of its mallocs
// (in a profile of ten users' APPENDs, about 5 % of the CPU of the users'
// strands was that mutex and its bookkeeping). imapd never reads them.
void configure_sqlite();

class Database {
  public:
    explicit Database(const OpenOptions& options);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs SQL text with no results (may hold several statements).
    void exec(std::string_view sql);

    // A statement prepared on first use and cached for the connection's
    // lifetime. The returned Query resets it (and clears its bindings) when
    // it goes out of scope, so an unfinished SELECT never holds a read
    // transaction open or blocks a COMMIT. One Query per SQL text at a time.
    Query prepare(std::string_view sql);

    std::int64_t last_insert_rowid() const;
    int changes() const;  // rows changed by the last statement

    // PRAGMA user_version, the schema version.
    int user_version();

    // Brings the schema up to migrations.size(): migration i (0-based) takes
    // version i to i+1. Each runs in its own BEGIN IMMEDIATE transaction that
    // also sets user_version, so a crash leaves a whole version or none.
    // A database newer than the code is refused.
    void migrate(std::span<const std::function<void(Database&)>> migrations);

    sqlite3* handle() const { return db_; }

    // Group commit (OpenOptions::defer_sync, store/commit_sync.h): the
    // tracker of this connection's commits, or nullptr when every commit
    // is durable on return (synchronous=FULL, or an in-memory database).
    const std::shared_ptr<CommitSync>& commit_sync() const { return commit_sync_; }
    // The serial of the last write committed so far (0 without
    // commit_sync()). Counts the commits SQLite made since the last call,
    // so the count moves only after their COMMIT returned.
    std::uint64_t commit_serial();

    // Read batch (MailStore::begin_read_batch): while one is open, the
    // statements run outside a write transaction share one deferred read
    // transaction, opened by the first of them, instead of each taking and
    // releasing SQLite's file locks on its own (four fcntl calls a
    // statement; a command made about eight such reads). A Transaction ends
    // it before its BEGIN IMMEDIATE, and the next read opens another, so a
    // read after a write sees the write. Nested batches count.
    void begin_read_batch() { ++read_batch_depth_; }
    void end_read_batch() noexcept;
    bool in_read_batch() const { return read_batch_depth_ > 0; }
    // Opens the batch's read transaction if a batch is open and no
    // transaction is (prepare() and ReadSnapshot call it).
    void open_read_batch();
    // Ends the batch's read transaction, if open (never throws).
    void close_read_batch() noexcept;

  private:
    static int on_commit(void* self);
    // sqlite3_wal_hook: after each commit, the log's length in frames.
    static int on_log_written(void* self, sqlite3* db, const char* schema, int frames);

    // Finds a cached statement by its text without copying it.
    struct TextHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view text) const {
            return std::hash<std::string_view>{}(text);
        }
    };

    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, std::unique_ptr<Statement>, TextHash, std::equal_to<>>
        statements_;
    int read_batch_depth_ = 0;
    bool read_batch_open_ = false;  // the batch's BEGIN is in effect
    std::shared_ptr<CommitSync> commit_sync_;
    // Set by SQLite's commit hook, before a write transaction's COMMIT
    // finishes; turned into a count by commit_serial().
    bool uncounted_commit_ = false;
};

// A prepared statement. Bind with 1-based indexes, step() through rows.
class Statement {
  public:
    Statement(sqlite3* db, std::string_view sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, std::string_view text);
    Statement& bind_blob(int index, std::span<const std::byte> blob);
    Statement& bind_blob(int index, std::string_view bytes);
    Statement& bind_null(int index);
    // sqlite3_bind_pointer: hands `pointer` (not owned, must outlive the
    // statement's use) to an application-defined SQL function that asks for
    // the same `type` string, which must be a static string.
    Statement& bind_pointer(int index, void* pointer, const char* type);

    // Advances to the next row; false when done.
    bool step();
    // Steps to completion, expecting no rows.
    void run();
    void reset();

    std::int64_t column_int(int index) const;
    std::string column_text(int index) const;
    // The column's bytes without a copy, valid until the next step or reset.
    std::string_view column_blob(int index) const;
    bool column_is_null(int index) const;
    int column_bytes(int index) const;

  private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

// A use of a cached Statement; see Database::prepare.
class Query {
  public:
    explicit Query(Statement& statement) : statement_(&statement) {}
    ~Query();
    Query(Query&& other) noexcept : statement_(std::exchange(other.statement_, nullptr)) {}
    Query& operator=(Query&&) = delete;
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    Query& bind(int index, std::int64_t value);
    Query& bind(int index, std::string_view text);
    Query& bind_blob(int index, std::string_view bytes);
    Query& bind_null(int index);
    bool step();
    void run();
    std::int64_t column_int(int index) const;
    std::string column_text(int index) const;
    // Valid until the next step() or the Query's end.
    std::string_view column_blob(int index) const;
    bool column_is_null(int index) const;
    int column_bytes(int index) const;

  private:
    Statement* statement_;
};

// BEGIN IMMEDIATE ... COMMIT. The destructor rolls back a transaction that
// was not committed and never throws (docs/storage.md). Immediate,
// not deferred, so two writers wait on busy_timeout at BEGIN instead of
// failing with SQLITE_BUSY halfway through.
class Transaction {
  public:
    explicit Transaction(Database& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();

  private:
    Database& db_;
    bool done_ = false;
};

}  // namespace imap::store
