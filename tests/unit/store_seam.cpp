// The store seam (docs/architecture.md "The store seam"): the factory that
// opens a backend from OpenOptions, StoreErrc::Busy for a lock another
// connection holds past busy_timeout (RFC 5530 INUSE in the server), and
// the change feed: a committed write transaction reports the mailboxes it
// changed, once, after the commit; a rolled-back one reports nothing.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "store/data_dir.h"
#include "store/limits.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;
using test::error_of;
using test::memory;
using test::request;

namespace {

// Records every report and what the store said when it came.
struct Recorder {
    // The mailboxes of each report that changed any, and every name change.
    std::vector<std::vector<MailboxId>> reports;
    std::vector<NameChange> names;
    void install(MailStore& store) {
        store.set_change_listener([this](const ChangeSet& changes) {
            if (!changes.mailboxes.empty()) reports.push_back(changes.mailboxes);
            names.insert(names.end(), changes.names.begin(), changes.names.end());
        });
    }
};

}  // namespace

TEST_CASE("open_mail_store opens the configured backend", "[store][seam]") {
    OpenOptions options = memory();
    CHECK(options.backend == Backend::Sqlite);
    const std::unique_ptr<MailStore> store = open_mail_store(options);
    REQUIRE(store != nullptr);
    CHECK(dynamic_cast<SqliteMailStore*>(store.get()) != nullptr);
    // Migrated and usable through the interface alone.
    const MailboxId inbox = store->open_mailbox("INBOX").id;
    const std::uint32_t uid = store->append(inbox, request(test::message("seam")));
    const MessageInfo info = store->fetch(inbox, {{{uid, uid}}}).at(0);
    CHECK(info.body_id);
    CHECK(store->read_body(info.body_id, 0, 5) == "From:");
}

TEST_CASE("a lock held past busy_timeout is StoreErrc::Busy, not a SQLite code",
          "[store][seam][busy]") {
    imap::test::UniqueTempDir dir("imapd-store-busy");
    const DataDir data(dir.path);
    OpenOptions options = data.user_options("alice");
    options.busy_timeout_ms = 20;
    SqliteMailStore store(options);
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    {
        // Another process (imapd deliver) in the middle of a write.
        Database other(options);
        other.exec("BEGIN IMMEDIATE");
        CHECK(error_of([&] { store.create_mailbox("Work"); }) == StoreErrc::Busy);
        CHECK(error_of([&] { store.append(inbox, request(test::message("a"))); }) ==
              StoreErrc::Busy);
        // WAL: reading is never blocked by a writer.
        CHECK(store.status(inbox).messages == 0);
        other.exec("ROLLBACK");
    }
    store.create_mailbox("Work");
    CHECK(store.find_mailbox("Work"));
}

TEST_CASE("change feed: a commit reports its mailbox once, after the commit",
          "[store][seam][feed]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    std::vector<std::uint32_t> seen_messages;
    int reports = 0;
    store.set_change_listener([&](const ChangeSet& changes) {
        ++reports;
        CHECK(changes.mailboxes == std::vector<MailboxId>{inbox});
        // Called after COMMIT: the store may be read (and is up to date).
        seen_messages.push_back(store.status(inbox).messages);
    });
    store.append(inbox, request(test::message("one")));
    CHECK(reports == 1);
    CHECK(seen_messages == std::vector<std::uint32_t>{1});
}

TEST_CASE("change feed: batched operations report once per transaction", "[store][seam][feed]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId work = store.create_mailbox("Work").id;
    Recorder recorder;
    recorder.install(store);

    // RFC 3502 MULTIAPPEND: three messages, one transaction, one report.
    const std::string a = test::message("a"), b = test::message("b"), c = test::message("c");
    const std::vector<AppendRequest> three = {request(a), request(b), request(c)};
    store.append(inbox, three);
    REQUIRE(recorder.reports.size() == 1);
    CHECK(recorder.reports[0] == std::vector<MailboxId>{inbox});

    // RFC 6851 MOVE: copy and expunge in one transaction, both mailboxes in
    // one report, ascending.
    recorder.reports.clear();
    store.move(inbox, {{{1, 2}}}, work);
    REQUIRE(recorder.reports.size() == 1);
    CHECK(recorder.reports[0] == std::vector<MailboxId>{inbox, work});

    // STORE, COPY and EXPUNGE each report their own mailbox once.
    recorder.reports.clear();
    Flags deleted;
    deleted.system = flag::kDeleted;
    store.store_flags(work, test::all(), FlagOp::Add, deleted);
    store.copy(work, test::all(), inbox);
    store.expunge(work);
    CHECK(recorder.reports == std::vector<std::vector<MailboxId>>{{work}, {inbox}, {work}});

    // DELETE reports the mailbox (its selecting sessions end); RENAME of
    // INBOX reports INBOX, whose messages vanish (RFC 3501 6.3.5).
    recorder.reports.clear();
    store.delete_mailbox("Work");
    store.rename_mailbox("INBOX", "Old");
    CHECK(recorder.reports == std::vector<std::vector<MailboxId>>{{work}, {inbox}});
}

