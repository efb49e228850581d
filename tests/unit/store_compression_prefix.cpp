// Search text compressed against its own message (schema v8,
// docs/storage.md "Compressed bodies", store/body_codec.h "prefixed"
// frames): the frame's round trip and its checks, SEARCH over prefixed
// frames and over the plain frames of schema v7 in one database, the FTS
// 'delete' of a body with prefixed frames leaving the index consistent,
// damaged frames and bodies read as StoreErrc::Corrupt, and the v7 -> v8
// migration (nothing rewritten; an imapd that knows only v7 refuses v8).
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "store/body_codec.h"
#include "store/body_objects.h"
#include "store/internal.h"
#include "store/message/message.h"
#include "store/schema.h"
#include "store/search.h"
#include "store/sqlite_mail_store.h"
#include "store/structure_codec.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;
using imap::store::test::count;
using imap::store::test::insert_legacy_message_rows;
using imap::store::test::memory;
using imap::store::test::request;
using Uids = std::vector<std::uint32_t>;

namespace {

// Lines of words, CRLF line ends, `size` bytes at least: 7bit text that
// the search text copies byte for byte.
std::string text_of_size(std::size_t size, unsigned seed) {
    static const char* const kWords[] = {"zebra ", "quokka ", "fjord ",  "lantern ", "pebble ",
                                         "orbit ", "meadow ", "cobalt ", "harbour ", "tinsel "};
    std::string text;
    unsigned state = seed;
    std::size_t words = 0;
    while (text.size() < size) {
        state = state * 1103515245u + 12345u;
        text += kWords[(state >> 16) % 10];
        if (++words % 11 == 0) text += std::to_string(state % 100000) + "\r\n";
    }
    return text + "\r\n";
}

std::string stored(MailStore& store, const std::string& column, std::int64_t body) {
    auto q =
        test::sqlite_database(store).prepare("SELECT " + column + " FROM bodies WHERE id = ?1");
    q.bind(1, body);
    REQUIRE(q.step());
    return q.column_text(0);
}

// Every term the index holds (fts5vocab 'row': one row per term with at
// least one document, over both index tables): none once every body is
// gone, if each 'delete' was given exactly the text that was indexed.
std::int64_t index_terms(MailStore& store) {
    test::sqlite_database(store).exec(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.header_terms USING "
        "fts5vocab(main, body_fts_header, 'row');"
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.body_terms USING "
        "fts5vocab(main, body_fts_body, 'row')");
    return count(store, "SELECT count(*) FROM temp.header_terms") +
           count(store, "SELECT count(*) FROM temp.body_terms");
}

// FTS5's own check of the index's structure (rank 0: not against the
// content table, whose columns hold frames, not the indexed text).
void check_index_integrity(MailStore& store) {
    CHECK_NOTHROW(test::sqlite_database(store).exec(
        "INSERT INTO body_fts_header (body_fts_header, rank) VALUES ('integrity-check', 0);"
        "INSERT INTO body_fts_body (body_fts_body, rank) VALUES ('integrity-check', 0)"));
}

void delete_all(MailStore& store, MailboxId box) {
    store.store_flags(box, test::all(), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box);
    store.collect_garbage();
}

}  // namespace

TEST_CASE("A prefixed frame round-trips and costs only what differs from its prefix",
          "[store][compression][prefix]") {
    const std::string body = "Subject: x\r\n\r\n" + text_of_size(20000, 1) + "\r\n--b--\r\n";
    const std::string text = body.substr(14, 20000);
    const std::string frame = compress_text_with_prefix(text, body);
    REQUIRE_FALSE(frame.empty());
    CHECK(is_prefixed_text(frame));
    CHECK_FALSE(is_prefixed_text(compress_text(text)));
    CHECK(text_prefix_size(frame) == body.size());
    CHECK(decompress_prefixed_text(frame, body) == text);
    // The text is in its prefix: a few dozen bytes, against the plain
    // frame's thousands.
    CHECK(frame.size() * 20 < compress_text(text).size());
    // No prefix: a plain compression behind the tag, still readable.
    const std::string alone = compress_text_with_prefix(text, "");
    REQUIRE_FALSE(alone.empty());
    CHECK(text_prefix_size(alone) == 0);
    CHECK(decompress_prefixed_text(alone, "") == text);
    // Short text is stored as it is.
    CHECK(compress_text_with_prefix("short", body).empty());
}

