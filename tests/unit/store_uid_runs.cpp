// A mailbox's UIDs as runs of consecutive UIDs (schema v10, uid_runs,
// docs/storage.md "UID runs"): the triggers keep exactly the maximal runs
// of the messages table through every way a message arrives, leaves or
// moves, SqliteMailStore::uids() (what SELECT's view and every sync read,
// RFC 3501 2.3.1.1: the view's UIDs strictly ascending) answers from them,
// the migration computes them for an existing database, and damaged runs
// are a store error, not an allocation without bound.
#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "store/errors.h"
#include "store/schema.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;
using imap::store::test::all;
using imap::store::test::error_of;
using imap::store::test::memory;
using imap::store::test::request;
using Uids = std::vector<std::uint32_t>;
using Run = std::tuple<std::int64_t, std::int64_t, std::int64_t>;  // mailbox, first, last

namespace {

std::vector<Run> stored_runs(SqliteMailStore& store) {
    std::vector<Run> runs;
    auto q = store.database().prepare(
        "SELECT mailbox_id, first_uid, last_uid FROM uid_runs ORDER BY mailbox_id, first_uid");
    while (q.step())
        runs.emplace_back(q.column_int(0), q.column_int(1), q.column_int(2));
    return runs;
}

// The maximal runs of the messages table, computed here from its rows.
std::vector<Run> runs_of_messages(SqliteMailStore& store) {
    std::vector<Run> runs;
    auto q =
        store.database().prepare("SELECT mailbox_id, uid FROM messages ORDER BY mailbox_id, uid");
    while (q.step()) {
        const std::int64_t box = q.column_int(0);
        const std::int64_t uid = q.column_int(1);
        if (!runs.empty() && std::get<0>(runs.back()) == box &&
            std::get<2>(runs.back()) + 1 == uid) {
            std::get<2>(runs.back()) = uid;
        } else {
            runs.emplace_back(box, uid, uid);
        }
    }
    return runs;
}

Uids scanned_uids(SqliteMailStore& store, MailboxId box, std::uint32_t from = 1) {
    Uids uids;
    auto q = store.database().prepare(
        "SELECT uid FROM messages WHERE mailbox_id = ?1 AND uid >= ?2 ORDER BY uid");
    q.bind(1, box).bind(2, std::int64_t{from});
    while (q.step())
        uids.push_back(static_cast<std::uint32_t>(q.column_int(0)));
    return uids;
}

void check_runs(SqliteMailStore& store, const std::vector<MailboxId>& boxes, std::mt19937& random) {
    REQUIRE(stored_runs(store) == runs_of_messages(store));
    for (MailboxId box : boxes) {
        if (!store.database()
                 .prepare("SELECT 1 FROM mailboxes WHERE id = ?1")
                 .bind(1, box)
                 .step()) {
            continue;
        }
        CHECK(store.uids(box) == scanned_uids(store, box));
        const std::uint32_t from = 1 + random() % 200;
        CHECK(store.uids(box, from) == scanned_uids(store, box, from));
    }
}

// Marks `uids` \Deleted and expunges them.
void expunge_uids(SqliteMailStore& store, MailboxId box, const UidSet& uids) {
    store.store_flags(box, uids, FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box, uids);
}

}  // namespace

