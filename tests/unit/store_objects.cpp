// OBJECTID (RFC 8474), SAVEDATE (RFC 8514) and PREVIEW (RFC 8970) in the
// store: MAILBOXID across CREATE / RENAME / DELETE, EMAILID and THREADID
// per body (store/body_objects.h), the save date of APPEND / COPY / MOVE,
// the preview text and its bounds, the SEARCH keys, and the schema v6
// migration of a database made by version 5 (docs/storage.md "Object ids,
// save date, preview").
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "store/body_objects.h"
#include "store/message/message.h"
#include "store/schema.h"
#include "store/search.h"
#include "store/sqlite_mail_store.h"
#include "store/structure_codec.h"
#include "support/hostile_bound.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;
using imap::store::test::count;
using imap::store::test::memory;
using imap::store::test::request;
using Uids = std::vector<std::uint32_t>;

namespace {

bool is_objectid(const std::string& id) {
    // RFC 8474 7: objectid = 1*255(ALPHA / DIGIT / "_" / "-"); 8.1: start
    // with a letter.
    if (id.empty() || id.size() > 255) return false;
    if (!((id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= 'a' && id[0] <= 'z'))) return false;
    for (char c : id) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) return false;
    }
    return true;
}

std::string preview_of(const std::string& raw) {
    return compute_preview(raw, parse_message(raw));
}

// The store's clock (system_clock, CLOCK_REALTIME). Not time(): Linux
// answers it from the coarse clock, which can still say second S when the
// store has already stamped S + 1 (seen in CI: a save date "in the future").
std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

MessageInfo info_of(MailStore& store, MailboxId box, std::uint32_t uid) {
    auto rows = store.fetch(box, UidSet{{uid, uid}});
    REQUIRE(rows.size() == 1);
    return rows.front();
}

}  // namespace

// ---- MAILBOXID (RFC 8474 4) ---------------------------------------------------

TEST_CASE("RFC 8474 4: MAILBOXID is unique, kept by RENAME, new after DELETE and CREATE",
          "[store][objectid]") {
    SqliteMailStore store(memory());
    const MailboxInfo inbox = store.open_mailbox("INBOX");
    const MailboxInfo foo = store.create_mailbox("foo");
    const MailboxInfo bar = store.create_mailbox("bar");
    CHECK(is_objectid(inbox.object_id));
    CHECK(is_objectid(foo.object_id));
    CHECK(foo.object_id.size() == 25);  // "F" and 96 bits in hex
    CHECK(std::set<std::string>{inbox.object_id, foo.object_id, bar.object_id}.size() == 3);
    CHECK(store.open_mailbox("foo").object_id == foo.object_id);

    // 4.3's example: "rename foo renamed" keeps foo's id.
    store.rename_mailbox("foo", "renamed");
    CHECK(store.open_mailbox("renamed").object_id == foo.object_id);
    CHECK(store.open_mailbox("bar").object_id == bar.object_id);

    // Inferiors move with their own ids.
    const MailboxInfo child = store.create_mailbox("renamed/child");
    store.rename_mailbox("renamed", "moved");
    CHECK(store.open_mailbox("moved/child").object_id == child.object_id);

    // Deleted and created again: a new mailbox (new UIDVALIDITY), new id.
    store.delete_mailbox("bar");
    const MailboxInfo again = store.create_mailbox("bar");
    CHECK(again.object_id != bar.object_id);
    CHECK(is_objectid(again.object_id));

    // A mailbox with inferiors deleted becomes a \Noselect placeholder
    // without an id; created again, it gets a new one.
    store.delete_mailbox("moved");
    CHECK(store.find_mailbox("moved")->object_id.empty());
    CHECK(store.create_mailbox("moved").object_id != foo.object_id);
}

TEST_CASE(
    "RFC 8474 4 and RFC 3501 6.3.5: RENAME INBOX keeps INBOX's MAILBOXID, the new "
    "mailbox gets its own",
    "[store][objectid]") {
    SqliteMailStore store(memory());
    const MailboxInfo inbox = store.open_mailbox("INBOX");
    store.append(inbox.id, request(test::message("one")));
    store.rename_mailbox("INBOX", "old-inbox");
    const MailboxInfo moved = store.open_mailbox("old-inbox");
    CHECK(store.open_mailbox("INBOX").object_id == inbox.object_id);
    CHECK(is_objectid(moved.object_id));
    CHECK(moved.object_id != inbox.object_id);
}

