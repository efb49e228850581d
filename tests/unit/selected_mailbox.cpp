// SelectedMailbox on its own (server/imap/selected_mailbox.h): table tests of
// resolve() and resolve_search(), EXPUNGE renumbering, \Recent counting and
// its announcement, the view's pin on expunged bodies and the view's copy
// of an expunged message's flags. Other sessions are played by calls on the
// store. The whole-session behaviour is in session_views.cpp.
#include "server/imap/selected_mailbox.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocol/output_buffer.h"
#include "protocol/response_writer.h"
#include "protocol/sequence_set.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"
#include "support/store_support.h"

namespace {

namespace store = imap::store;
namespace flag = imap::store::flag;
using imap::OutputBuffer;
using imap::ResponseWriter;
using imap::SequenceSet;
using imap::server::SelectedMailbox;
using imap::server::SyncOptions;
using imap::test::drain;

// A mailbox whose view holds UIDs 2, 4, 5 and 9 as messages 1 to 4.
struct Fixture {
    store::SqliteMailStore store{store::test::memory()};
    store::MailboxId inbox = store.open_mailbox("INBOX").id;
    OutputBuffer out;
    ResponseWriter w{out};

    explicit Fixture(bool with_gaps = true) {
        for (int i = 1; i <= 9; ++i)
            store.append(inbox,
                         store::test::request(store::test::message("m" + std::to_string(i))));
        if (with_gaps) expunge({{1, 1}, {3, 3}, {6, 8}});
        store.collect_garbage();  // no view pinned those
    }
    // What another session does: \Deleted and EXPUNGE.
    void expunge(const store::UidSet& uids) {
        store.store_flags(inbox, store::UidSpan(uids), store::FlagOp::Add,
                          store::Flags{flag::kDeleted, {}});
        store.expunge(inbox, store::UidSpan(uids));
    }
    SelectedMailbox view(bool read_only = false) {
        return SelectedMailbox(store, store.mailbox(inbox), read_only);
    }
    std::string sync(SelectedMailbox& v, bool allow_expunge = true) {
        v.sync(w, SyncOptions{.allow_expunge = allow_expunge});
        return drain(out);
    }
};

SequenceSet set(const std::string& text) {
    const std::optional<SequenceSet> parsed = SequenceSet::parse(text);
    REQUIRE(parsed);
    return *parsed;
}

}  // namespace

TEST_CASE("RFC 3501 6.4.x and 6.4.8: resolve() turns numbers and UIDs into the view's UIDs",
          "[selected]") {
    Fixture f;
    const SelectedMailbox v = f.view();
    REQUIRE(v.uids().to_vector() == std::vector<std::uint32_t>{2, 4, 5, 9});
    struct Row {
        const char* set;
        bool uid;
        std::optional<store::UidSet> expected;
    };
    const Row rows[] = {
        // Message sequence numbers: contiguous numbers are a UID range.
        {"1", false, store::UidSet{{2, 2}}},
        {"1:3", false, store::UidSet{{2, 5}}},
        {"2,4", false, store::UidSet{{4, 4}, {9, 9}}},
        {"4:2", false, store::UidSet{{4, 9}}},
        {"*", false, store::UidSet{{9, 9}}},
        {"3:*", false, store::UidSet{{5, 9}}},
        // RFC 3501 9: past EXISTS, a tagged BAD for the caller.
        {"5", false, std::nullopt},
        {"1:5", false, std::nullopt},
        {"2,7", false, std::nullopt},
        // UIDs (RFC 3501 6.4.8): those not in the view are ignored, "*" is
        // the view's last, ranges are cut at it.
        {"1:*", true, store::UidSet{{2, 9}}},
        {"3", true, store::UidSet{}},
        {"3:4", true, store::UidSet{{4, 4}}},
        {"6:8", true, store::UidSet{}},
        {"10:*", true, store::UidSet{{9, 9}}},
        {"*", true, store::UidSet{{9, 9}}},
        {"1:100", true, store::UidSet{{2, 9}}},
        {"100", true, store::UidSet{}},
    };
    for (const Row& row : rows) {
        INFO(row.set << (row.uid ? " (UID)" : ""));
        CHECK(v.resolve(set(row.set), row.uid) == row.expected);
    }
}

TEST_CASE("RFC 3501 6.4.4: resolve_search() lets numbers past EXISTS match nothing",
          "[selected][search]") {
    Fixture f;
    const SelectedMailbox v = f.view();
    struct Row {
        const char* set;
        store::UidSet expected;
    };
    const Row rows[] = {
        {"5", {}},
        {"1000", {}},
        {"4294967295", {}},
        {"1:5", {{2, 9}}},
        {"4:1000", {{9, 9}}},
        {"1000:3", {{5, 9}}},
        {"2,7:8", {{4, 4}}},
        // "*" is the last message (RFC 3501 9), so 6:* is 4:6.
        {"6:*", {{9, 9}}},
        {"*", {{9, 9}}},
        {"1:*", {{2, 9}}},
    };
    for (const Row& row : rows) {
        INFO(row.set);
        CHECK(v.resolve_search(set(row.set)) == row.expected);
    }

    Fixture empty(false);
    empty.expunge({{1, 9}});
    const SelectedMailbox none = empty.view();
    REQUIRE(none.exists() == 0);
    CHECK(none.resolve(set("*"), false) == std::nullopt);
    CHECK(none.resolve(set("1:*"), true) == store::UidSet{});
    CHECK(none.resolve_search(set("*")).empty());
    CHECK(none.resolve_search(set("1")).empty());
}

