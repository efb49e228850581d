// IDLE (RFC 2177): the "+ idling" / DONE exchange byte for byte, updates
// pushed to an idling session while another session of the same user
// changes the mailbox (the store's change feed, UserMail::notify) or when the transport polls
// (Session::idle_poll, for other processes' changes), DONE pipelined with
// the next command, a line other than DONE, and IDLE without a mailbox.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"
#include "support/temp_dir.h"

namespace {

using imap::test::drain;
using imap::test::SessionDriver;
namespace store = imap::store;

struct Server {
    // On disk, so that add() can write through a second connection, as
    // another process does.
    imap::test::UniqueTempDir dir{"imapd-session-idle"};
    store::DataDir data_dir{dir.path};
    imap::server::UserMailRegistry mail{data_dir};
    // Keeps alice's mail open between the sessions the tests make.
    std::shared_ptr<imap::server::UserMail> kept = mail.open("alice");

    std::shared_ptr<imap::server::UserMail> user() { return mail.open("alice"); }
    store::MailStore& store() { return user()->store(); }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }

    // Appends `count` messages through a store connection of its own, as
    // `imapd deliver` in another process would: nobody in this process is
    // notified (this store's change feed has no listener).
    std::vector<std::uint32_t> add(int count, std::uint32_t system_flags = 0) {
        store::SqliteMailStore other(data_dir.user_options("alice"));
        std::vector<std::uint32_t> uids;
        const store::MailboxId id = other.open_mailbox("INBOX").id;
        for (int i = 0; i < count; ++i) {
            store::AppendRequest request;
            request.message = "Subject: test\r\n\r\nbody\r\n";
            request.internal_date = 1700000000 + i;
            request.flags.system = system_flags;
            uids.push_back(other.append(id, request));
        }
        return uids;
    }
};

const std::string kAppend = "p APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n";

// What the session wrote without being sent anything.
std::string pushed(SessionDriver& d) {
    return drain(d.session.output());
}

}  // namespace

TEST_CASE("RFC 2177 3: IDLE answers + idling and DONE ends it", "[session][idle]") {
    Server server;
    SessionDriver a(server.mail);
    a.login();
    a.send("s SELECT INBOX\r\n");
    CHECK(a.send("CAP CAPABILITY\r\n").find(" IDLE ") != std::string::npos);
    CHECK(a.send("a IDLE\r\n") == "+ idling\r\n");
    CHECK(a.session.idling());
    CHECK(server.user()->listener_count() == 1);
    CHECK(a.send("DONE\r\n") == "a OK IDLE completed\r\n");
    CHECK_FALSE(a.session.idling());
    CHECK(server.user()->listener_count() == 0);
    // DONE in any case (RFC 3501 9: the grammar is case-insensitive), split
    // over several reads, with a bare LF.
    CHECK(a.send("b IDLE\r\n") == "+ idling\r\n");
    CHECK(a.send("do") == "");
    CHECK(a.send("nE\n") == "b OK IDLE completed\r\n");
    CHECK(a.send_bytewise("c IDLE\r\nDONE\r\n") == "+ idling\r\nc OK IDLE completed\r\n");
    CHECK(a.send("d NOOP\r\n") == "d OK NOOP completed\r\n");
}

TEST_CASE("RFC 2177 3: IDLE takes no arguments", "[session][idle]") {
    Server server;
    SessionDriver a(server.mail);
    a.login();
    const std::string reply = a.send("a IDLE now\r\n");
    CHECK(reply.rfind("a BAD ", 0) == 0);
    CHECK_FALSE(a.session.idling());
}

TEST_CASE("RFC 2177 3: pending updates go out before + idling, and at DONE", "[session][idle]") {
    Server server;
    SessionDriver a(server.mail);
    a.login();
    a.send("s SELECT INBOX\r\n");
    server.add(2);
    CHECK(a.send("a IDLE\r\n") == "* 2 EXISTS\r\n* 2 RECENT\r\n+ idling\r\n");
    // A change nobody announced (another process) waits for the poll or,
    // here, the DONE.
    server.add(1);
    CHECK(a.send("DONE\r\n") == "* 3 EXISTS\r\n* 3 RECENT\r\na OK IDLE completed\r\n");
}

