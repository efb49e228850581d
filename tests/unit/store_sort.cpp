// SORT and THREAD in the store (RFC 5256, RFC 5957): the base subject
// (2.1), the collation (RFC 5051 i;unicode-casemap, i;ascii-casemap for
// ASCII), message id normalisation (3), the stored keys (schema v5,
// docs/storage.md "Sort keys"), MailStore::sort and the threading
// algorithms (store/thread.h), and their bounds on hostile input.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "store/schema.h"
#include "store/search.h"
#include "store/sort_keys.h"
#include "store/sqlite_mail_store.h"
#include "store/thread.h"
#include "support/hostile_bound.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;
using imap::store::test::count;
using imap::store::test::memory;
using imap::store::test::request;
using Uids = std::vector<std::uint32_t>;
using Key = SortCriterion::Key;

namespace {

std::string subject_of(const std::string& raw, bool* reply = nullptr) {
    return base_subject(raw, reply);
}

// A forest written the way a THREAD response nests it (cmd_thread.cpp
// writes the same shape), with UIDs: "(1 2 (3)(4))((5)(6))".
std::string shape(const ThreadForest& forest) {
    std::string out;
    std::function<void(std::uint32_t)> members = [&](std::uint32_t node) {
        bool wrote = false;
        while (true) {
            if (forest.nodes[node].uid != 0) {
                if (wrote) out += ' ';
                out += std::to_string(forest.nodes[node].uid);
                wrote = true;
            }
            if (forest.nodes[node].children.size() != 1 || forest.nodes[node].uid == 0) break;
            node = forest.nodes[node].children.front();
        }
        if (forest.nodes[node].children.empty()) return;
        if (wrote) out += ' ';
        for (std::uint32_t child : forest.nodes[node].children) {
            out += '(';
            members(child);
            out += ')';
        }
    };
    for (std::uint32_t root : forest.roots) {
        out += '(';
        members(root);
        out += ')';
    }
    return out;
}

ThreadMessage msg(std::uint32_t uid, std::int64_t sent, std::string id,
                  std::vector<std::string> references = {}, std::string subject = "",
                  bool reply = false) {
    ThreadMessage m;
    m.uid = uid;
    m.sent = sent;
    m.message_id = std::move(id);
    m.references = std::move(references);
    m.subject = std::move(subject);
    m.reply_or_forward = reply;
    return m;
}

std::string raw(const std::string& headers, const std::string& body = "x\r\n") {
    return headers + "\r\n" + body;
}

}  // namespace

TEST_CASE("RFC 5256 2.1: base subject extraction", "[store][sort]") {
    struct Case {
        const char* subject;
        const char* base;
        bool reply;
    };
    const Case cases[] = {
        {"Hello", "Hello", false},
        {"Re: Hello", "Hello", true},
        {"RE:re: FW: Hello", "Hello", true},
        {"Fwd: Hello", "Hello", true},
        {"Re[2]: Hello", "Hello", true},  // subj-refwd with a blob before ":"
        {"Re [list]: Hello", "Hello", true},
        {"[list] Re: Hello", "Hello", true},  // *subj-blob subj-refwd
        {"[list] Hello", "Hello", false},     // (4): a blob with text after it
        {"[list]", "[list]", false},          // (4): not when nothing would be left
        {"Hello (fwd)", "Hello", true},       // (2) trailer
        {"Hello (FWD) (fwd)  ", "Hello", true},
        {"[fwd: Hello]", "Hello", true},  // (6)
        {"[Fwd: Re: Hello (fwd)]", "Hello", true},
        {"Re: [fwd: [list] Hello]", "Hello", true},
        {"  Hello\t  World  ", "Hello World", false},          // (1) white space
        {"=?UTF-8?Q?Re=3A_caf=C3=A9?=", "caf\xC3\xA9", true},  // (1) RFC 2047 first
        {"Reply to this", "Reply to this", false},             // "re" needs its ":"
        {"Re:", "", true},
        {"", "", false},
    };
    for (const Case& c : cases) {
        INFO(c.subject);
        bool reply = false;
        CHECK(subject_of(c.subject, &reply) == c.base);
        CHECK(reply == c.reply);
    }
}