TEST_CASE("A prefixed frame with the wrong prefix or damaged is StoreErrc::Corrupt",
          "[store][compression][prefix]") {
    const std::string body = text_of_size(5000, 2);
    const std::string text = body.substr(100, 3000);
    const std::string frame = compress_text_with_prefix(text, body);
    REQUIRE(is_prefixed_text(frame));
    auto error = [](auto f) { return test::error_of(f); };
    // Shorter or longer than the frame says.
    CHECK(error([&] { decompress_prefixed_text(frame, body.substr(1)); }) == StoreErrc::Corrupt);
    // As long but other bytes (another body): the checksum.
    std::string other = body;
    std::replace(other.begin(), other.end(), 'e', 'E');
    CHECK(error([&] { decompress_prefixed_text(frame, other); }) == StoreErrc::Corrupt);
    // The frame cut short, its header cut short, a prefix size over the limit.
    CHECK(error([&] { decompress_prefixed_text(frame.substr(0, frame.size() - 2), body); }) ==
          StoreErrc::Corrupt);
    CHECK(error([&] { text_prefix_size(frame.substr(0, 3)); }) == StoreErrc::Corrupt);
    std::string huge = frame;
    huge[4] = '\x7f';
    CHECK(error([&] { text_prefix_size(huge); }) == StoreErrc::Corrupt);
    // The context is left clean: a plain frame decompresses after all that.
    CHECK(decompress_text(compress_text(text)) == text);
}

TEST_CASE("RFC 3501 6.4.4: SEARCH over search text stored as prefixed frames",
          "[store][compression][prefix][search]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    store.append(box, request(test::message("Grüße aus Köln",
                                            "Ein Gruß: ÄÖÜ straße\r\n" + text_of_size(20000, 3))));
    store.append(box, request(test::message("short", "hi\r\n")));
    // Body 1's columns are prefixed frames; body 2's text is too short.
    CHECK(is_prefixed_text(stored(store, "search_body", 1)));
    CHECK(is_prefixed_text(stored(store, "search_header", 1)));
    CHECK(count(store,
                "SELECT count(*) FROM bodies WHERE id = 2 AND "
                "typeof(search_body) = 'text'") == 1);
    CHECK(count(store, "SELECT length(search_body) < 200 FROM bodies WHERE id = 1") == 1);
    auto check = [&] {
        CHECK(store.search(box, SearchKey::body("straSSe")).empty());
        CHECK(store.search(box, SearchKey::body("straße")) == Uids{1});
        CHECK(store.search(box, SearchKey::body("äöü")) == Uids{1});
        CHECK(store.search(box, SearchKey::body("quokka")) == Uids{1});
        CHECK(store.search(box, SearchKey::body("hi")) == Uids{2});
        CHECK(store.search(box, SearchKey::text_("köln")) == Uids{1});
        CHECK(store.search(box, SearchKey::text_("zebra")) == Uids{1});
        CHECK(store.search(box, SearchKey::header("Subject", "grüße")) == Uids{1});
        CHECK(store.search(box, SearchKey::header("Subject", "zebra")).empty());
        CHECK(store.search(box, SearchKey::address("From", "alice@")) == Uids{1, 2});
    };
    check();  // queued: scanned
    test::index_all(store);
    check();  // indexed: narrowed, then matched
}

TEST_CASE("A body longer than kTextPrefixMaxBytes: its text against its first MiB",
          "[store][compression][prefix][search]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string text = text_of_size(limits::kTextPrefixMaxBytes + 5000, 4) + "marmalade\r\n";
    store.append(box, request(test::message("long", text)));
    const std::string frame = stored(store, "search_body", 1);
    REQUIRE(is_prefixed_text(frame));
    CHECK(text_prefix_size(frame) == limits::kTextPrefixMaxBytes);
    test::index_all(store);
    CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{1});
    CHECK(store.search(box, SearchKey::body("quokka")) == Uids{1});
    // TEXT: the header's read (the first block, kept for the body column)
    // is too short for the body's frame, which reads its whole prefix.
    CHECK(store.search(box, SearchKey::text_("marmalade")) == Uids{1});
    CHECK(store.search(box, SearchKey::text_("long@example")) == Uids{1});
}

