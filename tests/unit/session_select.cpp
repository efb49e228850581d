// The selected state: SELECT, EXAMINE, CLOSE, UNSELECT, CHECK, EXPUNGE,
// UID EXPUNGE, and how one session's view follows changes made by others
// (RFC 3501 2.3.1.2, 5.2, 6.3.1, 6.3.2, 6.4.1-6.4.3, 7.3, 7.4.1; RFC 3691;
// RFC 4315 2.1). Sessions run without sockets on in-memory stores.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "support/session_driver.h"

namespace {

// RFC 7162 3.2.11: a server that advertises CONDSTORE/QRESYNC says where a
// SELECT closed the previous mailbox.
const std::string kClosed = "* OK [CLOSED] Previous mailbox closed.\r\n";

using imap::test::SessionDriver;
namespace store = imap::store;

const std::string kFlags = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n";
const std::string kPermanentFlags =
    "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags "
    "permitted.\r\n";

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};

    store::MailStore& store() { return mail.open("alice")->store(); }
    std::uint32_t uidvalidity(const char* name = "INBOX") {
        return store().open_mailbox(name).uidvalidity;
    }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }

    // Appends `count` small messages with `system_flags`; returns their UIDs.
    std::vector<std::uint32_t> add(int count, std::uint32_t system_flags = 0,
                                   const char* mailbox = "INBOX") {
        std::vector<std::uint32_t> uids;
        const store::MailboxId id = store().open_mailbox(mailbox).id;
        for (int i = 0; i < count; ++i) {
            store::AppendRequest request;
            request.message = "Subject: test\r\n\r\nbody\r\n";
            request.internal_date = 1700000000 + i;
            request.flags.system = system_flags;
            uids.push_back(store().append(id, request));
        }
        return uids;
    }
};

std::string select_reply(const std::string& tag, std::uint32_t exists, std::uint32_t recent,
                         std::uint32_t unseen, std::uint32_t uidvalidity, std::uint32_t uidnext,
                         bool read_only = false) {
    std::string r = kFlags;
    r += read_only ? "* OK [PERMANENTFLAGS ()] Read-only mailbox.\r\n" : kPermanentFlags;
    r += "* " + std::to_string(exists) + " EXISTS\r\n";
    r += "* " + std::to_string(recent) + " RECENT\r\n";
    if (unseen != 0) r += "* OK [UNSEEN " + std::to_string(unseen) + "] First unseen.\r\n";
    r += "* OK [UIDVALIDITY " + std::to_string(uidvalidity) + "] UIDs valid\r\n";
    r += "* OK [UIDNEXT " + std::to_string(uidnext) + "] Predicted next UID\r\n";
    r += "* OK [MAILBOXID (*)] Ok\r\n";  // RFC 8474 4.2, masked (SessionDriver)
    r += tag + (read_only ? " OK [READ-ONLY] EXAMINE completed\r\n"
                          : " OK [READ-WRITE] SELECT completed\r\n");
    return r;
}

}  // namespace

TEST_CASE("RFC 3501 6.3.1: SELECT of an empty INBOX", "[session][select]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    CHECK(d.send("a SELECT INBOX\r\n") == select_reply("a", 0, 0, 0, server.uidvalidity(), 1));
    CHECK(d.session.state() == imap::server::SessionState::Selected);
    // INBOX is case-insensitive (RFC 3501 5.1).
    // RFC 7162 3.2.11: CLOSED, whether or not CONDSTORE was enabled.
    CHECK(d.send("b SELECT inbox\r\n") ==
          kClosed + select_reply("b", 0, 0, 0, server.uidvalidity(), 1));
}

TEST_CASE("RFC 3501 6.3.1 and 2.3.2: SELECT claims the recent messages for one session only",
          "[session][select]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    server.add(2, store::flag::kSeen);
    server.add(3);
    const std::uint32_t v = server.uidvalidity();
    // UNSEEN is the sequence number of the first message without \Seen.
    CHECK(a.send("a SELECT INBOX\r\n") == select_reply("a", 5, 5, 3, v, 6));
    CHECK(b.send("b SELECT INBOX\r\n") == select_reply("b", 5, 0, 3, v, 6));
    // A's next SELECT does not see them as recent either: it claimed them
    // in the previous one, which ended.
    CHECK(a.send("c SELECT INBOX\r\n") == kClosed + select_reply("c", 5, 0, 3, v, 6));
}