TEST_CASE("RFC 5051 unicode-casemap collation key (RFC 4790 ascii-casemap for ASCII)",
          "[store][sort]") {
    CHECK(sort_casemap("Hello World") == "HELLO WORLD");
    // i;ascii-casemap maps a-z to A-Z: '_' (0x5F) sorts after 'Z', before
    // nothing it would precede in lower case.
    CHECK(sort_casemap("a_") > sort_casemap("AZ"));
    // Titlecase, then decomposition: "é" is "E" + U+0301, so "éa" sorts
    // among the E's, before "F".
    CHECK(sort_casemap("\xC3\xA9") == "E\xCC\x81");
    CHECK(sort_casemap("\xC3\xA9z") < sort_casemap("f"));
    // Not UTF-8: kept byte for byte.
    CHECK(sort_casemap("a\xFF") == "A\xFF");
}

TEST_CASE("RFC 5256 3: message ids are normalised, invalid ones skipped", "[store][sort]") {
    CHECK(message_ids("<01KF8JCEOCBS0045PS@xxx.yyy.com>") ==
          std::vector<std::string>{"01KF8JCEOCBS0045PS@xxx.yyy.com"});
    // The RFC's example: quoting does not make another id.
    CHECK(message_ids("<\"01KF8JCEOCBS0045PS\"@xxx.yyy.com>") ==
          std::vector<std::string>{"01KF8JCEOCBS0045PS@xxx.yyy.com"});
    CHECK(message_ids(" <a@b>\r\n\t<c@d> (comment <e@f>) <g@h>") ==
          std::vector<std::string>{"a@b", "c@d", "g@h"});
    CHECK(message_ids("<no-at-sign> <@x> <x@> <ok@x>") == std::vector<std::string>{"ok@x"});
    CHECK(message_ids("<unterminated@x").empty());
    CHECK(message_ids("<" + std::string(2000, 'a') + "@x>").empty());
    CHECK(split_references(join_references({"a@b", "c@d"})) ==
          std::vector<std::string>{"a@b", "c@d"});
    CHECK(split_references("").empty());
}

TEST_CASE("Sort keys of a message: sent date, subject, addresses, ids", "[store][sort]") {
    const std::string message =
        raw("Date: Sun, 31 Dec 2000 16:01:33 -0800\r\n"
            "From: =?UTF-8?Q?=C3=81lvaro?= <Alvaro@Example.org>, bob@x\r\n"
            "To: undisclosed-recipients:;\r\n"
            "Subject: Re: [list] Topic\r\n"
            "Message-ID: <\"m 1\"@x>\r\n"
            "In-Reply-To: <p@x>\r\n");
    const std::string source = message;
    const SortKeys keys = compute_sort_keys(parse_message(source));
    // RFC 5256 2.2: "31 Dec 2000 16:01:33 -0800" is 2001-01-01 00:01:33 UTC.
    REQUIRE(keys.sent_time);
    CHECK(*keys.sent_time == 978307293);
    CHECK(keys.subject == "TOPIC");
    CHECK(keys.reply_or_forward);
    CHECK(keys.from_mailbox == "ALVARO");  // the local part, casemapped
    CHECK(keys.display_from == "A\xCC\x81LVARO");
    CHECK(keys.to_mailbox == "UNDISCLOSED-RECIPIENTS");  // a group's name
    CHECK(keys.cc_mailbox.empty());
    CHECK(keys.message_id == "m1@x");
    CHECK(keys.references == std::vector<std::string>{"p@x"});  // In-Reply-To
}

TEST_CASE("hostile: 10,000 References ids keep the last kMaxThreadReferences",
          "[store][sort][hostile]") {
    std::string references = "References:";
    for (int i = 0; i < 10000; ++i)
        references += " <r" + std::to_string(i) + "@x>\r\n";
    const std::string message = raw(references);
    const auto start = std::chrono::steady_clock::now();
    const SortKeys keys = compute_sort_keys(parse_message(message));
    CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
    REQUIRE(keys.references.size() == limits::kMaxThreadReferences);
    CHECK(keys.references.back() == "r9999@x");
    CHECK(keys.references.front() ==
          "r" + std::to_string(10000 - limits::kMaxThreadReferences) + "@x");
}

