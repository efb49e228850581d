// Mailbox operations of the mail store (RFC 3501 5.1, 6.3.3-6.3.10, 2.3.1.1
// UIDVALIDITY, 2.3.2 \Recent) on in-memory databases.
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <set>

#include "store/limits.h"
#include "store/mailbox_names.h"
#include "store/schema.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"

using namespace imap::store;
using imap::store::test::memory;
using imap::store::test::request;

using imap::store::test::error_of;

namespace {

std::vector<std::string> names(const std::vector<ListEntry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries)
        out.push_back(e.name);
    return out;
}

std::uint32_t attributes_of(const std::vector<ListEntry>& entries, const std::string& name) {
    for (const auto& e : entries) {
        if (e.name == name) return e.attributes;
    }
    FAIL("no entry " << name);
    return 0;
}

}  // namespace

TEST_CASE("a new user database has INBOX, and INBOX is case-insensitive (RFC 3501 5.1)") {
    SqliteMailStore store(memory());
    auto inbox = store.find_mailbox("inbox");
    REQUIRE(inbox);
    CHECK(inbox->name == "INBOX");
    CHECK(inbox->selectable);
    CHECK(inbox->uidvalidity > 0);
    CHECK(store.open_mailbox("InBoX").id == inbox->id);
    CHECK(error_of([&] { store.create_mailbox("Inbox"); }) == StoreErrc::AlreadyExists);
    CHECK(store.create_mailbox("inbox/Sub").name == "INBOX/Sub");
}

TEST_CASE("mailbox names are validated and canonicalised") {
    CHECK(canonical_mailbox_name("inBOX/x") == "INBOX/x");
    CHECK(canonical_mailbox_name("inboxes") == "inboxes");
    CHECK(canonical_mailbox_name("Ünïcode/日本") == "Ünïcode/日本");
    for (std::string bad :
         std::vector<std::string>{"", "/a", "a//b", "a/", "a*b", "a%b", std::string("a\x01"),
                                  std::string("\xff\xfe"), std::string("\xc0\xaf")}) {
        INFO(bad);
        CHECK_THROWS_AS(canonical_mailbox_name(bad), StoreError);
    }
    CHECK(error_of([] {
              canonical_mailbox_name(std::string(limits::kMaxMailboxNameBytes + 1, 'a'));
          }) == StoreErrc::OverLimit);
    std::string deep = "a";
    for (std::size_t i = 1; i <= limits::kMaxMailboxDepth; ++i)
        deep += "/a";
    CHECK(error_of([&] { canonical_mailbox_name(deep); }) == StoreErrc::OverLimit);
}

TEST_CASE("CREATE makes superiors as Noselect placeholders (RFC 3501 6.3.3)") {
    SqliteMailStore store(memory());
    store.create_mailbox("owatagusiam/blurdybloop");
    auto parent = store.find_mailbox("owatagusiam");
    REQUIRE(parent);
    CHECK_FALSE(parent->selectable);
    CHECK(error_of([&] { store.open_mailbox("owatagusiam"); }) == StoreErrc::NoSelect);
    // Creating the placeholder's name makes it a mailbox.
    auto made = store.create_mailbox("owatagusiam/");  // trailing delimiter dropped
    CHECK(made.name == "owatagusiam");
    CHECK(made.selectable);
    CHECK(error_of([&] { store.create_mailbox("owatagusiam"); }) == StoreErrc::AlreadyExists);
}

TEST_CASE("UIDVALIDITY never repeats for a re-created name (RFC 3501 2.3.1.1)") {
    SqliteMailStore store(memory());
    std::set<std::uint32_t> seen{store.open_mailbox("INBOX").uidvalidity};
    std::uint32_t last = *seen.begin();
    for (int i = 0; i < 5; ++i) {
        auto info = store.create_mailbox("Work");
        CHECK(seen.insert(info.uidvalidity).second);
        CHECK(info.uidvalidity > last);  // strictly ascending per user
        last = info.uidvalidity;
        store.delete_mailbox("Work");
    }
    // Placeholders that become mailboxes get a fresh value too.
    store.create_mailbox("P/child");
    auto p = store.create_mailbox("P");
    CHECK(seen.insert(p.uidvalidity).second);
    store.create_mailbox("P/child2");
    store.delete_mailbox("P");  // has children: becomes \Noselect
    CHECK(seen.insert(store.create_mailbox("P").uidvalidity).second);
}