TEST_CASE("The body text's prefix ends with the last text part, before an attachment",
          "[store][compression][prefix][search]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string text = text_of_size(3000, 7);
    std::string attachment;
    for (int line = 0; line < 3000; ++line)
        attachment +=
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
    const std::string raw =
        test::message("attached",
                      "--b\r\nContent-Type: text/plain\r\n\r\n" + text +
                          "--b\r\nContent-Type: application/octet-stream\r\n"
                          "Content-Transfer-Encoding: base64\r\n\r\n" +
                          attachment + "--b--\r\n",
                      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n");
    store.append(box, request(raw));
    const std::string frame = stored(store, "search_body", 1);
    REQUIRE(is_prefixed_text(frame));
    // Up to the end of the text part: the attachment is never decompressed
    // to read the text.
    const std::size_t text_end = raw.find("\r\n--b\r\nContent-Type: application");
    CHECK(text_prefix_size(frame) == text_end);
    CHECK(text_prefix_size(stored(store, "search_header", 1)) == raw.find("\r\n\r\n") + 4);
    test::index_all(store);
    CHECK(store.search(box, SearchKey::body("quokka")) == Uids{1});
    CHECK(store.search(box, SearchKey::body("QUJDREVG")).empty());
}

TEST_CASE("Deleting bodies with prefixed frames leaves the FTS index consistent",
          "[store][compression][prefix]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (unsigned i = 0; i < 6; ++i) {
        store.append(box,
                     request(test::message("note " + std::to_string(i), text_of_size(3000, i))));
    }
    store.append(box, request(test::message("kept", "marmalade jam\r\n" + text_of_size(3000, 9))));
    test::index_all(store);
    CHECK(count(store, "SELECT count(*) FROM bodies WHERE substr(search_body, 1, 1) = x'01'") == 7);
    const std::int64_t terms_before = index_terms(store);
    CHECK(terms_before > 0);
    // Messages 1-6 go: their 'delete's read their text back through the
    // body, whose body_raw row the trigger deletes after.
    store.store_flags(box, UidSet{{1, 6}}, FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box);
    store.collect_garbage();
    CHECK(count(store, "SELECT count(*) FROM bodies") == 1);
    CHECK(count(store, "SELECT count(*) FROM body_raw") == 1);
    check_index_integrity(store);
    CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{7});
    CHECK(store.search(box, SearchKey::body("quokka")) == Uids{7});
    CHECK(store.search(box, SearchKey::header("Subject", "note")).empty());
    delete_all(store, box);
    CHECK(count(store, "SELECT count(*) FROM body_raw") == 0);
    CHECK(index_terms(store) == 0);
    CHECK(count(store, "SELECT count(*) FROM body_fts_body_docsize") == 0);
    check_index_integrity(store);
}

TEST_CASE("A damaged prefixed frame or its damaged body fails SEARCH with StoreErrc::Corrupt",
          "[store][compression][prefix]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string raw = test::message("damage", text_of_size(5000, 5));
    store.append(box, request(raw));
    test::index_all(store);
    REQUIRE(is_prefixed_text(stored(store, "search_body", 1)));
    Database& db = test::sqlite_database(store);
    const char* damage = GENERATE(
        // The frame: garbage after its header, cut short, a prefix over the
        // limit (|| makes text: cast back to the BLOB a frame is).
        "UPDATE bodies SET search_body = CAST(substr(search_body, 1, 5) || "
        "randomblob(length(search_body) - 5) AS BLOB)",
        "UPDATE bodies SET search_body = substr(search_body, 1, 3)",
        "UPDATE bodies SET search_body = CAST(x'01ffffff7f' || substr(search_body, 6) AS BLOB)",
        // The body: its container cut short, or gone.
        "UPDATE body_raw SET data = substr(data, 1, 20)", "DELETE FROM body_raw");
    INFO(damage);
    db.exec(damage);
    REQUIRE(count(store, "SELECT typeof(search_body) = 'blob' FROM bodies") == 1);
    CHECK(test::error_of([&] { store.search(box, SearchKey::body("quokka")); }) ==
          StoreErrc::Corrupt);
    // The store still answers.
    CHECK(store.search(box, SearchKey::larger(1)) == Uids{1});
}