TEST_CASE("RFC 5256 3 REFERENCES: links, dummies, pruning, subject merging", "[store][thread]") {
    SECTION("a reply chain by References and In-Reply-To") {
        const auto forest = thread_messages({msg(1, 100, "a@x"), msg(2, 200, "b@x", {"a@x"}),
                                             msg(3, 300, "c@x", {"a@x", "b@x"}), msg(4, 50, "d@x")},
                                            ThreadAlgorithm::References);
        CHECK(shape(forest) == "(4)(1 2 3)");
    }
    SECTION("siblings of a missing parent share a dummy, written as nested lists") {
        // RFC 5256 BASE.7.2.THREAD: "((3)(5))".
        const auto forest =
            thread_messages({msg(3, 100, "c@x", {"gone@x"}), msg(5, 200, "e@x", {"gone@x"})},
                            ThreadAlgorithm::References);
        CHECK(shape(forest) == "((3)(5))");
        REQUIRE(forest.roots.size() == 1);
        CHECK(forest.nodes[forest.roots[0]].uid == 0);
    }
    SECTION("a dummy with one child at the top is replaced by it") {
        const auto forest =
            thread_messages({msg(1, 100, "a@x", {"gone@x"})}, ThreadAlgorithm::References);
        CHECK(shape(forest) == "(1)");
    }
    SECTION("dummies inside a thread are spliced out") {
        const auto forest =
            thread_messages({msg(1, 100, "a@x"), msg(2, 200, "b@x", {"a@x", "gone@x"}),
                             msg(3, 300, "c@x", {"a@x", "gone@x"})},
                            ThreadAlgorithm::References);
        CHECK(shape(forest) == "(1 (2)(3))");
    }
    SECTION("a duplicate Message-ID is used by the first message only") {
        const auto forest =
            thread_messages({msg(1, 100, "a@x"), msg(2, 200, "a@x"), msg(3, 300, "c@x", {"a@x"})},
                            ThreadAlgorithm::References);
        CHECK(shape(forest) == "(1 3)(2)");
    }
    SECTION("References that loop make no loop: the later link is refused") {
        const auto forest = thread_messages(
            {msg(1, 100, "a@x", {"b@x"}), msg(2, 200, "b@x", {"a@x"}), msg(3, 300, "c@x", {"c@x"}),
             msg(4, 400, "d@x", {"e@x", "d@x", "e@x"})},
            ThreadAlgorithm::References);
        // 1 says b is its parent; 2 (b) then says a is its: refused.
        CHECK(shape(forest) == "(2 1)(3)(4)");
    }
    SECTION("a message's own last reference replaces a link another message made (1.B)") {
        const auto forest =
            thread_messages({msg(1, 100, "a@x"), msg(2, 200, "b@x"),
                             msg(3, 300, "c@x", {"a@x", "x@x"}), msg(4, 400, "x@x", {"b@x"})},
                            ThreadAlgorithm::References);
        // 3's References made x a child of a; x's own message says b.
        CHECK(shape(forest) == "(1)(2 4 3)");
    }
    SECTION("(5) threads with one base subject merge; a reply joins the original") {
        const auto forest =
            thread_messages({msg(1, 100, "a@x", {}, "TOPIC"), msg(2, 200, "b@x", {}, "TOPIC", true),
                             msg(3, 300, "c@x", {}, "OTHER"), msg(4, 400, "d@x", {}, "OTHER"),
                             msg(5, 500, "e@x", {}, "")},
                            ThreadAlgorithm::References);
        // 2 (a reply) under 1; 3 and 4 (neither a reply) under a new dummy;
        // an empty subject merges nothing.
        CHECK(shape(forest) == "(1 2)((3)(4))(5)");
    }
    SECTION("(4)/(6) siblings by sent date, ties in mailbox order") {
        const auto forest = thread_messages(
            {msg(1, 100, "a@x"), msg(2, 300, "b@x", {"a@x"}), msg(3, 200, "c@x", {"a@x"}),
             msg(4, 200, "d@x", {"a@x"}), msg(5, 50, "e@x")},
            ThreadAlgorithm::References);
        CHECK(shape(forest) == "(5)(1 (3)(4)(2))");
    }
}

