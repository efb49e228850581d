// Online backup and restore (store/backup.h, docs/storage.md "Backup and
// restore"): a copy taken while another connection writes is one commit's
// state and a single checked file; a restore raises UIDVALIDITY where the
// live mailbox moved on (RFC 3501 2.3.1.1: UIDs that do not persist need a
// greater UIDVALIDITY); the data directory's lock keeps a restore away from
// a running server.
#include "store/backup.h"

#include <sqlite3.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <thread>

#include "store/errors.h"
#include "store/sqlite_mail_store.h"
#include "support/temp_dir.h"

using namespace imap;
using namespace imap::store;

namespace {

OpenOptions file_options(const std::filesystem::path& path) {
    OpenOptions options;
    options.path = path.string();
    return options;
}

void append(MailStore& store, const std::string& mailbox, int n) {
    const std::string raw = "Subject: message " + std::to_string(n) + "\r\n\r\nbody " +
                            std::string(static_cast<std::size_t>(n % 7) * 500, 'x') + "\r\n";
    AppendRequest request;
    request.message = raw;
    store.append(store.open_mailbox(mailbox).id, request);
}

// One integer from `sql` on the database file `path`, read on its own.
std::int64_t query(const std::filesystem::path& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
    const std::int64_t value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close_v2(db);
    return value;
}

}  // namespace

TEST_CASE("backup: a copy taken while another connection writes is one commit's state",
          "[store][backup]") {
    test::UniqueTempDir dir("imapd-backup");
    const auto live = dir.path / "u.db";
    SqliteMailStore writer(file_options(live));
    for (int n = 0; n < 20; ++n)
        append(writer, "INBOX", n);

    std::atomic<bool> stop{false};
    std::atomic<int> written{20};
    std::thread load([&] {
        SqliteMailStore other(file_options(live));
        while (!stop.load())
            append(other, "INBOX", written.fetch_add(1));
    });
    const auto copy = dir.path / "backup" / "u.db";
    std::filesystem::create_directories(copy.parent_path());
    for (int round = 0; round < 5; ++round) {
        backup_database(live, copy);
        // Consistent: the mailbox row and its messages are of one commit
        // (no expunges here, so UIDNEXT - 1 messages), and the file checks.
        const std::int64_t messages = query(copy, "SELECT count(*) FROM messages");
        CHECK(messages >= 20);
        CHECK(query(copy, "SELECT uidnext - 1 FROM mailboxes WHERE name = 'INBOX'") == messages);
        CHECK(query(copy,
                    "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> "
                    "'ok'") == 0);
    }
    stop = true;
    load.join();
    // One self-contained file: no log beside it, no temporary left.
    CHECK_FALSE(std::filesystem::exists(copy.string() + "-wal"));
    std::size_t files = 0;
    for ([[maybe_unused]] const auto& entry :
         std::filesystem::directory_iterator(copy.parent_path()))
        ++files;
    CHECK(files == 1);
    CHECK_THROWS_AS(backup_database(dir.path / "missing.db", copy), StoreError);
}

TEST_CASE("restore: mailboxes that moved on since the backup get a greater UIDVALIDITY",
          "[store][backup]") {
    test::UniqueTempDir dir("imapd-restore");
    const auto live = dir.path / "u.db";
    const auto copy = dir.path / "copy.db";
    std::uint32_t inbox_validity = 0, archive_validity = 0;
    {
        SqliteMailStore store(file_options(live));
        store.create_mailbox("Archive");
        store.create_mailbox("Lists");
        for (int n = 0; n < 5; ++n)
            append(store, "INBOX", n);
        append(store, "Archive", 99);
        inbox_validity = store.open_mailbox("INBOX").uidvalidity;
        archive_validity = store.open_mailbox("Archive").uidvalidity;
        backup_database(live, copy);
        // After the backup: INBOX gets more mail (UIDs 6, 7 the restore
        // takes away, then would hand out again), Archive and Lists do not.
        append(store, "INBOX", 5);
        append(store, "INBOX", 6);
    }
    const std::vector<RestoredMailbox> restored = restore_database(copy, live);
    REQUIRE(restored.size() == 3);
    for (const RestoredMailbox& mailbox : restored) {
        INFO(mailbox.name);
        if (mailbox.name == "INBOX") {
            CHECK(mailbox.uidvalidity_changed);
            CHECK(mailbox.uidvalidity > inbox_validity);
        } else {
            CHECK_FALSE(mailbox.uidvalidity_changed);
        }
    }
    SqliteMailStore store(file_options(live));
    const MailboxInfo inbox = store.open_mailbox("INBOX");
    CHECK(inbox.uidvalidity > inbox_validity);
    CHECK(inbox.uidnext == 6);  // the backup's state
    CHECK(store.open_mailbox("Archive").uidvalidity == archive_validity);
    CHECK(query(copy, "SELECT count(*) FROM messages") == 6);
    // A damaged backup is refused before anything changes.
    const auto broken = dir.path / "broken.db";
    {
        std::FILE* f = std::fopen(broken.c_str(), "wb");
        std::fputs("not a database at all, but long enough to be read as one........", f);
        std::fclose(f);
    }
    CHECK_THROWS_AS(restore_database(broken, live), StoreError);
    CHECK(store.open_mailbox("INBOX").uidnext == 6);
}

TEST_CASE("restore: compressed bodies come back whole and the freed pages are reclaimed",
          "[store][backup][compression]") {
    test::UniqueTempDir dir("imapd-restore-compact");
    const auto live = dir.path / "u.db";
    const auto copy = dir.path / "copy.db";
    std::string kept;
    {
        SqliteMailStore store(file_options(live));
        const MailboxId inbox = store.open_mailbox("INBOX").id;
        for (int n = 0; n < 200; ++n) {
            std::string raw = "Subject: big " + std::to_string(n) + "\r\n\r\n";
            for (int line = 0; line < 2000; ++line)
                raw += std::to_string(n * 7919 + line * 104729) + " words of mail\r\n";
            AppendRequest request;
            request.message = raw;
            store.append(inbox, request);
            if (n == 0) kept = raw;
        }
        // Everything but the first message goes: its pages are free pages.
        store.store_flags(inbox, UidSet{{2, 200}}, FlagOp::Add, Flags{flag::kDeleted, {}});
        store.expunge(inbox);
        store.collect_garbage();
        store.database().exec("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    const auto live_size = std::filesystem::file_size(live);
    backup_database(live, copy);
    restore_database(copy, live);
    // VACUUM on restore: the file holds what is left, not its old size.
    CHECK(std::filesystem::file_size(live) * 4 < live_size);
    CHECK(query(live, "PRAGMA freelist_count") == 0);
    SqliteMailStore store(file_options(live));
    const auto rows = store.fetch(store.open_mailbox("INBOX").id, UidSet{{1, 1}});
    REQUIRE(rows.size() == 1);
    CHECK(store.read_body(rows[0].body_id, 0, limits::kMaxMessageSize) == kept);
}

TEST_CASE("the data directory lock: a restore cannot start while a server holds it",
          "[store][backup]") {
    test::UniqueTempDir dir("imapd-lock");
    {
        const DataDirLock serving = DataDirLock::shared(dir.path);
        const DataDirLock another_server = DataDirLock::shared(dir.path);
        CHECK_FALSE(DataDirLock::try_exclusive(dir.path).has_value());
    }
    std::optional<DataDirLock> restoring = DataDirLock::try_exclusive(dir.path);
    CHECK(restoring.has_value());
    CHECK_FALSE(DataDirLock::try_exclusive(dir.path).has_value());
}
