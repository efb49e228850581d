// Messages in the mail store: APPEND (RFC 3501 6.3.11, RFC 4315 APPENDUID),
// FETCH metadata and body ranges, STORE with MODSEQ (RFC 7162), EXPUNGE
// (RFC 3501 6.4.3, RFC 4315 UID EXPUNGE), COPY (6.4.7, COPYUID) and MOVE
// (RFC 6851), bodies stored once and released with their last message.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "store/limits.h"
#include "store/sqlite_mail_store.h"
#include "store/structure_codec.h"
#include "support/store_support.h"

using namespace imap::store;
using imap::store::test::all;
using imap::store::test::count;
using imap::store::test::memory;
using imap::store::test::request;

using imap::store::test::error_of;

namespace {

std::vector<std::uint32_t> uids_of(const std::vector<MessageInfo>& infos) {
    std::vector<std::uint32_t> out;
    for (const auto& i : infos)
        out.push_back(i.uid);
    return out;
}

MessageInfo one(MailStore& store, MailboxId box, std::uint32_t uid) {
    UidSet set{{uid, uid}};
    auto infos = store.fetch(box, set);
    REQUIRE(infos.size() == 1);
    return infos.front();
}

}  // namespace

TEST_CASE("APPEND returns strictly ascending UIDs that are never reused (RFC 3501 2.3.1.1)") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("a");
    std::vector<std::uint32_t> uids;
    for (int i = 0; i < 3; ++i)
        uids.push_back(store.append(box.id, request(raw, flag::kDeleted)));
    CHECK(uids == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(store.expunge(box.id).uids == uids);
    CHECK(store.append(box.id, request(raw)) == 4);
    CHECK(store.uids(box.id) == std::vector<std::uint32_t>{4});
    CHECK(store.mailbox(box.id).uidnext == 5);
}

TEST_CASE("MULTIAPPEND is all or nothing and reports APPENDUID data") {
    SqliteMailStore store(memory());
    auto box = store.create_mailbox("Box");
    std::string a = test::message("a"), b = test::message("b");
    std::vector<AppendRequest> requests{request(a), request(b)};
    auto result = store.append(box.id, requests);
    CHECK(result.uidvalidity == box.uidvalidity);
    CHECK(result.uids == std::vector<std::uint32_t>{1, 2});
    // One bad keyword fails the whole command.
    std::vector<AppendRequest> bad{request(a), request(b, 0, {"bad keyword"})};
    CHECK(error_of([&] { store.append(box.id, bad); }) == StoreErrc::InvalidName);
    CHECK(store.status(box.id).messages == 2);
    CHECK(store.mailbox(box.id).uidnext == 3);
}

TEST_CASE("APPEND refuses placeholders, missing mailboxes and oversized messages") {
    SqliteMailStore store(memory());
    store.create_mailbox("P/x");
    std::string raw = test::message("a");
    CHECK(error_of([&] { store.append(store.find_mailbox("P")->id, request(raw)); }) ==
          StoreErrc::NoSelect);
    CHECK(error_of([&] { store.append(9999, request(raw)); }) == StoreErrc::NotFound);
    std::string huge(limits::kMaxMessageSize + 1, 'x');
    CHECK(error_of([&] { store.append(store.open_mailbox("INBOX").id, request(huge)); }) ==
          StoreErrc::TooBig);
}

TEST_CASE("APPEND keeps internal date, zone, size, flags and keywords, FETCH returns them") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("meta");
    auto uid =
        store.append(box.id, request(raw, flag::kSeen | flag::kFlagged, {"$Label1", "Junk"}));
    auto info = one(store, box.id, uid);
    CHECK(info.internal_date == 760686745);
    CHECK(info.zone_minutes == -480);
    CHECK(info.size == raw.size());
    CHECK(info.flags == (flag::kSeen | flag::kFlagged));
    CHECK(info.keywords == std::vector<std::string>{"$Label1", "Junk"});
    CHECK(info.modseq == store.mailbox(box.id).highestmodseq);
    // Keywords are per mailbox and listed for PERMANENTFLAGS.
    CHECK(store.keywords(box.id) == std::vector<std::string>{"$Label1", "Junk"});
    // Keyword names compare case-insensitively: no second definition.
    store.append(box.id, request(raw, 0, {"junk"}));
    CHECK(store.keywords(box.id).size() == 2);
}

