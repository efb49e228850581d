// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4) through whole sessions:
// RETURN (CONTEXT) and (UPDATE), the ADDTO / REMOVEFROM updates when this
// session, another session of the user or another process (`imapd deliver`)
// changes the mailbox, positions in sort order for SORT, CANCELUPDATE, the
// end of updates on a mailbox change, the limit on contexts (NOUPDATE) and
// the RFC's examples byte for byte.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "protocol/limits.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/hostile_bound.h"
#include "support/session_driver.h"
#include "support/temp_dir.h"

namespace {

using imap::test::drain;
using imap::test::SessionDriver;
namespace store = imap::store;

struct Server {
    // On disk, so that deliver() can write through a connection of its own,
    // as `imapd deliver` in another process does.
    imap::test::UniqueTempDir dir{"imapd-session-context"};
    store::DataDir data_dir{dir.path};
    imap::server::UserMailRegistry mail{data_dir};
    std::shared_ptr<imap::server::UserMail> kept = mail.open("alice");

    store::MailStore& store() { return kept->store(); }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }

    // Through this process's store (as a session's APPEND would, without
    // the session).
    std::uint32_t add(const std::string& subject, std::uint32_t flags = 0,
                      std::vector<std::string> keywords = {}) {
        const std::string text = "From: a@example.org\r\nSubject: " + subject + "\r\n\r\nbody\r\n";
        store::AppendRequest request;
        request.message = text;
        request.internal_date = 1700000000 + static_cast<std::int64_t>(++added_);
        request.flags.system = flags;
        request.flags.keywords = std::move(keywords);
        return store().append(inbox(), request);
    }

    // Through a store connection of its own: nobody in this process hears
    // of it until a session asks the store (a command end, IDLE's poll).
    std::uint32_t deliver(const std::string& subject) {
        store::SqliteMailStore other(data_dir.user_options("alice"));
        const std::string text = "From: d@example.org\r\nSubject: " + subject + "\r\n\r\nbody\r\n";
        store::AppendRequest request;
        request.message = text;
        request.internal_date = 1700000000 + static_cast<std::int64_t>(++added_);
        return other.append(other.open_mailbox("INBOX").id, request);
    }

    int added_ = 0;
};

struct Client {
    explicit Client(Server& server) : d(server.mail) {
        d.login();
        d.send("s SELECT INBOX\r\n");
    }
    std::string send(const std::string& line) { return d.send(line); }
    // What the session wrote without being sent anything (IDLE).
    std::string pushed() { return drain(d.session.output()); }
    SessionDriver d;
};

}  // namespace

TEST_CASE("RFC 5267 4.1: CONTEXT=SEARCH and CONTEXT=SORT are advertised after login",
          "[session][context][rfc5267]") {
    Server server;
    SessionDriver d(server.mail);
    CHECK(d.send("c CAPABILITY\r\n").find("CONTEXT=") == std::string::npos);
    d.login();
    const std::string caps = d.send("c CAPABILITY\r\n");
    CHECK(caps.find(" PREVIEW CONTEXT=SEARCH CONTEXT=SORT UTF8=ACCEPT NOTIFY\r\n") !=
          std::string::npos);
    // 4.1: CONTEXT=SORT servers advertise SORT; ESORT alongside.
    CHECK(caps.find(" SORT ") != std::string::npos);
    CHECK(caps.find(" ESORT ") != std::string::npos);
}