TEST_CASE("change feed: name changes (RFC 5465 5.4, 5.5 MailboxName, SubscriptionChange)",
          "[store][seam][feed]") {
    using Kind = NameChange::Kind;
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    Recorder recorder;
    recorder.install(store);
    store.create_mailbox("Work/");  // the trailing delimiter is dropped
    const MailboxId year = store.create_mailbox("Work/2024").id;
    CHECK(store.subscribe("Work"));
    CHECK_FALSE(store.subscribe("Work"));  // nothing changed: nothing reported
    store.rename_mailbox("Work", "Done");  // one change for the subtree
    CHECK(store.unsubscribe("Done"));
    CHECK_FALSE(store.unsubscribe("Done"));
    store.delete_mailbox("Done/2024");
    store.rename_mailbox("INBOX", "Old");  // RFC 5465 5.4: a new INBOX is assumed
    CHECK(recorder.names == std::vector<NameChange>{{Kind::Created, "Work", ""},
                                                    {Kind::Created, "Work/2024", ""},
                                                    {Kind::Subscribed, "Work", ""},
                                                    {Kind::Renamed, "Done", "Work"},
                                                    {Kind::Unsubscribed, "Done", ""},
                                                    {Kind::Deleted, "Done/2024", ""},
                                                    {Kind::Renamed, "Old", "INBOX"}});
    // Only DELETE and RENAME INBOX change a mailbox's messages.
    CHECK(recorder.reports == std::vector<std::vector<MailboxId>>{{year}, {inbox}});
}

TEST_CASE("change feed: nothing changed, nothing reported", "[store][seam][feed]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    store.append(inbox, request(test::message("seen"), flag::kSeen));
    Recorder recorder;
    recorder.install(store);
    Flags seen;
    seen.system = flag::kSeen;
    store.store_flags(inbox, test::all(), FlagOp::Add, seen);  // already set
    store.expunge(inbox);                                      // nothing \Deleted
    store.claim_recent(inbox);
    store.create_mailbox("Work");
    store.subscribe("Work");
    store.list("*");
    CHECK(recorder.reports.empty());  // (the name changes: the test above)
}

TEST_CASE("change feed: a rolled-back transaction reports nothing", "[store][seam][feed]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    Recorder recorder;
    recorder.install(store);

    // A MULTIAPPEND whose fourth message runs out of keywords: the first
    // three were inserted in the transaction, then it rolls back.
    std::vector<std::string> raws;
    std::vector<AppendRequest> batch;
    for (int m = 0; m < 4; ++m)
        raws.push_back(test::message("k" + std::to_string(m)));
    for (int m = 0; m < 4; ++m) {
        std::vector<std::string> keywords;
        for (std::size_t k = 0; k < limits::kMaxKeywordsPerMessage; ++k)
            keywords.push_back("m" + std::to_string(m) + "k" + std::to_string(k));
        batch.push_back(request(raws[static_cast<std::size_t>(m)], 0, keywords));
    }
    REQUIRE(4 * limits::kMaxKeywordsPerMessage > limits::kMaxKeywordsPerMailbox);
    CHECK(error_of([&] { store.append(inbox, batch); }) == StoreErrc::OverLimit);
    CHECK(store.status(inbox).messages == 0);
    CHECK(recorder.reports.empty());

    // RFC 2180 4.4.1: a COPY of a view with expunged messages copies nothing.
    store.append(inbox, request(test::message("x")));
    recorder.reports.clear();
    const MailboxId work = store.create_mailbox("Work").id;
    CHECK(error_of([&] { store.copy(inbox, test::all(), work, 2); }) == StoreErrc::Expunged);
    CHECK(recorder.reports.empty());
}

TEST_CASE("change feed: a listener may write and its own commit reports again",
          "[store][seam][feed]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId work = store.create_mailbox("Work").id;
    std::vector<std::vector<MailboxId>> reports;
    store.set_change_listener([&](const ChangeSet& changes) {
        reports.push_back(changes.mailboxes);
        // A rule that files every new INBOX message into Work.
        if (changes.mailboxes == std::vector<MailboxId>{inbox})
            store.copy(inbox, test::all(), work);
    });
    store.append(inbox, request(test::message("filed")));
    CHECK(reports == std::vector<std::vector<MailboxId>>{{inbox}, {work}});
    CHECK(store.status(work).messages == 1);
    // An empty listener stops the reports.
    store.set_change_listener({});
    store.append(inbox, request(test::message("quiet")));
    CHECK(reports.size() == 2);
}