TEST_CASE("RFC 3501 6.3.2: EXAMINE is read-only and leaves recent messages unclaimed",
          "[session][select]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    server.add(2);
    const std::uint32_t v = server.uidvalidity();
    CHECK(a.send("a EXAMINE INBOX\r\n") == select_reply("a", 2, 2, 1, v, 3, true));
    CHECK(b.send("b SELECT INBOX\r\n") == select_reply("b", 2, 2, 1, v, 3));
    // RFC 3501 6.3.2: nothing changes in an EXAMINEd mailbox.
    CHECK(a.send("c EXPUNGE\r\n") == "c NO [CANNOT] The mailbox is read-only\r\n");
}

TEST_CASE("RFC 3501 6.3.1: a failed SELECT leaves no mailbox selected", "[session][select]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    d.send("a SELECT INBOX\r\n");
    CHECK(d.send("b SELECT nosuch\r\n") ==
          kClosed + "b NO [NONEXISTENT] mailbox does not exist\r\n");
    CHECK(d.session.state() == imap::server::SessionState::Authenticated);
    CHECK(d.send("c CHECK\r\n") == "c BAD CHECK is not valid in the authenticated state\r\n");
}

TEST_CASE("RFC 3501 5.1.3: SELECT of a name that is not modified UTF-7 is refused",
          "[session][select]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    CHECK(d.send("a SELECT &Jjo\r\n") ==
          "a NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
}

TEST_CASE("RFC 3501 6.4.3: EXPUNGE renumbers as it goes", "[session][select]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    const auto uids = server.add(5);
    d.send("a SELECT INBOX\r\n");
    const store::UidRange deleted[] = {{uids[1], uids[2]}, {uids[4], uids[4]}};
    server.store().store_flags(server.inbox(), deleted, store::FlagOp::Add,
                               {store::flag::kDeleted, {}});
    // Messages 2, 3 and 5 go: 2, then the old 3 which is now 2, then the
    // old 5 which is now 3. The flag change made outside this session is
    // not reported for messages that are gone. Two of the five \Recent
    // messages are left (RFC 3501 7.3.2).
    CHECK(d.send("b EXPUNGE\r\n") ==
          "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\n* 3 EXPUNGE\r\n* 2 RECENT\r\n"
          "b OK EXPUNGE completed\r\n");
    CHECK(d.session.selected()->exists() == 2);
    CHECK(server.store().uids(server.inbox()) == std::vector<std::uint32_t>{uids[0], uids[3]});
}

TEST_CASE("RFC 4315 2.1: UID EXPUNGE removes only the deleted messages in its set",
          "[session][select]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    const auto uids = server.add(4, store::flag::kDeleted);
    d.send("a SELECT INBOX\r\n");
    CHECK(d.send("b UID EXPUNGE " + std::to_string(uids[1]) + ":" + std::to_string(uids[2]) +
                 "\r\n") ==
          "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\n* 2 RECENT\r\nb OK UID EXPUNGE completed\r\n");
    CHECK(server.store().uids(server.inbox()) == std::vector<std::uint32_t>{uids[0], uids[3]});
    // A set naming no message in the view is not an error.
    CHECK(d.send("c UID EXPUNGE 999\r\n") == "c OK UID EXPUNGE completed\r\n");
}

TEST_CASE("RFC 3501 6.4.2: CLOSE expunges silently, after EXAMINE it does not",
          "[session][select]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    server.add(1);
    server.add(2, store::flag::kDeleted);
    d.send("a EXAMINE INBOX\r\n");
    CHECK(d.send("b CLOSE\r\n") == "b OK CLOSE completed\r\n");
    CHECK(server.store().uids(server.inbox()).size() == 3);
    d.send("c SELECT INBOX\r\n");
    CHECK(d.send("d CLOSE\r\n") == "d OK CLOSE completed\r\n");
    CHECK(server.store().uids(server.inbox()).size() == 1);
    CHECK(d.session.state() == imap::server::SessionState::Authenticated);
}

TEST_CASE("RFC 3691 2: UNSELECT leaves deleted messages in place", "[session][select]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    server.add(2, store::flag::kDeleted);
    d.send("a SELECT INBOX\r\n");
    CHECK(d.send("b UNSELECT\r\n") == "b OK UNSELECT completed\r\n");
    CHECK(d.session.state() == imap::server::SessionState::Authenticated);
    CHECK(server.store().uids(server.inbox()).size() == 2);
    CHECK(d.send("c UNSELECT\r\n") == "c BAD UNSELECT is not valid in the authenticated state\r\n");
}

