// The SQLite layer's contract (docs/architecture.md, Store): statements
// prepared once, BEGIN IMMEDIATE guards that roll back, migrations that are
// all-or-nothing per version, WAL and foreign keys on.
#include "store/sqlite.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <vector>

using imap::store::Database;
using imap::store::OpenOptions;
using imap::store::SqliteError;
using imap::store::Transaction;

namespace {

std::int64_t count_rows(Database& db, const char* table) {
    auto statement = db.prepare(std::string("SELECT count(*) FROM ") + table);
    REQUIRE(statement.step());
    return statement.column_int(0);
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "imapd-sqlite-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("prepare() reuses the statement, reset and unbound after each use") {
    Database db(OpenOptions{});
    db.exec("CREATE TABLE t (x INTEGER)");
    db.prepare("INSERT INTO t (x) VALUES (?1)").bind(1, std::int64_t{7}).run();
    db.prepare("INSERT INTO t (x) VALUES (?1)").run();  // bindings were cleared: NULL
    auto select = db.prepare("SELECT x FROM t ORDER BY rowid");
    REQUIRE(select.step());
    CHECK(select.column_int(0) == 7);
    REQUIRE(select.step());
    CHECK(select.column_is_null(0));
    CHECK_FALSE(select.step());
}

TEST_CASE("text and blob columns keep every byte, NULs included") {
    Database db(OpenOptions{});
    db.exec("CREATE TABLE t (b BLOB)");
    const std::string bytes("a\0b\r\n\xff", 6);
    db.prepare("INSERT INTO t VALUES (?1)").bind_blob(1, bytes).run();
    auto select = db.prepare("SELECT b FROM t");
    REQUIRE(select.step());
    CHECK(select.column_bytes(0) == 6);
    CHECK(select.column_text(0) == bytes);
}

TEST_CASE("a Transaction not committed is rolled back by its destructor") {
    Database db(OpenOptions{});
    db.exec("CREATE TABLE t (x INTEGER)");
    {
        Transaction transaction(db);
        db.prepare("INSERT INTO t VALUES (1)").run();
    }
    CHECK(count_rows(db, "t") == 0);
    {
        Transaction transaction(db);
        db.prepare("INSERT INTO t VALUES (1)").run();
        transaction.commit();
    }
    CHECK(count_rows(db, "t") == 1);
}

TEST_CASE("a Transaction rolls back when the work inside throws") {
    Database db(OpenOptions{});
    db.exec("CREATE TABLE t (x INTEGER UNIQUE)");
    db.prepare("INSERT INTO t VALUES (1)").run();
    try {
        Transaction transaction(db);
        db.prepare("INSERT INTO t VALUES (2)").run();
        db.prepare("INSERT INTO t VALUES (1)").run();  // violates UNIQUE
        transaction.commit();
        FAIL("expected a constraint error");
    } catch (const SqliteError& error) {
        CHECK((error.code() & 0xff) == SQLITE_CONSTRAINT);
    }
    CHECK(count_rows(db, "t") == 1);
}

TEST_CASE("an abandoned SELECT does not block a later COMMIT") {
    Database db(OpenOptions{});
    db.exec("CREATE TABLE t (x INTEGER)");
    db.prepare("INSERT INTO t VALUES (1), (2)").run();
    {
        auto select = db.prepare("SELECT x FROM t");
        REQUIRE(select.step());  // one row read, one left
    }
    Transaction transaction(db);
    db.prepare("DELETE FROM t").run();
    transaction.commit();
    CHECK(count_rows(db, "t") == 0);
}

TEST_CASE("foreign keys are enforced") {
    Database db(OpenOptions{});
    db.exec(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (parent INTEGER REFERENCES parent(id))");
    CHECK_THROWS_AS(db.prepare("INSERT INTO child VALUES (42)").run(), SqliteError);
}

TEST_CASE("migrate() applies each version once, in order, and records user_version") {
    Database db(OpenOptions{});
    std::vector<int> applied;
    std::vector<std::function<void(Database&)>> migrations = {
        [&](Database& d) {
            applied.push_back(1);
            d.exec("CREATE TABLE a (x)");
        },
        [&](Database& d) {
            applied.push_back(2);
            d.exec("CREATE TABLE b (x)");
        },
    };
    CHECK(db.user_version() == 0);
    db.migrate(migrations);
    CHECK(db.user_version() == 2);
    db.migrate(migrations);
    CHECK(applied == std::vector<int>{1, 2});
}

TEST_CASE("a failing migration leaves the previous version whole") {
    Database db(OpenOptions{});
    std::vector<std::function<void(Database&)>> migrations = {
        [](Database& d) { d.exec("CREATE TABLE a (x)"); },
        [](Database& d) {
            d.exec("CREATE TABLE b (x)");
            d.exec("THIS IS NOT SQL");
        },
    };
    CHECK_THROWS_AS(db.migrate(migrations), SqliteError);
    CHECK(db.user_version() == 1);
    auto tables = db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'b'");
    REQUIRE(tables.step());
    CHECK(tables.column_int(0) == 0);
}

TEST_CASE("a database newer than the code is refused") {
    Database db(OpenOptions{});
    db.exec("PRAGMA user_version=5");
    std::vector<std::function<void(Database&)>> migrations(1, [](Database&) {});
    CHECK_THROWS_AS(db.migrate(migrations), SqliteError);
}

TEST_CASE("a file database uses WAL and keeps committed data across reopen") {
    TempDir dir;
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    {
        Database db(options);
        {
            auto mode = db.prepare("PRAGMA journal_mode");
            REQUIRE(mode.step());
            CHECK(mode.column_text(0) == "wal");
        }
        db.exec("CREATE TABLE t (x)");
        Transaction transaction(db);
        db.prepare("INSERT INTO t VALUES ('kept')").run();
        transaction.commit();
    }
    Database reopened(options);
    CHECK(count_rows(reopened, "t") == 1);
}

TEST_CASE("opening a missing file without create fails with a clear error") {
    OpenOptions options;
    options.path = "/nonexistent-dir/imapd/user.db";
    options.create = false;
    try {
        Database db(options);
        FAIL("expected an error");
    } catch (const SqliteError& error) {
        CHECK(std::string(error.what()).find("/nonexistent-dir/imapd/user.db") !=
              std::string::npos);
    }
}

TEST_CASE("a read batch shares one read transaction, ended by a write, later reads see it") {
    TempDir dir;
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    Database db(options);
    Database other(options);  // another process (`imapd deliver`)
    db.exec("CREATE TABLE t (x)");
    const auto in_transaction = [&] { return sqlite3_get_autocommit(db.handle()) == 0; };

    db.begin_read_batch();
    CHECK_FALSE(in_transaction());  // opened by the first read, not before
    CHECK(count_rows(db, "t") == 0);
    CHECK(in_transaction());  // the statement is done; its snapshot stays
    // Another connection's commit is not seen inside the snapshot...
    other.exec("INSERT INTO t VALUES ('delivered')");
    CHECK(count_rows(db, "t") == 0);
    {
        // ...but a write of this connection ends it first: a read batch's
        // snapshot cannot become a write transaction.
        Transaction transaction(db);
        db.prepare("INSERT INTO t VALUES ('mine')").run();
        transaction.commit();
    }
    CHECK_FALSE(in_transaction());
    CHECK(count_rows(db, "t") == 2);  // a new snapshot: both commits
    CHECK(in_transaction());
    // Nested batches count; the outer end closes it.
    db.begin_read_batch();
    db.end_read_batch();
    CHECK(in_transaction());
    db.end_read_batch();
    CHECK_FALSE(in_transaction());
    // Outside a batch every statement is its own transaction again.
    CHECK(count_rows(db, "t") == 2);
    CHECK_FALSE(in_transaction());
}

TEST_CASE("a read batch ends before a setting SQLite refuses inside a transaction") {
    TempDir dir;
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    Database db(options);
    db.begin_read_batch();
    {
        auto q = db.prepare("PRAGMA synchronous");
        REQUIRE(q.step());
    }
    // What the store's relaxed-sync scope does (store/sqlite_mail_store.cpp).
    CHECK_THROWS_AS(db.exec("PRAGMA synchronous=NORMAL"), SqliteError);
    db.close_read_batch();
    CHECK_NOTHROW(db.exec("PRAGMA synchronous=NORMAL"));
    db.end_read_batch();
}

TEST_CASE("the page cache is what OpenOptions says, SQLite's 2 MiB by default") {
    // docs/storage.md "Memory": [limits] store_cache bounds each store's cache.
    auto cache_kib = [](Database& db) {
        auto q = db.prepare("PRAGMA cache_size");
        REQUIRE(q.step());
        return q.column_int(0);
    };
    Database plain(OpenOptions{});
    CHECK(cache_kib(plain) == -2048);
    OpenOptions options;
    options.page_cache_bytes = 512 * 1024;
    Database small(options);
    CHECK(cache_kib(small) == -512);
    options.page_cache_bytes = 1000;  // never below 64 KiB
    Database tiny(options);
    CHECK(cache_kib(tiny) == -64);
}
