// The search index off the commit path (docs/storage.md "The search index"):
// a new body is queued (fts_pending) and indexed later by
// MailStore::index_pending(); SEARCH (RFC 3501 6.4.4) finds exactly the same
// messages whether their bodies are queued, indexed, or some of each, and a
// store reopened with a queue (a crash before the indexer ran) catches up.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "store/schema.h"
#include "store/search.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;
using imap::store::test::count;
using imap::store::test::memory;
using imap::store::test::request;
using Uids = std::vector<std::uint32_t>;

namespace {

// UIDs 1-6, in this order.
std::vector<std::string> corpus() {
    return {
        test::message("Quarterly report", "The numbers are in.\r\n"),
        "From: =?UTF-8?Q?J=C3=BCrgen?= <jurgen@example.de>\r\n"
        "To: team@example.org\r\n"
        "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        "Sch=C3=B6ne Gr=C3=BC=C3=9Fe aus M=C3=BCnchen. xy\r\n",
        "From: bob@example.net\r\nSubject: no date here\r\n\r\n" + std::string(5000, 'q') + "\r\n",
        test::message("Lunch in M\xC3\xBCnchen", "Wir treffen uns um 12.\r\n"),
        test::message("Re: Quarterly report", "I disagree with the numbers.\r\n",
                      "Cc: Carol <carol@example.com>\r\n"),
        "From: Bob <bob@example.net>\r\nSubject: Invoice 4711\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Amount due: 100 EUR. Gr\xC3\xBC\xC3\x9F"
        "e, xy\r\n",
    };
}

struct Case {
    const char* name;
    SearchKey key;
    Uids expected;
};

std::vector<Case> cases() {
    using SK = SearchKey;
    std::vector<Case> all;
    all.push_back({"HEADER Subject", SK::header("Subject", "quarterly"), {1, 5}});
    all.push_back({"HEADER Subject, empty string", SK::header("Subject", ""), {1, 2, 3, 4, 5, 6}});
    all.push_back({"HEADER To", SK::header("To", "team@"), {2}});
    all.push_back({"FROM", SK::address("From", "alice"), {1, 4, 5}});
    all.push_back({"FROM, address", SK::address("From", "bob@example"), {3, 6}});
    all.push_back({"FROM, encoded name", SK::address("From", "j\xC3\xBCrgen"), {2}});
    all.push_back({"CC", SK::address("Cc", "carol"), {5}});
    all.push_back({"BODY", SK::body("numbers"), {1, 5}});
    all.push_back({"BODY, non-ASCII and case", SK::body("GR\xC3\x9C\xC3\x9F"), {2, 6}});
    all.push_back({"BODY, too short for the index", SK::body("xy"), {2, 6}});
    all.push_back({"BODY, nowhere", SK::body("nothing like this"), {}});
    all.push_back({"TEXT, header or body", SK::text_("M\xC3\x9CNCHEN"), {2, 4}});
    all.push_back({"TEXT, two words", SK::text_("quarterly report"), {1, 5}});
    std::vector<SearchKey> chain;
    chain.push_back(SK::body("disagree"));
    chain.push_back(SK::header("Subject", "invoice"));
    chain.push_back(SK::address("From", "jurgen"));
    all.push_back({"OR chain", SK::any_of(std::move(chain)), {2, 5, 6}});
    all.push_back({"AND NOT",
                   SK::all_of({SK::text_("numbers"), SK::not_(SK::header("Subject", "Re:"))}),
                   {1}});
    all.push_back({"NOT BODY", SK::not_(SK::body("numbers")), {2, 3, 4, 6}});
    return all;
}

void check_cases(MailStore& store, MailboxId box) {
    for (const Case& c : cases()) {
        INFO(c.name);
        CHECK(store.search(box, c.key) == c.expected);
    }
}

// The corpus appended to INBOX of the store at `options`, nothing indexed;
// returns INBOX's id.
MailboxId append_corpus(const OpenOptions& options) {
    SqliteMailStore store(options);
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (const std::string& raw : corpus())
        store.append(box, request(raw));
    return box;
}

std::int64_t queued(MailStore& store) {
    return count(store, "SELECT count(*) FROM fts_pending");
}

}  // namespace