TEST_CASE("RFC 8474 4: the default mailboxes and placeholders made mailboxes get ids",
          "[store][objectid]") {
    SqliteMailStore store(memory());
    store.create_mailbox("a/b");  // "a" is a placeholder
    CHECK(store.find_mailbox("a")->object_id.empty());
    const MailboxInfo a = store.create_mailbox("a");
    CHECK(is_objectid(a.object_id));
    store.ensure_default_mailboxes();
    CHECK(is_objectid(store.open_mailbox("Sent").object_id));
    CHECK(count(store, "SELECT count(DISTINCT object_id) FROM mailboxes WHERE selectable = 1") ==
          count(store, "SELECT count(*) FROM mailboxes WHERE selectable = 1"));
}

// ---- EMAILID and THREADID (RFC 8474 5) --------------------------------------------

TEST_CASE("RFC 8474 5.1: EMAILID is per content, kept across COPY and MOVE", "[store][objectid]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId foo = store.create_mailbox("foo").id;
    store.append(inbox, request(test::message("A")));
    store.append(inbox, request(test::message("B")));
    const auto rows = store.fetch(inbox, test::all());
    const MessageObjects a = store.objects(rows[0].body_id);
    const MessageObjects b = store.objects(rows[1].body_id);
    CHECK(is_objectid(a.email_id));
    CHECK(a.email_id.size() == 65);  // "M" and the SHA-256 in hex
    CHECK(a.email_id != b.email_id);
    CHECK(a.email_id == email_id(sha256(test::message("A"))));

    store.copy(inbox, UidSet{{1, 1}}, foo);
    store.move(inbox, UidSet{{2, 2}}, foo);
    const auto copied = store.fetch(foo, test::all());
    REQUIRE(copied.size() == 2);
    CHECK(store.objects(copied[0].body_id).email_id == a.email_id);
    CHECK(store.objects(copied[1].body_id).email_id == b.email_id);
    // 5.1 MAY: the same bytes appended again are the same content.
    store.append(inbox, request(test::message("A")));
    CHECK(store.objects(store.fetch(inbox, UidSet{{3, 3}})[0].body_id).email_id == a.email_id);
    // 5.2: MUST NOT share a value between EMAILIDs and THREADIDs.
    CHECK(a.thread_id != a.email_id);
    CHECK(a.thread_id.value().front() == 'T');
}

TEST_CASE("RFC 8474 5.2: THREADID follows the root of the References chain and never changes",
          "[store][objectid]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId other = store.create_mailbox("other").id;
    auto thread_of = [&](MailboxId box, std::uint32_t uid) {
        return store.objects(info_of(store, box, uid).body_id).thread_id.value();
    };
    // The reply arrives before its parent; a later-arriving parent must not
    // change it (5.2 "MUST NOT change the THREADID of a message once
    // reported").
    store.append(inbox, request("Subject: Re: A\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\n\r\n"
                                "reply\r\n"));
    const std::string reply = thread_of(inbox, 1);
    store.append(inbox, request("Subject: A\r\nMessage-ID: <a@x>\r\n\r\nroot\r\n"));
    CHECK(thread_of(inbox, 1) == reply);
    CHECK(thread_of(inbox, 2) == reply);
    // A reply in another mailbox, by In-Reply-To only (5.2 SHOULD).
    store.append(other, request("Subject: Re: A\r\nMessage-ID: <c@x>\r\nIn-Reply-To: <a@x>\r\n\r\n"
                                "in another mailbox\r\n"));
    CHECK(thread_of(other, 1) == reply);
    // A deeper reply names the root first.
    store.append(inbox, request("Message-ID: <d@x>\r\nReferences: <a@x> <b@x>\r\n\r\nd\r\n"));
    CHECK(thread_of(inbox, 3) == reply);
    // Unrelated, and with no ids at all: threads of their own.
    store.append(inbox, request("Subject: C\r\nMessage-ID: <z@x>\r\n\r\nother\r\n"));
    store.append(inbox, request("Subject: no ids\r\n\r\none\r\n"));
    store.append(inbox, request("Subject: no ids\r\n\r\ntwo\r\n"));
    const std::set<std::string> distinct{reply, thread_of(inbox, 4), thread_of(inbox, 5),
                                         thread_of(inbox, 6)};
    CHECK(distinct.size() == 4);
    for (const std::string& id : distinct)
        CHECK(is_objectid(id));
}