TEST_CASE("FETCH honours UID sets, CHANGEDSINCE and a row limit") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("x");
    for (int i = 0; i < 10; ++i)
        store.append(box.id, request(raw));
    UidSet set{{8, 9}, {2, 3}, {5, 5}, {100, 200}};
    CHECK(uids_of(store.fetch(box.id, set)) == std::vector<std::uint32_t>{2, 3, 5, 8, 9});
    FetchOptions limited;
    limited.limit = 3;
    CHECK(uids_of(store.fetch(box.id, all(), limited)) == std::vector<std::uint32_t>{1, 2, 3});
    const auto before = store.mailbox(box.id).highestmodseq;
    UidSet four{{4, 4}};
    store.store_flags(box.id, four, FlagOp::Add, Flags{flag::kSeen, {}});
    FetchOptions changed;
    changed.changed_since = before;
    CHECK(uids_of(store.fetch(box.id, all(), changed)) == std::vector<std::uint32_t>{4});
}

TEST_CASE("body byte ranges are read without loading the body, and structure is stored") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("ranges", std::string(100000, 'z') + "\r\nEND\r\n");
    auto info = one(store, box.id, store.append(box.id, request(raw)));
    CHECK(store.read_body(info.body_id, 0, raw.size()) == raw);
    CHECK(store.read_body(info.body_id, 6, 5) == raw.substr(6, 5));
    CHECK(store.read_body(info.body_id, raw.size() - 5, 100) == raw.substr(raw.size() - 5));
    CHECK(store.read_body(info.body_id, raw.size() + 10, 10).empty());
    ParsedMessage parsed = store.structure(info.body_id);
    ParsedMessage direct = parse_message(raw);
    CHECK(parsed.size == raw.size());
    CHECK(parsed.envelope.subject == direct.envelope.subject);
    CHECK(parsed.root.body == direct.root.body);
    auto text = resolve_section(parsed, {}, SectionKind::Text);
    REQUIRE(text);
    CHECK(store.read_body(info.body_id, text->begin, text->size()).substr(0, 3) == "zzz");
    CHECK(error_of([&] { store.read_body(BodyId{123456}, 0, 1); }) == StoreErrc::NotFound);
}

TEST_CASE("STORE bumps MODSEQ only for messages that really change (RFC 7162 3.2)") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("m");
    store.append(box.id, request(raw, flag::kSeen));   // 1
    store.append(box.id, request(raw));                // 2
    store.append(box.id, request(raw, 0, {"$Done"}));  // 3
    const auto start = store.mailbox(box.id).highestmodseq;

    auto r = store.store_flags(box.id, all(), FlagOp::Add, Flags{flag::kSeen, {}});
    CHECK(r.changed == std::vector<std::uint32_t>{2, 3});
    CHECK(r.modseq == start + 1);
    CHECK(one(store, box.id, 1).modseq < r.modseq);
    CHECK(one(store, box.id, 2).modseq == r.modseq);

    // Nothing changes: no new MODSEQ at all.
    auto none = store.store_flags(box.id, all(), FlagOp::Add, Flags{flag::kSeen, {}});
    CHECK(none.changed.empty());
    CHECK(none.modseq == 0);
    CHECK(store.mailbox(box.id).highestmodseq == r.modseq);

    // Keywords: add where missing, remove where present.
    auto k = store.store_flags(box.id, all(), FlagOp::Add, Flags{0, {"$Done"}});
    CHECK(k.changed == std::vector<std::uint32_t>{1, 2});
    auto rm =
        store.store_flags(box.id, UidSet{{3, 3}}, FlagOp::Remove, Flags{0, {"$Done", "$Nope"}});
    CHECK(rm.changed == std::vector<std::uint32_t>{3});
    CHECK(one(store, box.id, 3).keywords.empty());
    CHECK(store.keywords(box.id) == std::vector<std::string>{"$Done"});  // -FLAGS creates nothing

    // Replace: only messages whose set differs.
    auto rep = store.store_flags(box.id, all(), FlagOp::Replace, Flags{flag::kSeen, {"$Done"}});
    CHECK(rep.changed == std::vector<std::uint32_t>{3});
    auto clear = store.store_flags(box.id, all(), FlagOp::Replace, Flags{});
    CHECK(clear.changed == std::vector<std::uint32_t>{1, 2, 3});
    CHECK(one(store, box.id, 1).flags == 0);
    CHECK(one(store, box.id, 1).keywords.empty());
}