TEST_CASE("RFC 3501 6.4.4: SEARCH finds the same with bodies queued, indexed, or mixed",
          "[store][search][index]") {
    const std::vector<std::string> raws = corpus();
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (std::size_t i = 0; i < raws.size(); ++i) {
        store.append(box, request(raws[i]));
        if (i == 2) {
            // UIDs 1-3 indexed, 4-6 queued: each case has hits on both sides.
            test::index_all(store);
            CHECK(queued(store) == 0);
        }
    }
    CHECK(queued(store) == 3);
    SECTION("mixed") {
        check_cases(store, box);
    }
    SECTION("all indexed") {
        test::index_all(store);
        CHECK(queued(store) == 0);
        check_cases(store, box);
    }
    SECTION("all queued") {
        SqliteMailStore fresh(memory());
        const MailboxId inbox = fresh.open_mailbox("INBOX").id;
        for (const std::string& raw : raws)
            fresh.append(inbox, request(raw));
        CHECK(queued(fresh) == 6);
        check_cases(fresh, inbox);
    }
}

TEST_CASE("A store reopened with a queue (a crash before indexing) catches up in batches",
          "[store][search][index]") {
    imap::test::UniqueTempDir dir("imapd-store-search-index");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    const MailboxId box = append_corpus(options);
    SqliteMailStore store(options);
    CHECK(queued(store) == 6);
    check_cases(store, box);

    IndexLimits limits;
    limits.max_bodies = 4;
    IndexResult first = store.index_pending(limits);
    CHECK(first.indexed == 4);
    CHECK(first.more);
    CHECK(first.queued == 2);  // what the imapd_index_queue_bodies gauge shows
    check_cases(store, box);
    IndexResult second = store.index_pending(limits);
    CHECK(second.indexed == 2);
    CHECK_FALSE(second.more);
    CHECK(second.queued == 0);
    CHECK(queued(store) == 0);
    CHECK(test::indexed_matching(store, "dis AND agr") == 1);
    check_cases(store, box);
    // An empty queue: nothing to do, no transaction.
    IndexResult none = store.index_pending(limits);
    CHECK(none.indexed == 0);
    CHECK_FALSE(none.more);
}

TEST_CASE("index_pending: a time budget of zero still indexes one body per call",
          "[store][search][index]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (const std::string& raw : corpus())
        store.append(box, request(raw));
    IndexLimits limits;
    limits.max_time = std::chrono::milliseconds(0);
    std::size_t calls = 0;
    for (IndexResult r; calls == 0 || r.more; ++calls) {
        r = store.index_pending(limits);
        CHECK(r.indexed == 1);
    }
    CHECK(calls == 6);
}

TEST_CASE("The change feed tells when a commit queued bodies, and only then",
          "[store][search][index]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    std::vector<std::size_t> reports;
    store.set_change_listener(
        [&](const ChangeSet& changes) { reports.push_back(changes.bodies_queued); });
    const std::string raw = test::message("once");
    store.append(box, request(raw));
    store.append(box, request(raw));  // the same bytes: the body is shared, nothing queued
    store.store_flags(box, test::all(), FlagOp::Add, Flags{flag::kSeen, {}});
    CHECK(reports == std::vector<std::size_t>{1, 0, 0});
}

TEST_CASE("A queued body that goes leaves the queue, an indexed one the index",
          "[store][search][index]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    store.append(box, request(test::message("zebra crossing")));
    test::index_all(store);
    store.append(box, request(test::message("zebra queued")));
    CHECK(queued(store) == 1);
    store.store_flags(box, test::all(), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box);
    store.collect_garbage();
    CHECK(count(store, "SELECT count(*) FROM bodies") == 0);
    CHECK(queued(store) == 0);
    CHECK(test::indexed_matching(store, "zeb AND bra") == 0);
    CHECK(store.index_pending().indexed == 0);
}

TEST_CASE("An orphan body is not indexed, but is once an APPEND of the same bytes takes it back",
          "[store][search][index]") {
    // Expunged before its batch (the garbage collection comes later): SEARCH
    // never looks at it again, so indexing it would only be undone by the
    // collection's index delete.
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::string orphan = test::message("zebra expunged");
    store.append(box, request(orphan));
    store.store_flags(box, test::all(), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box);
    CHECK(queued(store) == 1);
    const IndexResult skipped = store.index_pending();
    CHECK(skipped.indexed == 0);
    CHECK_FALSE(skipped.more);  // nothing left a batch should take
    store.append(box, request(orphan));
    const IndexResult taken_back = store.index_pending();
    CHECK(taken_back.indexed == 1);
    CHECK(store.search(box, SearchKey::text_("zebra")) == Uids{2});
}