TEST_CASE("RFC 8474 6: SEARCH EMAILID and THREADID", "[store][objectid][search]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    // RFC 8474 5.3's example messages.
    store.append(inbox, request("Subject: Message A\r\nMessage-ID: "
                                "<fake.1521475657.54797@example.com>\r\n\r\nA\r\n"));
    store.append(inbox, request("Subject: Re: Message A\r\nMessage-ID: "
                                "<fake.1521475657.21213@example.org>\r\nReferences: "
                                "<fake.1521475657.54797@example.com>\r\n\r\nB\r\n"));
    store.append(inbox, request("Subject: Message C\r\nMessage-ID: "
                                "<fake.1521475657.60280@example.com>\r\n\r\nC\r\n"));
    const auto rows = store.fetch(inbox, test::all());
    const MessageObjects first = store.objects(rows[0].body_id);
    CHECK(store.search(inbox, SearchKey::object_id(SearchKey::Kind::EmailId, first.email_id)) ==
          Uids{1});
    CHECK(store.search(inbox, SearchKey::object_id(SearchKey::Kind::ThreadId,
                                                   first.thread_id.value())) == Uids{1, 2});
    // 8.3: OR of ids.
    CHECK(store.search(inbox, SearchKey::or_(
                                  SearchKey::object_id(SearchKey::Kind::EmailId, first.email_id),
                                  SearchKey::object_id(SearchKey::Kind::EmailId,
                                                       store.objects(rows[2].body_id).email_id))) ==
          Uids{1, 3});
    // Case sensitive (7), and ids this server never made match nothing.
    std::string upper = first.email_id;
    upper[5] = upper[5] >= 'a' ? static_cast<char>(upper[5] - 32) : upper[5];
    for (const std::string& id : {std::string("M6d99ac3275bb4e"), std::string("x"), upper,
                                  std::string(255, 'M'), first.thread_id.value()}) {
        CHECK(store.search(inbox, SearchKey::object_id(SearchKey::Kind::EmailId, id)).empty());
    }
    CHECK(store.search(inbox, SearchKey::object_id(SearchKey::Kind::ThreadId, first.email_id))
              .empty());
}

// ---- SAVEDATE (RFC 8514) -----------------------------------------------------------

TEST_CASE("RFC 8514 3: APPEND, COPY and MOVE set the save date, the source keeps its own",
          "[store][savedate]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    const MailboxId foo = store.create_mailbox("foo").id;
    const std::int64_t before = now();
    store.append(inbox, request(test::message("one")));  // internal date 1994
    const MessageInfo appended = info_of(store, inbox, 1);
    CHECK(appended.internal_date == 760686745);
    CHECK(appended.save_date >= before);
    CHECK(appended.save_date <= now());
    // The copy's save date is set anew, the source's is unaffected: older
    // values are planted so "anew" is visible within the same second.
    store.database().exec("UPDATE messages SET save_date = 1000");
    store.copy(inbox, UidSet{{1, 1}}, foo);
    CHECK(info_of(store, inbox, 1).save_date == 1000);
    CHECK(info_of(store, foo, 1).save_date >= before);
    store.database().exec("UPDATE messages SET save_date = 1000");
    store.move(foo, UidSet{{1, 1}}, inbox);
    CHECK(info_of(store, inbox, 2).save_date >= before);
    CHECK(info_of(store, inbox, 2).internal_date == 760686745);
}