TEST_CASE("RFC 2177: another session's APPEND, STORE and EXPUNGE reach the idling session at once",
          "[session][idle]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    a.send("s SELECT INBOX\r\n");
    int listened = 0;
    a.session.set_output_listener([&] { ++listened; });
    CHECK(a.send("a IDLE\r\n") == "+ idling\r\n");

    // APPEND from a session that has not selected the mailbox.
    CHECK(b.send(kAppend).find("p OK [APPENDUID ") == 0);
    CHECK(pushed(a) == "* 1 EXISTS\r\n* 1 RECENT\r\n");
    CHECK(listened == 1);

    b.send("s SELECT INBOX\r\n");
    CHECK(b.send("f STORE 1 +FLAGS (\\Seen)\r\n") ==
          "* 1 FETCH (FLAGS (\\Seen))\r\nf OK STORE completed\r\n");
    CHECK(pushed(a) == "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n");
    CHECK(listened == 2);

    // RFC 2177 3: EXPUNGE may be sent during IDLE.
    b.send("g STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    CHECK(pushed(a) == "* 1 FETCH (FLAGS (\\Deleted \\Seen \\Recent))\r\n");
    CHECK(b.send("e EXPUNGE\r\n") == "* 1 EXPUNGE\r\ne OK EXPUNGE completed\r\n");
    // RFC 3501 7.3.2: the session's one \Recent message is gone.
    CHECK(pushed(a) == "* 1 EXPUNGE\r\n* 0 RECENT\r\n");
    CHECK(a.session.selected()->exists() == 0);
    CHECK(listened == 4);

    // A change to another mailbox is not this session's business.
    b.send("c CREATE Work\r\n");
    b.send("x APPEND Work {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n");
    CHECK(pushed(a) == "");
    CHECK(listened == 4);

    CHECK(a.send("DONE\r\n") == "a OK IDLE completed\r\n");
    // After DONE nothing is pushed: the next command carries the news.
    b.send(kAppend);
    CHECK(pushed(a) == "");
    CHECK(listened == 4);
    // (B, which has INBOX selected, claimed it as recent.)
    CHECK(a.send("n NOOP\r\n") == "* 1 EXISTS\r\n* 0 RECENT\r\nn OK NOOP completed\r\n");
}

TEST_CASE("RFC 2177: idle_poll() picks up changes nobody announced", "[session][idle]") {
    Server server;
    SessionDriver a(server.mail);
    a.login();
    a.send("s SELECT INBOX\r\n");
    int listened = 0;
    a.session.set_output_listener([&] { ++listened; });
    // Not idling: nothing.
    server.add(1);
    a.session.idle_poll();
    CHECK(pushed(a) == "");
    CHECK(a.send("a IDLE\r\n") == "* 1 EXISTS\r\n* 1 RECENT\r\n+ idling\r\n");
    // Nothing new: nothing written, no listener call.
    a.session.idle_poll();
    CHECK(pushed(a) == "");
    CHECK(listened == 0);
    server.add(2);  // `imapd deliver` in another process
    a.session.idle_poll();
    CHECK(pushed(a) == "* 3 EXISTS\r\n* 3 RECENT\r\n");
    CHECK(listened == 1);
    CHECK(a.send("DONE\r\n") == "a OK IDLE completed\r\n");
}

TEST_CASE("RFC 2177: DONE pipelined with the next commands", "[session][idle][pipelining]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    a.send("s SELECT INBOX\r\n");
    CHECK(a.send("a IDLE\r\n") == "+ idling\r\n");
    CHECK(a.send("DONE\r\nb NOOP\r\nc IDLE\r\n") ==
          "a OK IDLE completed\r\nb OK NOOP completed\r\n+ idling\r\n");
    CHECK(a.session.idling());
    CHECK(a.send("DONE\r\nd APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n") ==
          "c OK IDLE completed\r\n* 1 EXISTS\r\n* 1 RECENT\r\nd OK [APPENDUID " +
              std::to_string(server.store().open_mailbox("INBOX").uidvalidity) +
              " 1] APPEND completed\r\n");
    CHECK_FALSE(a.session.idling());
    CHECK(server.user()->listener_count() == 0);
    // IDLE and DONE in one read.
    CHECK(a.send("e IDLE\r\nDONE\r\nf NOOP\r\n") ==
          "+ idling\r\ne OK IDLE completed\r\nf OK NOOP completed\r\n");
}

TEST_CASE("RFC 2177 3: a line other than DONE is BAD and ends the IDLE", "[session][idle]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    a.send("s SELECT INBOX\r\n");
    CHECK(a.send("a IDLE\r\n") == "+ idling\r\n");
    // Dovecot: "Expected DONE", for a command too; what follows runs.
    CHECK(a.send("b NOOP\r\nc NOOP\r\n") == "a BAD Expected DONE\r\nc OK NOOP completed\r\n");
    CHECK_FALSE(a.session.idling());
    CHECK(server.user()->listener_count() == 0);
    b.send(kAppend);
    CHECK(pushed(a) == "");
    CHECK(a.send("e NOOP\r\n") == "* 1 EXISTS\r\n* 1 RECENT\r\ne OK NOOP completed\r\n");
    for (const char* line : {"DONE now\r\n", " DONE\r\n", "\r\n", "DONE.\r\n"}) {
        INFO(line);
        CHECK(a.send("d IDLE\r\n") == "+ idling\r\n");
        CHECK(a.send(line) == "d BAD Expected DONE\r\n");
        CHECK_FALSE(a.session.idling());
    }
}

TEST_CASE("RFC 2177: a too long line during IDLE ends it", "[session][idle]") {
    Server server;
    SessionDriver a(server.mail);
    a.login();
    CHECK(a.send("a IDLE\r\n") == "+ idling\r\n");
    const std::string reply = a.send(std::string(100'000, 'x') + "\r\nb NOOP\r\n");
    CHECK(reply == "a BAD Line too long\r\nb OK NOOP completed\r\n");
    CHECK_FALSE(a.session.idling());
    CHECK(server.user()->listener_count() == 0);
}

TEST_CASE("RFC 2177: IDLE in the authenticated state waits for DONE", "[session][idle]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    CHECK(a.send("a IDLE\r\n") == "+ idling\r\n");
    CHECK(a.session.idling());
    b.send(kAppend);
    a.session.idle_poll();
    CHECK(pushed(a) == "");
    CHECK(a.send("DONE\r\n") == "a OK IDLE completed\r\n");
    // Not before login.
    SessionDriver c(server.mail);
    c.greeting();
    CHECK(c.send("a IDLE\r\n") == "a BAD IDLE is not valid in the not authenticated state\r\n");
}

TEST_CASE("RFC 2177: deleting the mailbox an idling session has selected ends that session",
          "[session][idle]") {
    Server server;
    server.store().create_mailbox("Work");
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    a.send("s SELECT Work\r\n");
    CHECK(a.send("a IDLE\r\n") == "+ idling\r\n");
    CHECK(b.send("d DELETE Work\r\n") == "d OK DELETE completed\r\n");
    CHECK(pushed(a) == "* BYE Selected mailbox was deleted, have to disconnect\r\n");
    CHECK(a.session.wants_close());
    CHECK_FALSE(a.session.idling());
}
