// store::ExternalChangeWatcher: a commit by another process (`imapd
// deliver`) to a user's SQLite database is reported by user name, so the
// server can wake that user's idling sessions (RFC 2177); and the file
// name mapping it relies on (DataDir::user_from_file_name).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "store/data_dir.h"
#include "store/external_change_watcher.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"
#include "support/temp_dir.h"

using namespace imap::store;

TEST_CASE("user_from_file_name inverts user_file_name and nothing else", "[store][watcher]") {
    for (const std::string user : {"alice", "bob smith", ".hidden", "a%b", "x@example.org"}) {
        INFO(user);
        CHECK(DataDir::user_from_file_name(DataDir::user_file_name(user)) == user);
    }
    // The SQLite companions other than the WAL, other spellings and other
    // files are no user's database.
    for (const std::string file : {"alice.db-shm", "alice.db-journal", "%61lice.db", "%4.db",
                                   "%zz.db", ".db", "x.txt", "alice", "%2Ehidden.db-x"}) {
        INFO(file);
        CHECK_FALSE(DataDir::user_from_file_name(file));
    }
}

namespace {

// Collects the watcher's reports; waits for them with a bound, never a
// timing assertion.
struct Reports {
    std::mutex mutex;
    std::condition_variable reported;
    std::set<std::string> users;

    ExternalChangeWatcher::Callback callback() {
        return [this](const std::string& user) {
            const std::lock_guard lock(mutex);
            users.insert(user);
            reported.notify_all();
        };
    }
    bool wait_any(std::chrono::milliseconds bound) {
        std::unique_lock lock(mutex);
        return reported.wait_for(lock, bound, [&] { return !users.empty(); });
    }
};

}  // namespace

TEST_CASE("another process's commit is reported by user name", "[store][watcher]") {
    imap::test::UniqueTempDir dir("imapd-watcher");
    const DataDir data(dir.path);
    // Made before the watcher starts: its creation is not what is reported.
    SqliteMailStore(data.user_options("bob smith"));
    Reports reports;
    ExternalChangeWatcher watcher(data, reports.callback());
    {
        // `imapd deliver`: a connection of its own that appends, then closes.
        SqliteMailStore bob(data.user_options("bob smith"));
        bob.append(bob.open_mailbox("INBOX").id, test::request(test::message("new")));
    }
    // A bound, not a timing assertion: the report comes after kSettle.
    CHECK(reports.wait_any(std::chrono::seconds(10)));
    const std::lock_guard lock(reports.mutex);
    CHECK(reports.users == std::set<std::string>{"bob smith"});
}

TEST_CASE("commits through a connection that stays open wake nothing", "[store][watcher]") {
    // The server's own connections stay open; their commits reach the
    // sessions through the change feed, and must not also wake the watcher's
    // thread on every page written (docs/architecture.md "Other processes'
    // changes").
    imap::test::UniqueTempDir dir("imapd-watcher");
    const DataDir data(dir.path);
    SqliteMailStore alice(data.user_options("alice"));
    const auto inbox = alice.open_mailbox("INBOX").id;
    Reports reports;
    ExternalChangeWatcher watcher(data, reports.callback());
    for (int i = 0; i < 20; ++i)
        alice.append(inbox, test::request(test::message("mine " + std::to_string(i))));
    // Several times kSettle: a report would have come by then.
    CHECK_FALSE(reports.wait_any(ExternalChangeWatcher::kSettle * 5));
}

TEST_CASE("a steady stream of closes does not put the report off", "[store][watcher]") {
    // Another process opening and closing the database every 20 ms (a
    // monitoring script, a client of `imapd deliver` in a loop) must not
    // keep the report back until it stops: it comes kSettle after the first
    // close, while the stream still runs.
    imap::test::UniqueTempDir dir("imapd-watcher");
    const DataDir data(dir.path);
    SqliteMailStore(data.user_options("carol"));
    std::atomic<bool> streaming{true};
    std::atomic<bool> reported_while_streaming{false};
    Reports reports;
    ExternalChangeWatcher watcher(data, [&](const std::string& user) {
        if (streaming) reported_while_streaming = true;
        reports.callback()(user);
    });
    const auto stream_end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (std::chrono::steady_clock::now() < stream_end && !reported_while_streaming) {
        SqliteMailStore carol(data.user_options("carol"));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    streaming = false;
    CHECK(reported_while_streaming);
}