TEST_CASE("RFC 8514 4.3: SAVEDBEFORE, SAVEDON and SAVEDSINCE compare the save date's day",
          "[store][savedate][search]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    for (int i = 0; i < 3; ++i)
        store.append(inbox, request(test::message("m" + std::to_string(i))));
    // 2014-12-27 23:59:59 UTC, 2014-12-28 00:00:00 UTC, 2014-12-28 23:59:59 UTC
    store.database().exec(
        "UPDATE messages SET save_date = CASE uid WHEN 1 THEN 1419724799 WHEN 2 THEN 1419724800 "
        "ELSE 1419811199 END");
    const std::int64_t day = days_from_civil(2014, 12, 28);
    CHECK(store.search(inbox, SearchKey::date(SearchKey::Kind::SavedOn, day)) == Uids{2, 3});
    CHECK(store.search(inbox, SearchKey::date(SearchKey::Kind::SavedBefore, day)) == Uids{1});
    CHECK(store.search(inbox, SearchKey::date(SearchKey::Kind::SavedSince, day)) == Uids{2, 3});
    CHECK(store.search(inbox, SearchKey::date(SearchKey::Kind::SavedSince, day + 1)).empty());
    // A message stored before schema v6 (NULL) is searched by its internal
    // date, as FETCH SAVEDATE reports it.
    store.database().exec("UPDATE messages SET save_date = NULL WHERE uid = 1");
    CHECK(info_of(store, inbox, 1).save_date == 760686745);
    CHECK(store.search(inbox, SearchKey::date(SearchKey::Kind::SavedOn,
                                              days_from_civil(1994, 2, 8))) == Uids{1});
}

TEST_CASE("RFC 8514 3: an expunged message a view still shows keeps its save date",
          "[store][savedate]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    store.append(inbox, request(test::message("one")));
    store.database().exec("UPDATE messages SET save_date = 1234567");
    auto pin = store.pin_view(inbox, store.mailbox(inbox).highestmodseq);
    store.store_flags(inbox, test::all(), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(inbox);
    FetchOptions options;
    options.expunged_after = pin.watermark();
    const auto rows = store.fetch(inbox, test::all(), options);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].expunged);
    CHECK(rows[0].save_date == 1234567);
    CHECK(store.objects(rows[0].body_id).email_id == email_id(sha256(test::message("one"))));
}

// ---- PREVIEW (RFC 8970) --------------------------------------------------------------

