// store::ExternalChangeWatcher: a commit by another process (`imapd
// deliver`) to a user's SQLite database is reported by user name, so the
// server can wake that user's idling sessions (RFC 2177); and the file
// name mapping it relies on (DataDir::user_from_file_name).
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

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

TEST_CASE("another process's commit is reported by user name", "[store][watcher]") {
    imap::test::UniqueTempDir dir("imapd-watcher");
    const DataDir data(dir.path);
    std::mutex mutex;
    std::condition_variable reported;
    std::set<std::string> users;
    // Made before the watcher starts: its creation is not what is reported.
    SqliteMailStore bob(data.user_options("bob smith"));
    ExternalChangeWatcher watcher(data, [&](const std::string& user) {
        const std::lock_guard lock(mutex);
        users.insert(user);
        reported.notify_all();
    });
    // `imapd deliver` appends through a connection of its own.
    bob.append(bob.open_mailbox("INBOX").id, test::request(test::message("new")));
    std::unique_lock lock(mutex);
    // A bound, not a timing assertion: the report comes after kSettle.
    CHECK(reported.wait_for(lock, std::chrono::seconds(10), [&] { return !users.empty(); }));
    CHECK(users == std::set<std::string>{"bob smith"});
}
