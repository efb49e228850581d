// STORE on large sets with bounded memory (RFC 3501 6.4.6, 7.4.2; RFC 7162
// 3.1.3, 3.2.4): the FETCH responses of one STORE are written in steps
// below Session::kOutputHighWater, a view's sync reads changed rows in
// batches of SelectedMailbox::kSyncBatch, and the session's own changes are
// never reported twice, also when another session changes the same
// messages between two steps (RFC 2180: many sessions of one user).
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "server/imap/selected_mailbox.h"
#include "server/imap/session.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "store/mail_store.h"
#include "store/types.h"
#include "support/session_driver.h"

using imap::server::SelectedMailbox;
using imap::server::Session;
using imap::test::Drained;
using imap::test::drive;
using imap::test::SessionDriver;
namespace store = imap::store;

namespace {

// Enough messages that their FETCH responses (about 70 bytes each) are
// well past the high-water mark, and that a sync needs several batches.
constexpr std::uint32_t kMessages = 8000;
static_assert(kMessages > 4 * SelectedMailbox::kSyncBatch);

struct Server {
    imap::server::UserMailRegistry mail{store::DataDir::in_memory()};
    store::MailStore& store() { return mail.open("alice")->store(); }
    store::MailboxId inbox() { return store().open_mailbox("INBOX").id; }

    Server() {
        std::vector<store::AppendRequest> requests(kMessages);
        for (store::AppendRequest& request : requests) {
            request.message = "Subject: s\r\n\r\nbody\r\n";
            request.internal_date = 1704217272;
            request.flags.keywords = {"$Label-alpha-0123456789"};
        }
        store().append(inbox(), requests);
    }

    void store_flags(std::uint32_t uid, std::uint32_t system) {
        const store::UidRange range{uid, uid};
        store::Flags flags;
        flags.system = system;
        store().store_flags(inbox(), store::UidSpan(&range, 1), store::FlagOp::Add, flags);
    }
};

// The FETCH responses of messages first..last with these flags.
std::string fetches(std::uint32_t first, std::uint32_t last, const std::string& flags,
                    bool with_uid = false) {
    std::string out;
    for (std::uint32_t n = first; n <= last; ++n) {
        out += "* " + std::to_string(n) + " FETCH (" +
               (with_uid ? "UID " + std::to_string(n) + " " : std::string()) + "FLAGS (" + flags +
               " $Label-alpha-0123456789))\r\n";
    }
    return out;
}

void select(SessionDriver& d) {
    const std::string reply = d.send("s SELECT INBOX\r\n");
    REQUIRE(reply.find("s OK [READ-WRITE]") != std::string::npos);
}

}  // namespace

TEST_CASE("UidWindows hands out a normalized set in windows of at most n UIDs", "[store][types]") {
    const store::UidSet set = {{1, 5}, {7, 7}, {10, 20}};
    store::UidWindows windows(set);
    CHECK(windows.next(3) == store::UidSet{{1, 3}});
    CHECK(windows.next(4) == store::UidSet{{4, 5}, {7, 7}, {10, 10}});
    windows.skip_through(15);
    CHECK(windows.next(100) == store::UidSet{{16, 20}});
    CHECK(windows.done());
    CHECK(windows.next(100).empty());
    store::UidWindows empty(store::UidSet{});
    CHECK(empty.done());
    CHECK(store::uid_set_of(std::vector<std::uint32_t>{1, 2, 2, 3, 7, 9, 10}) ==
          store::UidSet{{1, 3}, {7, 7}, {9, 10}});
}

TEST_CASE("RFC 3501 6.4.6: STORE 1:* streams its FETCH responses below the high-water mark",
          "[session][store][memory]") {
    Server server;
    SessionDriver d(server.mail);
    d.login();
    select(d);
    const std::string expected = fetches(1, kMessages, "\\Flagged \\Recent") +
                                 "a OK STORE completed\r\nb OK NOOP completed\r\n";
    REQUIRE(expected.size() > Session::kOutputHighWater + 128 * 1024);

    const Drained r = drive(d, "a STORE 1:* +FLAGS (\\Flagged)\r\nb NOOP\r\n", 32 * 1024,
                            Session::kOutputHighWater - 64 * 1024);
    CHECK(r.pauses >= 2);
    // One batch of responses at most past the mark.
    CHECK(r.max_output <= Session::kOutputHighWater + 4096);
    // Byte for byte what one write would have sent; the NOOP's sync does
    // not report the STORE's own changes again.
    CHECK(r.bytes == expected);
}

