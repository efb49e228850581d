// The mailbox commands of the authenticated state: CREATE, DELETE, RENAME,
// SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS and APPEND (RFC 3501 6.3.3 to
// 6.3.11), with MULTIAPPEND (RFC 3502), APPENDUID (RFC 4315), the children
// attributes (RFC 3348) and the RFC 5530 response codes, checked byte for
// byte. Sessions run without sockets on in-memory stores.
#include <catch2/catch.hpp>
#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <vector>

#include "protocol/limits.h"
#include "server/imap/session.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/sqlite_mail_store.h"
#include "support/session_driver.h"

namespace {

using imap::server::SessionState;
using imap::test::SessionDriver;
namespace store = imap::store;

const std::string kMessage = "Subject: hello\r\n\r\nbody\r\n";

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};

    // These tests are about RFC 3501 mailboxes on an account with only
    // INBOX: the RFC 6154 default mailboxes a new account gets (tested in
    // session_list_ext.cpp) are removed first.
    Server() {
        for (const char* name : {"Sent", "Drafts", "Trash", "Junk", "Archive"}) {
            store().delete_mailbox(name);
            store().unsubscribe(name);
        }
    }

    store::MailStore& store() { return mail.open("alice")->store(); }
    std::string uidvalidity(const char* name = "INBOX") {
        return std::to_string(store().open_mailbox(name).uidvalidity);
    }
    store::MailboxId id(const char* name = "INBOX") { return store().open_mailbox(name).id; }
    std::vector<store::MessageInfo> messages(const char* name = "INBOX") {
        const store::UidRange all{1, 0xffffffffu};
        return store().fetch(id(name), std::span(&all, 1));
    }
    std::string body(const store::MessageInfo& message) {
        return store().read_body(message.body_id, 0, message.size);
    }
    void add(const char* name = "INBOX", std::uint32_t system_flags = 0) {
        store::AppendRequest request;
        request.message = kMessage;
        request.internal_date = 1700000000;
        request.flags.system = system_flags;
        store().append(id(name), request);
    }
};

// A logged-in session on `server`'s mail.
struct Client {
    explicit Client(Server& server) : d(server.mail) { d.login(); }
    std::string send(const std::string& line) { return d.send(line); }
    SessionDriver d;
};

// "{n+}" CRLF and the bytes: a non-synchronising literal (RFC 7888).
std::string literal(const std::string& bytes) {
    return "{" + std::to_string(bytes.size()) + "+}\r\n" + bytes;
}

std::string list_all(Client& c) {
    return c.send("l LIST \"\" \"*\"\r\n");
}

}  // namespace

// ---- CREATE (RFC 3501 6.3.3) ------------------------------------------------------

TEST_CASE("RFC 3501 6.3.3: CREATE makes a mailbox that LIST shows", "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a CREATE Work\r\n") == "a OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(list_all(c) ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Work\r\n"
          "l OK LIST completed\r\n");
    CHECK(server.store().find_mailbox("Work").has_value());
}

TEST_CASE(
    "RFC 3501 6.3.3: CREATE with a trailing delimiter creates the name, superiors as Noselect",
    "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a CREATE a/b/\r\n") == "a OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(list_all(c) ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\Noselect \\HasChildren) \"/\" a\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" a/b\r\n"
          "l OK LIST completed\r\n");
    // Creating the placeholder's name makes it a mailbox.
    CHECK(c.send("b CREATE a\r\n") == "b OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("c LIST \"\" a\r\n") ==
          "* LIST (\\HasChildren \\Unmarked) \"/\" a\r\nc OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 6.3.3 and RFC 5530: CREATE of an existing name or INBOX is ALREADYEXISTS",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a CREATE Work\r\n") == "a OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("b CREATE Work\r\n") == "b NO [ALREADYEXISTS] mailbox already exists\r\n");
    CHECK(c.send("c CREATE INBOX\r\n") == "c NO [ALREADYEXISTS] mailbox already exists\r\n");
    CHECK(c.send("d CREATE inbox\r\n") == "d NO [ALREADYEXISTS] mailbox already exists\r\n");
}