TEST_CASE("Another body of the same length in its place is StoreErrc::Corrupt, not wrong text",
          "[store][compression][prefix]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string raw = test::message("swap", text_of_size(5000, 6));
    store.append(box, request(raw));
    std::string other = raw;
    std::replace(other.begin() + 200, other.end(), 'e', 'E');
    test::sqlite_database(store)
        .prepare("UPDATE body_raw SET data = ?1")
        .bind_blob(1, compress_body(other))
        .run();
    CHECK(test::error_of([&] { store.search(box, SearchKey::body("quokka")); }) ==
          StoreErrc::Corrupt);
}

namespace {

// A database as schema version 7 made it: bodies compressed in body_raw,
// their search text as plain frames (or text when short), queued for the
// index, and the messages.
void make_v7_database(const OpenOptions& options, const std::vector<std::string>& raws) {
    Database db(options);
    db.migrate(mail_migrations().first(7));
    REQUIRE(db.user_version() == 7);
    std::int64_t uid = 1;
    for (const std::string& raw : raws) {
        const ParsedMessage parsed = parse_message(raw);
        SearchText text = extract_search_text(raw, parsed);
        const std::string header = search_header_column(text);
        auto q = db.prepare(
            "INSERT INTO bodies (hash, size, structure, search_header, search_body, raw) "
            "VALUES (?1, ?2, ?3, ?4, ?5, x'')");
        q.bind_blob(1, sha256(raw))
            .bind(2, static_cast<std::int64_t>(raw.size()))
            .bind_blob(3, encode_structure(parsed));
        for (const auto& [index, column] :
             {std::pair<int, const std::string*>{4, &header}, {5, &text.body}}) {
            const std::string frame = compress_text(*column);
            if (frame.empty()) {
                q.bind(index, *column);
            } else {
                q.bind_blob(index, frame);
            }
        }
        q.run();
        const std::int64_t body = db.last_insert_rowid();
        db.prepare("INSERT INTO body_raw (body_id, format, data) VALUES (?1, ?2, ?3)")
            .bind(1, body)
            .bind(2, kBodyFormatZstdBlocks)
            .bind_blob(3, compress_body(raw))
            .run();
        insert_legacy_message_rows(db, body, uid++, raw.size());
    }
    db.prepare("UPDATE mailboxes SET uidnext = ?1 WHERE name = 'INBOX'").bind(1, uid).run();
}

}  // namespace

