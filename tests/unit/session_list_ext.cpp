// LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and
// CREATE-SPECIAL-USE (RFC 6154), XLIST, NAMESPACE (RFC 2342), STATUS=SIZE
// (RFC 8438), APPENDLIMIT (RFC 7889) and ESEARCH (RFC 4731), checked byte
// for byte on sessions without sockets over in-memory stores. The RFCs'
// examples are adapted to our data: names sort in byte order, the default
// mailboxes of a new account exist unless a test removes them, and
// attributes come in our order (RFC 5258 does not fix one).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

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
    store::MailboxId id(const char* name = "INBOX") { return store().open_mailbox(name).id; }
    void add(const char* name, const std::string& message, std::uint32_t flags = 0) {
        store::AppendRequest request;
        request.message = message;
        request.internal_date = 1700000000;
        request.flags.system = flags;
        store().append(id(name), request);
    }
    // Removes the default mailboxes and their subscriptions: the RFC
    // examples start from their own hierarchy.
    void without_defaults() {
        for (const char* name : {"Sent", "Drafts", "Trash", "Junk", "Archive"}) {
            store().delete_mailbox(name);
            store().unsubscribe(name);
        }
    }
    void create(std::initializer_list<const char*> names) {
        for (const char* name : names)
            store().create_mailbox(name);
    }
    void subscribe(std::initializer_list<const char*> names) {
        for (const char* name : names)
            store().subscribe(name);
    }
};

struct Client {
    explicit Client(Server& server) : d(server.mail) { d.login(); }
    std::string send(const std::string& line) { return d.send(line); }
    SessionDriver d;
};

const std::string kMessage = "From: Smith <smith@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";
const std::string kJones = "From: Jones <jones@example.org>\r\nSubject: hi\r\n\r\nbody\r\n";

}  // namespace

// ---- Default mailboxes and capabilities -----------------------------------------------

