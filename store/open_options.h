// How to open a store: which backend, where, and how durable. Shared by the
// mail store factory (store/mail_store.h), the accounts database and the
// SQLite layer; DataDir (store/data_dir.h) fills it in for a data directory.
#pragma once

#include <string>

namespace imap::store {

// The mail store implementations open_mail_store() can make. One today;
// the seam a second one (PostgreSQL) plugs into: docs/architecture.md
// "The store seam".
enum class Backend { Sqlite };

struct OpenOptions {
    // The path, or ":memory:" for a private in-memory database (test mode).
    std::string path = ":memory:";
    bool create = true;
    // synchronous=FULL for mail data: a transaction that returned is on disk
    // (WAL fsync'd at commit). NORMAL is enough for caches and indexes.
    bool full_sync = true;
    // Group commit (store/commit_sync.h): commits do not wait for the disk
    // (synchronous=NORMAL) and Database::commit_sync() makes them durable
    // later, many at once. Only for a caller that holds back everything
    // depending on a commit until then (the server with worker threads).
    // Ignored for ":memory:" (nothing to sync).
    bool defer_sync = false;
    // How long a write waits for another writer's lock before the call
    // fails with StoreErrc::Busy.
    int busy_timeout_ms = 5000;
    // SQLite's page cache for this connection (PRAGMA cache_size), the
    // largest part of an open store's memory and the same for a mailbox of
    // 1,000 messages as for one of 1,000,000 (docs/storage.md "Memory").
    // 2 MiB is SQLite's own default.
    std::size_t page_cache_bytes = 2 * 1024 * 1024;
    // A reader beside the database's writer (docs/architecture.md "Reads
    // beside the strand"): PRAGMA query_only, so a write through it fails
    // instead of taking the write lock; never creates the file, never
    // migrates (the writer, opened first, did), no group commit.
    bool read_only = false;
    Backend backend = Backend::Sqlite;
};

}  // namespace imap::store