TEST_CASE("RFC 2180, RFC 7162 3.2.4: another session's change between two steps of a STORE",
          "[session][store][memory][sync]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    select(a);
    bool changed = false;
    // At the first pause message 1 has been reported and the last has not:
    // b flags both. The last is reported once, with its current flags; the
    // first once more, as any other session's change, by the sync that ends
    // the command (RFC 3501 7.4.1: before the tagged line; with its UID in
    // a UID command), and not again by the NOOP's.
    const Drained r = drive(a, "a UID STORE 1:* +FLAGS (\\Seen)\r\nb NOOP\r\n", 32 * 1024,
                            Session::kOutputHighWater - 64 * 1024, [&] {
                                if (changed) return;
                                changed = true;
                                server.store_flags(1, store::flag::kAnswered);
                                server.store_flags(kMessages, store::flag::kAnswered);
                            });
    REQUIRE(changed);
    std::string expected = fetches(1, kMessages - 1, "\\Seen \\Recent", true) +
                           fetches(kMessages, kMessages, "\\Answered \\Seen \\Recent", true) +
                           "* 1 FETCH (UID 1 FLAGS (\\Answered \\Seen \\Recent "
                           "$Label-alpha-0123456789))\r\n"
                           "a OK UID STORE completed\r\nb OK NOOP completed\r\n";
    CHECK(r.bytes == expected);
    CHECK(a.send("c NOOP\r\n") == "c OK NOOP completed\r\n");
}

TEST_CASE("RFC 3501 7.4.2: a sync reports another session's STORE of every message in order",
          "[session][store][memory][sync]") {
    Server server;
    SessionDriver a(server.mail), b(server.mail);
    a.login();
    b.login();
    select(a);
    select(b);
    // b's silent change of every message but one in the middle: a's sync
    // reads the rows a batch at a time, in UID order, with a gap.
    CHECK(b.send("b STORE 1:2999,3001:* +FLAGS.SILENT (\\Draft)\r\n") ==
          "b OK STORE completed\r\n");
    const Drained r = drive(a, "a NOOP\r\n", 1 << 20, Session::kOutputHighWater);
    CHECK(r.bytes == fetches(1, 2999, "\\Draft \\Recent") +
                         fetches(3001, kMessages, "\\Draft \\Recent") + "a OK NOOP completed\r\n");
    // b's own changes are not reported back to b; a sees nothing new.
    CHECK(b.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
    CHECK(a.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
}

TEST_CASE("RFC 7162 3.1.3: UNCHANGEDSINCE failures across batches are reported once each",
          "[session][store][condstore][memory]") {
    Server server;
    SessionDriver a(server.mail);
    a.login();
    const std::string selected = a.send("s SELECT INBOX (CONDSTORE)\r\n");
    const std::size_t at = selected.find("HIGHESTMODSEQ ");
    REQUIRE(at != std::string::npos);
    const std::uint64_t start = std::stoull(selected.substr(at + 14));
    // Messages 2 and 5000 change after the client's modseq: they fail the
    // test, the others are stored.
    server.store_flags(2, store::flag::kAnswered);
    server.store_flags(5000, store::flag::kAnswered);
    const Drained r = drive(
        a,
        "a STORE 1:* (UNCHANGEDSINCE " + std::to_string(start) + ") +FLAGS.SILENT (\\Flagged)\r\n",
        32 * 1024, Session::kOutputHighWater - 64 * 1024);
    // Every message's MODSEQ (.SILENT still reports it, RFC 7162 3.1.3
    // Example 3), the two failed ones with their flags, each exactly once.
    std::size_t failed_reports = 0, modseq_only = 0;
    for (std::size_t pos = r.bytes.find("* "); pos != std::string::npos;
         pos = r.bytes.find("* ", pos + 1)) {
        const std::string line = r.bytes.substr(pos, r.bytes.find("\r\n", pos) - pos);
        if (line.find("FLAGS (\\Answered") != std::string::npos) ++failed_reports;
        if (line.find("FLAGS") == std::string::npos) ++modseq_only;
    }
    CHECK(failed_reports == 2);
    CHECK(modseq_only == kMessages - 2);
    CHECK(r.bytes.find("a OK [MODIFIED 2,5000] Conditional STORE failed\r\n") != std::string::npos);
    CHECK(a.send("n NOOP\r\n") == "n OK NOOP completed\r\n");
}