TEST_CASE("RFC 3501 7.4.1: expunges renumber as they go, VANISHED names UIDs", "[selected]") {
    Fixture f;
    SECTION("EXPUNGE") {
        SelectedMailbox v = f.view();
        // 4 is message 2; then 9, message 4, is message 3.
        v.expunged({4, 9}, f.w);
        CHECK(drain(f.out) == "* 2 EXPUNGE\r\n* 3 EXPUNGE\r\n");
        CHECK(v.uids().to_vector() == std::vector<std::uint32_t>{2, 5});
        CHECK(v.sequence_of(5) == 2u);
        CHECK_FALSE(v.sequence_of(9));
    }
    SECTION("VANISHED (RFC 7162 3.2.10.2)") {
        SelectedMailbox v = f.view();
        // UIDs the view does not hold are not named.
        v.expunged({3, 4, 5, 9}, f.w, true);
        CHECK(drain(f.out) == "* VANISHED 4:5,9\r\n");
        CHECK(v.uids().to_vector() == std::vector<std::uint32_t>{2});
    }
    SECTION("another session's, at sync, with EXPUNGE allowed only") {
        SelectedMailbox v = f.view();
        f.expunge({{2, 2}, {5, 5}});
        // Held back; the \Deleted set before the expunge is news, though.
        CHECK(
            f.sync(v, false) ==
            "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n* 3 FETCH (FLAGS (\\Deleted \\Recent))\r\n");
        CHECK(v.exists() == 4);
        CHECK(f.sync(v) == "* 1 EXPUNGE\r\n* 2 EXPUNGE\r\n* 2 RECENT\r\n");
        CHECK(v.uids().to_vector() == std::vector<std::uint32_t>{4, 9});
    }
}

TEST_CASE("RFC 3501 2.3.2 and 7.3.2: Recent is counted per view and announced when it changes",
          "[selected][recent]") {
    Fixture f;
    SelectedMailbox examined = f.view(true);  // sees the unclaimed ones, claims nothing
    SelectedMailbox selected = f.view();      // claims them
    SelectedMailbox later = f.view();         // nothing left to claim
    CHECK(examined.recent_count() == 4);
    CHECK(selected.recent_count() == 4);
    CHECK(later.recent_count() == 0);
    CHECK(selected.is_recent(9));
    CHECK_FALSE(later.is_recent(9));

    // A new message: the first sync claims it.
    f.store.append(f.inbox, store::test::request(store::test::message("new")));
    CHECK(f.sync(later) == "* 5 EXISTS\r\n* 1 RECENT\r\n");
    CHECK(f.sync(selected) == "* 5 EXISTS\r\n* 4 RECENT\r\n");
    CHECK(f.sync(examined) == "* 5 EXISTS\r\n* 4 RECENT\r\n");

    // Expunges: RECENT only where the count changed.
    f.expunge({{2, 2}, {10, 10}});
    CHECK(f.sync(selected) == "* 1 EXPUNGE\r\n* 4 EXPUNGE\r\n* 3 RECENT\r\n");
    CHECK(f.sync(later) == "* 1 EXPUNGE\r\n* 4 EXPUNGE\r\n* 0 RECENT\r\n");
    CHECK(f.sync(examined) == "* 1 EXPUNGE\r\n* 4 EXPUNGE\r\n* 3 RECENT\r\n");
    f.expunge({{4, 4}});
    SelectedMailbox fresh = f.view();
    CHECK(fresh.recent_count() == 0);
    f.expunge({{5, 5}});
    CHECK(f.sync(fresh) == "* 1 EXPUNGE\r\n");

    // The session's own EXPUNGE: the next sync says it.
    selected.expunged({4, 5}, f.w);
    CHECK(drain(f.out) == "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n");
    CHECK(f.sync(selected) == "* 1 RECENT\r\n");
    CHECK(f.sync(selected).empty());
}