TEST_CASE("uid_runs stay the maximal runs of the messages through every change",
          "[store][uid_runs]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId work = store.create_mailbox("Work").id;
    const MailboxId other = store.create_mailbox("Other").id;
    const std::vector<MailboxId> boxes{inbox, work, other};
    std::mt19937 random(GENERATE(1u, 2u, 3u, 4u));
    INFO("seed run");
    for (int i = 0; i < 60; ++i)
        store.append(inbox, request("Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n"));
    // A mailbox that was never expunged in the middle is one run.
    CHECK(stored_runs(store) == std::vector<Run>{{inbox, 1, 60}});
    check_runs(store, boxes, random);
    for (int step = 0; step < 150; ++step) {
        const MailboxId box = boxes[random() % 2];  // Other is a destination only
        const std::uint32_t a = 1 + random() % 120;
        const std::uint32_t b = a + random() % 6;
        switch (random() % 6) {
            case 0:
                store.append(box, request("Subject: n\r\n\r\n" + std::to_string(step) + "\r\n"));
                break;
            case 1:
            case 2:
                // Singles, the ends of runs, the middle of runs.
                expunge_uids(store, box, UidSet{{a, b}});
                break;
            case 3:
                store.copy(box, UidSet{{a, b}}, boxes[random() % 3]);
                break;
            case 4:
                if (box != other) store.move(box, UidSet{{a, b}}, other);
                break;
            case 5: {
                // Every other message of a range: many runs.
                UidSet every_other;
                for (std::uint32_t uid = a; uid <= a + 20; uid += 2)
                    every_other.push_back({uid, uid});
                expunge_uids(store, box, every_other);
                break;
            }
        }
        INFO("step " << step);
        check_runs(store, boxes, random);
    }
    // RENAME INBOX (RFC 3501 6.3.5): its messages move to the new mailbox
    // (an UPDATE of messages.mailbox_id) and INBOX is left empty.
    store.rename_mailbox("INBOX", "Old inbox");
    check_runs(store, boxes, random);
    const MailboxId renamed = store.open_mailbox("Old inbox").id;
    CHECK(store.uids(renamed) == scanned_uids(store, renamed));
    CHECK(store.uids(store.open_mailbox("INBOX").id).empty());
    // DELETE: no run is left behind.
    store.delete_mailbox("Work");
    store.delete_mailbox("Old inbox");
    check_runs(store, boxes, random);
    for (const Run& run : stored_runs(store))
        CHECK(std::get<0>(run) == other);
}

TEST_CASE("uids(): runs of one, the run holding `from`, and a mailbox left empty",
          "[store][uid_runs]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (int i = 0; i < 10; ++i)
        store.append(box, request("Subject: x\r\n\r\nx\r\n"));
    expunge_uids(store, box, UidSet{{1, 1}, {4, 4}, {6, 7}, {10, 10}});
    CHECK(stored_runs(store) == std::vector<Run>{{box, 2, 3}, {box, 5, 5}, {box, 8, 9}});
    CHECK(store.uids(box) == Uids{2, 3, 5, 8, 9});
    CHECK(store.uids(box, 3) == Uids{3, 5, 8, 9});
    CHECK(store.uids(box, 4) == Uids{5, 8, 9});
    CHECK(store.uids(box, 9) == Uids{9});
    CHECK(store.uids(box, 10).empty());
    // The next APPEND gets UID 11 (UIDs are never reused, RFC 3501
    // 2.3.1.1), a run of its own.
    store.append(box, request("Subject: y\r\n\r\ny\r\n"));
    CHECK(store.uids(box, 6) == Uids{8, 9, 11});
    expunge_uids(store, box, all());
    CHECK(stored_runs(store).empty());
    CHECK(store.uids(box).empty());
}

TEST_CASE("Schema version 10 computes the UID runs of an existing database",
          "[store][uid_runs][migrate]") {
    imap::test::UniqueTempDir dir("imapd-store-uid-runs-v10");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    MailboxId inbox = 0;
    MailboxId work = 0;
    {
        SqliteMailStore store(options);
        inbox = store.open_mailbox("INBOX").id;
        work = store.create_mailbox("Work").id;
        for (int i = 0; i < 30; ++i)
            store.append(inbox, request("Subject: a\r\n\r\na\r\n"));
        for (int i = 0; i < 5; ++i)
            store.append(work, request("Subject: b\r\n\r\nb\r\n"));
        expunge_uids(store, inbox, UidSet{{3, 3}, {10, 12}, {30, 30}});
        // As version 9 left it: no runs.
        store.database().exec(test::kUndoSchemaV10);
    }
    SqliteMailStore store(options);
    CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
    CHECK(stored_runs(store) ==
          std::vector<Run>{{inbox, 1, 2}, {inbox, 4, 9}, {inbox, 13, 29}, {work, 1, 5}});
    CHECK(store.uids(inbox) == scanned_uids(store, inbox));
    // And the triggers keep them from there.
    store.append(inbox, request("Subject: c\r\n\r\nc\r\n"));
    expunge_uids(store, inbox, UidSet{{5, 5}});
    CHECK(stored_runs(store) == runs_of_messages(store));
}