TEST_CASE("STORE UNCHANGEDSINCE reports modified messages and leaves them (RFC 7162 3.1.3)") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("m");
    store.append(box.id, request(raw));
    store.append(box.id, request(raw));
    const auto seen = store.mailbox(box.id).highestmodseq;
    store.store_flags(box.id, UidSet{{2, 2}}, FlagOp::Add, Flags{flag::kFlagged, {}});
    auto r = store.store_flags(box.id, all(), FlagOp::Add, Flags{flag::kSeen, {}}, seen);
    CHECK(r.changed == std::vector<std::uint32_t>{1});
    CHECK(r.modified == std::vector<std::uint32_t>{2});
    CHECK(one(store, box.id, 2).flags == flag::kFlagged);
}

TEST_CASE("EXPUNGE removes Deleted messages, logs them with their MODSEQ (RFC 3501 6.4.3)") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("e");
    for (int i = 0; i < 5; ++i)
        store.append(box.id, request(raw));
    store.store_flags(box.id, UidSet{{2, 4}}, FlagOp::Add, Flags{flag::kDeleted, {}});
    const auto before = store.mailbox(box.id).highestmodseq;

    SECTION("UID EXPUNGE only touches the given UIDs (RFC 4315 2.1)") {
        UidSet three{{3, 3}, {5, 5}};
        auto r = store.expunge(box.id, three);
        CHECK(r.uids == std::vector<std::uint32_t>{3});
        CHECK(r.modseq == before + 1);
        CHECK(store.uids(box.id) == std::vector<std::uint32_t>{1, 2, 4, 5});
    }
    SECTION("EXPUNGE takes every \\Deleted message") {
        auto r = store.expunge(box.id);
        CHECK(r.uids == std::vector<std::uint32_t>{2, 3, 4});
        CHECK(store.uids(box.id) == std::vector<std::uint32_t>{1, 5});
        CHECK(store.expunged_since(box.id, before) == std::vector<std::uint32_t>{2, 3, 4});
        CHECK(store.expunged_since(box.id, r.modseq).empty());
        CHECK(store.expunge(box.id).uids.empty());  // nothing left: no MODSEQ used
        CHECK(store.mailbox(box.id).highestmodseq == r.modseq);
    }
}