TEST_CASE("A view pins expunged bodies until it applies the expunge", "[selected][retention]") {
    Fixture f;
    std::optional<SelectedMailbox> v;
    v.emplace(f.view());
    CHECK(f.store.view_pin_count() == 1);
    CHECK(v->expunge_modseq() == f.store.mailbox(f.inbox).highestmodseq);
    const std::int64_t bodies_before = store::test::count(f.store, "SELECT count(*) FROM bodies");

    f.expunge({{4, 4}});
    // Held back (FETCH, STORE, SEARCH by number): the watermark stays, the
    // body stays, the message is still answered from the log.
    const std::uint64_t watermark = v->expunge_modseq();
    CHECK(f.sync(*v, false) == "* 2 FETCH (FLAGS (\\Deleted \\Recent))\r\n");
    CHECK(v->expunge_modseq() == watermark);
    f.store.collect_garbage();
    CHECK(store::test::count(f.store, "SELECT count(*) FROM bodies") == bodies_before);
    const std::vector<store::MessageInfo> gone = v->expunged_messages(store::UidSet{{1, 100}});
    REQUIRE(gone.size() == 1);
    CHECK(gone[0].uid == 4);
    CHECK(gone[0].flags == flag::kDeleted);

    // Applied: the watermark advances and the body goes.
    CHECK(f.sync(*v) == "* 2 EXPUNGE\r\n* 3 RECENT\r\n");
    CHECK(v->expunge_modseq() == f.store.mailbox(f.inbox).highestmodseq);
    CHECK(store::test::count(f.store, "SELECT count(*) FROM bodies") == bodies_before - 1);
    CHECK(v->expunged_messages(store::UidSet{{1, 100}}).empty());

    // Held back but none of the view's messages concerned: the watermark
    // need not lag (RFC 7162 3.2: HIGHESTMODSEQ).
    f.store.store_flags(f.inbox, store::UidSet{{2, 2}}, store::FlagOp::Add,
                        store::Flags{flag::kSeen, {}});
    CHECK(f.sync(*v, false) == "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n");
    CHECK(v->expunge_modseq() == f.store.mailbox(f.inbox).highestmodseq);

    v.reset();
    CHECK(f.store.view_pin_count() == 0);
}

TEST_CASE("RFC 2180 4.2: STORE on an expunged message changes the view's copy only",
          "[selected][store]") {
    Fixture f;
    f.store.store_flags(f.inbox, store::UidSet{{5, 5}}, store::FlagOp::Add,
                        store::Flags{flag::kSeen, {"$Work"}});
    f.store.store_flags(f.inbox, store::UidSet{{2, 2}}, store::FlagOp::Add,
                        store::Flags{0, {"$Other"}});
    SelectedMailbox v = f.view();
    f.expunge({{5, 5}});
    auto copy = [&] {
        std::vector<store::MessageInfo> gone = v.expunged_messages(store::UidSet{{5, 5}});
        REQUIRE(gone.size() == 1);
        return gone[0];
    };
    struct Row {
        store::FlagOp op;
        store::Flags flags;
        bool changed;
        std::uint32_t system;
        std::vector<std::string> keywords;
    };
    // Each row applies to the copy left by the rows before it.
    const Row rows[] = {
        {store::FlagOp::Add, {flag::kDeleted, {}}, false, flag::kSeen | flag::kDeleted, {"$Work"}},
        {store::FlagOp::Add,
         {flag::kFlagged, {"$work"}},
         true,
         flag::kSeen | flag::kDeleted | flag::kFlagged,
         {"$Work"}},
        // Keywords compare without case and take the mailbox's spelling.
        {store::FlagOp::Add,
         {0, {"$OTHER"}},
         true,
         flag::kSeen | flag::kDeleted | flag::kFlagged,
         {"$Other", "$Work"}},
        {store::FlagOp::Remove,
         {flag::kSeen, {"$WORK", "$Nope"}},
         true,
         flag::kDeleted | flag::kFlagged,
         {"$Other"}},
        {store::FlagOp::Remove,
         {flag::kAnswered, {}},
         false,
         flag::kDeleted | flag::kFlagged,
         {"$Other"}},
        {store::FlagOp::Replace, {flag::kAnswered, {"new", "NEW"}}, true, flag::kAnswered, {"new"}},
        {store::FlagOp::Replace, {flag::kAnswered, {"new"}}, false, flag::kAnswered, {"new"}},
    };
    int step = 0;
    for (const Row& row : rows) {
        INFO("row " << step++);
        store::MessageInfo message = copy();
        CHECK(v.store_expunged(message, row.op, row.flags) == row.changed);
        CHECK(message.flags == row.system);
        CHECK(message.keywords == row.keywords);
        const store::MessageInfo again = copy();
        CHECK(again.flags == row.system);
        CHECK(again.keywords == row.keywords);
    }
    // The store's row is untouched.
    const std::vector<store::MessageInfo> logged =
        f.store.fetch(f.inbox, store::UidSet{{5, 5}}, store::FetchOptions{.expunged_after = 0});
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].flags == (flag::kSeen | flag::kDeleted));
    CHECK(logged[0].keywords == std::vector<std::string>{"$Work"});
    // The copy goes with the message.
    CHECK(f.sync(v) == "* 3 EXPUNGE\r\n* 3 RECENT\r\n");
    CHECK(v.expunged_messages(store::UidSet{{5, 5}}).empty());
}