TEST_CASE("DELETE follows RFC 3501 6.3.4") {
    SqliteMailStore store(memory());
    SECTION("INBOX cannot be deleted") {
        CHECK(error_of([&] { store.delete_mailbox("inbox"); }) == StoreErrc::NotPermitted);
    }
    SECTION("a missing name") {
        CHECK(error_of([&] { store.delete_mailbox("nope"); }) == StoreErrc::NotFound);
    }
    SECTION("the RFC's example: foo \\Noselect with foo/bar") {
        store.create_mailbox("blurdybloop");
        store.create_mailbox("foo/bar");
        store.delete_mailbox("blurdybloop");
        CHECK(error_of([&] { store.delete_mailbox("foo"); }) == StoreErrc::HasChildren);
        store.delete_mailbox("foo/bar");
        CHECK(names(store.list("*")) == std::vector<std::string>{"INBOX", "foo"});
        CHECK(attributes_of(store.list("*"), "foo") & list_attr::kNoselect);
        store.delete_mailbox("foo");
        CHECK(names(store.list("*")) == std::vector<std::string>{"INBOX"});
    }
    SECTION("a mailbox with inferiors loses its messages and becomes \\Noselect") {
        auto box = store.create_mailbox("tree");
        store.create_mailbox("tree/leaf");
        const std::string raw = test::message("x");
        store.append(box.id, request(raw));
        store.delete_mailbox("tree");
        auto after = store.find_mailbox("tree");
        REQUIRE(after);
        CHECK_FALSE(after->selectable);
        CHECK(test::count(store, "SELECT count(*) FROM messages") == 0);
        // The body is an orphan until the next garbage collection.
        CHECK(store.collect_garbage().bodies_deleted == 1);
        CHECK(test::count(store, "SELECT count(*) FROM bodies") == 0);
        CHECK(store.find_mailbox("tree/leaf"));
    }
}

TEST_CASE("subscriptions are apart from mailboxes and survive DELETE (RFC 3501 6.3.6)") {
    SqliteMailStore store(memory());
    store.create_mailbox("Lists/imap");
    CHECK(store.subscribe("Lists/imap"));
    CHECK_FALSE(store.subscribe("Lists/imap"));
    CHECK(store.subscribe("inbox"));
    CHECK(store.subscribe("Not/there"));  // a name need not exist
    store.delete_mailbox("Lists/imap");
    auto lsub = store.list_subscribed("*");
    CHECK(names(lsub) == std::vector<std::string>{"INBOX", "Lists/imap", "Not/there"});
    CHECK(attributes_of(lsub, "Lists/imap") & list_attr::kNonExistent);
    CHECK(store.unsubscribe("Lists/imap"));
    CHECK_FALSE(store.unsubscribe("Lists/imap"));
}

TEST_CASE(
    "LSUB with % lists unsubscribed levels above subscribed names as Noselect "
    "(RFC 3501 6.3.9)") {
    SqliteMailStore store(memory());
    store.subscribe("news/comp/mail/misc");
    store.subscribe("news/comp/mail/mime");
    auto lsub = store.list_subscribed("news/%");
    CHECK(names(lsub) == std::vector<std::string>{"news/comp"});
    CHECK(attributes_of(lsub, "news/comp") == list_attr::kNoselect);
    CHECK(names(store.list_subscribed("news/comp/mail/*")) ==
          std::vector<std::string>{"news/comp/mail/mime", "news/comp/mail/misc"});
}