TEST_CASE("RFC 8970 3.3: the preview is the first text part, decoded, collapsed, bounded",
          "[store][preview]") {
    CHECK(preview_of("Subject: x\r\n\r\nHello,\r\n\r\n  this   is\tthe text.\r\n") ==
          "Hello, this is the text.");
    // Quoted lines of a reply are left out.
    CHECK(preview_of("Subject: x\r\n\r\nMy answer.\r\n\r\nOn Monday you wrote:\r\n> the "
                     "question\r\n> more\r\n") == "My answer. On Monday you wrote:");
    // Transfer encoding and charset undone (UTF-8 out).
    CHECK(preview_of("Content-Type: text/plain; charset=iso-8859-1\r\n"
                     "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=E9 cr=E8me=\r\n "
                     "br=FBl=E9e\r\n") ==
          "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9"
          "e");
    CHECK(preview_of("Content-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZSBhdXMgQmVybGlu\r\n") ==
          "Gr\xC3\xBC\xC3\x9F"
          "e aus Berlin");
    // multipart/alternative: text/plain is preferred over text/html.
    const std::string alternative =
        "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
        "Content-Type: text/html\r\n\r\n<p>html version</p>\r\n--b\r\n"
        "Content-Type: text/plain\r\n\r\nplain version\r\n--b--\r\n";
    CHECK(preview_of(alternative) == "plain version");
    // HTML only: tags, head, style and script go; entities are decoded.
    CHECK(preview_of("Content-Type: text/html\r\n\r\n<html><head><title>T</title><style>p "
                     "{color:red}</style></head><body><p>Fish &amp; chips &lt;3</p><script>"
                     "alert(1)</script><div>caf&#233; &#x263A;&nbsp;end</div><!-- a comment "
                     "--></body></html>\r\n") == "Fish & chips <3 caf\xC3\xA9 \xE2\x98\xBA end");
    // An attachment is not the message's text.
    CHECK(preview_of("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
                     "Content-Type: text/plain\r\nContent-Disposition: attachment; "
                     "filename=a.txt\r\n\r\nattached\r\n--b\r\n"
                     "Content-Type: text/plain\r\n\r\nthe body\r\n--b--\r\n") == "the body");
    // 3.2: no text part, no preview: the empty string.
    CHECK(preview_of("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                     "iVBORw0KGgo=\r\n")
              .empty());
    CHECK(preview_of("Subject: empty\r\n\r\n").empty());
    // At most kPreviewCharacters characters (3.3: SHOULD 200, MUST NOT more
    // than 256), counted in characters, not bytes, and no trailing space.
    std::string words;
    for (int i = 0; i < 300; ++i)
        words += "\xC3\xA9t\xC3\xA9 ";
    const std::string long_preview =
        preview_of("Content-Type: text/plain; charset=utf-8\r\n\r\n" + words);
    std::size_t characters = 0;
    for (char c : long_preview)
        characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    CHECK(characters == limits::kPreviewCharacters - 1);  // the word boundary fell there
    CHECK(long_preview.back() != ' ');
}

TEST_CASE("RFC 8970 3: a hostile message's preview reads at most kPreviewSourceBytes",
          "[store][preview][hostile]") {
    // 32 MiB of markup before any text, and a part nested to the parser's
    // depth limit: bounded work, an empty or short preview.
    const auto start = std::chrono::steady_clock::now();
    std::string markup = "Content-Type: text/html\r\n\r\n";
    while (markup.size() < 32u * 1024 * 1024)
        markup += "<span class=\"x\"></span>";
    markup += "late text\r\n";
    CHECK(preview_of(markup).empty());
    std::string nested;
    for (int i = 0; i < 200; ++i) {
        nested += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
                  std::to_string(i) + "\r\n";
    }
    nested += "Content-Type: text/plain\r\n\r\ndeep text\r\n";
    CHECK(preview_of(nested).size() <= 4 * limits::kPreviewCharacters);
    // A base64 text part far larger than the bound: only its start decoded.
    std::string big = "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    while (big.size() < 16u * 1024 * 1024)
        big += "aGVsbG8gd29ybGQg\r\n";
    CHECK(preview_of(big).starts_with("hello world hello"));
    CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
}

TEST_CASE("RFC 8970 4.1: objects() computes a queued body's objects unless stored_only",
          "[store][preview]") {
    SqliteMailStore store(memory());
    const MailboxId inbox = store.open_mailbox("INBOX").id;
    store.append(inbox, request(test::message("one", "The text.\r\n")));
    const BodyId body = store.fetch(inbox, test::all())[0].body_id;
    CHECK(store.objects(body).preview == "The text.");
    CHECK(store.objects(body, true).preview == "The text.");  // stored at delivery
    // As the v6 migration leaves a body: queued, no row.
    store.database().exec(
        "DELETE FROM body_object; INSERT INTO object_pending (body_id) SELECT id FROM bodies");
    const MessageObjects stored = store.objects(body, true);
    CHECK_FALSE(stored.preview.has_value());
    CHECK_FALSE(stored.thread_id.has_value());
    CHECK(stored.email_id == email_id(sha256(test::message("one", "The text.\r\n"))));
    const MessageObjects computed = store.objects(body);
    CHECK(computed.preview == "The text.");
    CHECK(computed.thread_id ==
          thread_id(compute_sort_keys(parse_message(test::message("one", "The text.\r\n"))),
                    sha256(test::message("one", "The text.\r\n"))));
    CHECK(count(store, "SELECT count(*) FROM body_object") == 0);  // FETCH does not write
}

TEST_CASE("A body's objects go with the body", "[store][objectid]") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    store.append(box, request(test::message("gone")));
    CHECK(count(store, "SELECT count(*) FROM body_object") == 1);
    store.store_flags(box, test::all(), FlagOp::Add, Flags{flag::kDeleted, {}});
    store.expunge(box);
    store.collect_garbage();
    CHECK(count(store, "SELECT count(*) FROM body_object") == 0);
}

// ---- The v6 migration ------------------------------------------------------------------

