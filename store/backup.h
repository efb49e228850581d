// Online backup and restore of the data directory's databases
// (docs/storage.md "Backup and restore", docs/cli.md "imapd backup").
//
// A backup is SQLite's online backup API (sqlite3_backup_*) run in one
// step: it reads the source inside one read transaction, so the copy is
// the database as of one commit, while the server goes on writing (WAL:
// readers never block the writer). The copy is written to a temporary
// file beside the destination, checked (PRAGMA quick_check), synced, and
// renamed into place, so a destination file is either a whole copy or
// absent.
//
// A restore puts a backup copy in the place of a user's database. IMAP
// clients cache mail by UID, and RFC 3501 2.3.1.1 requires a larger
// UIDVALIDITY whenever UIDs of an earlier session do not persist, so
// every mailbox whose restored state differs from the live one (UIDNEXT,
// HIGHESTMODSEQ or UIDVALIDITY) gets a UIDVALIDITY above both: clients
// then forget that mailbox's cache and fetch it again, instead of trusting
// UIDs that now name other messages (RFC 7162 3.1.2.1 likewise needs
// HIGHESTMODSEQ never to go back within one UIDVALIDITY). The server must
// not have the user open meanwhile: the CLI takes the data directory's
// lock (DataDirLock) exclusively, which a running `imapd serve` holds
// shared.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace imap::store {

// Copies the SQLite database `source` to `destination` (a new file that
// replaces any old one), consistent as of one commit even while other
// connections write. Throws StoreError.
void backup_database(const std::filesystem::path& source, const std::filesystem::path& destination);

// What a restore changed in one mailbox.
struct RestoredMailbox {
    std::string name;
    std::uint32_t uidvalidity = 0;     // in the restored database
    bool uidvalidity_changed = false;  // raised above the live and the backup's
};

// Replaces the user database `live` (which may not exist) with the backup
// copy `backup`: checked first (integrity_check), copied beside `live`,
// UIDVALIDITY raised where needed (above), then renamed into place after
// removing `live`'s -wal and -shm. The backup file is not changed. Only
// with no other connection to `live` open. Throws StoreError.
std::vector<RestoredMailbox> restore_database(const std::filesystem::path& backup,
                                              const std::filesystem::path& live);

// Replaces the accounts database `live` with `backup` (checked, copied,
// the old -wal/-shm removed, renamed into place). Throws StoreError.
void restore_accounts(const std::filesystem::path& backup, const std::filesystem::path& live);

// The data directory's lock (<root>/serve.lock, flock(2)): `imapd serve`
// holds it shared for its whole run, `imapd restore` exclusively. Released
// when the object goes (or the process dies).
class DataDirLock {
  public:
    // Blocks until held (never long: only restore holds it exclusively).
    static DataDirLock shared(const std::filesystem::path& root);
    // Nothing when a server (or another restore) holds it.
    static std::optional<DataDirLock> try_exclusive(const std::filesystem::path& root);

    DataDirLock(DataDirLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    DataDirLock& operator=(DataDirLock&&) = delete;
    DataDirLock(const DataDirLock&) = delete;
    ~DataDirLock();

  private:
    explicit DataDirLock(int fd) : fd_(fd) {}
    int fd_;
};

}  // namespace imap::store