TEST_CASE("LIST matches % and * and reports children, Noselect, Marked and subscription") {
    SqliteMailStore store(memory());
    store.create_mailbox("Archive/2023/Q1");
    store.create_mailbox("Archive/2024");
    store.create_mailbox("Sent");
    store.subscribe("Sent");
    CHECK(names(store.list("%")) == std::vector<std::string>{"Archive", "INBOX", "Sent"});
    CHECK(names(store.list("*")) == std::vector<std::string>{"Archive", "Archive/2023",
                                                             "Archive/2023/Q1", "Archive/2024",
                                                             "INBOX", "Sent"});
    CHECK(names(store.list("Archive/%")) ==
          std::vector<std::string>{"Archive/2023", "Archive/2024"});
    CHECK(names(store.list("*/Q%")) == std::vector<std::string>{"Archive/2023/Q1"});
    CHECK(names(store.list("inbox")) == std::vector<std::string>{"INBOX"});
    CHECK(names(store.list("iNb*")) == std::vector<std::string>{"INBOX"});
    CHECK(names(store.list("archive")).empty());  // only INBOX ignores case

    auto all = store.list("*");
    CHECK(attributes_of(all, "Archive") == (list_attr::kNoselect | list_attr::kHasChildren));
    CHECK(attributes_of(all, "Archive/2024") == (list_attr::kHasNoChildren | list_attr::kUnmarked));
    CHECK(attributes_of(all, "Sent") ==
          (list_attr::kHasNoChildren | list_attr::kUnmarked | list_attr::kSubscribed));

    auto inbox = store.open_mailbox("INBOX");
    store.append(inbox.id, request(test::message("new")));
    CHECK(attributes_of(store.list("INBOX"), "INBOX") & list_attr::kMarked);
    store.claim_recent(inbox.id);
    CHECK(attributes_of(store.list("INBOX"), "INBOX") & list_attr::kUnmarked);
}

TEST_CASE("pattern matching is linear and exact") {
    CHECK(mailbox_pattern_match("*", "a/b/c"));
    CHECK(mailbox_pattern_match("a/*", "a/b/c"));
    CHECK_FALSE(mailbox_pattern_match("a/%", "a/b/c"));
    CHECK(mailbox_pattern_match("a/%/c", "a/b/c"));
    CHECK(mailbox_pattern_match("%", "abc"));
    CHECK(mailbox_pattern_match("a%c", "abc"));
    CHECK_FALSE(mailbox_pattern_match("a%c", "a/c"));
    CHECK(mailbox_pattern_match("INBOX/%", "INBOX/x"));
    CHECK(mailbox_pattern_match("inbox/%", "INBOX/x"));
    CHECK_FALSE(mailbox_pattern_match("inbox/X", "INBOX/x"));
    std::string many(1000, '*');  // within limits::kMaxListPatternBytes
    CHECK_FALSE(mailbox_pattern_match(many + "b", std::string(1000, 'a')));
}

TEST_CASE("RENAME moves the whole tree and keeps UIDVALIDITY (RFC 3501 6.3.5)") {
    SqliteMailStore store(memory());
    auto top = store.create_mailbox("Projects");
    auto child = store.create_mailbox("Projects/imapd/notes");
    store.append(child.id, request(test::message("note")));
    store.subscribe("Projects/imapd/notes");
    store.rename_mailbox("Projects", "Old/Projects");
    CHECK(names(store.list("*")) == std::vector<std::string>{"INBOX", "Old", "Old/Projects",
                                                             "Old/Projects/imapd",
                                                             "Old/Projects/imapd/notes"});
    auto moved = store.open_mailbox("Old/Projects/imapd/notes");
    CHECK(moved.id == child.id);
    CHECK(moved.uidvalidity == child.uidvalidity);
    CHECK(store.open_mailbox("Old/Projects").uidvalidity == top.uidvalidity);
    CHECK(store.status(moved.id).messages == 1);
    CHECK(names(store.list_subscribed("*")) ==
          std::vector<std::string>{"Old/Projects/imapd/notes"});

    CHECK(error_of([&] { store.rename_mailbox("Nope", "X"); }) == StoreErrc::NotFound);
    CHECK(error_of([&] { store.rename_mailbox("Old", "INBOX"); }) == StoreErrc::AlreadyExists);
    CHECK(error_of([&] { store.rename_mailbox("Old", "Old/Projects/x"); }) ==
          StoreErrc::InvalidName);  // into itself
    CHECK(error_of([&] { store.rename_mailbox("Old", "Old/new"); }) == StoreErrc::InvalidName);
}