TEST_CASE("Schema version 6 migrates a version 5 database online", "[store][objectid][migrate]") {
    imap::test::UniqueTempDir dir("imapd-store-objects-migrate");
    OpenOptions options;
    options.path = (dir.path / "user.db").string();
    const std::string root = "Subject: A\r\nMessage-ID: <a@x>\r\n\r\nFirst text.\r\n";
    const std::string reply =
        "Subject: Re: A\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\n\r\nSecond.\r\n> A\r\n";
    {
        // A database as version 5 of the schema made it, rows written the
        // way version 5's store wrote them.
        Database db(options);
        db.migrate(mail_migrations().first(5));
        REQUIRE(db.user_version() == 5);
        db.exec("INSERT INTO mailboxes (name, selectable, uidvalidity) VALUES ('Work', 1, 7)");
        db.exec("INSERT INTO mailboxes (name, selectable, uidvalidity) VALUES ('Top', 0, 0)");
        db.exec("INSERT INTO mailboxes (name, selectable, uidvalidity) VALUES ('Top/Sub', 1, 8)");
        std::int64_t uid = 1;
        for (const std::string* raw : {&root, &reply}) {
            db.prepare(
                  "INSERT INTO bodies (hash, size, structure, search_header, search_body, raw) "
                  "VALUES (?1, ?2, ?3, '', '', ?4)")
                .bind_blob(1, sha256(*raw))
                .bind(2, static_cast<std::int64_t>(raw->size()))
                .bind_blob(3, encode_structure(parse_message(*raw)))
                .bind_blob(4, *raw)
                .run();
            db.prepare(
                  "INSERT INTO messages (mailbox_id, uid, body_id, internal_date, zone_minutes, "
                  "size, flags, modseq) SELECT id, ?1, ?2, 760686745, -480, ?3, 0, 2 FROM "
                  "mailboxes WHERE name = 'INBOX'")
                .bind(1, uid)
                .bind(2, db.last_insert_rowid())
                .bind(3, static_cast<std::int64_t>(raw->size()))
                .run();
            ++uid;
        }
        db.exec("UPDATE mailboxes SET uidnext = 3 WHERE name = 'INBOX'");
    }
    SqliteMailStore store(options);
    // v6, then v7 (store_compression.cpp) and later versions.
    CHECK(store.database().user_version() == static_cast<int>(mail_migrations().size()));
    const MailboxId inbox = store.open_mailbox("INBOX").id;

    // Every mailbox got its MAILBOXID; the placeholder none.
    const std::string work = store.open_mailbox("Work").object_id;
    CHECK(is_objectid(work));
    CHECK(is_objectid(store.open_mailbox("INBOX").object_id));
    CHECK(store.open_mailbox("Top/Sub").object_id != work);
    CHECK(store.find_mailbox("Top")->object_id.empty());
    store.rename_mailbox("Work", "Play");
    CHECK(store.open_mailbox("Play").object_id == work);

    // SAVEDATE of the old messages: their internal date.
    CHECK(info_of(store, inbox, 1).save_date == 760686745);
    // EMAILID needs nothing stored; THREADID and PREVIEW are queued and
    // computed on the spot until the queue's batch stores them.
    CHECK(count(store, "SELECT count(*) FROM object_pending") == 2);
    const auto rows = store.fetch(inbox, test::all());
    const MessageObjects first = store.objects(rows[0].body_id);
    CHECK(first.email_id == email_id(sha256(root)));
    CHECK(first.preview == "First text.");
    CHECK(store.objects(rows[1].body_id).thread_id == first.thread_id);
    CHECK(store.objects(rows[1].body_id).preview == "Second.");

    SECTION("SEARCH THREADID computes the mailbox's queued bodies first") {
        CHECK(store.search(inbox, SearchKey::object_id(SearchKey::Kind::ThreadId,
                                                       first.thread_id.value())) == Uids{1, 2});
        CHECK(count(store, "SELECT count(*) FROM object_pending") == 0);
    }
    SECTION("the background batches drain the queue, resumably") {
        IndexLimits one;
        one.max_bodies = 1;
        store.index_pending(one);
        CHECK(count(store, "SELECT count(*) FROM object_pending") == 0);
        CHECK(count(store, "SELECT count(*) FROM body_object") == 2);
        CHECK(store.objects(rows[0].body_id, true).preview == "First text.");
    }
    SECTION("new messages are saved with their save date and objects") {
        store.append(inbox, request(test::message("new")));
        CHECK(info_of(store, inbox, 3).save_date > 760686745);
        CHECK(count(store, "SELECT count(*) FROM body_object") == 1);
    }
}