TEST_CASE("hostile: queued bodies do not make a search too costly that passes indexed",
          "[store][search][index][hostile]") {
    // 200 strings the index rules out for every message: indexed, each
    // reads nothing; queued, each reads every message, 200 x the mailbox,
    // which is past kSearchScansPerMailbox x the mailbox + the allowance.
    std::string body;
    for (int line = 0; line < 1000; ++line)
        body += "the quick brown fox jumps over the lazy dog " + std::to_string(line) + "\r\n";
    std::vector<SearchKey> keys;
    for (int i = 0; i < 200; ++i)
        keys.push_back(SearchKey::body("absent string " + std::to_string(i)));
    const SearchKey search = SearchKey::any_of(keys);
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (int i = 0; i < 40; ++i)
        store.append(box, request(test::message("m" + std::to_string(i), body)));
    REQUIRE(queued(store) == 40);
    CHECK(store.search(box, search).empty());
    test::index_all(store);
    CHECK(store.search(box, search).empty());
}

TEST_CASE("Schema version 4 queues every body of a version 3 database and rebuilds online",
          "[store][search][index]") {
    imap::test::UniqueTempDir dir("imapd-store-search-index-migrate");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    const MailboxId box = append_corpus(options);
    {
        // Bodies written by version 3: indexed in the commit (detail=full).
        SqliteMailStore store(options);
        Database& db = store.database();
        test::undo_schema_v7(store);
        db.exec(
            std::string(test::kUndoSchemaV6) +
            "DROP TRIGGER bodies_sort_delete; DROP TABLE sort_pending; DROP TABLE body_sort;"
            "DROP TRIGGER bodies_fts_queue; DROP TRIGGER bodies_fts_delete; DROP TABLE fts_pending;"
            "DROP TABLE body_fts;"
            "CREATE VIRTUAL TABLE body_fts USING fts5(search_header, search_body, "
            "content='bodies', content_rowid='id', tokenize='trigram');"
            "INSERT INTO body_fts (body_fts) VALUES ('rebuild');"
            "CREATE TRIGGER bodies_fts_insert AFTER INSERT ON bodies BEGIN "
            "INSERT INTO body_fts (rowid, search_header, search_body) "
            "VALUES (new.id, new.search_header, new.search_body); END;"
            "CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies BEGIN "
            "INSERT INTO body_fts (body_fts, rowid, search_header, search_body) "
            "VALUES ('delete', old.id, old.search_header, old.search_body); END;"
            "PRAGMA user_version=3;");
    }
    SqliteMailStore store(options);
    // v4, then v5 (store_sort.cpp), v6 ... v9.
    CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
    CHECK(queued(store) == 6);
    CHECK(test::indexed_matching(store, "num AND ers") == 0);
    check_cases(store, box);
    test::index_all(store);
    CHECK(test::indexed_matching(store, "num AND ers") == 2);
    check_cases(store, box);
}

TEST_CASE("index_pending: a batch stops after min_bodies once others wait, and not before",
          "[store][search][index]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (int round = 0; round < 4; ++round) {
        for (const std::string& raw : corpus())
            store.append(box, request(raw + "\r\nround " + std::to_string(round) + "\r\n"));
    }
    REQUIRE(queued(store) == 24);
    IndexLimits limits;
    limits.min_bodies = 5;
    int asked = 0;
    bool waiting = false;
    limits.yield_when = [&] {
        ++asked;
        return waiting;
    };
    // Nobody waits: the whole queue in one batch (kIndexBatchBodies).
    waiting = false;
    IndexResult all = store.index_pending(limits);
    CHECK(all.indexed == 24);
    CHECK_FALSE(all.more);
    CHECK(asked == 24 - 5);  // asked only once min_bodies are done

    for (int round = 4; round < 8; ++round) {
        for (const std::string& raw : corpus())
            store.append(box, request(raw + "\r\nround " + std::to_string(round) + "\r\n"));
    }
    // Commands wait: min_bodies per batch, until the queue is empty.
    waiting = true;
    IndexResult first = store.index_pending(limits);
    CHECK(first.indexed == 5);
    CHECK(first.more);
    CHECK(first.queued == 19);
    std::size_t batches = 1;
    for (IndexResult r = first; r.more; ++batches)
        r = store.index_pending(limits);
    CHECK(batches == 5);  // 5 + 5 + 5 + 5 + 4
    CHECK(queued(store) == 0);
    // Every body is searchable through the index (RFC 3501 6.4.4).
    CHECK(test::indexed_matching(store, "\"d 7\"") == 6);  // a trigram of "round 7"
}