TEST_CASE("RFC 5256 3 ORDEREDSUBJECT and THREAD=REFS", "[store][thread]") {
    const std::vector<ThreadMessage> messages = {
        msg(1, 300, "a@x", {}, "B"),
        msg(2, 100, "b@x", {}, "A"),
        msg(3, 200, "c@x", {"a@x"}, "B", true),
        msg(4, 400, "d@x", {}, "A"),
        msg(5, 250, "e@x", {}, "B"),
    };
    // By subject then date; threads by their first message's date; the
    // first message parents the rest, which have no children of their own.
    CHECK(shape(thread_messages(messages, ThreadAlgorithm::OrderedSubject)) == "(2 4)(3 (5)(1))");
    // REFERENCES: 3 replies to 1; 2 and 4 (subject A, neither a reply) go
    // under a dummy, and so do 5 and 1 (subject B).
    CHECK(shape(thread_messages(messages, ThreadAlgorithm::References)) == "((2)(4))((5)(1 3))");
    // REFS: no subject merging; threads by their latest message (1's
    // thread: 300; 2: 100; 4: 400; 5: 250).
    CHECK(shape(thread_messages(messages, ThreadAlgorithm::Refs)) == "(2)(5)(1 3)(4)");
}

TEST_CASE("hostile: a 100,000-message reply chain threads in linear time, no recursion",
          "[store][thread][hostile]") {
    constexpr std::uint32_t kMessages = 100000;
    for (const bool reversed : {false, true}) {
        INFO((reversed ? "each message replies to the next" : "each replies to the previous"));
        std::vector<ThreadMessage> messages;
        messages.reserve(kMessages);
        for (std::uint32_t i = 1; i <= kMessages; ++i) {
            const std::uint32_t parent = reversed ? i + 1 : i - 1;
            std::vector<std::string> references;
            if (parent >= 1 && parent <= kMessages)
                references.push_back(std::to_string(parent) + "@x");
            messages.push_back(msg(i, i, std::to_string(i) + "@x", std::move(references)));
        }
        const auto start = std::chrono::steady_clock::now();
        const ThreadForest forest = thread_messages(messages, ThreadAlgorithm::References);
        CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
        CHECK(forest.roots.size() == 1);
        CHECK(forest.nodes.size() == kMessages);
    }
}

TEST_CASE("hostile: loops through many messages' References stay bounded",
          "[store][thread][hostile]") {
    // Every message names the 64 messages after it, in a ring: each link
    // would close a loop somewhere; the walk up is bounded by
    // kMaxThreadDepth.
    constexpr std::uint32_t kMessages = 20000;
    std::vector<ThreadMessage> messages;
    for (std::uint32_t i = 0; i < kMessages; ++i) {
        std::vector<std::string> references;
        for (std::uint32_t k = 1; k <= limits::kMaxThreadReferences; ++k)
            references.push_back(std::to_string((i + k) % kMessages) + "@x");
        messages.push_back(msg(i + 1, i, std::to_string(i) + "@x", std::move(references)));
    }
    const auto start = std::chrono::steady_clock::now();
    const ThreadForest forest = thread_messages(messages, ThreadAlgorithm::References);
    CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
    std::size_t real = 0;
    for (const auto& node : forest.nodes)
        real += node.uid != 0;
    CHECK(real == kMessages);  // every message once, nothing lost to a loop
}

