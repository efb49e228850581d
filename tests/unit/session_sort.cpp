// SORT, THREAD and ESORT through a whole session (RFC 5256 3 and 4, RFC
// 5957, RFC 5267 3, RFC 7162 3.1.9/3.1.10): the RFC's examples, the
// response syntax byte for byte, UID forms, the view, errors, and a
// hostile mailbox answered in bounded time with the session still serving.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/hostile_bound.h"
#include "support/session_driver.h"

namespace {

using imap::test::SessionDriver;
namespace store = imap::store;

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    store::MailStore& store() { return mail.open("alice")->store(); }
    void add(const std::string& message, std::int64_t internal_date = 1700000000,
             std::uint32_t flags = 0) {
        store::AppendRequest request;
        request.message = message;
        request.internal_date = internal_date;
        request.flags.system = flags;
        store().append(store().open_mailbox("INBOX").id, request);
    }
};

std::string message(const std::string& date, const std::string& subject, const std::string& id,
                    const std::string& references = "") {
    std::string out = "From: a@example.org\r\n";
    if (!date.empty()) out += "Date: " + date + "\r\n";
    out += "Subject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n";
    if (!references.empty()) out += "References: " + references + "\r\n";
    return out + "\r\nbody\r\n";
}

// Five messages: the RFC 5256 3 example "SORT (SUBJECT REVERSE DATE)" gives
// 5 3 4 1 2 for them.
void five(Server& server) {
    server.add(message("Mon, 1 Jan 2001 10:00:00 +0000", "Re: beta", "1@x", "<3@x>"));
    server.add(message("Mon, 1 Jan 2001 09:00:00 +0000", "beta", "2@x", "<3@x>"));
    server.add(message("Mon, 1 Jan 2001 08:00:00 +0000", "alpha", "3@x"));
    server.add(message("Mon, 1 Jan 2001 07:00:00 +0000", "[x] alpha", "4@x"), 1700000000,
               store::flag::kSeen);
    server.add(message("Mon, 1 Jan 2001 11:00:00 +0000", "Fwd: alpha", "5@x"));
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

TEST_CASE("RFC 5256 3 BASE.6.4.SORT examples", "[session][sort][rfc5256]") {
    Server server;
    five(server);
    Client c(server);
    CHECK(c.send("A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994\r\n") ==
          "* SORT 3 4 5 1 2\r\nA282 OK SORT completed\r\n");
    CHECK(c.send("A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL\r\n") ==
          "* SORT 5 3 4 1 2\r\nA283 OK SORT completed\r\n");
    CHECK(c.send("A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"\r\n") ==
          "* SORT\r\nA284 OK SORT completed\r\n");
    CHECK(c.send("u UID SORT (REVERSE DATE) UTF-8 UNSEEN\r\n") ==
          "* SORT 5 1 2 3\r\nu OK UID SORT completed\r\n");
    // RFC 5256 3: NO for an unsupported charset; BAD for a bad criterion.
    CHECK(c.send("n SORT (DATE) KOI8-R ALL\r\n") ==
          "n NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n");
    CHECK(c.send("b SORT (NAME) UTF-8 ALL\r\n").starts_with("b BAD "));
    CHECK(c.send("b2 SORT () UTF-8 ALL\r\n").starts_with("b2 BAD "));
    CHECK(c.send("b3 SORT (DATE) ALL\r\n").starts_with("b3 BAD "));  // the charset is mandatory
}

TEST_CASE("RFC 5267 3 ESORT: MIN, MAX, COUNT and ALL in sort order", "[session][sort][rfc5267]") {
    Server server;
    five(server);
    Client c(server);
    CHECK(c.send("E01 SORT RETURN (MIN MAX COUNT ALL) (REVERSE DATE) UTF-8 ALL\r\n") ==
          "* ESEARCH (TAG \"E01\") MIN 5 MAX 4 COUNT 5 ALL 5,1:4\r\nE01 OK SORT completed\r\n");
    // RFC 5267 3.3: RETURN () is ALL; a descending run is not a range.
    CHECK(c.send("E02 UID SORT RETURN () (SUBJECT REVERSE DATE) UTF-8 ALL\r\n") ==
          "* ESEARCH (TAG \"E02\") UID ALL 5,3:4,1:2\r\nE02 OK UID SORT completed\r\n");
    CHECK(c.send("E03 SORT RETURN (COUNT) (DATE) UTF-8 TEXT nothing\r\n") ==
          "* ESEARCH (TAG \"E03\") COUNT 0\r\nE03 OK SORT completed\r\n");
}

TEST_CASE("RFC 7162 3.1.9/3.1.10: SORT with a MODSEQ criterion reports the highest modseq",
          "[session][sort][condstore]") {
    Server server;
    five(server);
    Client c(server);
    const std::string plain = c.send("m SORT (DATE) UTF-8 MODSEQ 1\r\n");
    // The first MODSEQ criterion enables CONDSTORE (RFC 7162 3.1): the
    // HIGHESTMODSEQ comes first. Each APPEND took the next modseq (2-6).
    CHECK(plain ==
          "* OK [HIGHESTMODSEQ 6] Highest\r\n* SORT 4 3 2 1 5 (MODSEQ 6)\r\n"
          "m OK SORT completed\r\n");
    // ESORT MIN alone: the modseq of the MIN message (4, the fourth APPEND).
    CHECK(c.send("e SORT RETURN (MIN) (DATE) UTF-8 MODSEQ 1\r\n") ==
          "* ESEARCH (TAG \"e\") MIN 4 MODSEQ 5\r\ne OK SORT completed\r\n");
}

TEST_CASE("RFC 5256 3 BASE.6.4.THREAD and 4 BASE.7.2.THREAD: the response syntax",
          "[session][thread][rfc5256]") {
    Server server;
    five(server);
    Client c(server);
    // ORDEREDSUBJECT: ALPHA (4, 3, 5 by date) and BETA (2, 1); the parent
    // of several children is followed by each in parentheses.
    CHECK(c.send("A283 THREAD ORDEREDSUBJECT UTF-8 ALL\r\n") ==
          "* THREAD (4 (3)(5))(2 1)\r\nA283 OK THREAD completed\r\n");
    CHECK(c.send("A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"\r\n") ==
          "* THREAD\r\nA284 OK THREAD completed\r\n");
    // REFERENCES: 1 and 2 reply to 3; 3, 4 and 5 share a base subject:
    // neither 3 nor 4 is a reply, so a dummy holds both, and 5 joins it.
    CHECK(c.send("A285 THREAD REFERENCES UTF-8 ALL\r\n") ==
          "* THREAD ((4)(3 (2)(1))(5))\r\nA285 OK THREAD completed\r\n");
    CHECK(c.send("u UID THREAD REFS UTF-8 ALL\r\n") ==
          "* THREAD (4)(3 (2)(1))(5)\r\nu OK UID THREAD completed\r\n");
    CHECK(c.send("x THREAD XYZ UTF-8 ALL\r\n") == "x BAD THREAD: Unknown thread algorithm\r\n");
    CHECK(c.send("n THREAD REFERENCES KOI8-R ALL\r\n") ==
          "n NO [BADCHARSET (US-ASCII UTF-8)] Unsupported charset\r\n");
}

TEST_CASE("RFC 5256 BASE.7.2.THREAD: a missing parent's children are siblings in one thread",
          "[session][thread][rfc5256]") {
    Server server;
    server.add(message("Mon, 1 Jan 2001 10:00:00 +0000", "one", "3@x", "<gone@x>"));
    server.add(message("Mon, 1 Jan 2001 11:00:00 +0000", "two", "5@x", "<gone@x>"));
    Client c(server);
    CHECK(c.send("t THREAD REFERENCES UTF-8 ALL\r\n") ==
          "* THREAD ((1)(2))\r\nt OK THREAD completed\r\n");
}

TEST_CASE("hostile: THREAD of a 20,000-reply chain and of a reference ring is bounded",
          "[session][thread][hostile]") {
    Server server;
    std::vector<store::AppendRequest> requests;
    std::vector<std::string> messages;
    constexpr int kMessages = 20000;
    for (int i = 1; i <= kMessages; ++i) {
        // Each names the next as its parent (deep chain, built in reverse),
        // and every tenth also references itself and its child (a loop).
        std::string references = "<" + std::to_string(i + 1) + "@x>";
        if (i % 10 == 0)
            references =
                "<" + std::to_string(i - 1) + "@x> <" + std::to_string(i) + "@x> " + references;
        messages.push_back(message("", "s", std::to_string(i) + "@x", references));
    }
    for (const std::string& m : messages) {
        store::AppendRequest& r = requests.emplace_back();
        r.message = m;
        r.internal_date = 1700000000;
    }
    server.store().append(server.store().open_mailbox("INBOX").id, requests);
    Client c(server);
    const auto start = std::chrono::steady_clock::now();
    const std::string out = c.send("t THREAD REFERENCES UTF-8 ALL\r\n");
    CHECK(std::chrono::steady_clock::now() - start < imap::test::kHostileTimeBound);
    CHECK(out.starts_with("* THREAD ("));
    CHECK(out.ends_with("t OK THREAD completed\r\n"));
    // The session still serves, and a fresh one too.
    CHECK(c.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
    Client fresh(server);
    CHECK(fresh.send("s SORT (DATE) UTF-8 1:3\r\n") == "* SORT 1 2 3\r\ns OK SORT completed\r\n");
}

TEST_CASE("SORT and THREAD after login are advertised", "[session][sort]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    const std::string caps = d.send("c CAPABILITY\r\n");
    for (const char* cap : {" SORT ", " SORT=DISPLAY ", " THREAD=ORDEREDSUBJECT ",
                            " THREAD=REFERENCES ", " THREAD=REFS ", " ESORT "})
        CHECK(caps.find(cap) != std::string::npos);
}
