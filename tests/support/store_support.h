// Helpers for the store's unit tests (tests/unit/store_*.cpp): an in-memory
// MailStore and small message builders.
#pragma once

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "store/sqlite_mail_store.h"

namespace imap::store::test {

// The StoreErrc that `f` throws; fails the test if it throws none.
inline StoreErrc error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const StoreError& e) {
        return e.code();
    }
    FAIL("no StoreError thrown");
    return StoreErrc::Corrupt;
}

inline OpenOptions memory() {
    return OpenOptions{};
}

inline std::string message(const std::string& subject, const std::string& body = "Hello.\r\n",
                           const std::string& extra_headers = "") {
    return "From: Alice <alice@example.org>\r\n"
           "To: Bob <bob@example.net>\r\n"
           "Subject: " +
           subject +
           "\r\n"
           "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
           "Message-ID: <" +
           subject + "@example.org>\r\n" + extra_headers + "\r\n" + body;
}

inline AppendRequest request(const std::string& raw, std::uint32_t flags = 0,
                             std::vector<std::string> keywords = {}) {
    AppendRequest r;
    r.message = raw;
    r.internal_date = 760686745;  // 1994-02-08T05:52:25Z
    r.zone_minutes = -480;
    r.flags.system = flags;
    r.flags.keywords = std::move(keywords);
    return r;
}

// The SQLite database below a store the tests opened (SQLite backend).
inline Database& sqlite_database(MailStore& store) {
    return dynamic_cast<SqliteMailStore&>(store).database();
}

inline std::int64_t count(MailStore& store, const std::string& sql) {
    auto q = sqlite_database(store).prepare(sql);
    q.step();
    return q.column_int(0);
}

// How many bodies the search index (schema v9: body_fts_header and
// body_fts_body) finds for FTS5 query `query` in either column.
inline std::int64_t indexed_matching(MailStore& store, const std::string& query) {
    auto q = sqlite_database(store).prepare(
        "SELECT count(*) FROM (SELECT rowid FROM body_fts_header WHERE body_fts_header MATCH ?1 "
        "UNION SELECT rowid FROM body_fts_body WHERE body_fts_body MATCH ?1)");
    q.bind(1, query);
    q.step();
    return q.column_int(0);
}

// Indexes every body queued for the search index (MailStore::index_pending),
// as the server's background indexer does: the tests that mean to exercise
// the index's narrowing run their searches after it.
inline void index_all(MailStore& store) {
    while (store.index_pending().more) {
    }
}

// SQL that takes a database of the current schema back to version 9:
// what mail_v10 added (the UID runs), removed.
inline constexpr const char* kUndoSchemaV10 =
    "DROP TRIGGER messages_uid_runs_insert; DROP TRIGGER messages_uid_runs_delete;"
    "DROP TRIGGER messages_uid_runs_update; DROP TABLE uid_runs; PRAGMA user_version=9;";

// Takes a database of the current schema back to version 6 (the tests of
// older migrations start from there): every body's bytes back in
// bodies.raw and its search text back as text, what mail_v7 to mail_v10
// added removed.
inline void undo_schema_v7(SqliteMailStore& store) {
    Database& db = store.database();
    db.exec(kUndoSchemaV10);
    std::vector<std::int64_t> bodies;
    {
        auto q = db.prepare("SELECT body_id FROM body_raw");
        while (q.step())
            bodies.push_back(q.column_int(0));
    }
    for (std::int64_t body : bodies) {
        const std::string raw = store.read_body(BodyId{body}, 0, limits::kMaxMessageSize);
        db.prepare(
              "UPDATE bodies SET raw = ?2, search_header = imap_text(search_header, id), "
              "search_body = imap_text(search_body, id) WHERE id = ?1")
            .bind(1, body)
            .bind_blob(2, raw)
            .run();
    }
    // v9's index tables back to v4's one, holding every body (none queued).
    db.exec(
        "DROP TABLE body_fts_header; DROP TABLE body_fts_body;"
        "CREATE VIRTUAL TABLE body_fts USING fts5(search_header, search_body, "
        "content='bodies', content_rowid='id', tokenize='trigram', detail=column);"
        "INSERT INTO body_fts (body_fts) VALUES ('rebuild'); DELETE FROM fts_pending;");
    db.exec(
        "DROP TABLE body_raw; DROP TABLE compress_pending; DROP TRIGGER bodies_fts_delete;"
        "CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies BEGIN "
        "INSERT INTO body_fts (body_fts, rowid, search_header, search_body) "
        "SELECT 'delete', old.id, old.search_header, old.search_body "
        "WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE body_id = old.id); "
        "DELETE FROM fts_pending WHERE body_id = old.id; END;"
        "PRAGMA user_version=6;");
}

// SQL that takes a database of schema version 6 (undo_schema_v7) back to
// version 5: what mail_v6 added, removed.
inline constexpr const char* kUndoSchemaV6 =
    "DROP TRIGGER bodies_object_delete; DROP TABLE object_pending; DROP TABLE body_object;"
    "DROP INDEX mailboxes_object_id; ALTER TABLE mailboxes DROP COLUMN object_id;"
    "ALTER TABLE messages DROP COLUMN save_date; ALTER TABLE expunged DROP COLUMN save_date;";

inline UidSet all() {
    return {{1, 0xffffffffu}};
}

// What a message of INBOX has besides its body in a database of schema
// version 6 or 7, as those versions wrote it (tests of the migrations from
// them): its object row, its queued sort keys and its messages row with
// UID `uid` (the body, id `body`, already inserted).
inline void insert_legacy_message_rows(Database& db, std::int64_t body, std::int64_t uid,
                                       std::size_t size) {
    db.prepare("INSERT INTO body_object (body_id, thread_id, preview) VALUES (?1, 'T', '')")
        .bind(1, body)
        .run();
    db.prepare("INSERT INTO sort_pending (body_id) VALUES (?1)").bind(1, body).run();
    db.prepare(
          "INSERT INTO messages (mailbox_id, uid, body_id, internal_date, zone_minutes, "
          "size, flags, modseq, save_date) SELECT id, ?1, ?2, 760686745, -480, ?3, 0, 2, "
          "760686745 FROM mailboxes WHERE name = 'INBOX'")
        .bind(1, uid)
        .bind(2, body)
        .bind(3, static_cast<std::int64_t>(size))
        .run();
}

}  // namespace imap::store::test