TEST_CASE("COPY shares the body, maps UIDs and carries flags and keywords (RFC 4315 COPYUID)") {
    SqliteMailStore store(memory());
    auto inbox = store.open_mailbox("INBOX");
    auto archive = store.create_mailbox("Archive");
    std::string a = test::message("a"), b = test::message("b");
    store.append(archive.id, request(test::message("older")));  // archive uid 1
    store.append(inbox.id, request(a, flag::kSeen, {"$Work"}));
    store.append(inbox.id, request(b));
    CHECK(count(store, "SELECT count(*) FROM bodies") == 3);
    store.index_pending();

    auto result = store.copy(inbox.id, all(), archive.id);
    CHECK(result.uidvalidity == archive.uidvalidity);
    CHECK(result.mapping == std::vector<UidMapping>{{1, 2}, {2, 3}});
    CHECK(count(store, "SELECT count(*) FROM bodies") == 3);  // no bytes copied
    auto copied = one(store, archive.id, 2);
    CHECK(copied.flags == flag::kSeen);
    CHECK(copied.keywords == std::vector<std::string>{"$Work"});
    CHECK(copied.body_id == one(store, inbox.id, 1).body_id);
    CHECK(copied.modseq == store.mailbox(archive.id).highestmodseq);
    CHECK(store.status(archive.id).recent == 3);  // copies are recent in the destination

    // Body reference counting: the body stays until its last message goes
    // and a garbage collection finds it unpinned (store_retention).
    store.store_flags(inbox.id, all(), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(inbox.id);
    store.collect_garbage();
    CHECK(count(store, "SELECT count(*) FROM bodies") == 3);
    CHECK(store.read_body(copied.body_id, 0, a.size()) == a);
    store.store_flags(archive.id, UidSet{{2, 2}}, FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(archive.id);
    CHECK(count(store, "SELECT count(*) FROM bodies") == 3);
    store.collect_garbage();
    CHECK(count(store, "SELECT count(*) FROM bodies") == 2);
    CHECK(test::indexed_matching(store, "old AND der") == 1);
    CHECK(error_of([&] { store.read_body(copied.body_id, 0, 1); }) == StoreErrc::NotFound);

    // Deleting a mailbox releases its bodies too.
    store.delete_mailbox("Archive");
    store.collect_garbage();
    CHECK(count(store, "SELECT count(*) FROM bodies") == 0);
    CHECK(count(store, "SELECT count(*) FROM message_keywords") == 0);
}

TEST_CASE("identical messages are stored once") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("same");
    store.append(box.id, request(raw));
    store.append(box.id, request(raw));
    CHECK(count(store, "SELECT count(*) FROM bodies") == 1);
    store.store_flags(box.id, UidSet{{1, 1}}, FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box.id);
    CHECK(count(store, "SELECT count(*) FROM bodies") == 1);
    CHECK(store.read_body(one(store, box.id, 2).body_id, 0, raw.size()) == raw);
}

TEST_CASE("COPY to a missing or Noselect mailbox fails, an empty set copies nothing") {
    SqliteMailStore store(memory());
    auto inbox = store.open_mailbox("INBOX");
    store.append(inbox.id, request(test::message("a")));
    store.create_mailbox("P/x");
    CHECK(error_of([&] { store.copy(inbox.id, all(), store.find_mailbox("P")->id); }) ==
          StoreErrc::NoSelect);
    CHECK(error_of([&] { store.copy(inbox.id, all(), 4242); }) == StoreErrc::NotFound);
    auto dest = store.open_mailbox("P/x");
    CHECK(store.copy(inbox.id, UidSet{{50, 60}}, dest.id).mapping.empty());
    CHECK(store.mailbox(dest.id).highestmodseq == dest.highestmodseq);
}

TEST_CASE("MOVE copies and expunges in one step (RFC 6851)") {
    SqliteMailStore store(memory());
    auto inbox = store.open_mailbox("INBOX");
    auto trash = store.create_mailbox("Trash");
    std::string raw = test::message("m");
    for (int i = 0; i < 4; ++i)
        store.append(inbox.id, request(raw, flag::kFlagged));
    const auto before = store.mailbox(inbox.id).highestmodseq;
    auto result = store.move(inbox.id, UidSet{{2, 3}}, trash.id);
    CHECK(result.copy.mapping == std::vector<UidMapping>{{2, 1}, {3, 2}});
    CHECK(result.expunged.uids == std::vector<std::uint32_t>{2, 3});
    CHECK(store.uids(inbox.id) == std::vector<std::uint32_t>{1, 4});
    CHECK(store.uids(trash.id) == std::vector<std::uint32_t>{1, 2});
    CHECK(one(store, trash.id, 1).flags == flag::kFlagged);
    CHECK(store.expunged_since(inbox.id, before) == std::vector<std::uint32_t>{2, 3});
    CHECK(count(store, "SELECT count(*) FROM bodies") == 1);
}

TEST_CASE("a mailbox at the last UID refuses appends and copies") {
    SqliteMailStore store(memory());
    auto box = store.create_mailbox("Full");
    store.database()
        .prepare("UPDATE mailboxes SET uidnext = ?1 WHERE id = ?2")
        .bind(1, std::int64_t{limits::kMaxUid})
        .bind(2, box.id)
        .run();
    std::string raw = test::message("last");
    CHECK(store.append(box.id, request(raw)) == limits::kMaxUid);
    CHECK(error_of([&] { store.append(box.id, request(raw)); }) == StoreErrc::OverLimit);
    CHECK(store.mailbox(box.id).uidnext == std::uint64_t{limits::kMaxUid} + 1);
    auto inbox = store.open_mailbox("INBOX");
    store.append(inbox.id, request(raw));
    CHECK(error_of([&] { store.copy(inbox.id, all(), box.id); }) == StoreErrc::OverLimit);
}

TEST_CASE("keywords are validated and limited per mailbox") {
    SqliteMailStore store(memory());
    auto box = store.open_mailbox("INBOX");
    std::string raw = test::message("k");
    store.append(box.id, request(raw));
    for (std::string bad :
         std::vector<std::string>{"", "a b", "(x", "\\Seen", "a]b", std::string(300, 'k')}) {
        INFO(bad);
        CHECK(error_of([&] {
                  store.store_flags(box.id, all(), FlagOp::Add, Flags{0, {bad}});
              }) == StoreErrc::InvalidName);
    }
    store.database().exec(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
        std::to_string(limits::kMaxKeywordsPerMailbox) +
        ") INSERT INTO keywords (mailbox_id, id, name) SELECT " + std::to_string(box.id) +
        ", i, 'kw' || i FROM n");
    store.store_flags(box.id, all(), FlagOp::Add, Flags{0, {"kw7"}});  // existing: fine
    CHECK(error_of([&] {
              store.store_flags(box.id, all(), FlagOp::Add, Flags{0, {"onemore"}});
          }) == StoreErrc::OverLimit);
}

TEST_CASE("the structure codec round-trips every corpus message") {
    const char* data = std::getenv("IMAPD_TEST_DATA");
    if (!data) return;  // run through ctest
    std::size_t checked = 0;
    for (const auto& entry :
         std::filesystem::directory_iterator(std::filesystem::path(data) / "messages")) {
        if (entry.path().extension() != ".eml") continue;
        std::ifstream in(entry.path(), std::ios::binary);
        std::stringstream buffer;
        buffer << in.rdbuf();
        const std::string raw = buffer.str();
        ParsedMessage direct = parse_message(raw);
        ParsedMessage decoded = decode_structure(encode_structure(direct));
        INFO(entry.path().string());
        CHECK(decoded.size == direct.size);
        CHECK(encode_structure(decoded) == encode_structure(direct));
        CHECK(decoded.envelope.from == direct.envelope.from);
        ++checked;
    }
    CHECK(checked > 10);
    CHECK_THROWS_AS(decode_structure("\x02"), StoreError);
    std::string truncated = encode_structure(parse_message(test::message("t")));
    truncated.pop_back();
    CHECK_THROWS_AS(decode_structure(truncated), StoreError);
}

TEST_CASE("counts use the partial indexes") {
    SqliteMailStore store(memory());
    auto plan = [&](const std::string& sql) {
        auto q = store.database().prepare("EXPLAIN QUERY PLAN " + sql);
        std::string all_rows;
        while (q.step())
            all_rows += q.column_text(3) + "\n";
        return all_rows;
    };
    // The store's own statements say INDEXED BY; SQLite refuses to prepare
    // them if the partial index's WHERE is not implied by the query's.
    CHECK_THAT(plan("SELECT count(*) FROM messages INDEXED BY messages_unseen WHERE mailbox_id = 1 "
                    "AND (flags & 1) = 0"),
               Catch::Contains("messages_unseen"));
    CHECK_THAT(plan("SELECT uid FROM messages INDEXED BY messages_deleted WHERE mailbox_id = 1 AND "
                    "(flags & 8) <> 0 AND uid BETWEEN 1 AND 5"),
               Catch::Contains("messages_deleted"));
    CHECK_THAT(plan("SELECT uid FROM messages WHERE mailbox_id = 1 AND modseq > 5"),
               Catch::Contains("messages_modseq"));
}