TEST_CASE("A version 7 database's plain frames are read, then rewritten by the v9 batches",
          "[store][compression][prefix][migrate]") {
    imap::test::UniqueTempDir dir("imapd-store-compression-v8");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    std::vector<std::string> raws;
    for (unsigned i = 0; i < 8; ++i)
        raws.push_back(test::message("old " + std::to_string(i), text_of_size(2000 + 500 * i, i)));
    raws.push_back(test::message("needle", "the word marmalade is here\r\n"));
    make_v7_database(options, raws);
    {
        SqliteMailStore store(options);
        CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
        const MailboxId box = store.open_mailbox("INBOX").id;
        // v7's plain frames, read as they are until the batches pass.
        CHECK(count(store,
                    "SELECT count(*) FROM bodies WHERE substr(search_body, 1, 4) = "
                    "x'28b52ffd'") == 8);
        CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{9});  // queued
        CHECK(store.search(box, SearchKey::body("quokka")).size() == 8);
        // Batches of one body: the index first (so these bodies are indexed
        // with their plain frames, and the 'delete' must get the same text
        // back from the prefixed ones), then four rewritten.
        IndexLimits one;
        one.max_bodies = 1;
        one.max_time = std::chrono::milliseconds(0);
        for (int batch = 0;
             batch < 100 && count(store, "SELECT count(*) FROM compress_pending") > 5; ++batch)
            store.index_pending(one);
        CHECK(count(store, "SELECT count(*) FROM fts_pending") == 0);
        CHECK(count(store, "SELECT count(*) FROM compress_pending") == 5);
        CHECK(count(store,
                    "SELECT count(*) FROM bodies WHERE substr(search_body, 1, 1) = "
                    "x'01'") == 4);
        // Half-way: both kinds searched through the index.
        CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{9});
        CHECK(store.search(box, SearchKey::body("quokka")).size() == 8);
        CHECK(store.search(box, SearchKey::text_("quokka")).size() == 8);
        test::index_all(store);
        CHECK(count(store, "SELECT count(*) FROM compress_pending") == 0);
        CHECK(count(store,
                    "SELECT count(*) FROM bodies WHERE substr(search_body, 1, 1) = "
                    "x'01'") == 8);
        CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{9});
        CHECK(store.search(box, SearchKey::body("quokka")).size() == 8);
        CHECK(store.search(box, SearchKey::header("Subject", "needle")) == Uids{9});
        // New mail beside it gets prefixed frames; both kinds searched.
        store.append(box,
                     request(test::message("new", "marmalade again\r\n" + text_of_size(3000, 42))));
        CHECK(is_prefixed_text(stored(store, "search_body", 10)));
        CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{9, 10});
        test::index_all(store);
        CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{9, 10});
        CHECK(store.search(box, SearchKey::text_("quokka")).size() == 9);
        // Both kinds leave the index whole when they go (the v8 trigger).
        delete_all(store, box);
        CHECK(count(store, "SELECT count(*) FROM bodies") == 0);
        CHECK(index_terms(store) == 0);
        check_index_integrity(store);
    }
    // An imapd that knows only version 7 refuses the database.
    Database db(options);
    CHECK_THROWS_WITH(db.migrate(mail_migrations().first(7)),
                      Catch::Contains("newer than this imapd supports"));
}

TEST_CASE("Schema version 9 splits the index and queues every body of a version 8 database",
          "[store][compression][prefix][migrate]") {
    imap::test::UniqueTempDir dir("imapd-store-compression-v9");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    std::vector<std::string> raws;
    for (unsigned i = 0; i < 5; ++i)
        raws.push_back(test::message("old " + std::to_string(i), text_of_size(2000, i)));
    raws.push_back(test::message("needle", "the word marmalade is here\r\n"));
    make_v7_database(options, raws);
    {
        // Version 8, every body indexed in its one detail=column table.
        Database db(options);
        imap::store::detail::register_search_functions(db);
        db.migrate(mail_migrations().first(8));
        db.exec(
            "INSERT INTO body_fts (rowid, search_header, search_body) SELECT id, "
            "imap_text(search_header, id), imap_text(search_body, id) FROM bodies;"
            "DELETE FROM fts_pending;");
    }
    SqliteMailStore store(options);
    CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
    CHECK(count(store, "SELECT count(*) FROM sqlite_schema WHERE name = 'body_fts'") == 0);
    // Queued again: SEARCH reads them until the new tables hold them.
    CHECK(count(store, "SELECT count(*) FROM fts_pending") == 6);
    const MailboxId box = store.open_mailbox("INBOX").id;
    auto check = [&] {
        CHECK(store.search(box, SearchKey::body("marmalade")) == Uids{6});
        CHECK(store.search(box, SearchKey::text_("marmalade")) == Uids{6});
        CHECK(store.search(box, SearchKey::header("Subject", "needle")) == Uids{6});
        CHECK(store.search(box, SearchKey::header("Subject", "marmalade")).empty());
        CHECK(store.search(box, SearchKey::body("needle")).empty());
        CHECK(store.search(box, SearchKey::text_("needle")) == Uids{6});
        CHECK(store.search(box, SearchKey::body("quokka")).size() == 5);
    };
    check();
    test::index_all(store);
    CHECK(count(store, "SELECT count(*) FROM fts_pending") == 0);
    // Each table holds its column only.
    CHECK(count(store,
                "SELECT count(*) FROM body_fts_header WHERE body_fts_header MATCH "
                "'\"eed\" AND \"dle\"'") == 1);
    CHECK(count(store,
                "SELECT count(*) FROM body_fts_body WHERE body_fts_body MATCH "
                "'\"eed\" AND \"dle\"'") == 0);
    check();
    delete_all(store, box);
    CHECK(index_terms(store) == 0);
    check_index_integrity(store);
}