TEST_CASE("RFC 5267 4.2: RETURN (CONTEXT ...) is a hint, RETURN (CONTEXT) alone is ALL",
          "[session][context][rfc5267]") {
    Server server;
    server.add("a");
    server.add("b", 0, {"$Junk"});
    server.add("c", store::flag::kDeleted);
    server.add("d");
    Client c(server);
    // The example of 4.2, on four messages.
    CHECK(c.send("A01 SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk\r\n") ==
          "* ESEARCH (TAG \"A01\") COUNT 2\r\nA01 OK SEARCH completed\r\n");
    CHECK(c.send("A02 SEARCH RETURN (CONTEXT) UNDELETED\r\n") ==
          "* ESEARCH (TAG \"A02\") ALL 1:2,4\r\nA02 OK SEARCH completed\r\n");
    CHECK(c.send("A03 UID SORT RETURN (CONTEXT MIN MAX) (REVERSE SUBJECT) UTF-8 ALL\r\n") ==
          "* ESEARCH (TAG \"A03\") UID MIN 4 MAX 1\r\nA03 OK UID SORT completed\r\n");
    // 4.4 with PARTIAL; no context is kept without UPDATE.
    CHECK(c.send("A04 SEARCH RETURN (CONTEXT PARTIAL 2:3) ALL\r\n") ==
          "* ESEARCH (TAG \"A04\") PARTIAL (2:3 2:3)\r\nA04 OK SEARCH completed\r\n");
    CHECK(c.d.session.selected()->contexts().empty());
}

TEST_CASE("RFC 5267 4.3, 4.3.3, 4.3.4, 4.3.5: the RFC's UPDATE examples byte for byte",
          "[session][context][rfc5267]") {
    Server server;
    for (int i = 0; i < 6; ++i)
        server.add("m");
    server.store().store_flags(server.inbox(), store::UidSpan(store::UidSet{{1, 2}}),
                               store::FlagOp::Add, store::Flags{store::flag::kDeleted, {"$Junk"}});
    Client a(server);
    Client b(server);
    // 4.3: "B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk".
    CHECK(a.send("B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk\r\n") ==
          "* ESEARCH (TAG \"B01\") UID COUNT 2\r\nB01 OK UID SEARCH completed\r\n");
    // "Note that the following is rejected, and has no effect" (the RFC's
    // line lacks SORT's criteria and charset: BAD either way).
    CHECK(a.send("B01 SORT RETURN (UPDATE) FLAGGED\r\n").starts_with("B01 BAD "));
    CHECK(a.send("B01 SORT RETURN (UPDATE) (DATE) UTF-8 FLAGGED\r\n") == "B01 BAD Tag reuse\r\n");
    CHECK(a.send("B01 SEARCH RETURN (UPDATE SAVE) ALL\r\n") == "B01 BAD Tag reuse\r\n");
    CHECK(a.send("f FETCH $ UID\r\n") == "f OK FETCH completed\r\n");  // no effect on "$"
    CHECK(a.d.session.selected()->contexts().size() == 1);
    // Without UPDATE the tag may be used again (only UPDATE claims it).
    CHECK(a.send("B01 SEARCH RETURN (COUNT) DELETED\r\n") ==
          "* ESEARCH (TAG \"B01\") COUNT 2\r\nB01 OK SEARCH completed\r\n");

    // 4.3.3: two messages gain \Deleted and $Junk (another session's STORE),
    // seen by the idling session: the FETCH, then the ADDTO at position 0.
    CHECK(a.send("i IDLE\r\n") == "+ idling\r\n");
    b.send("st STORE 3:4 +FLAGS.SILENT (\\Deleted $Junk)\r\n");
    CHECK(a.pushed() ==
          "* 3 FETCH (FLAGS (\\Deleted \\Recent $Junk))\r\n"
          "* 4 FETCH (FLAGS (\\Deleted \\Recent $Junk))\r\n"
          "* ESEARCH (TAG \"B01\") UID ADDTO (0 3:4)\r\n");
    // 4.3.4: a message of the result is expunged; the REMOVEFROM comes
    // before the EXPUNGE (here both during IDLE, where EXPUNGE may be sent).
    b.send("e UID EXPUNGE 3\r\n");
    CHECK(a.pushed() ==
          "* ESEARCH (TAG \"B01\") UID REMOVEFROM (0 3)\r\n"
          "* 3 EXPUNGE\r\n"
          "* 5 RECENT\r\n");
    CHECK(a.send("DONE\r\n") == "i OK IDLE completed\r\n");
    // 4.3.5: "B04 CANCELUPDATE "B01"" and no more updates.
    CHECK(a.send("B04 CANCELUPDATE \"B01\"\r\n") == "B04 OK Updates cancelled\r\n");
    b.send("st STORE 1 -FLAGS.SILENT (\\Deleted)\r\n");
    CHECK(a.send("n NOOP\r\n") == "* 1 FETCH (FLAGS (\\Recent $Junk))\r\nn OK NOOP completed\r\n");
    // Cancelled: the tag is unknown now, and may be used for UPDATE again.
    CHECK(a.send("B05 CANCELUPDATE \"B01\"\r\n") == "B05 NO Unknown tag\r\n");
    CHECK(a.send("B01 SEARCH RETURN (UPDATE) ALL\r\n") ==
          "* ESEARCH (TAG \"B01\")\r\nB01 OK SEARCH completed\r\n");
}