TEST_CASE("Damaged UID runs are StoreErrc::Corrupt", "[store][uid_runs]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    for (int i = 0; i < 4; ++i)
        store.append(box, request("Subject: x\r\n\r\nx\r\n"));
    SECTION("a run ending before it starts") {
        store.database().exec("UPDATE uid_runs SET last_uid = 0");
    }
    SECTION("a run past the last UID there can be") {
        store.database().exec("UPDATE uid_runs SET last_uid = 4294967296");
    }
    SECTION("a run past the mailbox's UIDNEXT (a flipped bit)") {
        store.database().exec("UPDATE uid_runs SET last_uid = last_uid | 65536");
    }
    SECTION("overlapping runs") {
        store.database().exec(
            "INSERT INTO uid_runs (mailbox_id, first_uid, last_uid) SELECT mailbox_id, 2, 3 "
            "FROM uid_runs");
    }
    CHECK(error_of([&] { store.uids(box); }) == StoreErrc::Corrupt);
}

// The server gives UIDs out ascending, but the triggers must keep the runs
// for a row inserted, deleted or renumbered anywhere (a repair by hand, a
// future restore): joining two runs, growing one downwards, splitting one.
TEST_CASE("Rows inserted, deleted and renumbered in any order keep the maximal runs",
          "[store][uid_runs]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const MailboxId other = store.create_mailbox("Other").id;
    store.append(box, request("Subject: x\r\n\r\nx\r\n"));
    Database& db = store.database();
    // What a repair must keep too: every UID below UIDNEXT (RFC 3501
    // 2.3.1.1).
    db.exec("UPDATE mailboxes SET uidnext = 5000");
    std::mt19937 random(GENERATE(7u, 8u, 9u));
    std::vector<std::uint32_t> order;
    for (std::uint32_t uid = 2; uid <= 300; ++uid)
        order.push_back(uid);
    std::shuffle(order.begin(), order.end(), random);
    REQUIRE(stored_runs(store) == runs_of_messages(store));
    for (std::size_t i = 0; i < order.size(); ++i) {
        if (order[i] % 7 == 0) continue;  // holes that stay
        db.prepare(
              "INSERT INTO messages (mailbox_id, uid, body_id, internal_date, zone_minutes, size, "
              "flags, modseq) SELECT mailbox_id, ?1, body_id, internal_date, zone_minutes, size, "
              "flags, modseq FROM messages WHERE mailbox_id = ?2 AND uid = 1")
            .bind(1, std::int64_t{order[i]})
            .bind(2, box)
            .run();
        INFO("inserted " << order[i]);
        REQUIRE(stored_runs(store) == runs_of_messages(store));
    }
    CHECK(store.uids(box) == scanned_uids(store, box));
    // Renumbered (an UPDATE of uid), and moved to another mailbox.
    std::shuffle(order.begin(), order.end(), random);
    for (std::size_t i = 0; i < 40; ++i) {
        db.prepare("UPDATE messages SET uid = uid + 1000 WHERE mailbox_id = ?1 AND uid = ?2")
            .bind(1, box)
            .bind(2, std::int64_t{order[i]})
            .run();
        db.prepare("UPDATE messages SET mailbox_id = ?3 WHERE mailbox_id = ?1 AND uid = ?2")
            .bind(1, box)
            .bind(2, std::int64_t{order[i + 40]})
            .bind(3, other)
            .run();
        INFO("renumbered " << order[i] << ", moved " << order[i + 40]);
        REQUIRE(stored_runs(store) == runs_of_messages(store));
    }
    // Deleted in any order.
    std::shuffle(order.begin(), order.end(), random);
    for (std::uint32_t uid : order) {
        db.prepare("DELETE FROM messages WHERE uid = ?1").bind(1, std::int64_t{uid}).run();
        INFO("deleted " << uid);
        REQUIRE(stored_runs(store) == runs_of_messages(store));
    }
    CHECK(store.uids(box) == scanned_uids(store, box));
    CHECK(store.uids(other) == scanned_uids(store, other));
}
