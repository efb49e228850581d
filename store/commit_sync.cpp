#include "store/commit_sync.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace imap::store {

CommitSync::CommitSync(std::string database_path)
    : database_path_(std::move(database_path)), log_path_(database_path_ + "-wal") {}

CommitSync::~CommitSync() {
    if (checkpointer_ != nullptr) sqlite3_close_v2(checkpointer_);
    if (fd_ >= 0) ::close(fd_);
}

bool CommitSync::checkpoint() {
    if (!checkpoint_due()) return false;
    std::unique_lock lock(checkpoint_mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return false;  // one is running: it copies what there is
    if (checkpointer_ == nullptr) {
        if (sqlite3_open_v2(database_path_.c_str(), &checkpointer_,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
            sqlite3_close_v2(checkpointer_);
            checkpointer_ = nullptr;
            return false;  // the next sync tries again; the log only grows meanwhile
        }
        // The checkpoint syncs the log before it copies and the database
        // after (synchronous=NORMAL does both in WAL mode).
        sqlite3_exec(checkpointer_, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    }
    // PASSIVE: copies what no reader still needs, never waits for or
    // blocks the store's connection. The store's next write restarts the
    // log from its start once everything was copied.
    int log_frames = 0;
    int copied_frames = 0;
    // The log's frames the checkpoint syncs before copying may be more than
    // a concurrent sync() covered: syncing more than asked is harmless.
    if (sqlite3_wal_checkpoint_v2(checkpointer_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log_frames,
                                  &copied_frames) != SQLITE_OK) {
        return false;
    }
    checkpoints_.fetch_add(1, std::memory_order_acq_rel);
    // Everything copied: the store's next commit restarts the log (and
    // reports its new length). Until then the count must not ask for
    // another checkpoint, with nothing left to copy.
    if (copied_frames == log_frames) {
        std::uint64_t seen = static_cast<std::uint64_t>(log_frames);
        log_frames_.compare_exchange_strong(seen, 0, std::memory_order_acq_rel);
    }
    return true;
}

std::uint64_t CommitSync::sync() {
    std::lock_guard lock(sync_mutex_);
    // Read first: the commits counted now have all written their log frames.
    const std::uint64_t target = committed();
    if (target <= durable()) return durable();
    if (fd_ < 0) {
        // Our own descriptor of SQLite's log file: fdatasync flushes the
        // file (the inode), whichever descriptor wrote it. SQLite keeps the
        // file while its connection is open (the store holds one), and only
        // removes it after a checkpoint that it synced itself.
        fd_ = ::open(log_path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) {
            if (errno != ENOENT)
                throw std::system_error(errno, std::generic_category(), "open " + log_path_);
            // No log: everything is checkpointed into the database file,
            // which SQLite synced when it removed the log.
            durable_.store(target, std::memory_order_release);
            return target;
        }
    }
    if (::fdatasync(fd_) != 0) {
        // After a failed fdatasync the kernel may have dropped the dirty
        // pages: never report these commits durable.
        throw std::system_error(errno, std::generic_category(), "fdatasync " + log_path_);
    }
    std::uint64_t previous = durable();
    while (previous < target &&
           !durable_.compare_exchange_weak(previous, target, std::memory_order_acq_rel)) {
    }
    return durable();
}

}  // namespace imap::store