TEST_CASE("A new account has Sent, Drafts, Trash, Junk and Archive, subscribed",
          "[session][special-use]") {
    Server server;
    Client c(server);
    CHECK(c.send("l LIST \"\" \"*\"\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked \\Archive) \"/\" Archive\r\n"
          "* LIST (\\HasNoChildren \\Unmarked \\Drafts) \"/\" Drafts\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\HasNoChildren \\Unmarked \\Junk) \"/\" Junk\r\n"
          "* LIST (\\HasNoChildren \\Unmarked \\Sent) \"/\" Sent\r\n"
          "* LIST (\\HasNoChildren \\Unmarked \\Trash) \"/\" Trash\r\n"
          "l OK LIST completed\r\n");
    CHECK(c.send("s LSUB \"\" \"*\"\r\n") ==
          "* LSUB () \"/\" Archive\r\n"
          "* LSUB () \"/\" Drafts\r\n"
          "* LSUB () \"/\" Junk\r\n"
          "* LSUB () \"/\" Sent\r\n"
          "* LSUB () \"/\" Trash\r\n"
          "s OK LSUB completed\r\n");
}

TEST_CASE("Default mailboxes are made once: a deleted one stays deleted",
          "[session][special-use]") {
    Server server;
    Client c(server);
    CHECK(c.send("d DELETE Junk\r\n") == "d OK DELETE completed\r\n");
    CHECK_FALSE(server.store().ensure_default_mailboxes());
    Client again(server);
    CHECK(again.send("l LIST \"\" Junk\r\n") == "l OK LIST completed\r\n");
}

TEST_CASE("A bare MailStore has only INBOX, and an existing name gets the attribute",
          "[store][special-use]") {
    store::SqliteMailStore bare(store::DataDir::in_memory().user_options("bob"));
    REQUIRE(bare.list("*").size() == 1);
    bare.create_mailbox("Sent");
    bare.create_mailbox("Old/Trash");
    CHECK(bare.ensure_default_mailboxes());
    CHECK(bare.find_mailbox("Sent")->special_use == store::list_attr::kSent);
    CHECK(bare.find_mailbox("Trash")->special_use == store::list_attr::kTrash);
    CHECK(bare.find_mailbox("Old/Trash")->special_use == 0);
    CHECK(bare.list("*").size() == 8);
    CHECK_FALSE(bare.ensure_default_mailboxes());
}

TEST_CASE("Capabilities after login name the LIST, STATUS and SEARCH extensions",
          "[session][capability]") {
    Server server;
    Client c(server);
    const std::string caps = c.send("c CAPABILITY\r\n");
    for (const char* cap :
         {" LIST-EXTENDED", " LIST-STATUS", " SPECIAL-USE", " CREATE-SPECIAL-USE", " STATUS=SIZE",
          " APPENDLIMIT=67108864", " ESEARCH", " NAMESPACE", " XLIST"}) {
        INFO(cap);
        const std::string name(cap);
        CHECK((caps.find(name + ' ') != std::string::npos ||
               caps.find(name + "\r\n") != std::string::npos));
    }
}

// ---- RFC 6154 SPECIAL-USE ----------------------------------------------------------------

TEST_CASE("RFC 6154 5.2: LIST RETURN (SPECIAL-USE) and LIST (SPECIAL-USE)",
          "[session][special-use][rfc6154]") {
    Server server;
    server.create({"ToDo", "Projects"});
    Client c(server);
    CHECK(c.send("t2 LIST \"\" \"%\" RETURN (SPECIAL-USE)\r\n") ==
          "* LIST (\\Archive) \"/\" Archive\r\n"
          "* LIST (\\Drafts) \"/\" Drafts\r\n"
          "* LIST () \"/\" INBOX\r\n"
          "* LIST (\\Junk) \"/\" Junk\r\n"
          "* LIST () \"/\" Projects\r\n"
          "* LIST (\\Sent) \"/\" Sent\r\n"
          "* LIST () \"/\" ToDo\r\n"
          "* LIST (\\Trash) \"/\" Trash\r\n"
          "t2 OK LIST completed\r\n");
    CHECK(c.send("t3 LIST (SPECIAL-USE) \"\" \"*\"\r\n") ==
          "* LIST (\\Archive) \"/\" Archive\r\n"
          "* LIST (\\Drafts) \"/\" Drafts\r\n"
          "* LIST (\\Junk) \"/\" Junk\r\n"
          "* LIST (\\Sent) \"/\" Sent\r\n"
          "* LIST (\\Trash) \"/\" Trash\r\n"
          "t3 OK LIST completed\r\n");
    // Both, with the other return options.
    CHECK(
        c.send("t4 LIST (SPECIAL-USE) \"\" \"S*\" RETURN (SPECIAL-USE CHILDREN SUBSCRIBED)\r\n") ==
        "* LIST (\\Subscribed \\HasNoChildren \\Sent) \"/\" Sent\r\n"
        "t4 OK LIST completed\r\n");
}

TEST_CASE("RFC 6154 5.3: CREATE with USE, and NO [USEATTR]", "[session][special-use][rfc6154]") {
    Server server;
    Client c(server);
    CHECK(c.send("t2 CREATE MySpecial (USE (\\Drafts \\Sent))\r\n") ==
          "t2 OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("t3 CREATE Everything (USE (\\All))\r\n") ==
          "t3 NO [USEATTR] Unsupported special-use attribute \\All\r\n");
    CHECK(c.send("t4 CREATE Imp (USE (\\Sent \\Important))\r\n") ==
          "t4 NO [USEATTR] Unsupported special-use attribute \\Important\r\n");
    CHECK(c.send("t5 CREATE Starred (USE (\\Flagged))\r\n") ==
          "t5 NO [USEATTR] Unsupported special-use attribute \\Flagged\r\n");
    CHECK(c.send("t6 CREATE Bin (use (\\trash))\r\n") ==
          "t6 OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("t7 CREATE Plain (USE ())\r\n") == "t7 OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("t8 CREATE INBOX (USE (\\Sent))\r\n").starts_with("t8 NO [ALREADYEXISTS] "));
    CHECK(c.send("t9 CREATE Sent (USE (\\Sent))\r\n").starts_with("t9 NO [ALREADYEXISTS] "));
    CHECK(c.send("l LIST \"\" \"*\" RETURN (SPECIAL-USE)\r\n") ==
          "* LIST (\\Archive) \"/\" Archive\r\n"
          "* LIST (\\Trash) \"/\" Bin\r\n"
          "* LIST (\\Drafts) \"/\" Drafts\r\n"
          "* LIST () \"/\" INBOX\r\n"
          "* LIST (\\Junk) \"/\" Junk\r\n"
          "* LIST (\\Drafts \\Sent) \"/\" MySpecial\r\n"
          "* LIST () \"/\" Plain\r\n"
          "* LIST (\\Sent) \"/\" Sent\r\n"
          "* LIST (\\Trash) \"/\" Trash\r\n"
          "l OK LIST completed\r\n");
    CHECK_FALSE(server.store().find_mailbox("Everything").has_value());
    CHECK_FALSE(server.store().find_mailbox("Imp").has_value());
}

TEST_CASE("RENAME keeps the special use, DELETE drops it", "[session][special-use]") {
    Server server;
    Client c(server);
    CHECK(c.send("r RENAME Sent \"Sent Items\"\r\n") == "r OK RENAME completed\r\n");
    CHECK(c.send("d DELETE Trash\r\n") == "d OK DELETE completed\r\n");
    CHECK(c.send("c CREATE Trash\r\n") == "c OK [MAILBOXID (*)] CREATE completed\r\n");
    // A placeholder left by DELETE of a mailbox with inferiors has none.
    CHECK(c.send("c CREATE Junk/old\r\n") == "c OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("d DELETE Junk\r\n") == "d OK DELETE completed\r\n");
    CHECK(c.send("l LIST \"\" \"*\"\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked \\Archive) \"/\" Archive\r\n"
          "* LIST (\\HasNoChildren \\Unmarked \\Drafts) \"/\" Drafts\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\Noselect \\HasChildren) \"/\" Junk\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Junk/old\r\n"
          "* LIST (\\HasNoChildren \\Unmarked \\Sent) \"/\" \"Sent Items\"\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Trash\r\n"
          "l OK LIST completed\r\n");
}

TEST_CASE("XLIST: LIST's matching, XLIST attributes and Inbox", "[session][xlist]") {
    Server server;
    server.store().create_mailbox("Junk/old");
    Client c(server);
    CHECK(c.send("x XLIST \"\" \"*\"\r\n") ==
          "* XLIST (\\HasNoChildren \\Archive) \"/\" Archive\r\n"
          "* XLIST (\\HasNoChildren \\Drafts) \"/\" Drafts\r\n"
          "* XLIST (\\HasNoChildren \\Inbox) \"/\" INBOX\r\n"
          "* XLIST (\\HasChildren \\Spam) \"/\" Junk\r\n"
          "* XLIST (\\HasNoChildren) \"/\" Junk/old\r\n"
          "* XLIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
          "* XLIST (\\HasNoChildren \\Trash) \"/\" Trash\r\n"
          "x OK XLIST completed\r\n");
    CHECK(c.send("y xlist \"\" \"\"\r\n") ==
          "* XLIST (\\Noselect) \"/\" \"\"\r\n"
          "y OK XLIST completed\r\n");
    CHECK(c.send("z XLIST Junk/ %\r\n") ==
          "* XLIST (\\HasNoChildren) \"/\" Junk/old\r\n"
          "z OK XLIST completed\r\n");
}

// ---- RFC 5258 LIST-EXTENDED, section 5 examples ---------------------------------------------

namespace {

// RFC 5258 5 example 1's hierarchy (inbox is INBOX here) and example 2's
// subscriptions, Fruit/Peach subscribed but not existing.
void rfc5258_hierarchy(Server& server) {
    server.without_defaults();
    server.create({"Fruit", "Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable",
                   "Vegetable/Broccoli", "Vegetable/Corn"});
    server.subscribe({"INBOX", "Fruit/Banana", "Fruit/Peach", "Vegetable", "Vegetable/Broccoli"});
}

const std::string kSubscribedList =
    "* LIST (\\Subscribed) \"/\" Fruit/Banana\r\n"
    "* LIST (\\NonExistent \\Subscribed) \"/\" Fruit/Peach\r\n"
    "* LIST (\\Subscribed) \"/\" INBOX\r\n"
    "* LIST (\\Subscribed) \"/\" Vegetable\r\n"
    "* LIST (\\Subscribed) \"/\" Vegetable/Broccoli\r\n";

const std::string kChildrenList =
    "* LIST (\\HasChildren) \"/\" Fruit\r\n"
    "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
    "* LIST (\\HasNoChildren) \"/\" Tofu\r\n"
    "* LIST (\\HasChildren) \"/\" Vegetable\r\n";

}  // namespace

TEST_CASE("RFC 5258 5 examples 1 and 2: LIST and LIST (SUBSCRIBED)",
          "[session][list-extended][rfc5258]") {
    Server server;
    rfc5258_hierarchy(server);
    Client c(server);
    CHECK(c.send("A01 LIST \"\" \"*\"\r\n") ==
          "* LIST (\\HasChildren \\Unmarked) \"/\" Fruit\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Fruit/Apple\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Fruit/Banana\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Tofu\r\n"
          "* LIST (\\HasChildren \\Unmarked) \"/\" Vegetable\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Vegetable/Broccoli\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Vegetable/Corn\r\n"
          "A01 OK LIST completed\r\n");
    CHECK(c.send("A02 LIST (SUBSCRIBED) \"\" \"*\"\r\n") ==
          kSubscribedList + "A02 OK LIST completed\r\n");
}

TEST_CASE("RFC 5258 5 examples 3 and 4: RETURN (CHILDREN), REMOTE has no effect",
          "[session][list-extended][rfc5258]") {
    Server server;
    rfc5258_hierarchy(server);
    Client c(server);
    CHECK(c.send("A03 LIST () \"\" \"%\" RETURN (CHILDREN)\r\n") ==
          kChildrenList + "A03 OK LIST completed\r\n");
    CHECK(c.send("A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)\r\n") ==
          kChildrenList + "A04 OK LIST completed\r\n");
}

TEST_CASE("RFC 5258 5 examples 5 and 6: (REMOTE SUBSCRIBED) and RETURN (SUBSCRIBED)",
          "[session][list-extended][rfc5258]") {
    Server server;
    rfc5258_hierarchy(server);
    Client c(server);
    CHECK(c.send("A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\"\r\n") ==
          kSubscribedList + "A05 OK LIST completed\r\n");
    // Not a superset of the above: no Fruit/Peach, which does not exist.
    CHECK(c.send("A06 LIST (REMOTE) \"\" \"*\" RETURN (SUBSCRIBED)\r\n") ==
          "* LIST () \"/\" Fruit\r\n"
          "* LIST () \"/\" Fruit/Apple\r\n"
          "* LIST (\\Subscribed) \"/\" Fruit/Banana\r\n"
          "* LIST (\\Subscribed) \"/\" INBOX\r\n"
          "* LIST () \"/\" Tofu\r\n"
          "* LIST (\\Subscribed) \"/\" Vegetable\r\n"
          "* LIST (\\Subscribed) \"/\" Vegetable/Broccoli\r\n"
          "* LIST () \"/\" Vegetable/Corn\r\n"
          "A06 OK LIST completed\r\n");
}

TEST_CASE("RFC 5258 5 example 7: several patterns", "[session][list-extended][rfc5258]") {
    Server server;
    server.create({"Sent/March2004", "Sent/December2003", "Sent/August2004"});
    server.add("Sent/December2003", kMessage);
    Client c(server);
    // Each name once, though two patterns match Drafts.
    CHECK(c.send("BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\" Dr*)\r\n") ==
          "* LIST () \"/\" Drafts\r\n"
          "* LIST () \"/\" INBOX\r\n"
          "* LIST () \"/\" Sent/August2004\r\n"
          "* LIST () \"/\" Sent/December2003\r\n"
          "* LIST () \"/\" Sent/March2004\r\n"
          "BBB OK LIST completed\r\n");
    // The reference applies to each pattern.
    CHECK(c.send("B2 LIST Sent/ (March% Aug*)\r\n") ==
          "* LIST () \"/\" Sent/August2004\r\n"
          "* LIST () \"/\" Sent/March2004\r\n"
          "B2 OK LIST completed\r\n");
}

TEST_CASE("RFC 5258 5 example 8: CHILDREN against CHILDINFO", "[session][list-extended][rfc5258]") {
    Server server;
    server.without_defaults();
    server.create({"Foo", "Foo/Bar", "Foo/Baz", "Moo"});
    Client c(server);
    CHECK(c.send("CA3 LIST \"\" \"%\" RETURN (CHILDREN)\r\n") ==
          "* LIST (\\HasChildren) \"/\" Foo\r\n"
          "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
          "* LIST (\\HasNoChildren) \"/\" Moo\r\n"
          "CA3 OK LIST completed\r\n");
    // B) Nothing subscribed: nothing, though Foo has children.
    CHECK(c.send("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n") ==
          "C04 OK LIST completed\r\n");
    // A) Only Foo/Baz is subscribed.
    server.subscribe({"Foo/Baz"});
    CHECK(c.send("C02 LIST (SUBSCRIBED) \"\" \"*\"\r\n") ==
          "* LIST (\\Subscribed) \"/\" Foo/Baz\r\n"
          "C02 OK LIST completed\r\n");
    CHECK(c.send("C03 LIST (SUBSCRIBED) \"\" \"%\"\r\n") == "C03 OK LIST completed\r\n");
    CHECK(c.send("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n") ==
          "* LIST () \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
          "C04 OK LIST completed\r\n");
    // A1) Foo subscribed too.
    server.subscribe({"Foo"});
    CHECK(c.send("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n") ==
          "* LIST (\\Subscribed) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
          "C04 OK LIST completed\r\n");
    // C) Only Foo and Moo subscribed.
    server.store().unsubscribe("Foo/Baz");
    server.subscribe({"Moo"});
    CHECK(c.send("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)\r\n") ==
          "* LIST (\\Subscribed \\HasChildren) \"/\" Foo\r\n"
          "* LIST (\\Subscribed \\HasNoChildren) \"/\" Moo\r\n"
          "C04 OK LIST completed\r\n");
}

TEST_CASE("RFC 5258 5 example 8 A2: a parent that does not exist is NonExistent",
          "[session][list-extended][rfc5258]") {
    Server server;
    server.without_defaults();
    server.subscribe({"Foo/Baz"});
    Client c(server);
    CHECK(c.send("C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n") ==
          "* LIST (\\NonExistent) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
          "C04 OK LIST completed\r\n");
    CHECK(c.send("C05 LIST (SUBSCRIBED) \"\" \"*\" RETURN (CHILDREN)\r\n") ==
          "* LIST (\\NonExistent \\Subscribed \\HasNoChildren) \"/\" Foo/Baz\r\n"
          "C05 OK LIST completed\r\n");
    // A \Noselect placeholder level stays \Noselect.
    server.create({"Foo", "Foo/Bar"});
    server.store().delete_mailbox("Foo");
    CHECK(c.send("C06 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"\r\n") ==
          "* LIST (\\Noselect) \"/\" Foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
          "C06 OK LIST completed\r\n");
}

TEST_CASE("RFC 5258 5 example 9: CHILDINFO whether or not children match the pattern",
          "[session][list-extended][rfc5258]") {
    Server server;
    server.without_defaults();
    server.create({"foo2", "foo2/bar1", "foo2/bar2", "baz2", "baz2/bar2", "baz2/bar22",
                   "baz2/bar222", "eps2", "eps2/mamba", "qux2/bar2"});
    server.subscribe({"foo2/bar1", "foo2/bar2", "baz2/bar2", "baz2/bar22", "baz2/bar222", "eps2",
                      "eps2/mamba", "qux2/bar2"});
    Client c(server);
    // Redundant CHILDINFO (baz2, qux2) is suppressed (RFC 5258 3.5).
    CHECK(c.send("D03 LIST (RECURSIVEMATCH SUBSCRIBED) \"\" \"*2\"\r\n") ==
          "* LIST (\\Subscribed) \"/\" baz2/bar2\r\n"
          "* LIST (\\Subscribed) \"/\" baz2/bar22\r\n"
          "* LIST (\\Subscribed) \"/\" baz2/bar222\r\n"
          "* LIST (\\Subscribed) \"/\" eps2 (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
          "* LIST () \"/\" foo2 (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
          "* LIST (\\Subscribed) \"/\" foo2/bar2\r\n"
          "* LIST (\\Subscribed) \"/\" qux2/bar2\r\n"
          "D03 OK LIST completed\r\n");
}

TEST_CASE("RFC 5258 3.1: RECURSIVEMATCH alone is BAD, unknown options too",
          "[session][list-extended][rfc5258]") {
    Server server;
    Client c(server);
    CHECK(c.send("a LIST (RECURSIVEMATCH) \"\" %\r\n").starts_with("a BAD "));
    CHECK(c.send("b LIST (REMOTE RECURSIVEMATCH) \"\" %\r\n").starts_with("b BAD "));
    CHECK(c.send("c LIST (FOO) \"\" %\r\n").starts_with("c BAD "));
    CHECK(c.send("d LIST \"\" % RETURN (FOO)\r\n").starts_with("d BAD "));
    // SPECIAL-USE RECURSIVEMATCH is accepted and RECURSIVEMATCH does nothing
    // there (as in Dovecot).
    CHECK(c.send("e LIST (SPECIAL-USE RECURSIVEMATCH) \"\" Sent\r\n") ==
          "* LIST (\\Sent) \"/\" Sent\r\n"
          "e OK LIST completed\r\n");
}

TEST_CASE("LIST-EXTENDED with an empty pattern", "[session][list-extended]") {
    Server server;
    Client c(server);
    CHECK(c.send("a LIST () \"\" \"\"\r\n") ==
          "* LIST (\\Noselect) \"/\" \"\"\r\n"
          "a OK LIST completed\r\n");
    CHECK(c.send("b LIST (SUBSCRIBED) \"\" \"\"\r\n") == "b OK LIST completed\r\n");
    CHECK(c.send("c LIST \"\" (\"\" INBOX)\r\n") ==
          "* LIST () \"/\" INBOX\r\n"
          "c OK LIST completed\r\n");
}

// ---- RFC 5819 LIST-STATUS --------------------------------------------------------------------

TEST_CASE("RFC 5819 3 examples: LIST RETURN (STATUS (...))", "[session][list-status][rfc5819]") {
    Server server;
    server.without_defaults();
    server.create({"foo", "bar/baz"});
    // bar is a \Noselect placeholder above bar/baz.
    server.add("INBOX", kMessage);
    server.add("INBOX", kMessage, store::flag::kSeen);
    server.add("foo", kMessage);
    Client c(server);
    CHECK(c.send("A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))\r\n") ==
          "* LIST () \"/\" INBOX\r\n"
          "* STATUS INBOX (MESSAGES 2 UNSEEN 1)\r\n"
          "* LIST (\\Noselect) \"/\" bar\r\n"
          "* LIST () \"/\" foo\r\n"
          "* STATUS foo (MESSAGES 1 UNSEEN 1)\r\n"
          "A01 OK LIST completed\r\n");
    server.subscribe({"INBOX", "foo/x"});
    CHECK(c.send("A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES))\r\n") ==
          "* LIST (\\Subscribed) \"/\" INBOX\r\n"
          "* STATUS INBOX (MESSAGES 2)\r\n"
          "* LIST () \"/\" foo (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n"
          "A02 OK LIST completed\r\n");
}

TEST_CASE("LIST-STATUS with SIZE, APPENDLIMIT and other return options",
          "[session][list-status][rfc8438][rfc7889]") {
    Server server;
    server.add("Sent", kMessage);
    Client c(server);
    const std::string size = std::to_string(kMessage.size());
    CHECK(c.send("a LIST \"\" S% RETURN (CHILDREN STATUS (SIZE MESSAGES APPENDLIMIT) "
                 "SPECIAL-USE)\r\n") ==
          "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
          "* STATUS Sent (MESSAGES 1 SIZE " +
              size +
              " APPENDLIMIT 67108864)\r\n"
              "a OK LIST completed\r\n");
}

// ---- NAMESPACE, STATUS SIZE / APPENDLIMIT ---------------------------------------------------

TEST_CASE("RFC 2342: NAMESPACE names one personal namespace", "[session][namespace]") {
    Server server;
    Client c(server);
    CHECK(c.send("n NAMESPACE\r\n") ==
          "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n"
          "n OK NAMESPACE completed\r\n");
    SessionDriver before;
    before.greeting();
    CHECK(before.send("n NAMESPACE\r\n").starts_with("n BAD "));
}

TEST_CASE("RFC 8438 STATUS SIZE and RFC 7889 STATUS APPENDLIMIT", "[session][status]") {
    Server server;
    server.add("INBOX", kMessage);
    server.add("INBOX", kJones);
    Client c(server);
    const std::string size = std::to_string(kMessage.size() + kJones.size());
    CHECK(c.send("s STATUS INBOX (SIZE MESSAGES APPENDLIMIT)\r\n") ==
          "* STATUS INBOX (MESSAGES 2 SIZE " + size +
              " APPENDLIMIT 67108864)\r\n"
              "s OK STATUS completed\r\n");
    CHECK(c.send("t STATUS Trash (SIZE)\r\n") ==
          "* STATUS Trash (SIZE 0)\r\n"
          "t OK STATUS completed\r\n");
}

// ---- RFC 4731 ESEARCH -------------------------------------------------------------------------

namespace {

// Twelve messages: 2, 5, 10 and 11 flagged, 5 from Smith and the other
// flagged ones from Jones, 12 deleted.
void esearch_mailbox(Server& server) {
    for (std::uint32_t i = 1; i <= 12; ++i) {
        std::uint32_t flags = 0;
        if (i == 2 || i == 5 || i == 10 || i == 11) flags |= store::flag::kFlagged;
        if (i == 12) flags |= store::flag::kDeleted;
        if (i == 3) flags |= store::flag::kSeen;
        server.add("INBOX", i == 5 || flags == 0 || i == 3 || i == 12 ? kMessage : kJones, flags);
    }
}

// The ESEARCH line, checking that the command completed with OK.
std::string esearch(Client& c, const std::string& tag, const std::string& command) {
    const std::string out = c.send(tag + " " + command + "\r\n");
    const std::size_t end = out.find("\r\n");
    CHECK(out.substr(end + 2).starts_with(tag + " OK "));
    return out.substr(0, end);
}

}  // namespace

TEST_CASE("RFC 4731 3.1 examples: SEARCH RETURN", "[session][esearch][rfc4731]") {
    Server server;
    esearch_mailbox(server);
    Client c(server);
    c.send("s SELECT INBOX\r\n");
    const std::string criteria = " FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"";
    CHECK(esearch(c, "A282", "SEARCH RETURN (MIN COUNT)" + criteria) ==
          "* ESEARCH (TAG \"A282\") MIN 2 COUNT 3");
    CHECK(esearch(c, "A283", "SEARCH RETURN ()" + criteria) ==
          "* ESEARCH (TAG \"A283\") ALL 2,10:11");
    CHECK(esearch(c, "A284", "SEARCH RETURN (MIN)" + criteria) == "* ESEARCH (TAG \"A284\") MIN 2");
    // 1:5000 would be BAD here: message numbers past EXISTS (message_set.h).
    CHECK(esearch(c, "A285", "UID SEARCH RETURN (MIN MAX) 1:*") ==
          "* ESEARCH (TAG \"A285\") UID MIN 1 MAX 12");
    CHECK(esearch(c, "A286", "SEARCH RETURN (COUNT) UNDELETED") ==
          "* ESEARCH (TAG \"A286\") COUNT 11");
}

TEST_CASE("ESEARCH: every option, any order, UID sets, and the plain SEARCH",
          "[session][esearch][rfc4731]") {
    Server server;
    esearch_mailbox(server);
    Client c(server);
    c.send("s SELECT INBOX\r\n");
    CHECK(esearch(c, "a", "SEARCH RETURN (ALL COUNT MAX MIN) FLAGGED") ==
          "* ESEARCH (TAG \"a\") MIN 2 MAX 11 COUNT 4 ALL 2,5,10:11");
    CHECK(esearch(c, "b", "UID SEARCH RETURN (MIN MAX ALL COUNT) 2:4,9") ==
          "* ESEARCH (TAG \"b\") UID MIN 2 MAX 9 COUNT 4 ALL 2:4,9");
    CHECK(esearch(c, "c", "UID SEARCH RETURN () SEEN") == "* ESEARCH (TAG \"c\") UID ALL 3");
    CHECK(esearch(c, "d", "SEARCH RETURN (COUNT) CHARSET UTF-8 ALL") ==
          "* ESEARCH (TAG \"d\") COUNT 12");
    // Without RETURN, "* SEARCH" as before.
    CHECK(esearch(c, "e", "SEARCH FLAGGED") == "* SEARCH 2 5 10 11");
    // SAVE is RFC 5182's (session_searchext.cpp); an unknown option is BAD.
    CHECK(c.send("f SEARCH RETURN (FOO) ALL\r\n").starts_with("f BAD "));
}

TEST_CASE("RFC 4731 3.1: with no match no MIN, MAX or ALL, and COUNT 0",
          "[session][esearch][rfc4731]") {
    Server server;
    esearch_mailbox(server);
    Client c(server);
    c.send("s SELECT INBOX\r\n");
    CHECK(esearch(c, "e", "SEARCH RETURN (MIN MAX ALL) KEYWORD nothing") ==
          "* ESEARCH (TAG \"e\")");
    CHECK(esearch(c, "f", "SEARCH RETURN (COUNT) KEYWORD nothing") ==
          "* ESEARCH (TAG \"f\") COUNT 0");
    CHECK(esearch(c, "g", "SEARCH RETURN () KEYWORD nothing") == "* ESEARCH (TAG \"g\")");
    CHECK(esearch(c, "h", "UID SEARCH RETURN (COUNT ALL) KEYWORD nothing") ==
          "* ESEARCH (TAG \"h\") UID COUNT 0");
    // An empty mailbox.
    c.send("s SELECT Trash\r\n");
    CHECK(esearch(c, "i", "SEARCH RETURN (MIN MAX COUNT ALL) ALL") ==
          "* ESEARCH (TAG \"i\") COUNT 0");
}
