#include "store/backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <system_error>

#include "store/errors.h"
#include "store/sqlite.h"

namespace imap::store {
namespace {

namespace fs = std::filesystem;

struct CloseDatabase {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Handle = std::unique_ptr<sqlite3, CloseDatabase>;

[[noreturn]] void fail(const std::string& what, sqlite3* db = nullptr) {
    throw StoreError(StoreErrc::Corrupt,
                     what + (db != nullptr ? std::string(": ") + sqlite3_errmsg(db) : ""));
}

Handle open(const fs::path& path, int flags) {
    configure_sqlite();
    sqlite3* raw = nullptr;
    const int code = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    Handle db(raw);
    if (code != SQLITE_OK) fail("cannot open " + path.string(), raw);
    // The server may hold a write lock for a commit: wait, as it does.
    sqlite3_busy_timeout(raw, 5000);
    return db;
}

void exec(sqlite3* db, const std::string& sql, const std::string& what) {
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(what, db);
}

// "ok", or the first problem integrity_check/quick_check reports.
std::string check(sqlite3* db, const char* pragma) {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, pragma, -1, &statement, nullptr) != SQLITE_OK) {
        return sqlite3_errmsg(db);
    }
    std::string result = "no answer";
    if (sqlite3_step(statement) == SQLITE_ROW) {
        const auto* text = sqlite3_column_text(statement, 0);
        result = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(statement);
    return result;
}

void sync_path(const fs::path& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const int error = errno;
        if (fd >= 0) ::close(fd);
        fail("cannot sync " + path.string() + ": " + std::strerror(error));
    }
    ::close(fd);
}

// The copy in one step (-1: every page), so it is one read transaction of
// the source: a single commit's state. Then checked and synced.
void copy_into(const fs::path& source, const fs::path& target) {
    Handle from = open(source, SQLITE_OPEN_READWRITE);
    std::error_code ignored;
    fs::remove(target, ignored);
    Handle to = open(target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3_backup* copy = sqlite3_backup_init(to.get(), "main", from.get(), "main");
    if (copy == nullptr) fail("cannot start the copy of " + source.string(), to.get());
    const int step = sqlite3_backup_step(copy, -1);
    const int finish = sqlite3_backup_finish(copy);
    if (step != SQLITE_DONE || finish != SQLITE_OK) {
        fail("copying " + source.string() + " failed", to.get());
    }
    // One self-contained file: its log checkpointed into it and removed.
    exec(to.get(), "PRAGMA journal_mode=DELETE", "finishing " + target.string());
    const std::string verdict = check(to.get(), "PRAGMA quick_check");
    if (verdict != "ok") fail("the copy " + target.string() + " fails its check: " + verdict);
    to.reset();
    sync_path(target, O_RDONLY);
}

// The temporary name beside `path`: same directory, so rename() is atomic.
fs::path temporary_beside(const fs::path& path) {
    // Appended, not "." + name: g++ 12's false -Wrestrict (protocol/parser.cpp).
    std::string name = ".";
    name += path.filename().string();
    name += ".tmp-" + std::to_string(static_cast<long>(::getpid()));
    return path.parent_path() / name;
}

void rename_into_place(const fs::path& temporary, const fs::path& path) {
    std::error_code error;
    fs::rename(temporary, path, error);
    if (error)
        fail("cannot move " + temporary.string() + " to " + path.string() + ": " + error.message());
    sync_path(path.parent_path().empty() ? fs::path(".") : path.parent_path(),
              O_RDONLY | O_DIRECTORY);
}

struct MailboxState {
    std::int64_t uidvalidity = 0;
    std::int64_t uidnext = 0;
    std::int64_t highestmodseq = 0;
};

std::map<std::string, MailboxState> mailbox_states(sqlite3* db) {
    std::map<std::string, MailboxState> states;
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT name, uidvalidity, uidnext, highestmodseq FROM mailboxes",
                           -1, &statement, nullptr) != SQLITE_OK) {
        fail("not a user database (no mailboxes)", db);
    }
    while (sqlite3_step(statement) == SQLITE_ROW) {
        const auto* name = sqlite3_column_text(statement, 0);
        states[name != nullptr ? reinterpret_cast<const char*>(name) : ""] =
            MailboxState{sqlite3_column_int64(statement, 1), sqlite3_column_int64(statement, 2),
                         sqlite3_column_int64(statement, 3)};
    }
    sqlite3_finalize(statement);
    return states;
}

}  // namespace

