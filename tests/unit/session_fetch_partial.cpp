// UID FETCH with the PARTIAL modifier (RFC 9394 3.3, 3.4) through a whole
// session: the RFC's examples on a mailbox with the same shape, positive
// and negative ranges, CHANGEDSINCE in either order, the refusals, and the
// PARTIAL capability.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"

namespace {

using imap::test::SessionDriver;
namespace store = imap::store;

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }
    void add(std::uint32_t flags = 0) {
        const std::string text = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";
        store::AppendRequest request;
        request.message = text;
        request.internal_date = 1700000000;
        request.flags.system = flags;
        store().append(inbox(), request);
    }
};

// RFC 9394 3.3's mailbox in small: eight messages, UIDs 1..8; the client
// asks for UIDs 2:9 after 1 and 7 were expunged, so the set names the six
// messages with UIDs 2, 3, 4, 5, 6, 8 (sequence numbers 1..6).
void rfc_mailbox(Server& server) {
    namespace flag = store::flag;
    const std::uint32_t flags[] = {
        0, flag::kSeen,   flag::kFlagged | flag::kAnswered, flag::kSeen, 0, flag::kAnswered,
        0, flag::kFlagged};
    for (std::uint32_t f : flags)
        server.add(f);
    const store::UidRange gone[] = {{1, 1}, {7, 7}};
    server.store().store_flags(server.inbox(), gone, store::FlagOp::Add,
                               store::Flags{flag::kDeleted, {}});
    server.store().expunge(server.inbox());
    server.store().claim_recent(server.inbox());  // no \Recent in the answers
}

struct Client {
    explicit Client(Server& server) : d(server.mail) {
        d.login();
        d.send("s SELECT INBOX\r\n");
    }
    std::string send(const std::string& line) { return d.send(line); }
    SessionDriver d;
};

}  // namespace

TEST_CASE("RFC 9394 3.3: UID FETCH (PARTIAL -1:-3) and (PARTIAL 1:5), the RFC's examples",
          "[session][partial][rfc9394]") {
    Server server;
    rfc_mailbox(server);
    Client c(server);
    // "Returning information for the last 3 messages in the UID range"
    CHECK(c.send("10 UID FETCH 2:9 (UID FLAGS) (PARTIAL -1:-3)\r\n") ==
          "* 4 FETCH (UID 5 FLAGS ())\r\n"
          "* 5 FETCH (UID 6 FLAGS (\\Answered))\r\n"
          "* 6 FETCH (UID 8 FLAGS (\\Flagged))\r\n"
          "10 OK UID FETCH completed\r\n");
    // "Returning information for the first 5 messages in the UID range"
    CHECK(c.send("11 UID FETCH 2:9 (UID FLAGS) (PARTIAL 1:5)\r\n") ==
          "* 1 FETCH (UID 2 FLAGS (\\Seen))\r\n"
          "* 2 FETCH (UID 3 FLAGS (\\Answered \\Flagged))\r\n"
          "* 3 FETCH (UID 4 FLAGS (\\Seen))\r\n"
          "* 4 FETCH (UID 5 FLAGS ())\r\n"
          "* 5 FETCH (UID 6 FLAGS (\\Answered))\r\n"
          "11 OK UID FETCH completed\r\n");
}

TEST_CASE("RFC 9394 3.3 and 4: PARTIAL ranges count the set's messages in UID order",
          "[session][partial][rfc9394]") {
    Server server;
    rfc_mailbox(server);
    Client c(server);
    // 500:400 is 400:500; -3:-2 is -2:-3.
    CHECK(c.send("a UID FETCH 1:* UID (PARTIAL 3:2)\r\n") ==
          "* 2 FETCH (UID 3)\r\n* 3 FETCH (UID 4)\r\na OK UID FETCH completed\r\n");
    CHECK(c.send("b UID FETCH 1:* UID (PARTIAL -2:-3)\r\n") ==
          "* 4 FETCH (UID 5)\r\n* 5 FETCH (UID 6)\r\nb OK UID FETCH completed\r\n");
    // A range reaching past the end is cut; one wholly past it names
    // nothing: a plain OK.
    CHECK(c.send("c UID FETCH 4:* UID (PARTIAL 3:100)\r\n") ==
          "* 5 FETCH (UID 6)\r\n* 6 FETCH (UID 8)\r\nc OK UID FETCH completed\r\n");
    CHECK(c.send("d UID FETCH 4:* UID (PARTIAL -5:-100)\r\n") == "d OK UID FETCH completed\r\n");
    CHECK(c.send("e UID FETCH 1:* UID (PARTIAL 7:9)\r\n") == "e OK UID FETCH completed\r\n");
    CHECK(c.send("f UID FETCH 1:* UID (PARTIAL -1:-4294967295)\r\n") ==
          "* 1 FETCH (UID 2)\r\n* 2 FETCH (UID 3)\r\n* 3 FETCH (UID 4)\r\n"
          "* 4 FETCH (UID 5)\r\n* 5 FETCH (UID 6)\r\n* 6 FETCH (UID 8)\r\n"
          "f OK UID FETCH completed\r\n");
    // The positions are among the messages the set names, not the mailbox.
    CHECK(c.send("g UID FETCH 3,5,8 UID (PARTIAL -1:-2)\r\n") ==
          "* 4 FETCH (UID 5)\r\n* 6 FETCH (UID 8)\r\ng OK UID FETCH completed\r\n");
    CHECK(c.send("h UID FETCH 1,7,100 UID (PARTIAL 1:1)\r\n") == "h OK UID FETCH completed\r\n");
}

