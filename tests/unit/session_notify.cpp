// NOTIFY (RFC 5465): the command's answers byte for byte (the BAD cases of
// 5 and 6.1, NO [BADEVENT] of 3.1), SET STATUS, and the events another
// session, another process (`imapd deliver`) or nobody causes: STATUS for
// other mailboxes (5.1-5.3), EXISTS/FETCH/EXPUNGE for the selected one with
// MessageNew's attributes (5.2), SELECTED-DELAYED (6.1.2), LIST for
// MailboxName and SubscriptionChange (5.4, 5.5), pushed between commands
// and during IDLE (3.1, 4), never for the session's own changes (5), and
// the overflow (5.8).
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "protocol/limits.h"
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
    // On disk, so that deliver() can write through a second connection, as
    // another process does.
    imap::test::UniqueTempDir dir{"imapd-session-notify"};
    store::DataDir data_dir{dir.path};
    imap::server::UserMailRegistry mail{data_dir};
    std::shared_ptr<imap::server::UserMail> kept = mail.open("alice");

    store::MailStore& store() { return kept->store(); }
    std::string uidvalidity(const std::string& name) {
        return std::to_string(store().open_mailbox(name).uidvalidity);
    }

    // `imapd deliver` in another process: nobody in this process is told.
    void deliver(const std::string& mailbox) {
        store::SqliteMailStore other(data_dir.user_options("alice"));
        store::AppendRequest request;
        request.message = "Subject: delivered\r\n\r\nbody\r\n";
        request.internal_date = 1700000000;
        other.append(other.open_mailbox(mailbox).id, request);
    }
};

std::string append(const std::string& mailbox) {
    return "p APPEND " + mailbox + " {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n";
}

// What the session wrote without being sent anything.
std::string pushed(SessionDriver& d) {
    return drain(d.session.output());
}

// Alice with Lists, Lists/Lemonade and misc, as in RFC 5465 3.1's example.
struct Example {
    Server server;
    SessionDriver a{server.mail}, b{server.mail};
    int listened = 0;
    Example() {
        a.login();
        b.login();
        b.send("c0 CREATE Lists\r\n");
        b.send("c1 CREATE Lists/Lemonade\r\n");
        b.send("c2 CREATE misc\r\n");
        a.session.set_output_listener([this] { ++listened; });
    }
};

}  // namespace

TEST_CASE("RFC 5465 3: NOTIFY is advertised last, after UTF8=ACCEPT", "[session][notify]") {
    Server server;
    SessionDriver a(server.mail);
    a.login();
    const std::string caps = a.send("c CAPABILITY\r\n");
    CHECK(caps.find(" CONTEXT=SORT UTF8=ACCEPT NOTIFY\r\n") != std::string::npos);
}

TEST_CASE("RFC 5465 5, 6.1: the BAD cases", "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    CHECK(a.send("a NOTIFY SET (selected (MessageNew))\r\n") ==
          "a BAD MessageNew and MessageExpunge must be given together (RFC 5465 5)\r\n");
    CHECK(a.send("a NOTIFY SET (personal (MessageExpunge))\r\n") ==
          "a BAD MessageNew and MessageExpunge must be given together (RFC 5465 5)\r\n");
    CHECK(a.send("a NOTIFY SET (personal (FlagChange))\r\n") ==
          "a BAD FlagChange and AnnotationChange need MessageNew and MessageExpunge (RFC 5465 "
          "5)\r\n");
    CHECK(a.send("a NOTIFY SET (selected (AnnotationChange))\r\n") ==
          "a BAD FlagChange and AnnotationChange need MessageNew and MessageExpunge (RFC 5465 "
          "5)\r\n");
    CHECK(a.send("a NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed "
                 "(MessageNew MessageExpunge))\r\n") ==
          "a BAD Only one SELECTED or SELECTED-DELAYED event group is allowed (RFC 5465 6.1)\r\n");
    CHECK(a.send("a NOTIFY SET (selected (MailboxName))\r\n") ==
          "a BAD SELECTED and SELECTED-DELAYED take message events only (RFC 5465 6.1)\r\n");
    CHECK(a.send("a NOTIFY SET (personal (MessageNew (UID) MessageExpunge))\r\n") ==
          "a BAD MessageNew's fetch attributes are for SELECTED or SELECTED-DELAYED only (RFC "
          "5465 8)\r\n");
    // The grammar: events are a list (RFC 5465 3.1's example b is not).
    CHECK(a.send("b notify set status (selected (MessageNew (uid body.peek[header.fields (from to "
                 "subject)]) MessageExpunge)) (subtree Lists MessageNew)\r\n")
              .starts_with("b BAD "));
    // None of it changed anything: no events.
    x.b.send(append("Lists"));
    CHECK(pushed(a) == "");
}