namespace {

using Place = void (*)(const fs::path& temporary, const fs::path& destination);

// Copies `source` into a temporary file beside `destination`, lets `adjust`
// (if any) change the copy, then `place`s it; on any failure the temporary
// goes and nothing is placed.
void copy_then_place(const fs::path& source, const fs::path& destination,
                     const std::function<void(const fs::path& copy)>& adjust, Place place) {
    const fs::path temporary = temporary_beside(destination);
    try {
        copy_into(source, temporary);
        if (adjust) adjust(temporary);
        place(temporary, destination);
    } catch (...) {
        std::error_code ignored;
        fs::remove(temporary, ignored);
        throw;
    }
}

void check_backup(const fs::path& backup) {
    std::error_code error;
    if (!fs::is_regular_file(backup, error)) {
        throw StoreError(StoreErrc::NotFound, "no backup " + backup.string());
    }
    Handle checked = open(backup, SQLITE_OPEN_READONLY);
    const std::string verdict = check(checked.get(), "PRAGMA integrity_check");
    if (verdict != "ok") fail("the backup " + backup.string() + " is damaged: " + verdict);
}

// The old log must not be applied to the new file: gone first. (A crash
// between the two leaves the old file without its log; running the restore
// again puts the backup in place.)
void replace_live(const fs::path& temporary, const fs::path& live) {
    std::error_code error;
    fs::remove(fs::path(live.string() + "-wal"), error);
    fs::remove(fs::path(live.string() + "-shm"), error);
    rename_into_place(temporary, live);
}

// Raises UIDVALIDITY in the copy wherever its mailbox differs from the live
// one of the same name (header comment); what each mailbox got.
std::vector<RestoredMailbox> raise_changed_uidvalidities(
    const fs::path& copy_path, const std::map<std::string, MailboxState>& live_states) {
    std::vector<RestoredMailbox> restored;
    Handle copy = open(copy_path, SQLITE_OPEN_READWRITE);
    exec(copy.get(), "BEGIN IMMEDIATE", "restoring");
    for (const auto& [name, state] : mailbox_states(copy.get())) {
        RestoredMailbox mailbox{name, static_cast<std::uint32_t>(state.uidvalidity), false};
        const auto now = live_states.find(name);
        if (now != live_states.end() &&
            (now->second.uidvalidity != state.uidvalidity || now->second.uidnext != state.uidnext ||
             now->second.highestmodseq != state.highestmodseq)) {
            // RFC 3501 2.3.1.1: greater than any value a client saw.
            const std::int64_t raised = std::max(now->second.uidvalidity, state.uidvalidity) + 1;
            if (raised > 0xFFFFFFFFll) fail("UIDVALIDITY of " + name + " cannot be raised");
            sqlite3_stmt* update = nullptr;
            sqlite3_prepare_v2(copy.get(), "UPDATE mailboxes SET uidvalidity = ?2 WHERE name = ?1",
                               -1, &update, nullptr);
            sqlite3_bind_text(update, 1, name.c_str(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(update, 2, raised);
            const int code = sqlite3_step(update);
            sqlite3_finalize(update);
            if (code != SQLITE_DONE) fail("restoring " + name, copy.get());
            mailbox.uidvalidity = static_cast<std::uint32_t>(raised);
            mailbox.uidvalidity_changed = true;
        }
        restored.push_back(std::move(mailbox));
    }
    exec(copy.get(), "COMMIT", "restoring");
    // The restored file is rewritten compact: the pages freed since it was
    // made (expunged mail, bodies the v7 migration recompressed) go back to
    // the file system instead of staying in the free list (docs/storage.md
    // "Compressed bodies"). The copy is private until it is put in place.
    exec(copy.get(), "VACUUM", "compacting the restored copy");
    copy.reset();
    sync_path(copy_path, O_RDONLY);
    return restored;
}

}  // namespace

void backup_database(const fs::path& source, const fs::path& destination) {
    std::error_code error;
    if (!fs::is_regular_file(source, error)) {
        throw StoreError(StoreErrc::NotFound, "no database " + source.string());
    }
    copy_then_place(source, destination, {}, rename_into_place);
}

void restore_accounts(const fs::path& backup, const fs::path& live) {
    check_backup(backup);
    copy_then_place(backup, live, {}, replace_live);
}

std::vector<RestoredMailbox> restore_database(const fs::path& backup, const fs::path& live) {
    check_backup(backup);
    std::map<std::string, MailboxState> live_states;
    std::error_code error;
    if (fs::is_regular_file(live, error)) {
        Handle current = open(live, SQLITE_OPEN_READWRITE);
        live_states = mailbox_states(current.get());
    }
    std::vector<RestoredMailbox> restored;
    copy_then_place(
        backup, live,
        [&](const fs::path& copy) { restored = raise_changed_uidvalidities(copy, live_states); },
        replace_live);
    return restored;
}

DataDirLock DataDirLock::shared(const fs::path& root) {
    const fs::path path = root / "serve.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ::flock(fd, LOCK_SH) != 0) {
        const int error = errno;
        if (fd >= 0) ::close(fd);
        throw std::system_error(error, std::generic_category(), "lock " + path.string());
    }
    return DataDirLock(fd);
}

std::optional<DataDirLock> DataDirLock::try_exclusive(const fs::path& root) {
    const fs::path path = root / "serve.lock";
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "lock " + path.string());
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        ::close(fd);
        if (error == EWOULDBLOCK) return std::nullopt;
        throw std::system_error(error, std::generic_category(), "lock " + path.string());
    }
    return DataDirLock(fd);
}

DataDirLock::~DataDirLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace imap::store