TEST_CASE("RFC 3501 6.3.3 and RFC 5530: CREATE of an unacceptable name is CANNOT",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a CREATE \"/x\"\r\n") == "a NO [CANNOT] mailbox name has an empty level\r\n");
    CHECK(c.send("b CREATE \"x//y\"\r\n") == "b NO [CANNOT] mailbox name has an empty level\r\n");
    CHECK(c.send("c CREATE \"a*b\"\r\n") ==
          "c NO [CANNOT] mailbox name has a forbidden character\r\n");
    CHECK(c.send("d CREATE \"\"\r\n") == "d NO [CANNOT] empty mailbox name\r\n");
    // RFC 3501 5.1.3: not valid modified UTF-7.
    CHECK(c.send("e CREATE \"&AOQ\"\r\n") ==
          "e NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
    CHECK(list_all(c) ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\nl OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 5.1.3: a modified UTF-7 name round trips through CREATE and LIST",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a CREATE \"&AOQ-\"\r\n") == "a OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("b CREATE \"Entw&APw-rfe/&ZeVnLIqe-\"\r\n") ==
          "b OK [MAILBOXID (*)] CREATE completed\r\n");
    // The store keeps UTF-8.
    CHECK(server.store().find_mailbox("\xC3\xA4").has_value());
    CHECK(server.store().find_mailbox("Entw\xC3\xBCrfe/\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"));
    CHECK(c.send("c LIST \"\" \"*\"\r\n") ==
          "* LIST (\\Noselect \\HasChildren) \"/\" Entw&APw-rfe\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Entw&APw-rfe/&ZeVnLIqe-\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" &AOQ-\r\n"
          "c OK LIST completed\r\n");
    // A pattern in modified UTF-7 matches the decoded names.
    CHECK(c.send("d LIST \"Entw&APw-rfe/\" \"%\"\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Entw&APw-rfe/&ZeVnLIqe-\r\n"
          "d OK LIST completed\r\n");
    // Reference and pattern decode separately: "&AOQ-" "&AOQ-" is not one
    // malformed "&AOQ-&AOQ-" sequence.
    CHECK(c.send("e CREATE \"&AOQA5A-\"\r\n") == "e OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("f LIST \"&AOQ-\" \"&AOQ-\"\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" &AOQA5A-\r\nf OK LIST completed\r\n");
}

// ---- DELETE (RFC 3501 6.3.4) ------------------------------------------------------

TEST_CASE("RFC 3501 6.3.4: DELETE removes a mailbox and its messages", "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work\r\n");
    server.add("Work");
    CHECK(c.send("b DELETE Work\r\n") == "b OK DELETE completed\r\n");
    CHECK_FALSE(server.store().find_mailbox("Work").has_value());
    CHECK(c.send("c DELETE Work\r\n") == "c NO [NONEXISTENT] mailbox does not exist\r\n");
}

TEST_CASE("RFC 3501 6.3.4: DELETE of INBOX is refused", "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a DELETE INBOX\r\n") == "a NO [CANNOT] INBOX cannot be deleted\r\n");
    CHECK(c.send("b DELETE inbox\r\n") == "b NO [CANNOT] INBOX cannot be deleted\r\n");
}