TEST_CASE("RFC 5267 4.3.1: past the limit of contexts the search answers with NOUPDATE",
          "[session][context][rfc5267]") {
    Server server;
    server.add("a", 0, {"$Junk"});
    Client c(server);
    for (std::size_t i = 0; i < imap::limits::kMaxSearchUpdateContexts; ++i) {
        const std::string tag = "u" + std::to_string(i);
        CHECK(c.send(tag + " SEARCH RETURN (UPDATE) ALL\r\n") ==
              "* ESEARCH (TAG \"" + tag + "\")\r\n" + tag + " OK SEARCH completed\r\n");
    }
    // The example of 4.3.1 (with the sort criteria its line lacks): the
    // other return options are still honoured.
    CHECK(c.send("B02 UID SORT RETURN (UPDATE COUNT) (DATE) UTF-8 KEYWORD $Junk\r\n") ==
          "* ESEARCH (TAG \"B02\") UID COUNT 1\r\n"
          "* NO [NOUPDATE \"B02\"] Too many contexts\r\n"
          "B02 OK UID SORT completed\r\n");
    // B02 is no context: its tag is not in use.
    CHECK(c.send("x CANCELUPDATE \"B02\"\r\n") == "x NO Unknown tag\r\n");
    // Cancelling one makes room.
    CHECK(c.send("x CANCELUPDATE \"u0\" \"u1\"\r\n") == "x OK Updates cancelled\r\n");
    CHECK(c.send("B03 SEARCH RETURN (UPDATE MIN) ALL\r\n") ==
          "* ESEARCH (TAG \"B03\") MIN 1\r\nB03 OK SEARCH completed\r\n");
}

