// Body retention for session views (docs/storage.md "Body retention"):
// schema version 3's expunge log values, orphan bodies, view and body pins,
// the garbage collection, and COPY/MOVE refusing expunged messages. RFC
// 2180 4.1.1 (an expunged message stays readable to a session that has not
// been told), RFC 2180 4.4.1 and RFC 5530 EXPUNGEISSUED.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/schema.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"

using namespace imap::store;
using test::count;
using test::error_of;
using test::memory;
using test::request;

namespace {

UidSet one_uid(std::uint32_t uid) {
    return {{uid, uid}};
}

void expunge_uid(MailStore& store, MailboxId box, std::uint32_t uid) {
    store.store_flags(box, one_uid(uid), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box, one_uid(uid));
}

std::vector<MessageInfo> fetch_after(MailStore& store, MailboxId box, std::uint64_t after,
                                     std::uint64_t changed_since = 0) {
    FetchOptions options;
    options.expunged_after = after;
    options.changed_since = changed_since;
    return store.fetch(box, test::all(), options);
}

std::int64_t bodies(MailStore& store) {
    return count(store, "SELECT count(*) FROM bodies");
}

// A temporary directory removed with the object.
struct TempDir {
    std::filesystem::path path;
    explicit TempDir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / name) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("RFC 2180 4.1.1: an expunge logs the message's last state for views that still show it",
          "[store][retention]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const std::string raw = test::message("kept", "Kept body.\r\n");
    store.append(inbox, request(test::message("other")));
    const std::uint32_t uid = store.append(inbox, request(raw, flag::kSeen, {"$Work", "$A"}));
    const std::uint64_t seen_by_view = store.mailbox(inbox).highestmodseq;
    store.store_flags(inbox, one_uid(uid), FlagOp::Add, Flags{flag::kDeleted, {}});
    const std::uint64_t last_change = store.mailbox(inbox).highestmodseq;
    const ExpungeResult gone = store.expunge(inbox, one_uid(uid));
    REQUIRE(gone.uids == std::vector<std::uint32_t>{uid});

    // Live messages only, as before.
    CHECK(store.fetch(inbox, test::all()).size() == 1);
    // A view that applied expunges up to `seen_by_view` still has it.
    const std::vector<MessageInfo> rows = fetch_after(store, inbox, seen_by_view);
    REQUIRE(rows.size() == 2);
    CHECK_FALSE(rows[0].expunged);
    const MessageInfo& message = rows[1];
    CHECK(message.expunged);
    CHECK(message.uid == uid);
    CHECK(message.flags == (flag::kSeen | flag::kDeleted));
    CHECK(message.keywords == std::vector<std::string>{"$A", "$Work"});
    CHECK(message.internal_date == 760686745);
    CHECK(message.zone_minutes == -480);
    CHECK(message.size == raw.size());
    CHECK(message.modseq == last_change);  // its last change, not the expunge's
    CHECK(store.read_body(message.body_id, 0, raw.size()) == raw);
    CHECK(store.structure(message.body_id).envelope.subject == "kept");
    // CHANGEDSINCE counts the message's last change.
    CHECK(fetch_after(store, inbox, seen_by_view, last_change).empty());
    CHECK(fetch_after(store, inbox, seen_by_view, last_change - 1).size() == 1);
    // A view that applied the expunge does not see it.
    CHECK(fetch_after(store, inbox, gone.modseq).size() == 1);
    // limit counts both kinds, in UID order.
    FetchOptions first;
    first.expunged_after = seen_by_view;
    first.limit = 1;
    CHECK(store.fetch(inbox, test::all(), first).at(0).uid == 1);
}

TEST_CASE("Expunged bodies stay while a view pins them, then the garbage collection takes them",
          "[store][retention]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const std::uint32_t uid = store.append(inbox, request(test::message("zebra")));
    store.append(inbox, request(test::message("other")));
    store.index_pending();  // the index follows the body out (bodies_fts_delete)
    std::optional<MailStore::ViewPin> view =
        store.pin_view(inbox, store.mailbox(inbox).highestmodseq);
    CHECK(store.view_pin_count() == 1);
    expunge_uid(store, inbox, uid);
    const std::uint64_t expunge_modseq = store.mailbox(inbox).highestmodseq;

    GarbageResult kept = store.collect_garbage();
    CHECK(kept.bodies_kept == 1);
    CHECK(kept.bodies_deleted == 0);
    CHECK(bodies(store) == 2);
    CHECK(test::indexed_matching(store, "zeb AND bra") == 1);
    CHECK(fetch_after(store, inbox, view->watermark()).at(0).body_id != BodyId{});

    // The view applies the expunge: the pin advances and collects.
    const std::uint64_t runs = store.garbage_runs();
    view->advance(expunge_modseq);
    CHECK(store.garbage_runs() == runs + 1);
    CHECK(bodies(store) == 1);
    CHECK(test::indexed_matching(store, "zeb AND bra") == 0);
    CHECK(count(store, "SELECT count(*) FROM orphan_bodies") == 0);
    // The log row keeps what QRESYNC needs and nothing else.
    CHECK(count(store,
                "SELECT count(*) FROM expunged WHERE body_id IS NULL AND flags IS NULL "
                "AND keywords IS NULL AND size IS NULL AND message_modseq IS NULL") == 1);
    CHECK(store.expunged_since(inbox, 0) == std::vector<std::uint32_t>{uid});
    const std::vector<MessageInfo> unreadable = fetch_after(store, inbox, 0);
    REQUIRE(unreadable.size() == 2);
    CHECK(unreadable[0].expunged);
    CHECK(unreadable[0].body_id == BodyId{});
    CHECK(unreadable[0].flags == 0);
    CHECK(unreadable[0].modseq == expunge_modseq);

    // Nothing left: no query at all any more.
    view.reset();
    CHECK(store.view_pin_count() == 0);
    store.collect_garbage();
    CHECK(store.garbage_runs() == runs + 1);
}

TEST_CASE("The oldest view of the mailbox decides, other mailboxes' views pin nothing",
          "[store][retention]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId other = store.create_mailbox("Other").id;
    const std::uint32_t uid = store.append(inbox, request(test::message("a")));
    MailStore::ViewPin old_view = store.pin_view(inbox, store.mailbox(inbox).highestmodseq);
    MailStore::ViewPin other_view = store.pin_view(other, 0);
    expunge_uid(store, inbox, uid);
    MailStore::ViewPin new_view = store.pin_view(inbox, store.mailbox(inbox).highestmodseq);
    new_view.advance(new_view.watermark() + 5);
    other_view.advance(1000);
    CHECK(bodies(store) == 1);
    {
        // Released by destruction, like a moved-from pin's target.
        MailStore::ViewPin moved = std::move(old_view);
        CHECK_FALSE(old_view.active());
        CHECK(bodies(store) == 1);
    }
    CHECK(bodies(store) == 0);
    // A pin never moves back.
    new_view.advance(1);
    CHECK(new_view.watermark() > 1);
}

TEST_CASE("Deferred: a pin change schedules one run and collects nothing until it comes",
          "[store][retention]") {
    SqliteMailStore store(memory());
    int scheduled = 0;
    store.defer_garbage([&] { ++scheduled; });
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const std::uint32_t uid = store.append(inbox, request(test::message("zebra")));
    std::optional<MailStore::ViewPin> view =
        store.pin_view(inbox, store.mailbox(inbox).highestmodseq);
    expunge_uid(store, inbox, uid);
    const std::uint64_t runs = store.garbage_runs();
    view->advance(store.mailbox(inbox).highestmodseq);
    view.reset();  // a second change before the run: no second schedule
    CHECK(scheduled == 1);
    CHECK(store.garbage_runs() == runs);
    CHECK(bodies(store) == 1);
    // The run the caller scheduled (UserMail::kGarbageDelay later).
    CHECK(store.collect_garbage().bodies_deleted == 1);
    CHECK(bodies(store) == 0);
    // After it, the next change that leaves garbage schedules again.
    view = store.pin_view(inbox, store.mailbox(inbox).highestmodseq);
    expunge_uid(store, inbox, store.append(inbox, request(test::message("again"))));
    view.reset();
    CHECK(scheduled == 2);
}

TEST_CASE("An APPEND of the same bytes takes an orphan body back", "[store][retention]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const std::string raw = test::message("again");
    std::optional<MailStore::ViewPin> view = store.pin_view(inbox, 0);
    const std::uint32_t first = store.append(inbox, request(raw));
    const BodyId body = store.fetch(inbox, one_uid(first)).at(0).body_id;
    expunge_uid(store, inbox, first);
    CHECK(count(store, "SELECT count(*) FROM orphan_bodies") == 1);
    // Deduplicated by hash: the orphan is referenced again.
    const std::uint32_t second = store.append(inbox, request(raw));
    CHECK(store.fetch(inbox, one_uid(second)).at(0).body_id == body);
    view.reset();  // collects: referenced, so kept and no longer an orphan
    CHECK(bodies(store) == 1);
    CHECK(count(store, "SELECT count(*) FROM orphan_bodies") == 0);
    CHECK(store.read_body(body, 0, raw.size()) == raw);
    expunge_uid(store, inbox, second);
    CHECK(store.collect_garbage().bodies_deleted == 1);
    CHECK(bodies(store) == 0);
}

TEST_CASE("A body pin keeps a body through DELETE of its mailbox", "[store][retention]") {
    SqliteMailStore store(memory());
    const MailboxId work = store.create_mailbox("Work").id;
    const std::uint32_t uid = store.append(work, request(test::message("streamed")));
    const BodyId body = store.fetch(work, one_uid(uid)).at(0).body_id;
    std::optional<MailStore::BodyPin> pin = store.pin_body(body);
    store.delete_mailbox("Work");
    CHECK(store.collect_garbage().bodies_kept == 1);
    CHECK(store.read_body(body, 0, 5) == "From:");
    pin.reset();
    CHECK(bodies(store) == 0);
}

TEST_CASE("The garbage collection is not fsync'd and leaves synchronous as it was",
          "[store][retention]") {
    TempDir dir("imapd-store-retention-sync");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    SqliteMailStore store(options);
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    expunge_uid(store, inbox, store.append(inbox, request(test::message("x"))));
    CHECK(store.collect_garbage().bodies_deleted == 1);
    auto q = store.database().prepare("PRAGMA synchronous");
    q.step();
    CHECK(q.column_int(0) == 2);  // FULL, for the mail that follows
}

TEST_CASE("The garbage collection and the index batch work inside a read batch",
          "[store][retention]") {
    // A session's turn runs in a read batch (SessionHost); the collection at
    // a command's end changes `synchronous`, which SQLite refuses inside
    // the batch's read transaction, and collect_garbage_quietly() would hide
    // that failure for ever.
    TempDir dir("imapd-store-retention-batch");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    SqliteMailStore store(options);
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    ReadBatch batch(store);
    const std::uint32_t uid = store.append(inbox, request(test::message("batched")));
    CHECK(store.index_pending().indexed == 1);
    expunge_uid(store, inbox, uid);
    CHECK(store.collect_garbage().bodies_deleted == 1);
    CHECK(bodies(store) == 0);
    CHECK(store.status(inbox).messages == 0);
}

TEST_CASE("Orphans a crash left are collected when the server opens the user's mail",
          "[store][retention]") {
    TempDir dir("imapd-store-retention-open");
    const DataDir data(dir.path);
    {
        // A process that ends without collecting (a crash, or imapd
        // deliver/import, which never collect).
        SqliteMailStore store(data.user_options("alice"));
        const MailboxId inbox = store.open_mailbox("INBOX").id;
        expunge_uid(store, inbox, store.append(inbox, request(test::message("left"))));
        CHECK(bodies(store) == 1);
    }
    imap::server::UserMailRegistry registry(data);
    const auto mail = registry.open("alice");
    CHECK(bodies(mail->store()) == 0);
    CHECK(count(mail->store(), "SELECT count(*) FROM orphan_bodies") == 0);
}

TEST_CASE("RFC 2180 4.4.1: COPY and MOVE of a set with an expunged message transfer nothing",
          "[store][retention]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId dest = store.create_mailbox("Dest").id;
    for (int i = 0; i < 3; ++i)
        store.append(inbox, request(test::message("m" + std::to_string(i))));
    expunge_uid(store, inbox, 2);
    const std::uint64_t modseq = store.mailbox(dest).highestmodseq;
    // The view still has 1:3, three messages.
    CHECK(error_of([&] { store.copy(inbox, UidSet{{1, 3}}, dest, 3); }) == StoreErrc::Expunged);
    CHECK(error_of([&] { store.move(inbox, UidSet{{1, 3}}, dest, 3); }) == StoreErrc::Expunged);
    CHECK(store.uids(dest).empty());
    CHECK(store.uids(inbox) == std::vector<std::uint32_t>{1, 3});
    CHECK(store.mailbox(dest).highestmodseq == modseq);
    // The live ones alone go.
    CHECK(store.copy(inbox, UidSet{{3, 3}}, dest, 1).mapping == std::vector<UidMapping>{{3, 1}});
    CHECK(store.move(inbox, UidSet{{1, 1}}, dest, 1).copy.mapping ==
          std::vector<UidMapping>{{1, 2}});
}

TEST_CASE("Schema version 3 migrates a version 2 database in place", "[store][retention]") {
    TempDir dir("imapd-store-retention-migrate");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    {
        Database db(options);
        db.migrate(mail_migrations().first(2));
        REQUIRE(db.user_version() == 2);
        // An expunge logged by version 2: UID and modseq only.
        db.exec(
            "UPDATE mailboxes SET uidnext = 8, highestmodseq = 3 WHERE name = 'INBOX';"
            "INSERT INTO expunged (mailbox_id, uid, modseq) "
            "SELECT id, 7, 3 FROM mailboxes WHERE name = 'INBOX'");
    }
    SqliteMailStore store(options);
    CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    CHECK(store.expunged_since(inbox, 0) == std::vector<std::uint32_t>{7});
    // Not readable: no values were kept for it.
    const std::vector<MessageInfo> rows = fetch_after(store, inbox, 0);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].expunged);
    CHECK(rows[0].body_id == BodyId{});
    CHECK(rows[0].modseq == 3);
    CHECK(count(store,
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = "
                "'messages_release_body'") == 0);
    // The new trigger: an expunge leaves an orphan, not a deleted body.
    expunge_uid(store, inbox, store.append(inbox, request(test::message("new"))));
    CHECK(bodies(store) == 1);
    CHECK(count(store, "SELECT count(*) FROM orphan_bodies") == 1);
    CHECK(store.collect_garbage().bodies_deleted == 1);
}