TEST_CASE("RFC 5465 3.1: an unsupported event is NO [BADEVENT] listing the supported ones",
          "[session][notify]") {
    Example x;
    const std::string badevent =
        " NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] "
        "Unsupported NOTIFY event\r\n";
    CHECK(x.a.send("a NOTIFY SET (selected (MessageNew MessageExpunge AnnotationChange))\r\n") ==
          "a" + badevent);
    CHECK(x.a.send("b NOTIFY SET (personal (MailboxMetadataChange))\r\n") == "b" + badevent);
    CHECK(x.a.send("c NOTIFY SET (personal (ServerMetadataChange))\r\n") == "c" + badevent);
    CHECK(x.a.send("d NOTIFY SET (selected (X-Future))\r\n") == "d" + badevent);
    CHECK(x.a.send("e NOTIFY NONE\r\n") == "e OK NOTIFY completed\r\n");
}

TEST_CASE("RFC 5465 3.1: SET STATUS, then STATUS pushed for another session's APPEND",
          "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    const std::string lists = x.server.uidvalidity("Lists");
    const std::string lemonade = x.server.uidvalidity("Lists/Lemonade");
    // 3.1: MESSAGES, UIDNEXT and UIDVALIDITY for every watched mailbox
    // (UNSEEN as Dovecot), by name; not misc.
    CHECK(a.send("b notify set status (selected (MessageNew (uid body.peek[header.fields (from to "
                 "subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge))\r\n") ==
          "* STATUS Lists (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " + lists +
              " UNSEEN 0)\r\n"
              "* STATUS Lists/Lemonade (MESSAGES 0 UIDNEXT 1 UIDVALIDITY " +
              lemonade +
              " UNSEEN 0)\r\n"
              "b OK NOTIFY completed\r\n");
    CHECK(a.send("c select inbox\r\n").ends_with("c OK [READ-WRITE] SELECT completed\r\n"));

    // 5.2 in another mailbox: STATUS (UIDNEXT MESSAGES), at once.
    CHECK(x.b.send(append("Lists/Lemonade")).starts_with("p OK [APPENDUID "));
    CHECK(pushed(a) == "* STATUS Lists/Lemonade (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n");
    CHECK(x.listened == 1);
    // Not watched: nothing.
    x.b.send(append("misc"));
    CHECK(pushed(a) == "");
    CHECK(x.listened == 1);

    // 5.2 in the selected mailbox: EXISTS, then the FETCH asked for.
    const std::string header = "Subject: Re: good morning\r\nFrom: alice@example.org\r\n\r\n";
    const std::string message = header + "hi\r\n";
    CHECK(
        x.b.send("p APPEND INBOX {" + std::to_string(message.size()) + "+}\r\n" + message + "\r\n")
            .starts_with("p OK "));
    CHECK(pushed(a) ==
          "* 1 EXISTS\r\n* 1 RECENT\r\n"
          "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (FROM TO SUBJECT)] {" +
              std::to_string(header.size()) + "}\r\n" + header + ")\r\n");
    CHECK(x.listened == 2);

    // 5.3 in the selected mailbox: EXPUNGE at once (SELECTED).
    x.b.send("s SELECT INBOX\r\n");
    x.b.send("t STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    CHECK(pushed(a) == "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n");
    x.b.send("e EXPUNGE\r\n");
    CHECK(pushed(a) == "* 1 EXPUNGE\r\n* 0 RECENT\r\n");
    CHECK(x.listened == 4);

    // 3.1's last step: NOTIFY SET without STATUS writes none.
    CHECK(a.send("e notify set (selected (MessageNew (uid body.peek[header.fields (from to "
                 "subject)]) MessageExpunge)) (subtree Lists (MessageNew MessageExpunge)) "
                 "(mailboxes misc (MessageNew MessageExpunge))\r\n") ==
          "e OK NOTIFY completed\r\n");
    x.b.send(append("misc"));
    CHECK(pushed(a) == "* STATUS misc (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n");
}

TEST_CASE("RFC 5465 5: the session's own changes are not notified", "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    a.send(
        "n NOTIFY SET (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))\r\n");
    CHECK(a.send(append("misc")).starts_with("p OK [APPENDUID "));
    CHECK(a.send("c CREATE mine\r\n").starts_with("c OK "));
    CHECK(a.send("s SUBSCRIBE mine\r\n") == "s OK SUBSCRIBE completed\r\n");
    CHECK(pushed(a) == "");
    CHECK(x.listened == 0);
    // Nor when another process's delivery makes the session look at every
    // watched mailbox again: only Lists, which that delivery changed.
    x.server.deliver("Lists");
    a.session.changed_elsewhere();
    CHECK(pushed(a) == "* STATUS Lists (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n");
}