TEST_CASE("RFC 9394 3.4: PARTIAL with CHANGEDSINCE, in either order, takes the range first",
          "[session][partial][condstore][rfc9394]") {
    Server server;
    rfc_mailbox(server);
    Client c(server);
    const std::uint64_t before = server.store().mailbox(server.inbox()).highestmodseq;
    // CONDSTORE on (RFC 7162 3.1), so the answers below hold no HIGHESTMODSEQ.
    CHECK(c.send("c0 UID FETCH 8 (MODSEQ)\r\n")
              .starts_with("* OK [HIGHESTMODSEQ " + std::to_string(before) + "] Highest\r\n"));
    const std::string modseq = std::to_string(before + 1);
    // RFC 7162 3.1.3: .SILENT still reports the new MODSEQ.
    CHECK(c.send("s1 UID STORE 3,8 +FLAGS.SILENT (\\Draft)\r\n") ==
          "* 2 FETCH (UID 3 MODSEQ (" + modseq + "))\r\n* 6 FETCH (UID 8 MODSEQ (" + modseq +
              "))\r\ns1 OK UID STORE completed\r\n");
    const std::string expected =
        "* 6 FETCH (UID 8 FLAGS (\\Flagged \\Draft) MODSEQ (" + modseq + "))\r\n";
    CHECK(c.send("101 UID FETCH 2:9 (UID FLAGS) (PARTIAL -1:-3 CHANGEDSINCE " +
                 std::to_string(before) + ")\r\n") == expected + "101 OK UID FETCH completed\r\n");
    CHECK(c.send("102 UID FETCH 2:9 (UID FLAGS) (CHANGEDSINCE " + std::to_string(before) +
                 " PARTIAL -1:-3)\r\n") == expected + "102 OK UID FETCH completed\r\n");
    // The first five hold UID 3 only of the changed ones.
    CHECK(c.send("103 UID FETCH 2:9 (UID FLAGS) (CHANGEDSINCE " + std::to_string(before) +
                 " PARTIAL 1:5)\r\n") ==
          "* 2 FETCH (UID 3 FLAGS (\\Answered \\Flagged \\Draft) MODSEQ (" + modseq +
              "))\r\n103 OK UID FETCH completed\r\n");
}

TEST_CASE("RFC 9394 3.3 and 4: PARTIAL refusals are BAD and change nothing",
          "[session][partial][rfc9394]") {
    Server server;
    rfc_mailbox(server);
    Client c(server);
    CHECK(c.send("a FETCH 1:* FLAGS (PARTIAL 1:2)\r\n") ==
          "a BAD FETCH: PARTIAL is only valid in UID FETCH (RFC 9394 3.3)\r\n");
    CHECK(c.send("b UID FETCH 1:* FLAGS (PARTIAL 1:2 PARTIAL 3:4)\r\n") ==
          "b BAD UID FETCH: Duplicate FETCH modifier PARTIAL\r\n");
    CHECK(c.send("c UID FETCH 1:* FLAGS (PARTIAL 0:2)\r\n") ==
          "c BAD UID FETCH: PARTIAL range numbers start at 1 (RFC 9394 4: nz-number)\r\n");
    CHECK(
        c.send("d UID FETCH 1:* FLAGS (PARTIAL -1:2)\r\n") ==
        "d BAD UID FETCH: Expected '-' in the PARTIAL range (both ends or neither) at \"2)\"\r\n");
    CHECK(c.send("e UID FETCH 1:* FLAGS (PARTIAL 1:*)\r\n").starts_with("e BAD UID FETCH: "));
    // The session goes on.
    CHECK(c.send("f UID FETCH 8 UID (PARTIAL 1:1)\r\n") ==
          "* 6 FETCH (UID 8)\r\nf OK UID FETCH completed\r\n");
}

TEST_CASE("RFC 9394 4: PARTIAL is advertised after login", "[session][partial][rfc9394]") {
    Server server;
    Client c(server);
    const std::string caps = c.send("c CAPABILITY\r\n");
    CHECK(caps.find(" PARTIAL") != std::string::npos);
}