TEST_CASE("RFC 5267 4.3.2: sequence-number contexts: REMOVEFROM before EXPUNGE, ADDTO after EXISTS",
          "[session][context][rfc5267]") {
    Server server;
    for (int i = 0; i < 5; ++i)
        server.add("m", i % 2 == 0 ? store::flag::kSeen : 0);  // 1, 3, 5 \Seen
    Client a(server);
    Client b(server);
    CHECK(a.send("s1 SEARCH RETURN (UPDATE ALL) UNSEEN\r\n") ==
          "* ESEARCH (TAG \"s1\") ALL 2,4\r\ns1 OK SEARCH completed\r\n");
    // Another session expunges 2 (in the result) and 3 (not in it), then
    // appends a message that is unseen.
    b.send("st STORE 2:3 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("e EXPUNGE\r\n");
    b.send("p APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n");
    // NOOP may send EXPUNGE: the REMOVEFROM carries 2 while it is still 2;
    // after the two EXPUNGEs the new message is 4, after its EXISTS.
    CHECK(a.send("n NOOP\r\n") ==
          "* ESEARCH (TAG \"s1\") REMOVEFROM (0 2)\r\n"
          "* 2 EXPUNGE\r\n"
          "* 2 EXPUNGE\r\n"
          "* 4 EXISTS\r\n"
          "* 3 RECENT\r\n"
          "* ESEARCH (TAG \"s1\") ADDTO (0 4)\r\n"
          "n OK NOOP completed\r\n");
    // This session's own STORE changes the result too, after the STORE's
    // FETCH (1 was \\Seen already: no FETCH, no update).
    CHECK(a.send("st STORE 1,4 FLAGS (\\Seen)\r\n") ==
          "* 4 FETCH (FLAGS (\\Seen))\r\n"
          "* ESEARCH (TAG \"s1\") REMOVEFROM (0 4)\r\n"
          "st OK STORE completed\r\n");
    CHECK(a.send("st STORE 1:3 -FLAGS (\\Seen)\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent))\r\n"
          "* 3 FETCH (FLAGS (\\Recent))\r\n"
          "* ESEARCH (TAG \"s1\") ADDTO (0 1,3)\r\n"
          "st OK STORE completed\r\n");
    CHECK(a.send("v SEARCH UNSEEN\r\n") == "* SEARCH 1 2 3\r\nv OK SEARCH completed\r\n");
    // During a SEARCH by number an expunge is held back (RFC 3501 7.4.1),
    // and so is its REMOVEFROM: the numbers stay valid until the EXPUNGE.
    b.send("st STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("e EXPUNGE\r\n");
    CHECK(a.send("f FETCH 2 UID\r\n") ==
          "* 2 FETCH (UID 4)\r\n"
          "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
          "f OK FETCH completed\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* ESEARCH (TAG \"s1\") REMOVEFROM (0 1)\r\n"
          "* 1 EXPUNGE\r\n"
          "* 2 RECENT\r\n"
          "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 5267 4.3.3, 4.3.4: SORT contexts update at positions in sort order",
          "[session][context][rfc5267]") {
    Server server;
    server.add("b");  // 1
    server.add("d");  // 2
    server.add("f");  // 3
    server.add("h");  // 4
    Client a(server);
    Client b(server);
    CHECK(a.send("o1 UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 UNSEEN\r\n") ==
          "* ESEARCH (TAG \"o1\") UID ALL 1:4\r\no1 OK UID SORT completed\r\n");
    CHECK(a.send("o2 SORT RETURN (UPDATE) (REVERSE SUBJECT) UTF-8 UNSEEN\r\n") ==
          "* ESEARCH (TAG \"o2\")\r\no2 OK SORT completed\r\n");
    // New messages a (5), e (6), g (7) and i (8): o1 (b d f h) becomes
    // a b d e f g h i: runs at positions 1, 4 (after a, b, d), 6 and 8.
    server.add("a");
    server.add("e");
    server.add("g");
    server.add("i");
    CHECK(a.send("n NOOP\r\n") ==
          "* 8 EXISTS\r\n"
          "* 8 RECENT\r\n"
          "* ESEARCH (TAG \"o1\") UID ADDTO (1 5 4 6 6 7 8 8)\r\n"
          "* ESEARCH (TAG \"o2\") ADDTO (1 8 3 7 5 6 8 5)\r\n"
          "n OK NOOP completed\r\n");
    // e and f (6 and 3) become \Seen: they are neighbours in o1 (a b d e f
    // g h i: 4th and 5th), one run; in o2 (i h g f e d b a) too.
    b.send("n NOOP\r\n");  // b's view takes in 5 to 8
    b.send("st UID STORE 3,6 +FLAGS.SILENT (\\Seen)\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* 3 FETCH (FLAGS (\\Seen \\Recent))\r\n"
          "* 6 FETCH (FLAGS (\\Seen \\Recent))\r\n"
          "* ESEARCH (TAG \"o1\") UID REMOVEFROM (4 6,3)\r\n"
          "* ESEARCH (TAG \"o2\") REMOVEFROM (4 3,6)\r\n"
          "n OK NOOP completed\r\n");
    // b and h (1 and 4): two runs; the second's position counts after the
    // first is removed (a b d g h i -> a d g h i: h is 4th).
    b.send("st UID STORE 1,4 +FLAGS.SILENT (\\Seen)\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* 1 FETCH (FLAGS (\\Seen \\Recent))\r\n"
          "* 4 FETCH (FLAGS (\\Seen \\Recent))\r\n"
          "* ESEARCH (TAG \"o1\") UID REMOVEFROM (2 1 4 4)\r\n"
          "* ESEARCH (TAG \"o2\") REMOVEFROM (2 4 4 1)\r\n"
          "n OK NOOP completed\r\n");
    // Back to unseen: in again at their places.
    b.send("st UID STORE 1,3,4,6 -FLAGS.SILENT (\\Seen)\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent))\r\n"
          "* 3 FETCH (FLAGS (\\Recent))\r\n"
          "* 4 FETCH (FLAGS (\\Recent))\r\n"
          "* 6 FETCH (FLAGS (\\Recent))\r\n"
          "* ESEARCH (TAG \"o1\") UID ADDTO (2 1 4 6,3 7 4)\r\n"
          "* ESEARCH (TAG \"o2\") ADDTO (2 4 4 3,6 7 1)\r\n"
          "n OK NOOP completed\r\n");
    CHECK(a.send("v UID SORT (SUBJECT) UTF-8 UNSEEN\r\n") ==
          "* SORT 5 1 2 6 3 7 4 8\r\nv OK UID SORT completed\r\n");
    // Expunged: removed at their positions, before the EXPUNGE.
    b.send("st UID STORE 2,7 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("e EXPUNGE\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* ESEARCH (TAG \"o1\") UID REMOVEFROM (3 2 5 7)\r\n"
          "* ESEARCH (TAG \"o2\") REMOVEFROM (3 7 5 2)\r\n"
          "* 2 EXPUNGE\r\n"
          "* 6 EXPUNGE\r\n"
          "* 6 RECENT\r\n"
          "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 5267 4.3: updates for delivery by another process, while idle and at NOOP",
          "[session][context][rfc5267]") {
    Server server;
    server.add("a");
    Client a(server);
    CHECK(a.send("r1 SEARCH RETURN (UPDATE COUNT) RECENT\r\n") ==
          "* ESEARCH (TAG \"r1\") COUNT 1\r\nr1 OK SEARCH completed\r\n");
    CHECK(a.send("r2 UID SEARCH RETURN (UPDATE) SUBJECT hello\r\n") ==
          "* ESEARCH (TAG \"r2\") UID\r\nr2 OK UID SEARCH completed\r\n");
    // RECENT follows the view: a delivered message is \Recent for this
    // session (RFC 3501 2.3.2), so it joins r1.
    server.deliver("hello world");
    CHECK(a.send("n NOOP\r\n") ==
          "* 2 EXISTS\r\n"
          "* 2 RECENT\r\n"
          "* ESEARCH (TAG \"r1\") ADDTO (0 2)\r\n"
          "* ESEARCH (TAG \"r2\") UID ADDTO (0 2)\r\n"
          "n OK NOOP completed\r\n");
    // While idling, the transport's poll (Session::idle_poll) finds it.
    CHECK(a.send("i IDLE\r\n") == "+ idling\r\n");
    server.deliver("other");
    a.d.session.idle_poll();
    CHECK(a.pushed() ==
          "* 3 EXISTS\r\n"
          "* 3 RECENT\r\n"
          "* ESEARCH (TAG \"r1\") ADDTO (0 3)\r\n");
    CHECK(a.send("DONE\r\n") == "i OK IDLE completed\r\n");
}

TEST_CASE("RFC 5267 4.3: message numbers in the criteria are fixed when the command runs",
          "[session][context][rfc5267]") {
    Server server;
    for (int i = 0; i < 4; ++i)
        server.add("m");
    Client a(server);
    Client b(server);
    CHECK(a.send("q1 UID SEARCH RETURN (UPDATE ALL) 2:* UNSEEN\r\n") ==
          "* ESEARCH (TAG \"q1\") UID ALL 2:4\r\nq1 OK UID SEARCH completed\r\n");
    CHECK(a.send("q2 UID SEARCH RETURN (UPDATE ALL) UID 1:* UNFLAGGED\r\n") ==
          "* ESEARCH (TAG \"q2\") UID ALL 1:4\r\nq2 OK UID SEARCH completed\r\n");
    // After message 1 goes, "2:*" still names UIDs 2 to 4, not 3 and 4; a
    // new message is outside both sets.
    b.send("st STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    b.send("e EXPUNGE\r\n");
    b.send("p APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* ESEARCH (TAG \"q2\") UID REMOVEFROM (0 1)\r\n"
          "* 1 EXPUNGE\r\n"
          "* 4 EXISTS\r\n"
          "* 3 RECENT\r\n"
          "n OK NOOP completed\r\n");
    b.send("st STORE 1 +FLAGS.SILENT (\\Seen \\Flagged)\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* 1 FETCH (FLAGS (\\Flagged \\Seen \\Recent))\r\n"
          "* ESEARCH (TAG \"q1\") UID REMOVEFROM (0 2)\r\n"
          "* ESEARCH (TAG \"q2\") UID REMOVEFROM (0 2)\r\n"
          "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 5267 4.3: updates end with the mailbox: SELECT, EXAMINE, CLOSE, UNSELECT",
          "[session][context][rfc5267]") {
    const char* ends[] = {"x SELECT INBOX\r\n", "x EXAMINE INBOX\r\n", "x CLOSE\r\n",
                          "x UNSELECT\r\n"};
    for (const char* end : ends) {
        Server server;
        server.add("a");
        Client a(server);
        Client b(server);
        a.send("u SEARCH RETURN (UPDATE) UNSEEN\r\n");
        a.send(end);
        a.send("s SELECT INBOX\r\n");
        CHECK(a.d.session.selected()->contexts().empty());
        b.send("st STORE 1 +FLAGS.SILENT (\\Seen)\r\n");
        CHECK(a.send("n NOOP\r\n") == "* 1 FETCH (FLAGS (\\Seen))\r\nn OK NOOP completed\r\n");
        CHECK(a.send("c CANCELUPDATE \"u\"\r\n") == "c NO Unknown tag\r\n");
    }
}

TEST_CASE("RFC 5267 4.3.5: CANCELUPDATE syntax and state", "[session][context][rfc5267]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    // command-select: not in the authenticated state.
    CHECK(d.send("c CANCELUPDATE \"a\"\r\n").starts_with("c BAD "));
    d.send("s SELECT INBOX\r\n");
    // 1*(SP quoted): a tag as an atom, none at all, a literal are BAD.
    CHECK(d.send("c CANCELUPDATE a\r\n").starts_with("c BAD "));
    CHECK(d.send("c CANCELUPDATE\r\n").starts_with("c BAD "));
    CHECK(d.send("c CANCELUPDATE {1+}\r\na\r\n").starts_with("c BAD "));
    d.send("u1 SEARCH RETURN (UPDATE) ALL\r\n");
    // Every tag must be known, or none is cancelled.
    CHECK(d.send("c CANCELUPDATE \"u1\" \"zz\"\r\n") == "c NO Unknown tag\r\n");
    CHECK(d.session.selected()->contexts().size() == 1);
    CHECK(d.send("c CANCELUPDATE \"u1\"\r\n") == "c OK Updates cancelled\r\n");
    CHECK(d.session.selected()->contexts().empty());
}

TEST_CASE("RFC 5267 4.3, 4.4, RFC 9394 3.1: UPDATE with PARTIAL reports every change",
          "[session][context][rfc5267][rfc9394]") {
    Server server;
    for (int i = 0; i < 6; ++i)
        server.add("m");
    Client a(server);
    Client b(server);
    CHECK(a.send("A02 UID SEARCH RETURN (UPDATE PARTIAL 1:2) UNDELETED\r\n") ==
          "* ESEARCH (TAG \"A02\") UID PARTIAL (1:2 1:2)\r\nA02 OK UID SEARCH completed\r\n");
    CHECK(a.send("A03 UID SEARCH RETURN (UPDATE PARTIAL -1:-2 COUNT) UNDELETED\r\n") ==
          "* ESEARCH (TAG \"A03\") UID COUNT 6 PARTIAL (-1:-2 5:6)\r\n"
          "A03 OK UID SEARCH completed\r\n");
    // A change outside either page is reported to both (4.3: "could
    // receive notifications about messages that do not currently interest
    // it").
    b.send("st STORE 3 +FLAGS.SILENT (\\Deleted)\r\n");
    CHECK(a.send("n NOOP\r\n") ==
          "* 3 FETCH (FLAGS (\\Deleted \\Recent))\r\n"
          "* ESEARCH (TAG \"A02\") UID REMOVEFROM (0 3)\r\n"
          "* ESEARCH (TAG \"A03\") UID REMOVEFROM (0 3)\r\n"
          "n OK NOOP completed\r\n");
}

TEST_CASE(
    "Hostile: many UPDATE searches and changes stay bounded (limits::kMaxSearchUpdateContexts)",
    "[session][context][hostile]") {
    Server server;
    constexpr std::size_t kMessages = 2000;
    for (std::size_t i = 0; i < kMessages; ++i)
        server.add("m" + std::to_string(i % 97));
    Client a(server);
    Client b(server);
    const auto start = std::chrono::steady_clock::now();
    // 300 pipelined searches asking for updates: the first ten are kept,
    // every other one is answered and refused with NOUPDATE.
    constexpr std::size_t kSearches = 300;
    std::string burst;
    for (std::size_t i = 0; i < kSearches; ++i)
        burst += "t" + std::to_string(i) + " SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 UNSEEN\r\n";
    const std::string replies = a.send(burst);
    std::size_t refused = 0;
    for (std::size_t at = replies.find("NOUPDATE"); at != std::string::npos;
         at = replies.find("NOUPDATE", at + 1))
        ++refused;
    CHECK(refused == kSearches - imap::limits::kMaxSearchUpdateContexts);
    CHECK(a.d.session.selected()->contexts().size() == imap::limits::kMaxSearchUpdateContexts);
    // Every message changes: each context is evaluated once for all of
    // them, and all ten sorted results shrink to nothing.
    b.send("st STORE 1:* +FLAGS.SILENT (\\Seen)\r\n");
    const std::string update = a.send("n NOOP\r\n");
    CHECK(update.ends_with("n OK NOOP completed\r\n"));
    CHECK(update.find("* ESEARCH (TAG \"t9\") REMOVEFROM (1 ") != std::string::npos);
    for (const auto& context : a.d.session.selected()->contexts().all())
        CHECK(context.results.empty());
    // And back: every message joins every sorted result again.
    b.send("st STORE 1:* -FLAGS.SILENT (\\Seen)\r\n");
    CHECK(a.send("n NOOP\r\n").find("* ESEARCH (TAG \"t0\") ADDTO (1 ") != std::string::npos);
    for (const auto& context : a.d.session.selected()->contexts().all())
        CHECK(context.results.size() == kMessages);
    CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
    // A fresh client is served.
    Client fresh(server);
    CHECK(fresh.send("x NOOP\r\n") == "x OK NOOP completed\r\n");
}
