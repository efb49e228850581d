// Group commit (docs/storage.md "Group commit"): a store opened with
// OpenOptions::defer_sync commits without fsync, counts its write commits,
// and CommitSync makes them durable later; GroupCommit runs one sync at a
// time for all of a user's waiters and tells each when its serial is on
// disk (or that it never will be). The server side (output held in
// SessionHost until then) is proven end to end by the e2e GroupCommit test.
#include "server/imap/group_commit.h"

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "store/commit_sync.h"
#include "store/sqlite_mail_store.h"
#include "support/temp_dir.h"

using namespace imap;
using namespace imap::store;

namespace {

// A file store in `dir`, with or without group commit.
OpenOptions file_options(const test::UniqueTempDir& dir, bool defer_sync) {
    OpenOptions options;
    options.path = (dir.path / "u.db").string();
    options.defer_sync = defer_sync;
    return options;
}

std::int64_t synchronous_setting(SqliteMailStore& store) {
    auto q = store.database().prepare("PRAGMA synchronous");
    REQUIRE(q.step());
    return q.column_int(0);
}

void append_one(MailStore& store, int n) {
    const std::string raw = "Subject: m" + std::to_string(n) + "\r\n\r\nbody\r\n";
    AppendRequest request;
    request.message = raw;
    request.internal_date = 1700000000 + n;
    store.append(store.open_mailbox("INBOX").id, request);
}

// `count` messages of ~256 KB of random letters, from `seed`: bodies are
// stored compressed (docs/storage.md "Compressed bodies"), but letters from
// a 64-letter alphabet still take 6 bits each, so each message and its
// search text add ~96 pages of log; a dozen pass kCheckpointFrames.
void append_big(MailStore& store, int count, unsigned seed) {
    std::mt19937 random(seed);
    std::string filler;
    for (std::size_t i = 0; i < 256 * 1024; ++i)
        filler += (i % 76 == 75) ? '\n' : static_cast<char>('0' + random() % 64);
    for (int n = 0; n < count; ++n) {
        const std::string raw = "Subject: big " + std::to_string(n) + "\r\n\r\n" + filler + "\r\n";
        AppendRequest request;
        request.message = raw;
        store.append(store.open_mailbox("INBOX").id, request);
    }
}

// A RunBlocking that keeps the jobs, so the test decides when syncs run.
struct ManualRunner {
    std::vector<std::function<void()>> jobs;
    server::GroupCommit::RunBlocking runner() {
        return [this](std::function<void()> job) {
            jobs.push_back(std::move(job));
            return true;
        };
    }
    void run_all() {
        auto now = std::move(jobs);
        jobs.clear();
        for (auto& job : now)
            job();
    }
};

}  // namespace

TEST_CASE("Group commit: a deferred store counts write commits, and sync() makes them durable",
          "[store][group-commit]") {
    test::UniqueTempDir dir("imapd-gc");
    const OpenOptions options = file_options(dir, true);
    SqliteMailStore store(options);
    REQUIRE(store.commit_sync() != nullptr);
    // synchronous=NORMAL: the commit itself does not fsync the log.
    CHECK(synchronous_setting(store) == 1);

    const std::uint64_t before = store.commit_serial();
    store.status(store.open_mailbox("INBOX").id);  // a read commits nothing
    CHECK(store.commit_serial() == before);
    append_one(store, 1);
    const std::uint64_t after = store.commit_serial();
    CHECK(after > before);
    CHECK(store.commit_sync()->durable() < after);
    CHECK(store.commit_sync()->sync() == after);
    CHECK(store.commit_sync()->durable() == after);
    // Nothing new: a second sync reports the same serial.
    CHECK(store.commit_sync()->sync() == after);
}

TEST_CASE("Group commit: without defer_sync every commit is durable on return",
          "[store][group-commit]") {
    test::UniqueTempDir dir("imapd-gc");
    const OpenOptions options = file_options(dir, false);
    SqliteMailStore store(options);
    CHECK(store.commit_sync() == nullptr);
    CHECK(synchronous_setting(store) == 2);  // FULL
    append_one(store, 1);
    CHECK(store.commit_serial() == 0);

    // An in-memory store has nothing to sync, whatever it is asked.
    OpenOptions memory;
    memory.defer_sync = true;
    SqliteMailStore in_memory(memory);
    CHECK(in_memory.commit_sync() == nullptr);
}

TEST_CASE("Group commit: one sync covers every waiter, the ones that came while it was queued too",
          "[server][group-commit]") {
    test::UniqueTempDir dir("imapd-gc");
    const OpenOptions options = file_options(dir, true);
    SqliteMailStore store(options);
    ManualRunner runner;
    auto group = std::make_shared<server::GroupCommit>(store.commit_sync(), runner.runner());

    append_one(store, 1);
    const std::uint64_t first = store.commit_serial();
    std::vector<std::string> told;
    CHECK_FALSE(group->when_durable(first, [&](bool ok) { told.push_back(ok ? "a ok" : "a no"); }));
    append_one(store, 2);
    const std::uint64_t second = store.commit_serial();
    CHECK_FALSE(
        group->when_durable(second, [&](bool ok) { told.push_back(ok ? "b ok" : "b no"); }));
    // One sync queued for both, and nobody told before it ran.
    CHECK(runner.jobs.size() == 1);
    CHECK(told.empty());
    runner.run_all();
    CHECK(told == std::vector<std::string>{"a ok", "b ok"});
    CHECK(store.commit_sync()->durable() == second);
    // Durable already: answered at once, nothing queued.
    CHECK(group->when_durable(second, [&](bool) { told.push_back("late"); }));
    CHECK(runner.jobs.empty());
    CHECK(told.size() == 2);
}