TEST_CASE("RENAME INBOX moves its messages and leaves INBOX empty (RFC 3501 6.3.5)") {
    SqliteMailStore store(memory());
    auto inbox = store.open_mailbox("INBOX");
    store.create_mailbox("INBOX/child");
    store.append(inbox.id, request(test::message("one"), flag::kSeen, {"$Work"}));
    store.append(inbox.id, request(test::message("two")));
    inbox = store.mailbox(inbox.id);

    store.rename_mailbox("INBOX", "INBOX/old-mail");
    auto old = store.open_mailbox("INBOX/old-mail");
    CHECK(old.uidvalidity != inbox.uidvalidity);
    auto fetched = store.fetch(old.id, test::all());
    REQUIRE(fetched.size() == 2);
    CHECK(fetched[0].uid == 1);
    CHECK(fetched[0].flags == flag::kSeen);
    CHECK(fetched[0].keywords == std::vector<std::string>{"$Work"});
    CHECK(store.keywords(old.id) == std::vector<std::string>{"$Work"});
    CHECK(old.uidnext == 3);

    auto after = store.open_mailbox("INBOX");
    CHECK(after.id == inbox.id);
    CHECK(after.uidvalidity == inbox.uidvalidity);
    CHECK(after.uidnext == inbox.uidnext);  // UIDs 1, 2 are never reused in INBOX
    CHECK(store.status(after.id).messages == 0);
    CHECK(store.find_mailbox("INBOX/child"));  // inferiors stay
    // QRESYNC sees the messages vanish from INBOX.
    CHECK(store.expunged_since(after.id, inbox.highestmodseq) == std::vector<std::uint32_t>{1, 2});
    CHECK(store.append(after.id, request(test::message("three"))) == 3);
}

TEST_CASE("STATUS counts come from the messages (RFC 3501 6.3.10)") {
    SqliteMailStore store(memory());
    auto box = store.create_mailbox("Box");
    auto status = store.status(box.id);
    CHECK(status.messages == 0);
    CHECK(status.uidnext == 1);
    CHECK(status.uidvalidity == box.uidvalidity);
    std::string a = test::message("a"), b = test::message("b"), c = test::message("c");
    store.append(box.id, request(a, flag::kSeen));
    store.append(box.id, request(b, flag::kDeleted));
    store.append(box.id, request(c));
    status = store.status(box.id);
    CHECK(status.messages == 3);
    CHECK(status.recent == 3);
    CHECK(status.unseen == 2);
    CHECK(status.deleted == 1);
    CHECK(status.uidnext == 4);
    CHECK(status.size == a.size() + b.size() + c.size());
    CHECK(status.highestmodseq > 1);
    store.claim_recent(box.id);
    CHECK(store.status(box.id).recent == 0);
    store.create_mailbox("P/x");
    CHECK(error_of([&] { store.status(store.find_mailbox("P")->id); }) == StoreErrc::NoSelect);
}

TEST_CASE("Recent is claimed by exactly one SELECT (RFC 3501 2.3.2)") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    CHECK_FALSE(store.claim_recent(box.id));
    store.append(box.id, request(test::message("1")));
    store.append(box.id, request(test::message("2")));
    auto first = store.claim_recent(box.id);
    REQUIRE(first);
    CHECK(*first == UidRange{1, 2});
    CHECK_FALSE(store.claim_recent(box.id));  // a second session sees none
    store.append(box.id, request(test::message("3")));
    CHECK(*store.claim_recent(box.id) == UidRange{3, 3});
}

TEST_CASE("the UIDVALIDITY sequence is persistent and file databases reopen") {
    auto dir = std::filesystem::temp_directory_path() / "imapd-store-reopen";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    OpenOptions options;
    options.path = (dir / "user.db").string();
    std::uint32_t before = 0;
    {
        SqliteMailStore store(options);
        before = store.create_mailbox("A").uidvalidity;
        store.delete_mailbox("A");
    }
    {
        SqliteMailStore store(options);
        CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
        CHECK(store.create_mailbox("A").uidvalidity > before);
        auto q = store.database().prepare("PRAGMA journal_mode");
        q.step();
        CHECK(q.column_text(0) == "wal");
    }
    std::filesystem::remove_all(dir);
}

TEST_CASE("mailbox count is limited") {
    SqliteMailStore store(memory());
    // Fill to the limit quickly inside the database, then ask for one more.
    store.database().exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        std::to_string(limits::kMaxMailboxesPerUser - 1) +
        ") INSERT INTO mailboxes (name, selectable, uidvalidity) SELECT 'm' || i, 1, 1 FROM n");
    CHECK(error_of([&] { store.create_mailbox("one-more"); }) == StoreErrc::OverLimit);
}