TEST_CASE("RFC 3501 6.3.4: DELETE of a mailbox with inferiors leaves a Noselect name",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE a/b\r\n");
    c.send("b CREATE a\r\n");
    server.add("a");
    CHECK(c.send("c DELETE a\r\n") == "c OK DELETE completed\r\n");
    CHECK(c.send("d LIST \"\" \"a*\"\r\n") ==
          "* LIST (\\Noselect \\HasChildren) \"/\" a\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" a/b\r\n"
          "d OK LIST completed\r\n");
    // RFC 9051 6.3.4: a Noselect name with inferiors cannot be deleted.
    CHECK(c.send("e DELETE a\r\n") ==
          "e NO [HASCHILDREN] mailbox has inferior hierarchical names\r\n");
    CHECK(c.send("f DELETE a/b\r\n") == "f OK DELETE completed\r\n");
    CHECK(c.send("g DELETE a\r\n") == "g OK DELETE completed\r\n");
    CHECK(list_all(c) ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\nl OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 6.3.4: DELETE of the selected mailbox deselects it", "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work\r\n");
    server.add("Work");
    CHECK(c.send("b SELECT Work\r\n").ends_with("b OK [READ-WRITE] SELECT completed\r\n"));
    REQUIRE(c.d.session.state() == SessionState::Selected);
    // No EXPUNGE and no BYE: the mailbox is simply no longer selected.
    CHECK(c.send("c DELETE Work\r\n") == "c OK DELETE completed\r\n");
    CHECK(c.d.session.state() == SessionState::Authenticated);
    CHECK(c.d.session.selected() == nullptr);
    CHECK(c.send("d NOOP\r\n") == "d OK NOOP completed\r\n");
    CHECK(c.send("e CHECK\r\n") == "e BAD CHECK is not valid in the authenticated state\r\n");
}

TEST_CASE("RFC 3501 6.3.4: a failed DELETE leaves the selected mailbox selected",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a SELECT INBOX\r\n");
    CHECK(c.send("b DELETE INBOX\r\n") == "b NO [CANNOT] INBOX cannot be deleted\r\n");
    CHECK(c.d.session.state() == SessionState::Selected);
}

TEST_CASE("RFC 3501 6.3.4: DELETE of a mailbox another session has selected ends that session",
          "[session][mailboxes]") {
    Server server;
    Client a(server), b(server);
    a.send("a CREATE Work\r\n");
    b.send("b1 SELECT Work\r\n");
    CHECK(a.send("a2 DELETE Work\r\n") == "a2 OK DELETE completed\r\n");
    CHECK(b.send("b2 NOOP\r\n") == "* BYE Selected mailbox was deleted, have to disconnect\r\n");
    CHECK(b.d.session.wants_close());
}

// ---- RENAME (RFC 3501 6.3.5) ------------------------------------------------------

TEST_CASE("RFC 3501 6.3.5: RENAME moves the mailbox, its inferiors and its UIDVALIDITY",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work/2024\r\n");
    c.send("b CREATE Work\r\n");
    const std::string uidvalidity = server.uidvalidity("Work");
    server.add("Work");
    CHECK(c.send("c RENAME Work Archive/Work\r\n") == "c OK RENAME completed\r\n");
    CHECK(list_all(c) ==
          "* LIST (\\Noselect \\HasChildren) \"/\" Archive\r\n"
          "* LIST (\\HasChildren \\Marked) \"/\" Archive/Work\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Archive/Work/2024\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "l OK LIST completed\r\n");
    CHECK(server.uidvalidity("Archive/Work") == uidvalidity);
    CHECK(server.messages("Archive/Work").size() == 1);
}

TEST_CASE("RFC 3501 6.3.5: RENAME errors", "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work\r\n");
    c.send("b CREATE Home\r\n");
    CHECK(c.send("c RENAME Nothing Else\r\n") == "c NO [NONEXISTENT] mailbox does not exist\r\n");
    CHECK(c.send("d RENAME Work Home\r\n") ==
          "d NO [ALREADYEXISTS] target mailbox already exists\r\n");
    CHECK(c.send("e RENAME Work INBOX\r\n") ==
          "e NO [ALREADYEXISTS] target mailbox already exists\r\n");
    CHECK(c.send("f RENAME Work Work/sub\r\n") ==
          "f NO [CANNOT] cannot rename a mailbox into itself\r\n");
    CHECK(c.send("g RENAME Work \"&AOQ\"\r\n") ==
          "g NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
    CHECK(server.store().find_mailbox("Work").has_value());
}

TEST_CASE("RFC 3501 6.3.5: RENAME INBOX moves its messages and leaves INBOX empty",
          "[session][mailboxes]") {
    Server server;
    Client a(server), b(server);
    server.add();
    server.add();
    const std::string uidvalidity = server.uidvalidity();
    a.send("a1 CREATE INBOX/sub\r\n");
    CHECK(b.send("b1 SELECT INBOX\r\n").ends_with("b1 OK [READ-WRITE] SELECT completed\r\n"));
    // The renaming session has INBOX selected too: its messages go as
    // EXPUNGE before the tagged OK.
    CHECK(a.send("a2 SELECT INBOX\r\n").ends_with("a2 OK [READ-WRITE] SELECT completed\r\n"));
    CHECK(a.send("a3 RENAME INBOX Old\r\n") ==
          "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\na3 OK RENAME completed\r\n");
    // b had claimed both as \Recent (RFC 3501 7.3.2: the count changed).
    CHECK(b.send("b2 NOOP\r\n") ==
          "* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n* 0 RECENT\r\nb2 OK NOOP completed\r\n");
    CHECK(server.messages("Old").size() == 2);
    CHECK(server.messages().empty());
    CHECK(server.uidvalidity() == uidvalidity);
    // INBOX's inferiors stay where they are.
    CHECK(a.send("a4 LIST \"\" \"*\"\r\n") ==
          "* LIST (\\HasChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX/sub\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Old\r\n"
          "a4 OK LIST completed\r\n");
}

// ---- SUBSCRIBE, UNSUBSCRIBE, LSUB (RFC 3501 6.3.6, 6.3.7, 6.3.9) ----------------------

TEST_CASE("RFC 3501 6.3.6 and 6.3.9: SUBSCRIBE adds the name that LSUB lists",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work\r\n");
    CHECK(c.send("b LSUB \"\" \"*\"\r\n") == "b OK LSUB completed\r\n");
    CHECK(c.send("c SUBSCRIBE Work\r\n") == "c OK SUBSCRIBE completed\r\n");
    CHECK(c.send("d SUBSCRIBE Work\r\n") == "d OK SUBSCRIBE completed\r\n");
    CHECK(c.send("e SUBSCRIBE inbox\r\n") == "e OK SUBSCRIBE completed\r\n");
    CHECK(c.send("f LSUB \"\" \"*\"\r\n") ==
          "* LSUB () \"/\" INBOX\r\n* LSUB () \"/\" Work\r\nf OK LSUB completed\r\n");
    // LIST is not affected (no LIST-EXTENDED \Subscribed).
    CHECK(c.send("g LIST \"\" Work\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Work\r\ng OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 6.3.6: SUBSCRIBE of a name that does not exist is refused",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a SUBSCRIBE Nothing\r\n") == "a NO [NONEXISTENT] Mailbox does not exist\r\n");
    CHECK(c.send("b SUBSCRIBE \"&AOQ\"\r\n") ==
          "b NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
    CHECK(c.send("c LSUB \"\" \"*\"\r\n") == "c OK LSUB completed\r\n");
}

TEST_CASE("RFC 3501 6.3.7: UNSUBSCRIBE removes the name, also when it is not subscribed",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work\r\n");
    c.send("b SUBSCRIBE Work\r\n");
    CHECK(c.send("c UNSUBSCRIBE Work\r\n") == "c OK UNSUBSCRIBE completed\r\n");
    CHECK(c.send("d LSUB \"\" \"*\"\r\n") == "d OK LSUB completed\r\n");
    CHECK(c.send("e UNSUBSCRIBE Work\r\n") == "e OK UNSUBSCRIBE completed\r\n");
    CHECK(c.send("f UNSUBSCRIBE Nothing\r\n") == "f OK UNSUBSCRIBE completed\r\n");
    CHECK(c.send("g UNSUBSCRIBE \"&AOQ\"\r\n") ==
          "g NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
}

TEST_CASE("RFC 3501 6.3.9: LSUB with percent lists unsubscribed parents as Noselect",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE foo/bar\r\n");
    c.send("b CREATE \"&AOQ-/x\"\r\n");
    c.send("c SUBSCRIBE foo/bar\r\n");
    c.send("d SUBSCRIBE \"&AOQ-/x\"\r\n");
    CHECK(c.send("e LSUB \"\" \"%\"\r\n") ==
          "* LSUB (\\Noselect) \"/\" foo\r\n* LSUB (\\Noselect) \"/\" &AOQ-\r\n"
          "e OK LSUB completed\r\n");
    CHECK(c.send("f LSUB \"\" \"*\"\r\n") ==
          "* LSUB () \"/\" foo/bar\r\n* LSUB () \"/\" &AOQ-/x\r\nf OK LSUB completed\r\n");
    CHECK(c.send("g LSUB \"foo/\" \"%\"\r\n") ==
          "* LSUB () \"/\" foo/bar\r\ng OK LSUB completed\r\n");
    // No special case for an empty pattern in LSUB.
    CHECK(c.send("h LSUB \"\" \"\"\r\n") == "h OK LSUB completed\r\n");
}

TEST_CASE("RFC 3501 6.3.9: a deleted mailbox stays subscribed, listed as Noselect",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work\r\n");
    c.send("b SUBSCRIBE Work\r\n");
    c.send("c DELETE Work\r\n");
    CHECK(c.send("d LSUB \"\" \"*\"\r\n") ==
          "* LSUB (\\Noselect) \"/\" Work\r\nd OK LSUB completed\r\n");
    // And it can be unsubscribed.
    CHECK(c.send("e UNSUBSCRIBE Work\r\n") == "e OK UNSUBSCRIBE completed\r\n");
    CHECK(c.send("f LSUB \"\" \"*\"\r\n") == "f OK LSUB completed\r\n");
}

// ---- LIST (RFC 3501 6.3.8) --------------------------------------------------------

TEST_CASE("RFC 3501 6.3.8: LIST with an empty pattern returns the delimiter and root",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a LIST \"\" \"\"\r\n") ==
          "* LIST (\\Noselect) \"/\" \"\"\r\na OK LIST completed\r\n");
    CHECK(c.send("b LIST \"foo/bar\" \"\"\r\n") ==
          "* LIST (\\Noselect) \"/\" foo/\r\nb OK LIST completed\r\n");
    CHECK(c.send("c LIST foo \"\"\r\n") ==
          "* LIST (\\Noselect) \"/\" \"\"\r\nc OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 6.3.8: LIST patterns with percent and star, with and without a reference",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE foo/bar/baz\r\n");
    c.send("b CREATE foo/qux\r\n");
    c.send("c CREATE food\r\n");
    CHECK(c.send("d LIST \"\" %\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\n"
          "* LIST (\\Noselect \\HasChildren) \"/\" foo\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" food\r\n"
          "d OK LIST completed\r\n");
    CHECK(c.send("e LIST foo/ %\r\n") ==
          "* LIST (\\Noselect \\HasChildren) \"/\" foo/bar\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" foo/qux\r\n"
          "e OK LIST completed\r\n");
    CHECK(c.send("f LIST foo/ *\r\n") ==
          "* LIST (\\Noselect \\HasChildren) \"/\" foo/bar\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" foo/bar/baz\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" foo/qux\r\n"
          "f OK LIST completed\r\n");
    // The pattern is appended to the reference as it is.
    CHECK(c.send("g LIST foo %\r\n") ==
          "* LIST (\\Noselect \\HasChildren) \"/\" foo\r\n"
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" food\r\n"
          "g OK LIST completed\r\n");
    CHECK(c.send("h LIST foo /%/baz\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" foo/bar/baz\r\nh OK LIST completed\r\n");
    CHECK(c.send("i LIST \"\" f%d\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" food\r\ni OK LIST completed\r\n");
    CHECK(c.send("j LIST \"\" nothing*\r\n") == "j OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 6.3.8: LIST matches INBOX in any case", "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE INBOX/sub\r\n");
    CHECK(c.send("b LIST \"\" inbox\r\n") ==
          "* LIST (\\HasChildren \\Unmarked) \"/\" INBOX\r\nb OK LIST completed\r\n");
    CHECK(c.send("c LIST inbox/ %\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX/sub\r\nc OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 7.2.2: LIST marks mailboxes with messages no SELECT has seen",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    server.add();
    CHECK(c.send("a LIST \"\" INBOX\r\n") ==
          "* LIST (\\HasNoChildren \\Marked) \"/\" INBOX\r\na OK LIST completed\r\n");
    c.send("b SELECT INBOX\r\n");
    CHECK(c.send("c LIST \"\" INBOX\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" INBOX\r\nc OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 5.1.3: a LIST pattern that is not modified UTF-7 matches nothing",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE \"&AOQ-\"\r\n");
    CHECK(c.send("b LIST \"\" \"&AOQ*\"\r\n") == "b OK LIST completed\r\n");
    CHECK(c.send("c LIST \"&AOQ\" \"*\"\r\n") == "c OK LIST completed\r\n");
    CHECK(c.send("d LIST \"\" \"&AOQ-*\"\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" &AOQ-\r\nd OK LIST completed\r\n");
}

TEST_CASE("RFC 3501 6.3.8: LIST and the other mailbox commands are valid in the selected state",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a SELECT INBOX\r\n");
    CHECK(c.send("b CREATE Work\r\n") == "b OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("c LIST \"\" Work\r\n") ==
          "* LIST (\\HasNoChildren \\Unmarked) \"/\" Work\r\nc OK LIST completed\r\n");
    CHECK(c.d.session.state() == SessionState::Selected);
}

TEST_CASE("RFC 3501 6.3: mailbox commands are not valid before login", "[session][mailboxes]") {
    SessionDriver d;
    d.greeting();
    CHECK(d.send("a LIST \"\" *\r\n") ==
          "a BAD LIST is not valid in the not authenticated state\r\n");
    CHECK(d.send("b CREATE x\r\n") ==
          "b BAD CREATE is not valid in the not authenticated state\r\n");
}

TEST_CASE("A mailbox name literal is limited to 4096 octets", "[session][mailboxes]") {
    Server server;
    Client c(server);
    CHECK(c.send("a CREATE {4097}\r\n") ==
          "a NO [LIMIT] Literal too large for CREATE (at most 4096 octets)\r\n");
    CHECK(c.send("b LIST \"\" {5000}\r\n") ==
          "b NO [LIMIT] Literal too large for LIST (at most 4096 octets)\r\n");
    CHECK(c.send("c CREATE {4}\r\n") == "+ Ready for literal data\r\n");
    CHECK(c.send("Work\r\n") == "c OK [MAILBOXID (*)] CREATE completed\r\n");
}

// ---- STATUS (RFC 3501 6.3.10) -----------------------------------------------------

TEST_CASE("RFC 3501 6.3.10: STATUS reports each item", "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE Work\r\n");
    server.add("Work", store::flag::kSeen);
    server.add("Work");
    server.add("Work");
    const std::string uidvalidity = server.uidvalidity("Work");
    CHECK(c.send("b STATUS Work (MESSAGES)\r\n") ==
          "* STATUS Work (MESSAGES 3)\r\nb OK STATUS completed\r\n");
    CHECK(c.send("c STATUS Work (RECENT)\r\n") ==
          "* STATUS Work (RECENT 3)\r\nc OK STATUS completed\r\n");
    CHECK(c.send("d STATUS Work (UIDNEXT)\r\n") ==
          "* STATUS Work (UIDNEXT 4)\r\nd OK STATUS completed\r\n");
    CHECK(c.send("e STATUS Work (UIDVALIDITY)\r\n") ==
          "* STATUS Work (UIDVALIDITY " + uidvalidity + ")\r\ne OK STATUS completed\r\n");
    CHECK(c.send("f STATUS Work (UNSEEN)\r\n") ==
          "* STATUS Work (UNSEEN 2)\r\nf OK STATUS completed\r\n");
    // Any order in, one fixed order out, each item once (as Dovecot).
    CHECK(c.send("g STATUS Work (UNSEEN MESSAGES UIDVALIDITY RECENT UIDNEXT MESSAGES)\r\n") ==
          "* STATUS Work (MESSAGES 3 RECENT 3 UIDNEXT 4 UIDVALIDITY " + uidvalidity +
              " UNSEEN 2)\r\ng OK STATUS completed\r\n");
}

TEST_CASE("RFC 3501 6.3.10: STATUS echoes the name in modified UTF-7 and INBOX upper case",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE \"&AOQ-\"\r\n");
    CHECK(c.send("b STATUS \"&AOQ-\" (MESSAGES)\r\n") ==
          "* STATUS &AOQ- (MESSAGES 0)\r\nb OK STATUS completed\r\n");
    CHECK(c.send("c STATUS inbox (MESSAGES)\r\n") ==
          "* STATUS INBOX (MESSAGES 0)\r\nc OK STATUS completed\r\n");
}

TEST_CASE("RFC 3501 6.3.10: STATUS of a missing or Noselect mailbox is NONEXISTENT",
          "[session][mailboxes]") {
    Server server;
    Client c(server);
    c.send("a CREATE foo/bar\r\n");
    CHECK(c.send("b STATUS Nothing (MESSAGES)\r\n") ==
          "b NO [NONEXISTENT] mailbox does not exist\r\n");
    CHECK(c.send("c STATUS foo (MESSAGES)\r\n") ==
          "c NO [NONEXISTENT] mailbox is not selectable\r\n");
    CHECK(c.send("d STATUS \"&AOQ\" (MESSAGES)\r\n") ==
          "d NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
    CHECK(c.send("e STATUS foo/bar (FOO)\r\n").starts_with("e BAD "));
}

TEST_CASE("RFC 3501 6.3.10: STATUS of the selected mailbox works, with CLIENTBUG",
          "[session][mailboxes]") {
    Server server;
    Client a(server), b(server);
    server.add();
    server.add();
    a.send("a1 SELECT INBOX\r\n");
    // Both messages are recent for this session, not for a later SELECT.
    CHECK(a.send("a2 STATUS INBOX (MESSAGES RECENT)\r\n") ==
          "* STATUS INBOX (MESSAGES 2 RECENT 2)\r\n"
          "a2 OK [CLIENTBUG] STATUS on the selected mailbox completed\r\n");
    CHECK(b.send("b1 STATUS INBOX (RECENT)\r\n") ==
          "* STATUS INBOX (RECENT 0)\r\nb1 OK STATUS completed\r\n");
    // A new message: counted at once, announced by the sync after it.
    server.add();
    CHECK(a.send("a3 STATUS INBOX (MESSAGES RECENT)\r\n") ==
          "* STATUS INBOX (MESSAGES 3 RECENT 3)\r\n* 3 EXISTS\r\n* 3 RECENT\r\n"
          "a3 OK [CLIENTBUG] STATUS on the selected mailbox completed\r\n");
}

// ---- APPEND (RFC 3501 6.3.11, RFC 3502, RFC 4315) ------------------------------------

TEST_CASE("RFC 3501 6.3.11 and 7.5: APPEND with a synchronising literal and APPENDUID",
          "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    const std::string uidvalidity = server.uidvalidity();
    CHECK(c.send("a APPEND INBOX {" + std::to_string(kMessage.size()) + "}\r\n") ==
          "+ Ready for literal data\r\n");
    CHECK(c.send(kMessage + "\r\n") ==
          "a OK [APPENDUID " + uidvalidity + " 1] APPEND completed\r\n");
    const auto messages = server.messages();
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].uid == 1);
    CHECK(messages[0].flags == 0);
    CHECK(messages[0].keywords.empty());
    CHECK(messages[0].zone_minutes == 0);
    const std::int64_t now = std::time(nullptr);
    CHECK(messages[0].internal_date <= now);
    CHECK(messages[0].internal_date > now - 60);
    CHECK(server.body(messages[0]) == kMessage);
    CHECK(c.send("b STATUS INBOX (MESSAGES RECENT UIDNEXT)\r\n") ==
          "* STATUS INBOX (MESSAGES 1 RECENT 1 UIDNEXT 2)\r\nb OK STATUS completed\r\n");
}

TEST_CASE("RFC 3501 6.3.11: APPEND sets the flags, keywords and internal date given",
          "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    const std::string uidvalidity = server.uidvalidity();
    CHECK(
        c.send("a APPEND INBOX (\\Seen $Forwarded \\flagged Junk) \" 7-Feb-1994 21:52:25 -0800\" " +
               literal(kMessage) + "\r\n") ==
        "a OK [APPENDUID " + uidvalidity + " 1] APPEND completed\r\n");
    const auto messages = server.messages();
    REQUIRE(messages.size() == 1);
    CHECK(messages[0].flags == (store::flag::kSeen | store::flag::kFlagged));
    CHECK(messages[0].keywords == std::vector<std::string>{"$Forwarded", "Junk"});
    // 1994-02-08 05:52:25 UTC.
    CHECK(messages[0].internal_date == 760686745);
    CHECK(messages[0].zone_minutes == -480);
    CHECK(c.send("b STATUS INBOX (UNSEEN)\r\n") ==
          "* STATUS INBOX (UNSEEN 0)\r\nb OK STATUS completed\r\n");
}

TEST_CASE("RFC 3501 2.3.2: APPEND refuses the Recent flag and unknown system flags",
          "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    CHECK(c.send("a APPEND INBOX (\\Recent) " + literal(kMessage) + "\r\n") ==
          "a BAD Invalid system flag \\Recent\r\n");
    CHECK(c.send("b APPEND INBOX (\\Foo) " + literal(kMessage) + "\r\n") ==
          "b BAD Invalid system flag \\Foo\r\n");
    // \* is only valid in PERMANENTFLAGS: the parser refuses it here.
    CHECK(c.send("c APPEND INBOX (\\*) " + literal(kMessage) + "\r\n").starts_with("c BAD "));
    CHECK(server.messages().empty());
}

TEST_CASE("RFC 3501 6.3.11: APPEND to a missing or Noselect mailbox is TRYCREATE",
          "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    CHECK(c.send("a APPEND Nothing " + literal(kMessage) + "\r\n") ==
          "a NO [TRYCREATE] Mailbox does not exist\r\n");
    // The server MUST NOT create it.
    CHECK_FALSE(server.store().find_mailbox("Nothing").has_value());
    c.send("b CREATE foo/bar\r\n");
    CHECK(c.send("c APPEND foo " + literal(kMessage) + "\r\n") ==
          "c NO [TRYCREATE] Mailbox does not exist\r\n");
    CHECK(c.send("d CREATE Nothing\r\n") == "d OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(c.send("e APPEND Nothing " + literal(kMessage) + "\r\n") ==
          "e OK [APPENDUID " + server.uidvalidity("Nothing") + " 1] APPEND completed\r\n");
    CHECK(c.send("f APPEND \"&AOQ\" " + literal(kMessage) + "\r\n") ==
          "f NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)\r\n");
}

TEST_CASE("RFC 3501 6.3.11: APPEND of an empty message is refused",
          "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    CHECK(c.send("a APPEND INBOX {0+}\r\n\r\n") ==
          "a NO [CANNOT] Cannot save an empty message\r\n");
    CHECK(server.messages().empty());
}

TEST_CASE("RFC 3502: MULTIAPPEND adds every message with one APPENDUID uid-set",
          "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    server.add();
    const std::string uidvalidity = server.uidvalidity();
    CHECK(c.send("a APPEND INBOX (\\Seen) " + literal("Subject: 1\r\n\r\none\r\n") + " " +
                 literal("Subject: 2\r\n\r\ntwo\r\n") +
                 " (\\Draft) \"01-Jan-2020 00:00:00 +0000\" " +
                 literal("Subject: 3\r\n\r\nthree\r\n") + "\r\n") ==
          "a OK [APPENDUID " + uidvalidity + " 2:4] APPEND completed\r\n");
    const auto messages = server.messages();
    REQUIRE(messages.size() == 4);
    CHECK(messages[1].flags == store::flag::kSeen);
    CHECK(messages[2].flags == 0);
    CHECK(messages[3].flags == store::flag::kDraft);
    CHECK(messages[3].internal_date == 1577836800);
    CHECK(server.body(messages[1]) == "Subject: 1\r\n\r\none\r\n");
    CHECK(server.body(messages[2]) == "Subject: 2\r\n\r\ntwo\r\n");
    CHECK(server.body(messages[3]) == "Subject: 3\r\n\r\nthree\r\n");
}

TEST_CASE("RFC 3502: MULTIAPPEND is all or nothing", "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    // A bad flag on the last message: none is appended.
    CHECK(c.send("a APPEND INBOX " + literal(kMessage) + " (\\Recent) " + literal(kMessage) +
                 "\r\n") == "a BAD Invalid system flag \\Recent\r\n");
    CHECK(server.messages().empty());
    // An empty last message: none is appended.
    CHECK(c.send("b APPEND INBOX " + literal(kMessage) + " {0+}\r\n\r\n") ==
          "b NO [CANNOT] Cannot save an empty message\r\n");
    CHECK(server.messages().empty());
    // A keyword the store refuses (longer than 256 octets) on the last one.
    CHECK(c.send("c APPEND INBOX " + literal(kMessage) + " (" + std::string(300, 'k') + ") " +
                 literal(kMessage) + "\r\n") == "c NO [CANNOT] invalid keyword length\r\n");
    CHECK(server.messages().empty());
    CHECK(c.send("d STATUS INBOX (MESSAGES UIDNEXT)\r\n") ==
          "* STATUS INBOX (MESSAGES 0 UIDNEXT 1)\r\nd OK STATUS completed\r\n");
}

TEST_CASE(
    "RFC 3501 6.3.11: APPEND to the selected mailbox gives EXISTS here and in another session",
    "[session][mailboxes][append]") {
    Server server;
    Client a(server), b(server);
    server.add();
    const std::string uidvalidity = server.uidvalidity();
    a.send("a1 SELECT INBOX\r\n");
    b.send("b1 EXAMINE INBOX\r\n");
    CHECK(a.send("a2 APPEND INBOX (\\Seen) " + literal(kMessage) + "\r\n") ==
          "* 2 EXISTS\r\n* 2 RECENT\r\na2 OK [APPENDUID " + uidvalidity +
              " 2] APPEND completed\r\n");
    // The other session hears of it at its next command; the message was
    // claimed as recent by the first session.
    CHECK(b.send("b2 NOOP\r\n") == "* 2 EXISTS\r\n* 0 RECENT\r\nb2 OK NOOP completed\r\n");
    // A new keyword: FLAGS again (RFC 3501 7.2.6) before EXISTS.
    CHECK(a.send("a3 APPEND INBOX ($Label1) " + literal(kMessage) + "\r\n") ==
          "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1)\r\n"
          "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Label1 \\*)] "
          "Flags permitted.\r\n"
          "* 3 EXISTS\r\n* 3 RECENT\r\na3 OK [APPENDUID " +
              uidvalidity + " 3] APPEND completed\r\n");
}

TEST_CASE("RFC 3501 6.3.11: APPEND from another session reaches a waiting listener",
          "[session][mailboxes][append]") {
    Server server;
    Client a(server);
    std::vector<store::MailboxId> notified;
    const auto handle = server.mail.open("alice")->add_listener(
        [&](store::MailboxId id) { notified.push_back(id); });
    CHECK(a.send("a APPEND INBOX " + literal(kMessage) + "\r\n").ends_with("APPEND completed\r\n"));
    CHECK(notified == std::vector<store::MailboxId>{server.id()});
    server.mail.open("alice")->remove_listener(handle);
}

TEST_CASE("RFC 3516: APPEND of a literal8 stores the bytes as given",
          "[session][mailboxes][append]") {
    Server server;
    Client c(server);
    const std::string binary = std::string("Subject: bin\r\n\r\na\0b\r\n", 21);
    CHECK(c.send("a APPEND INBOX ~{" + std::to_string(binary.size()) + "+}\r\n" + binary +
                 "\r\n") == "a OK [APPENDUID " + server.uidvalidity() + " 1] APPEND completed\r\n");
    const auto messages = server.messages();
    REQUIRE(messages.size() == 1);
    CHECK(server.body(messages[0]) == binary);
}

TEST_CASE("RFC 7889 4 and RFC 4469 4.2: APPEND over the size limit is NO TOOBIG before the literal",
          "[session][append]") {
    imap::test::SessionDriver d({.tls = true});
    d.send("a LOGIN alice secret\r\n");
    const std::string limit = std::to_string(imap::limits::kMaxLiteralSize);
    const std::string over = std::to_string(imap::limits::kMaxLiteralSize + 1);
    CHECK(d.send("b APPEND INBOX (\\Seen) {" + over + "}\r\n") ==
          "b NO [TOOBIG] Message too large (at most " + limit + " octets)\r\n");
    // No "+" was sent, so the client sends nothing more for that command.
    CHECK(d.send("c NOOP\r\n") == "c OK NOOP completed\r\n");
    CHECK(
        d.session.mail()->store().uids(d.session.mail()->store().open_mailbox("INBOX").id).empty());
    // Other commands keep the framer's BAD (RFC 7888 4).
    CHECK(d.send("d LIST \"\" {" + over + "}\r\n") == "d BAD [TOOBIG] Literal too large\r\n");
}
