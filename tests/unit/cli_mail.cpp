// `imapd deliver` and `imapd import` (docs/cli.md): round trips through
// run_cli into a temporary data directory, read back with MailStore.
#include <stdlib.h>
#include <sys/stat.h>
#include <utime.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "server/cli/cli.h"
#include "store/accounts.h"
#include "store/data_dir.h"
#include "store/limits.h"
#include "store/sqlite_mail_store.h"
#include "support/hostile_bound.h"

namespace {

namespace fs = std::filesystem;
using imap::store::flag::kAnswered;
using imap::store::flag::kDeleted;
using imap::store::flag::kDraft;
using imap::store::flag::kFlagged;
using imap::store::flag::kSeen;

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run run(std::vector<std::string_view> args, const std::string& input = "") {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    int code = imap::server::run_cli(args, in, out, err);
    return {code, out.str(), err.str()};
}

struct TempDir {
    fs::path path;
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "imapd-cli-mail-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { fs::remove_all(path); }
};

// A data directory with the user "alice".
struct DataDirWithUser {
    TempDir dir;
    fs::path data = dir.path / "data";
    std::string data_arg = data.string();
    DataDirWithUser() {
        Run added =
            run({"user", "add", "alice", "--password-stdin", "--data-dir", data_arg}, "pw\n");
        REQUIRE(added.code == 0);
    }
};

struct Stored {
    std::uint32_t flags;
    std::vector<std::string> keywords;
    std::int64_t internal_date;
    int zone_minutes;
    std::string bytes;
};

std::vector<Stored> stored(const fs::path& data, std::string_view mailbox) {
    imap::store::SqliteMailStore mail(imap::store::DataDir(data).user_options("alice"));
    const imap::store::MailboxInfo info = mail.open_mailbox(mailbox);
    const std::vector<imap::store::UidRange> all{{1, imap::store::limits::kMaxUid}};
    std::vector<Stored> result;
    for (const imap::store::MessageInfo& m : mail.fetch(info.id, all)) {
        std::string bytes = mail.read_body(m.body_id, 0, m.size);
        CHECK(bytes.size() == m.size);
        result.push_back({m.flags, m.keywords, m.internal_date, m.zone_minutes, std::move(bytes)});
    }
    return result;
}

// Bodies queued for the search index (docs/storage.md "The search index").
std::int64_t queued_for_index(const fs::path& data) {
    imap::store::SqliteMailStore mail(imap::store::DataDir(data).user_options("alice"));
    auto q = mail.database().prepare("SELECT count(*) FROM fts_pending");
    q.step();
    return q.column_int(0);
}

// `names` plus the mailboxes `imapd user add` gives every account (RFC 6154:
// Sent, Drafts, Trash, Junk, Archive), sorted as mailbox_names() is.
std::vector<std::string> with_defaults(std::vector<std::string> names) {
    for (const char* name : {"Sent", "Drafts", "Trash", "Junk", "Archive"}) {
        if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> mailbox_names(const fs::path& data) {
    imap::store::SqliteMailStore mail(imap::store::DataDir(data).user_options("alice"));
    std::vector<std::string> names;
    for (const imap::store::ListEntry& entry : mail.list("*")) {
        if (!(entry.attributes & imap::store::list_attr::kNoselect)) names.push_back(entry.name);
    }
    return names;
}

std::int64_t now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void write_file(const fs::path& path, const std::string& text, std::int64_t mtime = 0) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    if (mtime != 0) {
        struct utimbuf times {};
        times.actime = static_cast<time_t>(mtime);
        times.modtime = static_cast<time_t>(mtime);
        REQUIRE(utime(path.c_str(), &times) == 0);
    }
}

}  // namespace

TEST_CASE("deliver stores standard input in INBOX with CRLF line ends and no From_ line") {
    DataDirWithUser d;
    const std::int64_t before = now();
    Run result = run({"deliver", "alice", "--data-dir", d.data_arg},
                     "From sender@example.com Sat Jan  3 01:05:34 1996\n"
                     "Subject: hi\n\nline one\r\nline two\n");
    const std::int64_t after = now();
    CHECK(result.code == 0);
    CHECK(result.out.empty());
    CHECK(result.err.empty());
    const std::vector<Stored> inbox = stored(d.data, "INBOX");
    REQUIRE(inbox.size() == 1);
    CHECK(inbox[0].bytes == "Subject: hi\r\n\r\nline one\r\nline two\r\n");
    CHECK(inbox[0].flags == 0);
    CHECK(inbox[0].keywords.empty());
    CHECK(inbox[0].internal_date >= before);
    CHECK(inbox[0].internal_date <= after);

    // A message without an envelope line keeps its first line.
    CHECK(run({"deliver", "alice", "--data-dir", d.data_arg}, "From: a@b\n\nx").code == 0);
    const std::vector<Stored> both = stored(d.data, "INBOX");
    REQUIRE(both.size() == 2);
    CHECK(both[1].bytes == "From: a@b\r\n\r\nx");
    // deliver leaves the search index to the server (it indexes the queue
    // when it opens the mail, or when it hears of the change).
    CHECK(queued_for_index(d.data) == 2);
}

TEST_CASE("deliver with mailbox and flags options sets the Seen flag and keywords") {
    DataDirWithUser d;
    {
        imap::store::SqliteMailStore mail(imap::store::DataDir(d.data).user_options("alice"));
        mail.create_mailbox("Lists/dev");
    }
    Run result = run({"deliver", "ALICE", "--mailbox", "Lists/dev", "--flags", "\\Seen $Label1",
                      "--flags=\\flagged", "--data-dir=" + d.data_arg},
                     "Subject: x\n\nbody\n");
    CHECK(result.code == 0);
    CHECK(result.err.empty());
    CHECK(stored(d.data, "INBOX").empty());
    const std::vector<Stored> dev = stored(d.data, "Lists/dev");
    REQUIRE(dev.size() == 1);
    CHECK(dev[0].flags == (kSeen | kFlagged));
    CHECK(dev[0].keywords == std::vector<std::string>{"$Label1"});
    CHECK(dev[0].bytes == "Subject: x\r\n\r\nbody\r\n");
}

TEST_CASE("deliver to a missing mailbox falls back to INBOX unless create is given") {
    DataDirWithUser d;
    Run fallback =
        run({"deliver", "alice", "--mailbox", "Nope", "--data-dir", d.data_arg}, "Subject: 1\n\n");
    CHECK(fallback.code == 0);
    CHECK(fallback.err == "imapd deliver: mailbox \"Nope\" does not exist; delivered to INBOX\n");
    CHECK(stored(d.data, "INBOX").size() == 1);
    CHECK(mailbox_names(d.data) == with_defaults({"INBOX"}));

    Run created =
        run({"deliver", "alice", "--mailbox", "Nope/Sub", "--create", "--data-dir", d.data_arg},
            "Subject: 2\n\n");
    CHECK(created.code == 0);
    CHECK(created.err.empty());
    CHECK(mailbox_names(d.data) == with_defaults({"INBOX", "Nope/Sub"}));
    const std::vector<Stored> sub = stored(d.data, "Nope/Sub");
    REQUIRE(sub.size() == 1);
    CHECK(sub[0].bytes == "Subject: 2\r\n\r\n");
    CHECK(stored(d.data, "INBOX").size() == 1);
}

TEST_CASE("deliver exit codes tell the MTA to bounce or retry") {
    DataDirWithUser d;
    Run unknown = run({"deliver", "bob", "--data-dir", d.data_arg}, "Subject: x\n\n");
    CHECK(unknown.code == imap::server::kExitNoUser);
    CHECK(unknown.code == 67);
    CHECK(unknown.err == "imapd deliver: no such user \"bob\"\n");
    CHECK(run({"deliver", "a b", "--data-dir", d.data_arg}, "x\n").code == 67);
    {
        imap::store::AccountStore accounts(imap::store::DataDir(d.data).accounts_options());
        accounts.create_user("carol", "pw");
        accounts.set_disabled("carol", true);
    }
    CHECK(run({"deliver", "carol", "--data-dir", d.data_arg}, "x\n").code == 67);

    CHECK(run({"deliver", "--data-dir", d.data_arg}, "x\n").code == 64);
    CHECK(run({"deliver", "alice", "bob", "--data-dir", d.data_arg}, "x\n").code == 64);
    CHECK(run({"deliver", "alice", "--bogus", "--data-dir", d.data_arg}, "x\n").code == 64);
    CHECK(run({"deliver", "alice", "--flags", "\\Recent", "--data-dir", d.data_arg}, "x\n").code ==
          64);
    CHECK(run({"deliver", "alice", "--flags", "a]b", "--data-dir", d.data_arg}, "x\n").code == 64);

    Run empty = run({"deliver", "alice", "--data-dir", d.data_arg}, "");
    CHECK(empty.code == 65);
    CHECK(empty.err == "imapd deliver: empty message\n");
    CHECK(run({"deliver", "alice", "--data-dir", d.data_arg}, "From x Sat Jan  3 01:05:34 1996\n")
              .code == 65);

    // A mistyped data directory is not created: retry once it is fixed.
    const fs::path missing = d.dir.path / "missing";
    Run no_data = run({"deliver", "alice", "--data-dir", missing.string()}, "x\n");
    CHECK(no_data.code == 75);
    CHECK(no_data.err == "imapd deliver: no accounts database in " + missing.string() + "\n");
    CHECK_FALSE(fs::exists(missing));
    CHECK(stored(d.data, "INBOX").empty());
}

TEST_CASE("deliver refuses a message over the store size limit with EX_DATAERR") {
    DataDirWithUser d;
    std::string big(imap::store::limits::kMaxMessageSize, 'a');
    big.replace(0, 13, "Subject: x\n\n");
    Run result = run({"deliver", "alice", "--data-dir", d.data_arg}, big);
    CHECK(result.code == 65);
    CHECK(stored(d.data, "INBOX").empty());
}

TEST_CASE("import maildir maps subfolders and flag letters and dovecot keywords") {
    DataDirWithUser d;
    const fs::path m = d.dir.path / "Maildir";
    write_file(m / "cur" / "1000.a.host:2,S", "Subject: a\n\nA\n", 1000000000);
    write_file(m / "cur" / "1001.b.host:2,DFRST", "Subject: b\n\nB\n", 1000000001);
    write_file(m / "new" / "1002.c.host", "Subject: c\r\n\r\nC\r\n", 1000000002);
    write_file(m / "new" / "1003.d.host:2,FS", "Subject: d\n\nD\n", 1000000003);
    write_file(m / "cur" / "1004.e.host:2,Sabc", "Subject: e\n\nE\n", 1000000004);
    write_file(m / "tmp" / "1005.f.host", "Subject: f\n\nF\n", 1000000005);
    write_file(m / "dovecot-keywords", "0 $Label1\n1 Junk\n");
    write_file(m / ".Sub" / "cur" / "2000.x:2,R", "Subject: sub\n\n", 1100000000);
    write_file(m / ".Sub.Deeper" / "new" / "3000.y", "Subject: deeper\n\n", 1200000000);
    write_file(m / ".Entw&APw-rfe" / "cur" / "4000.z:2,", "Subject: draft\n\n", 1300000000);
    fs::create_directories(m / ".NotAFolder");

    Run result = run({"import", "alice", "maildir", m.string(), "--data-dir", d.data_arg});
    CHECK(result.code == 0);
    CHECK(result.err.empty());
    CHECK(result.out ==
          "imapd: imported 5 messages into INBOX\n"
          "imapd: imported 1 message into Entw\xC3\xBCrfe\n"
          "imapd: imported 1 message into Sub\n"
          "imapd: imported 1 message into Sub/Deeper\n");
    CHECK(mailbox_names(d.data) ==
          with_defaults({"Entw\xC3\xBCrfe", "INBOX", "Sub", "Sub/Deeper"}));
    // import leaves the search index to the server, as deliver does
    // (SEARCH is exact meanwhile)...
    CHECK(queued_for_index(d.data) == 8);

    const std::vector<Stored> inbox = stored(d.data, "INBOX");
    REQUIRE(inbox.size() == 5);
    CHECK(inbox[0].flags == kSeen);
    CHECK(inbox[0].bytes == "Subject: a\r\n\r\nA\r\n");
    CHECK(inbox[0].internal_date == 1000000000);
    CHECK(inbox[1].flags == (kSeen | kAnswered | kFlagged | kDeleted | kDraft));
    CHECK(inbox[1].internal_date == 1000000001);
    CHECK(inbox[2].flags == 0);
    CHECK(inbox[2].bytes == "Subject: c\r\n\r\nC\r\n");
    CHECK(inbox[3].flags == kFlagged);  // new/: never Seen
    CHECK(inbox[4].flags == kSeen);
    CHECK(inbox[4].keywords == std::vector<std::string>{"$Label1", "Junk"});
    CHECK(inbox[4].bytes == "Subject: e\r\n\r\nE\r\n");

    const std::vector<Stored> sub = stored(d.data, "Sub");
    REQUIRE(sub.size() == 1);
    CHECK(sub[0].flags == kAnswered);
    CHECK(sub[0].internal_date == 1100000000);
    CHECK(sub[0].bytes == "Subject: sub\r\n\r\n");
    const std::vector<Stored> deeper = stored(d.data, "Sub/Deeper");
    REQUIRE(deeper.size() == 1);
    CHECK(deeper[0].flags == 0);
    CHECK(deeper[0].bytes == "Subject: deeper\r\n\r\n");
    const std::vector<Stored> drafts = stored(d.data, "Entw\xC3\xBCrfe");
    REQUIRE(drafts.size() == 1);
    CHECK(drafts[0].internal_date == 1300000000);

    // Importing again stores every message again; --mailbox puts it all
    // below M. ...and --index builds the index of everything queued before
    // it exits, with the same output.
    Run again = run({"import", "alice", "maildir", m.string(), "--mailbox", "Old", "--index",
                     "--data-dir", d.data_arg});
    CHECK(again.code == 0);
    CHECK(again.err.empty());
    CHECK(again.out.starts_with("imapd: imported 5 messages into Old\n"));
    CHECK(queued_for_index(d.data) == 0);
    CHECK(stored(d.data, "Old/Sub/Deeper").size() == 1);
    CHECK(stored(d.data, "INBOX").size() == 5);
}

TEST_CASE("import mbox unescapes From lines and takes dates and flags from the file") {
    DataDirWithUser d;
    const fs::path mbox = d.dir.path / "mail.mbox";
    const std::string long_line(3 * 1024 * 1024, 'x');
    write_file(mbox,
               "From alice@example.com Sat Jan  3 01:05:34 1996\n"
               "Status: RO\n"
               "X-Status: AF\n"
               "Subject: one\n"
               "\n"
               ">From the start\n"
               ">>From nested\n"
               "body\n"
               "\n"
               "From bob@example.com Thu Feb 29 12:00:00 2024 +0100\n"
               "Subject: two\n"
               "X-Status: DT\n"
               "X-Keywords: $Label1 Junk\n"
               "\n"
               "two\n"
               "\n"
               "From carol Mon Jul  1 00:00 2002\n"
               "Subject: three\n"
               "\n" +
                   long_line +
                   "\n"
                   "From nobody not-a-date\n"
                   "Subject: four\n"
                   "\n"
                   "From inside a body, unescaped (mboxo), is a separator\n"
                   "Subject: five\n");
    const std::int64_t before = now();
    Run result = run({"import", "alice", "mbox", mbox.string(), "--data-dir", d.data_arg});
    const std::int64_t after = now();
    CHECK(result.code == 0);
    CHECK(result.err.empty());
    CHECK(result.out == "imapd: imported 5 messages into INBOX\n");

    const std::vector<Stored> inbox = stored(d.data, "INBOX");
    REQUIRE(inbox.size() == 5);
    CHECK(inbox[0].bytes ==
          "Status: RO\r\nX-Status: AF\r\nSubject: one\r\n\r\nFrom the start\r\n>From nested\r\n"
          "body\r\n");
    CHECK(inbox[0].flags == (kSeen | kAnswered | kFlagged));
    CHECK(inbox[0].internal_date == 820631134);
    CHECK(inbox[0].zone_minutes == 0);

    CHECK(inbox[1].bytes ==
          "Subject: two\r\nX-Status: DT\r\nX-Keywords: $Label1 Junk\r\n\r\ntwo\r\n");
    CHECK(inbox[1].flags == (kDeleted | kDraft));
    CHECK(inbox[1].keywords == std::vector<std::string>{"$Label1", "Junk"});
    CHECK(inbox[1].internal_date == 1709204400);
    CHECK(inbox[1].zone_minutes == 60);

    CHECK(inbox[2].bytes == "Subject: three\r\n\r\n" + long_line + "\r\n");
    CHECK(inbox[2].flags == 0);
    CHECK(inbox[2].internal_date == 1025481600);

    // Its blank line is taken for the separator before the next From_ line.
    CHECK(inbox[3].bytes == "Subject: four\r\n");
    CHECK(inbox[3].internal_date >= before);
    CHECK(inbox[3].internal_date <= after);
    CHECK(inbox[4].bytes == "Subject: five\r\n");
}

TEST_CASE("import mbox into a named mailbox and a directory of mbox files") {
    DataDirWithUser d;
    const fs::path single = d.dir.path / "one.mbox";
    write_file(single, "From a Sat Jan  3 01:05:34 1996\nSubject: s\n\nS\n");
    Run named = run({"import", "alice", "mbox", single.string(), "--mailbox", "Archive/1996",
                     "--data-dir", d.data_arg});
    CHECK(named.code == 0);
    CHECK(named.out == "imapd: imported 1 message into Archive/1996\n");
    REQUIRE(stored(d.data, "Archive/1996").size() == 1);
    CHECK(stored(d.data, "Archive/1996")[0].bytes == "Subject: s\r\n\r\nS\r\n");

    const fs::path dir = d.dir.path / "mail";
    write_file(dir / "Lists", "From a Sat Jan  3 01:05:34 1996\nSubject: l\n\n");
    write_file(dir / "Lists.sbd" / "dev",
               "From a Sat Jan  3 01:05:34 1996\nSubject: d1\n\n\n"
               "From a Sat Jan  3 01:05:35 1996\nSubject: d2\n\n");
    write_file(dir / "Lists.msf", "index, skipped");
    write_file(dir / ".hidden", "skipped");
    write_file(dir / "Sent", "");
    Run tree = run({"import", "alice", "mbox", dir.string(), "--data-dir", d.data_arg});
    CHECK(tree.code == 0);
    CHECK(tree.err.empty());
    CHECK(tree.out ==
          "imapd: imported 1 message into Lists\n"
          "imapd: imported 2 messages into Lists/dev\n"
          "imapd: imported 0 messages into Sent\n");
    CHECK(mailbox_names(d.data) ==
          with_defaults({"Archive/1996", "INBOX", "Lists", "Lists/dev", "Sent"}));
    const std::vector<Stored> dev = stored(d.data, "Lists/dev");
    REQUIRE(dev.size() == 2);
    CHECK(dev[0].bytes == "Subject: d1\r\n\r\n");
    CHECK(dev[1].internal_date == 820631135);
}

TEST_CASE("import exit codes for missing input and bad format and unknown users") {
    DataDirWithUser d;
    const fs::path missing = d.dir.path / "nothing-here";
    Run no_input = run({"import", "alice", "mbox", missing.string(), "--data-dir", d.data_arg});
    CHECK(no_input.code == 66);
    CHECK(no_input.err == "imapd import: " + missing.string() + " does not exist\n");
    CHECK(run({"import", "alice", "maildir", missing.string(), "--data-dir", d.data_arg}).code ==
          66);

    const fs::path not_mbox = d.dir.path / "notes.txt";
    write_file(not_mbox, "Subject: no envelope\n\n");
    Run bad = run({"import", "alice", "mbox", not_mbox.string(), "--data-dir", d.data_arg});
    CHECK(bad.code == 65);
    CHECK(bad.out.empty());
    CHECK(run({"import", "alice", "maildir", d.dir.path.string(), "--data-dir", d.data_arg}).code ==
          65);

    CHECK(run({"import", "bob", "mbox", not_mbox.string(), "--data-dir", d.data_arg}).code == 67);
    CHECK(run({"import", "alice", "pst", not_mbox.string(), "--data-dir", d.data_arg}).code == 64);
    CHECK(run({"import", "alice", "mbox", "--data-dir", d.data_arg}).code == 64);
    CHECK(run({"import", "alice", "mbox", not_mbox.string(), "--mailbox", "a//b", "--data-dir",
               d.data_arg})
              .code == 64);
    CHECK(mailbox_names(d.data) == with_defaults({"INBOX"}));
}

// Batches are prepared on several threads while earlier ones are written
// (docs/cli.md): UIDs still follow the file's order, across more batches
// than are ever in flight at once.
TEST_CASE("import mbox keeps the file's order in UIDs across many batches prepared in parallel") {
    DataDirWithUser d;
    const fs::path mbox = d.dir.path / "many.mbox";
    constexpr int kMessages = 2345;  // more than 3 batches in flight of 200 each
    std::string text;
    for (int i = 0; i < kMessages; ++i) {
        // Sizes vary, so batches take different times to prepare.
        text += "From a Sat Jan  3 01:05:34 1996\nSubject: n" + std::to_string(i) + "\n\n" +
                std::string(static_cast<std::size_t>(i % 7) * 3000, 'x') + "Z\n\n";
    }
    write_file(mbox, text);
    Run result = run({"import", "alice", "mbox", mbox.string(), "--data-dir", d.data_arg});
    CHECK(result.code == 0);
    CHECK(result.err.empty());
    CHECK(result.out == "imapd: imported 2345 messages into INBOX\n");
    const std::vector<Stored> inbox = stored(d.data, "INBOX");
    REQUIRE(inbox.size() == kMessages);
    int out_of_order = 0;
    for (int i = 0; i < kMessages; ++i) {
        const std::string expected = "Subject: n" + std::to_string(i) + "\r\n\r\n" +
                                     std::string(static_cast<std::size_t>(i % 7) * 3000, 'x') +
                                     "Z\r\n";
        if (inbox[static_cast<std::size_t>(i)].bytes != expected) ++out_of_order;
    }
    CHECK(out_of_order == 0);
    CHECK(queued_for_index(d.data) == kMessages);
}

// Each batch is its own transaction: an import that fails part way keeps
// every batch before the failure, and says how many that was.
TEST_CASE("import that fails in the middle keeps the batches written before the failure") {
    DataDirWithUser d;
    {
        // Room for one batch of 200 UIDs, not two.
        imap::store::SqliteMailStore mail(imap::store::DataDir(d.data).user_options("alice"));
        mail.database()
            .prepare("UPDATE mailboxes SET uidnext = ?1 WHERE name = 'INBOX'")
            .bind(1, std::int64_t{imap::store::limits::kMaxUid} - 300)
            .run();
    }
    const fs::path mbox = d.dir.path / "big.mbox";
    std::string text;
    for (int i = 0; i < 1000; ++i)
        text += "From a Sat Jan  3 01:05:34 1996\nSubject: m" + std::to_string(i) + "\n\nbody\n\n";
    write_file(mbox, text);
    Run result = run({"import", "alice", "mbox", mbox.string(), "--data-dir", d.data_arg});
    CHECK(result.code == 73);  // EX_CANTCREAT: OverLimit
    CHECK(result.out.empty());
    CHECK(result.err ==
          "imapd import: no UIDs left in this mailbox (after 200 messages into INBOX)\n");
    const std::vector<Stored> inbox = stored(d.data, "INBOX");
    REQUIRE(inbox.size() == 200);
    CHECK(inbox.front().bytes == "Subject: m0\r\n\r\nbody\r\n");
    CHECK(inbox.back().bytes == "Subject: m199\r\n\r\nbody\r\n");
}

// An import reads a tree its owner may control (a user's uploaded Maildir or
// mbox folder). A symbolic link in it must not make imapd read a file the
// user could not (the CVE-2021-40525 path traversal class), nor loop: every
// link is skipped with a warning (exit 65), files and directories alike.
TEST_CASE("import never follows a symbolic link in a Maildir (CVE-2021-40525 class)") {
    DataDirWithUser d;
    const fs::path secret = d.dir.path / "secret";
    write_file(secret, "Subject: secret\n\nroot only\n");
    write_file(d.dir.path / "secret-keywords", "0 Stolen\n");
    const fs::path elsewhere = d.dir.path / "elsewhere";
    write_file(elsewhere / "cur" / "9.x:2,S", "Subject: elsewhere\n\n", 1000000009);

    const fs::path m = d.dir.path / "Maildir";
    write_file(m / "cur" / "1.a:2,Sa", "Subject: real\n\n", 1000000001);
    fs::create_symlink(secret, m / "cur" / "2.b:2,S");
    fs::create_directories(m / "new");
    fs::create_symlink(secret, m / "new" / "3.c");
    fs::create_symlink(d.dir.path / "secret-keywords", m / "dovecot-keywords");
    fs::create_symlink(elsewhere, m / ".Stolen");
    write_file(m / ".Sub" / "new" / "4.d", "Subject: sub\n\n", 1000000004);
    fs::create_symlink(elsewhere / "cur", m / ".Sub" / "cur");
    fs::create_symlink(m, m / ".Loop");

    Run result = run({"import", "alice", "maildir", m.string(), "--data-dir", d.data_arg});
    CHECK(result.code == 65);
    CHECK(result.out ==
          "imapd: imported 1 message into INBOX\n"
          "imapd: imported 1 message into Sub\n");
    for (const fs::path& link : {m / "cur" / "2.b:2,S", m / "new" / "3.c", m / "dovecot-keywords",
                                 m / ".Stolen", m / ".Sub" / "cur", m / ".Loop"}) {
        CHECK_THAT(result.err, Catch::Matchers::Contains("imapd import: skipped " + link.string() +
                                                         ": a symbolic link (not followed)\n"));
    }
    CHECK(mailbox_names(d.data) == with_defaults({"INBOX", "Sub"}));
    const std::vector<Stored> inbox = stored(d.data, "INBOX");
    REQUIRE(inbox.size() == 1);
    CHECK(inbox[0].bytes == "Subject: real\r\n\r\n");
    CHECK(inbox[0].keywords.empty());  // "a" named by the linked dovecot-keywords only
    REQUIRE(stored(d.data, "Sub").size() == 1);
    CHECK(stored(d.data, "Sub")[0].bytes == "Subject: sub\r\n\r\n");
}

TEST_CASE("import never follows a symbolic link in an mbox tree, and a loop ends at once") {
    DataDirWithUser d;
    const fs::path outside = d.dir.path / "outside";
    write_file(outside / "private", "From root Sat Jan  3 01:05:34 1996\nSubject: private\n\n");
    const fs::path dir = d.dir.path / "mail";
    write_file(dir / "Lists", "From a Sat Jan  3 01:05:34 1996\nSubject: l\n\n");
    fs::create_symlink(outside / "private", dir / "Stolen");
    fs::create_symlink(outside, dir / "Other.sbd");
    fs::create_symlink(".", dir / "loop");
    fs::create_symlink(dir / "missing", dir / "dangling");

    const auto started = std::chrono::steady_clock::now();
    Run tree = run({"import", "alice", "mbox", dir.string(), "--data-dir", d.data_arg});
    CHECK(std::chrono::steady_clock::now() - started < imap::test::kHostileTimeBound);
    CHECK(tree.code == 65);
    CHECK(tree.out == "imapd: imported 1 message into Lists\n");
    CHECK(tree.err == "imapd import: skipped " + (dir / "Other.sbd").string() +
                          ": a symbolic link (not followed)\n"
                          "imapd import: skipped " +
                          (dir / "Stolen").string() +
                          ": a symbolic link (not followed)\n"
                          "imapd import: skipped " +
                          (dir / "dangling").string() +
                          ": a symbolic link (not followed)\n"
                          "imapd import: skipped " +
                          (dir / "loop").string() + ": a symbolic link (not followed)\n");
    CHECK(mailbox_names(d.data) == with_defaults({"INBOX", "Lists"}));

    // PATH itself is not followed either: the administrator names the target.
    const fs::path link = d.dir.path / "link.mbox";
    fs::create_symlink(outside / "private", link);
    Run linked = run({"import", "alice", "mbox", link.string(), "--data-dir", d.data_arg});
    CHECK(linked.code == 66);
    CHECK(linked.err == "imapd import: " + link.string() +
                            " is a symbolic link (not followed; give the path it points to)\n");
    fs::create_symlink(dir, d.dir.path / "link-dir");
    CHECK(run({"import", "alice", "maildir", (d.dir.path / "link-dir").string(), "--data-dir",
               d.data_arg})
              .code == 66);
    CHECK(stored(d.data, "INBOX").empty());
}

TEST_CASE("import bounds the depth of an mbox tree by the mailbox depth limit") {
    DataDirWithUser d;
    const fs::path dir = d.dir.path / "mail";
    // Mailbox names have at most store::limits::kMaxMailboxDepth levels: the
    // file at that depth is imported, a directory below it is not entered.
    fs::path deepest = dir;
    for (std::size_t level = 1; level < imap::store::limits::kMaxMailboxDepth; ++level)
        deepest /= "d";
    write_file(deepest / "last", "From a Sat Jan  3 01:05:34 1996\nSubject: deep\n\n");
    write_file(deepest / "d" / "too-deep", "From a Sat Jan  3 01:05:34 1996\nSubject: x\n\n");

    Run result = run({"import", "alice", "mbox", dir.string(), "--data-dir", d.data_arg});
    CHECK(result.code == 65);
    std::string name;
    for (std::size_t level = 1; level < imap::store::limits::kMaxMailboxDepth; ++level)
        name += "d/";
    name += "last";
    CHECK(result.out == "imapd: imported 1 message into " + name + "\n");
    CHECK(result.err == "imapd import: skipped " + (deepest / "d").string() +
                            ": deeper than 32 mailbox levels\n");
    CHECK(stored(d.data, name).size() == 1);
}

TEST_CASE("import skips FIFOs and other special files without waiting on them") {
    DataDirWithUser d;
    const fs::path m = d.dir.path / "Maildir";
    write_file(m / "cur" / "1.a:2,S", "Subject: real\n\n", 1000000001);
    REQUIRE(mkfifo((m / "cur" / "2.fifo:2,S").c_str(), 0600) == 0);
    REQUIRE(mkfifo((m / "dovecot-keywords").c_str(), 0600) == 0);
    const fs::path dir = d.dir.path / "mail";
    write_file(dir / "Lists", "From a Sat Jan  3 01:05:34 1996\nSubject: l\n\n");
    REQUIRE(mkfifo((dir / "pipe").c_str(), 0600) == 0);

    const auto started = std::chrono::steady_clock::now();
    Run maildir = run({"import", "alice", "maildir", m.string(), "--data-dir", d.data_arg});
    Run tree = run({"import", "alice", "mbox", dir.string(), "--data-dir", d.data_arg});
    CHECK(std::chrono::steady_clock::now() - started < imap::test::kHostileTimeBound);
    CHECK(maildir.code == 0);
    CHECK(maildir.out == "imapd: imported 1 message into INBOX\n");
    CHECK(tree.code == 0);
    CHECK(tree.out == "imapd: imported 1 message into Lists\n");
    CHECK(stored(d.data, "INBOX").size() == 1);
}