TEST_CASE("RFC 3501 7.3.1 and 7.3.2: new messages reach a selected session as EXISTS and RECENT",
          "[session][select][sync]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    a.send("a SELECT INBOX\r\n");
    b.send("b SELECT INBOX\r\n");
    server.add(2);
    // The first session to hear of them claims them as recent.
    CHECK(a.send("c NOOP\r\n") == "* 2 EXISTS\r\n* 2 RECENT\r\nc OK NOOP completed\r\n");
    CHECK(b.send("d CHECK\r\n") == "* 2 EXISTS\r\n* 0 RECENT\r\nd OK CHECK completed\r\n");
    // Nothing new: nothing sent.
    CHECK(a.send("e NOOP\r\n") == "e OK NOOP completed\r\n");
    // Any command end carries the news, CAPABILITY included.
    server.add(1);
    const std::string reply = b.send("f CAPABILITY\r\n");
    INFO(reply);
    CHECK(reply.find("* CAPABILITY ") < reply.find("* 3 EXISTS\r\n* 1 RECENT\r\nf OK "));
}

TEST_CASE("RFC 3501 7.4.1 and 7.4.2: another session's expunges and flag changes",
          "[session][select][sync]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    const auto uids = server.add(3, store::flag::kSeen);
    a.send("a SELECT INBOX\r\n");
    b.send("b SELECT INBOX\r\n");
    const store::UidRange second[] = {{uids[1], uids[1]}};
    server.store().store_flags(server.inbox(), second, store::FlagOp::Add,
                               {store::flag::kFlagged | store::flag::kDeleted, {"$Important"}});
    // A keyword the mailbox did not have: FLAGS and PERMANENTFLAGS again
    // (RFC 3501 7.2.6), then the message's new flags.
    CHECK(b.send("c NOOP\r\n") ==
          "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n"
          "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] "
          "Flags permitted.\r\n"
          "* 2 FETCH (FLAGS (\\Flagged \\Deleted \\Seen $Important))\r\n"
          "c OK NOOP completed\r\n");
    // A expunges the message before hearing of its new flags: the
    // EXPUNGE, then the new keyword, and no FETCH for a message gone.
    CHECK(a.send("d EXPUNGE\r\n") ==
          "* 2 EXPUNGE\r\n"
          "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important)\r\n"
          "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Important \\*)] "
          "Flags permitted.\r\n"
          "* 2 RECENT\r\n"
          "d OK EXPUNGE completed\r\n");
    CHECK(b.send("e NOOP\r\n") == "* 2 EXPUNGE\r\ne OK NOOP completed\r\n");
    CHECK(b.session.selected()->exists() == 2);
    CHECK(b.send("f NOOP\r\n") == "f OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 7.4.1: a session's own EXPUNGE is not reported twice",
          "[session][select][sync]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    server.add(2, store::flag::kDeleted);
    d.send("a SELECT INBOX\r\n");
    CHECK(d.send("b EXPUNGE\r\n") ==
          "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 0 RECENT\r\nb OK EXPUNGE completed\r\n");
    CHECK(d.send("c NOOP\r\n") == "c OK NOOP completed\r\n");
}

TEST_CASE("Deleting the mailbox another session has selected ends that session",
          "[session][select][sync]") {
    Server server;
    server.store().create_mailbox("Work");
    SessionDriver a(server.mail);
    a.login();
    a.send("a SELECT Work\r\n");
    server.store().delete_mailbox("Work");
    CHECK(a.send("b NOOP\r\n") == "* BYE Selected mailbox was deleted, have to disconnect\r\n");
    CHECK(a.session.wants_close());
}

TEST_CASE("RFC 3501 6.3.1: SELECT while selected switches mailboxes", "[session][select]") {
    Server server;
    server.store().create_mailbox("Work");
    server.add(1, 0, "Work");
    SessionDriver d(server.mail);
    d.login();
    d.send("a SELECT INBOX\r\n");
    CHECK(d.send("b EXAMINE Work\r\n") ==
          kClosed + select_reply("b", 1, 1, 1, server.uidvalidity("Work"), 2, true));
    CHECK(d.session.selected()->read_only());
}