TEST_CASE("RFC 5465 5.1: FlagChange in another mailbox, with and without CONDSTORE",
          "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    x.b.send(append("misc"));
    a.send("n NOTIFY SET (mailboxes misc (MessageNew MessageExpunge FlagChange))\r\n");
    x.b.send("s SELECT misc\r\n");
    // Without CONDSTORE: UNSEEN when it changed, else nothing.
    x.b.send("f STORE 1 +FLAGS (\\Seen)\r\n");
    CHECK(pushed(a) == "* STATUS misc (UNSEEN 0)\r\n");
    x.b.send("f STORE 1 +FLAGS (\\Flagged)\r\n");
    CHECK(pushed(a) == "");
    // With it: UIDVALIDITY and HIGHESTMODSEQ (5.1), UNSEEN.
    CHECK(a.send("e ENABLE CONDSTORE\r\n") == "* ENABLED CONDSTORE\r\ne OK ENABLE completed\r\n");
    x.b.send("f STORE 1 -FLAGS (\\Flagged)\r\n");
    const std::string modseq = std::to_string(x.server.store().open_mailbox("misc").highestmodseq);
    CHECK(pushed(a) == "* STATUS misc (UIDVALIDITY " + x.server.uidvalidity("misc") +
                           " UNSEEN 0 HIGHESTMODSEQ " + modseq + ")\r\n");
    // 5.3 with CONDSTORE: MESSAGES, UIDNEXT, HIGHESTMODSEQ.
    x.b.send("f STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    pushed(a);
    x.b.send("x EXPUNGE\r\n");
    const std::string after = std::to_string(x.server.store().open_mailbox("misc").highestmodseq);
    CHECK(pushed(a) ==
          "* STATUS misc (MESSAGES 0 UIDNEXT 2 UNSEEN 0 HIGHESTMODSEQ " + after + ")\r\n");
}

TEST_CASE("RFC 5465 6.1.2: SELECTED-DELAYED holds expunges for a command that allows them",
          "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    x.b.send(append("INBOX"));
    x.b.send(append("INBOX"));
    a.send("s SELECT INBOX\r\n");
    a.send("n NOTIFY SET (selected-delayed (MessageNew MessageExpunge))\r\n");
    x.b.send("s SELECT INBOX\r\n");
    x.b.send("f STORE 1 +FLAGS.SILENT (\\Deleted)\r\n");
    x.b.send("x EXPUNGE\r\n");
    // The flag change may go out; the EXPUNGE waits.
    CHECK(pushed(a) == "* 1 FETCH (FLAGS (\\Deleted \\Recent))\r\n");
    // FETCH by number does not allow it (RFC 3501 7.4.1); NOOP does.
    CHECK(a.send("f FETCH 1 (UID)\r\n") == "* 1 FETCH (UID 1)\r\nf OK FETCH completed\r\n");
    CHECK(a.send("n NOOP\r\n") == "* 1 EXPUNGE\r\n* 1 RECENT\r\nn OK NOOP completed\r\n");
    // New messages go out at once.
    x.b.send(append("INBOX"));
    CHECK(pushed(a) == "* 2 EXISTS\r\n* 2 RECENT\r\n");
}

TEST_CASE("RFC 5465 5.4, 5.5: MailboxName and SubscriptionChange as LIST", "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    CHECK(a.send("n NOTIFY SET (personal (MailboxName SubscriptionChange))\r\n") ==
          "n OK NOTIFY completed\r\n");
    x.b.send("c CREATE newbox\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" newbox\r\n");
    x.b.send("r RENAME newbox newbox2\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" newbox2 (\"OLDNAME\" (newbox))\r\n");
    x.b.send("s SUBSCRIBE newbox2\r\n");
    CHECK(pushed(a) == "* LIST (\\Subscribed) \"/\" newbox2\r\n");
    // Already subscribed: nothing changed, nothing said.
    x.b.send("s SUBSCRIBE newbox2\r\n");
    CHECK(pushed(a) == "");
    x.b.send("u UNSUBSCRIBE newbox2\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" newbox2\r\n");
    x.b.send("d DELETE newbox2\r\n");
    CHECK(pushed(a) == "* LIST (\\NonExistent) \"/\" newbox2\r\n");
    // A subscription whose mailbox went (RFC 5258 \NonExistent).
    x.b.send("c CREATE gone\r\n");
    x.b.send("s SUBSCRIBE gone\r\n");
    x.b.send("d DELETE gone\r\n");
    x.b.send("u UNSUBSCRIBE gone\r\n");
    CHECK(pushed(a) ==
          "* LIST () \"/\" gone\r\n* LIST (\\Subscribed) \"/\" gone\r\n"
          "* LIST (\\NonExistent) \"/\" gone\r\n* LIST (\\NonExistent) \"/\" gone\r\n");
    // A name with inferiors stays as \Noselect.
    x.b.send("c CREATE top\r\n");
    x.b.send("c CREATE top/child\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" top\r\n* LIST () \"/\" top/child\r\n");
    x.b.send("d DELETE top\r\n");
    CHECK(pushed(a) == "* LIST (\\Noselect) \"/\" top\r\n");
    // INBOX renamed: one event for the new name (5.4).
    x.b.send("r RENAME INBOX old-inbox\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" old-inbox (\"OLDNAME\" (INBOX))\r\n");
    CHECK(x.listened == 13);
}

TEST_CASE(
    "RFC 5465 6.4-6.6: SUBSCRIBED follows the subscriptions, SUBTREE and MAILBOXES match "
    "names",
    "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    a.send(
        "n NOTIFY SET (subscribed (MessageNew MessageExpunge)) (mailboxes Lists "
        "(MailboxName)) (subtree misc (MailboxName))\r\n");
    x.b.send(append("misc"));
    CHECK(pushed(a) == "");
    x.b.send("s SUBSCRIBE misc\r\n");
    CHECK(pushed(a) == "");  // SubscriptionChange was not asked for
    // Watched from now on; the first STATUS of a mailbox not watched at
    // NOTIFY SET has UIDVALIDITY too.
    x.b.send(append("misc"));
    CHECK(pushed(a) == "* STATUS misc (MESSAGES 2 UIDNEXT 3 UIDVALIDITY " +
                           x.server.uidvalidity("misc") + " UNSEEN 2)\r\n");
    x.b.send("c CREATE misc/deeper\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" misc/deeper\r\n");
    x.b.send("c CREATE Lists/other\r\n");  // MAILBOXES does not match inferiors
    CHECK(pushed(a) == "");
    x.b.send("u UNSUBSCRIBE misc\r\n");
    x.b.send(append("misc"));
    CHECK(pushed(a) == "");
    // The session's own SUBSCRIBE counts too (not notified, but followed).
    CHECK(a.send("s SUBSCRIBE misc\r\n") == "s OK SUBSCRIBE completed\r\n");
    x.b.send(append("misc"));
    CHECK(pushed(a) == "* STATUS misc (MESSAGES 4 UIDNEXT 5 UNSEEN 4)\r\n");
}

TEST_CASE("RFC 5465 6.5: a mailbox created after NOTIFY SET is watched, deliveries included",
          "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    a.send("n NOTIFY SET (subtree Lists (MessageNew MessageExpunge))\r\n");
    // Created by this session: no event, but watched from now on.
    CHECK(a.send("c CREATE Lists/New\r\n").starts_with("c OK "));
    x.server.deliver("Lists/New");
    a.session.changed_elsewhere();
    CHECK(pushed(a) == "* STATUS Lists/New (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n");
    // Created by another session, then delivered to by another process.
    x.b.send("c CREATE Lists/Other\r\n");
    CHECK(pushed(a) == "");
    x.server.deliver("Lists/Other");
    a.session.changed_elsewhere();
    CHECK(pushed(a) == "* STATUS Lists/Other (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n");
}

TEST_CASE("RFC 5465 4: with NOTIFY, IDLE sends what NOTIFY asked for", "[session][notify][idle]") {
    Example x;
    SessionDriver& a = x.a;
    a.send("s SELECT INBOX\r\n");
    a.send("n NOTIFY SET (personal (MessageNew MessageExpunge))\r\n");
    CHECK(a.send("i IDLE\r\n") == "+ idling\r\n");
    x.b.send(append("misc"));
    CHECK(pushed(a) == "* STATUS misc (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n");
    // No SELECTED group: nothing about the selected mailbox (RFC 5465 3.1).
    x.b.send(append("INBOX"));
    CHECK(pushed(a) == "");
    CHECK(a.send("DONE\r\n") == "* 1 EXISTS\r\n* 1 RECENT\r\ni OK IDLE completed\r\n");
    a.send("n NOTIFY SET (selected (MessageNew MessageExpunge))\r\n");
    CHECK(a.send("i IDLE\r\n") == "+ idling\r\n");
    x.b.send(append("INBOX"));
    CHECK(pushed(a) == "* 2 EXISTS\r\n* 2 RECENT\r\n");
    CHECK(a.send("DONE\r\n") == "i OK IDLE completed\r\n");
}

TEST_CASE("RFC 5465 3.1: another process's delivery is reported when the server hears of it",
          "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    a.send("s SELECT INBOX\r\n");
    a.send(
        "n NOTIFY SET (selected (MessageNew (UID) MessageExpunge)) (personal (MessageNew "
        "MessageExpunge))\r\n");
    x.server.deliver("misc");
    x.server.deliver("INBOX");
    CHECK(pushed(a) == "");         // not in the change feed
    a.session.changed_elsewhere();  // the server's inotify watcher
    CHECK(pushed(a) ==
          "* STATUS misc (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n"
          "* 1 EXISTS\r\n* 1 RECENT\r\n* 1 FETCH (UID 1)\r\n");
    CHECK(x.listened == 1);
    // Nothing new: nothing written.
    a.session.changed_elsewhere();
    CHECK(pushed(a) == "");
    CHECK(x.listened == 1);
}

TEST_CASE("RFC 5465 3.1: NOTIFY NONE stops the events", "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    a.send("n NOTIFY SET (personal (MessageNew MessageExpunge MailboxName))\r\n");
    x.b.send(append("misc"));
    CHECK(pushed(a) == "* STATUS misc (MESSAGES 1 UIDNEXT 2 UNSEEN 1)\r\n");
    CHECK(a.send("n NOTIFY NONE\r\n") == "n OK NOTIFY completed\r\n");
    x.b.send(append("misc"));
    x.b.send("c CREATE other\r\n");
    CHECK(pushed(a) == "");
    CHECK(x.server.kept->listener_count() == 0);
}

TEST_CASE("RFC 5465 3.1: events during a command go out at its end", "[session][notify]") {
    Example x;
    SessionDriver& a = x.a;
    a.send("n NOTIFY SET (personal (MessageNew MessageExpunge))\r\n");
    // The client is behind: nothing is pushed, the events wait (coalesced).
    std::size_t behind = imap::server::Session::kOutputHighWater;
    a.session.set_transport_unsent([&] { return behind; });
    x.b.send(append("misc"));
    x.b.send(append("misc"));
    CHECK(pushed(a) == "");
    CHECK(a.session.idle_update_pending());
    behind = 0;
    a.session.resume();
    CHECK(pushed(a) == "* STATUS misc (MESSAGES 2 UIDNEXT 3 UNSEEN 2)\r\n");
    CHECK_FALSE(a.session.idle_update_pending());
    // Or the next command's end carries them.
    behind = imap::server::Session::kOutputHighWater;
    x.b.send(append("misc"));
    behind = 0;
    CHECK(a.send("x NOOP\r\n") ==
          "* STATUS misc (MESSAGES 3 UIDNEXT 4 UNSEEN 3)\r\nx OK NOOP completed\r\n");
}

TEST_CASE("RFC 5465 5.8: past kMaxQueuedNotifications the client gets NOTIFICATIONOVERFLOW",
          "[session][notify][hostile]") {
    const auto started = std::chrono::steady_clock::now();
    // In memory: a thousand commits without a thousand fsyncs.
    imap::server::UserMailRegistry mail(store::DataDir::in_memory());
    SessionDriver a(mail), b(mail);
    a.login();
    b.login();
    a.send("n NOTIFY SET (personal (SubscriptionChange))\r\n");
    std::size_t behind = imap::server::Session::kOutputHighWater;
    a.session.set_transport_unsent([&] { return behind; });
    // Each a change of its own: LIST events do not coalesce.
    for (std::size_t i = 0; i <= imap::limits::kMaxQueuedNotifications / 2; ++i)
        b.send("s SUBSCRIBE INBOX\r\nu UNSUBSCRIBE INBOX\r\n");
    CHECK(pushed(a) == "");
    behind = 0;
    a.session.resume();
    CHECK(pushed(a) ==
          "* OK [NOTIFICATIONOVERFLOW] Too many notifications queued, NOTIFY is now off\r\n");
    // As after NOTIFY NONE.
    CHECK_FALSE(a.session.notify_active());
    b.send("s SUBSCRIBE INBOX\r\n");
    CHECK(pushed(a) == "");
    // The session and the server go on.
    CHECK(a.send("x NOOP\r\n") == "x OK NOOP completed\r\n");
    SessionDriver fresh(mail);
    fresh.login();
    CHECK(fresh.send("y NOOP\r\n") == "y OK NOOP completed\r\n");
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(2));
}

TEST_CASE("RFC 5465 5.4 with RFC 6855 3: names in the session's wire form",
          "[session][notify][utf8]") {
    Example x;
    SessionDriver& a = x.a;
    CHECK(a.send("n NOTIFY SET (personal (MailboxName))\r\n") == "n OK NOTIFY completed\r\n");
    // Before ENABLE UTF8=ACCEPT: modified UTF-7 (RFC 3501 5.1.3).
    x.b.send("c CREATE Entw&APw-rfe\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" Entw&APw-rfe\r\n");
    // After: UTF-8, as every other name this session sees (RFC 6855 3).
    CHECK(a.send("e ENABLE UTF8=ACCEPT\r\n") ==
          "* ENABLED UTF8=ACCEPT\r\ne OK ENABLE completed\r\n");
    x.b.send("r RENAME Entw&APw-rfe K&APY-rbe\r\n");
    CHECK(pushed(a) == "* LIST () \"/\" \"K\xC3\xB6rbe\" (\"OLDNAME\" (\"Entw\xC3\xBCrfe\"))\r\n");
}