TEST_CASE("Group commit: a failed sync never reports the commits durable",
          "[server][group-commit]") {
    // A log that cannot be opened (a path below a file): sync() throws.
    auto sync = std::make_shared<CommitSync>("/dev/null/nothing");
    sync->count_commit();
    ManualRunner runner;
    auto group = std::make_shared<server::GroupCommit>(sync, runner.runner());
    std::vector<bool> told;
    CHECK_FALSE(group->when_durable(1, [&](bool ok) { told.push_back(ok); }));
    runner.run_all();
    CHECK(told == std::vector<bool>{false});
    CHECK(group->failed());
    CHECK(sync->durable() == 0);
    // Every later waiter hears the same, at once.
    CHECK_FALSE(group->when_durable(1, [&](bool ok) { told.push_back(ok); }));
    CHECK(told == std::vector<bool>{false, false});
}

TEST_CASE(
    "Group commit: checkpoints run in checkpoint(), not on the store's connection nor in sync()",
    "[store][group-commit]") {
    test::UniqueTempDir dir("imapd-gc");
    const OpenOptions options = file_options(dir, true);
    SqliteMailStore store(options);
    {
        auto q = store.database().prepare("PRAGMA wal_autocheckpoint");
        REQUIRE(q.step());
        CHECK(q.column_int(0) == 0);
    }
    // Past kCheckpointFrames of log.
    append_big(store, 24, 24);
    CHECK(std::filesystem::file_size(options.path + "-wal") >=
          CommitSync::kCheckpointFrames * 4096);
    CHECK(store.commit_sync()->checkpoints() == 0);
    const std::uint64_t serial = store.commit_serial();
    CHECK(store.commit_sync()->checkpoint_due());
    // A sync only syncs: the waiters it covers are not held for a copy.
    CHECK(store.commit_sync()->sync() == serial);
    CHECK(store.commit_sync()->checkpoints() == 0);
    CHECK(store.commit_sync()->checkpoint());
    CHECK(store.commit_sync()->checkpoints() == 1);
    CHECK_FALSE(store.commit_sync()->checkpoint_due());
    // The log restarts from its start and its file keeps its size: small
    // commits after it need no checkpoint until the log holds
    // kCheckpointFrames again (a test of the file's size once checkpointed
    // at every sync: a copy and a database fsync per APPEND).
    for (int n = 0; n < 5; ++n) {
        const std::string raw = "Subject: small " + std::to_string(n) + "\r\n\r\nhello\r\n";
        AppendRequest small;
        small.message = raw;  // a view: the string must outlive the append
        store.append(store.open_mailbox("INBOX").id, small);
        // First: commit_serial() counts the commit that sync() must cover
        // (in one expression the order of the two calls is unspecified).
        const std::uint64_t counted = store.commit_serial();
        CHECK(store.commit_sync()->sync() == counted);
        CHECK_FALSE(store.commit_sync()->checkpoint_due());
        CHECK_FALSE(store.commit_sync()->checkpoint());
    }
    CHECK(std::filesystem::file_size(options.path + "-wal") >=
          CommitSync::kCheckpointFrames * 4096);
    CHECK(store.commit_sync()->checkpoints() == 1);
    // Copied into the database file: a connection that ignores the log
    // (immutable) sees every message.
    OpenOptions reader;
    reader.path = "file:" + options.path + "?immutable=1";
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(reader.path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                            nullptr) == SQLITE_OK);
    sqlite3_stmt* count = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, "SELECT count(*) FROM messages", -1, &count, nullptr) ==
            SQLITE_OK);
    REQUIRE(sqlite3_step(count) == SQLITE_ROW);
    CHECK(sqlite3_column_int(count, 0) == 24);  // at the checkpoint
    sqlite3_finalize(count);
    sqlite3_close_v2(db);
}

TEST_CASE(
    "Group commit: waiters are told before the checkpoint their sync made due, which is a job "
    "of its own",
    "[server][group-commit]") {
    test::UniqueTempDir dir("imapd-gc");
    const OpenOptions options = file_options(dir, true);
    SqliteMailStore store(options);
    ManualRunner runner;
    auto group = std::make_shared<server::GroupCommit>(store.commit_sync(), runner.runner());
    // Past kCheckpointFrames of log.
    append_big(store, 12, 11);
    REQUIRE(store.commit_sync()->checkpoint_due());
    std::vector<std::uint64_t> checkpoints_when_told;
    CHECK_FALSE(group->when_durable(store.commit_serial(), [&](bool ok) {
        CHECK(ok);
        checkpoints_when_told.push_back(store.commit_sync()->checkpoints());
    }));
    REQUIRE(runner.jobs.size() == 1);
    runner.run_all();  // the sync
    // Told with no checkpoint run yet; the checkpoint waits as its own job.
    CHECK(checkpoints_when_told == std::vector<std::uint64_t>{0});
    CHECK(store.commit_sync()->checkpoints() == 0);
    REQUIRE(runner.jobs.size() == 1);
    // A sync while that job waits starts no second checkpoint.
    append_one(store, 1);
    CHECK_FALSE(group->when_durable(store.commit_serial(), [&](bool ok) { CHECK(ok); }));
    CHECK(runner.jobs.size() == 2);
    runner.run_all();
    CHECK(store.commit_sync()->checkpoints() == 1);
    CHECK(runner.jobs.empty());
    CHECK_FALSE(store.commit_sync()->checkpoint_due());
}