TEST_CASE("MailStore::sort: every key, REVERSE, ties in mailbox order", "[store][sort]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::vector<std::string> messages = {
        raw("Date: Tue, 2 Jan 2001 10:00:00 +0000\r\nFrom: Zed <a@x>\r\nTo: m@x\r\n"
            "Subject: Re: beta\r\n"),
        raw("Date: Tue, 2 Jan 2001 09:00:00 -0200\r\nFrom: c@x\r\nCc: b@x\r\n"
            "Subject: alpha\r\n"),
        raw("From: Amy <b@x>\r\nTo: \"Zoe\" <a@x>\r\nSubject: [l] beta\r\n"),
    };
    std::int64_t internal = 978400000;
    for (const std::string& message : messages) {
        AppendRequest r = request(message);
        r.internal_date = internal -= 100000;  // arrival: 3, 2, 1
        store.append(box, r);
    }
    const SearchKey all = SearchKey::all();
    const auto sorted = [&](std::vector<SortCriterion> criteria) {
        return store.sort(box, all, criteria);
    };
    CHECK(sorted({{Key::Arrival}}) == Uids{3, 2, 1});
    // 2 is 11:00 UTC; 3 has no Date: its internal date (Dec 31) is earlier.
    CHECK(sorted({{Key::Date}}) == Uids{3, 1, 2});
    CHECK(sorted({{Key::Date, true}}) == Uids{2, 1, 3});
    CHECK(sorted({{Key::Subject}}) == Uids{2, 1, 3});
    CHECK(sorted({{Key::Subject, true}}) == Uids{1, 3, 2});  // the tie stays ascending
    CHECK(sorted({{Key::Subject}, {Key::Arrival}}) == Uids{2, 3, 1});
    CHECK(sorted({{Key::From}}) == Uids{1, 3, 2});
    CHECK(sorted({{Key::To}}) == Uids{2, 3, 1});  // none first
    CHECK(sorted({{Key::Cc}}) == Uids{1, 3, 2});
    CHECK(sorted({{Key::DisplayFrom}}) == Uids{3, 2, 1});  // AMY, C@X, ZED
    CHECK(sorted({{Key::DisplayTo}}) == Uids{2, 1, 3});    // "", M@X, ZOE
    CHECK(sorted({{Key::Size}}).size() == 3);
    CHECK(store.sort(box, SearchKey::uid_set({{2, 3}}), std::vector<SortCriterion>{{Key::Date}}) ==
          Uids{3, 2});
}

TEST_CASE("Schema version 5 queues every body's sort keys and fills them online", "[store][sort]") {
    imap::test::UniqueTempDir dir("imapd-store-sort-migrate");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    MailboxId box = 0;
    {
        SqliteMailStore store(options);
        box = store.open_mailbox("INBOX").id;
        store.append(box, request(raw("Subject: b\r\nMessage-ID: <1@x>\r\n")));
        store.append(box, request(raw("Subject: a\r\nReferences: <1@x>\r\n")));
        store.append(box, request(raw("Subject: c\r\n")));
        test::index_all(store);
        // As version 4 left it: no sort keys.
        test::undo_schema_v7(store);
        store.database().exec(
            std::string(test::kUndoSchemaV6) +
            "DROP TRIGGER bodies_sort_delete; DROP TABLE sort_pending; DROP TABLE body_sort;"
            "PRAGMA user_version=4;");
    }
    SECTION("SORT and THREAD compute a mailbox's queued keys first") {
        SqliteMailStore store(options);
        CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
        CHECK(count(store, "SELECT count(*) FROM sort_pending") == 3);
        CHECK(count(store, "SELECT count(*) FROM body_sort") == 0);
        CHECK(store.sort(box, SearchKey::all(), std::vector<SortCriterion>{{Key::Subject}}) ==
              Uids{2, 1, 3});
        CHECK(count(store, "SELECT count(*) FROM sort_pending") == 0);
        CHECK(shape(store.thread(box, SearchKey::all(), ThreadAlgorithm::References)) ==
              "(1 2)(3)");
    }
    SECTION("the background batches drain the queue") {
        SqliteMailStore store(options);
        IndexLimits one;
        one.max_bodies = 1;
        // One batch: 3 < kSortKeyBatchBodies. (It indexes one body too: the
        // v9 migration queued every body for the index again.)
        store.index_pending(one);
        CHECK(count(store, "SELECT count(*) FROM sort_pending") == 0);
        CHECK(count(store, "SELECT count(*) FROM body_sort") == 3);
    }
}

TEST_CASE("A body's sort keys go with the body", "[store][sort]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    store.append(box, request(test::message("gone")));
    CHECK(count(store, "SELECT count(*) FROM body_sort") == 1);
    store.store_flags(box, test::all(), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box);
    store.collect_garbage();
    CHECK(count(store, "SELECT count(*) FROM body_sort") == 0);
}
