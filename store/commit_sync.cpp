#include "store/commit_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace imap::store {

CommitSync::CommitSync(std::string log_path) : log_path_(std::move(log_path)) {}

CommitSync::~CommitSync() {
    if (fd_ >= 0) ::close(fd_);
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
