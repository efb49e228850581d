// Group commit (docs/storage.md "Group commit"): a store opened with
// OpenOptions::defer_sync commits without waiting for the disk, and
// CommitSync makes its commits durable afterwards, many at a time.
//
// The store's thread counts its write commits (committed(); every write
// transaction bumps the count after its COMMIT returned, so its bytes are
// in the write-ahead log file by then). Any other thread may call sync(): it
// reads the count, then fdatasync()s the log, so every commit counted
// before the call is on disk when it returns (durable()). Commits made
// while one sync runs are covered by the next: under load one fsync
// covers the commits of every session of the user since the last.
//
// The server holds back every byte a session produced after a commit until
// durable() has passed that commit's count (server/imap/group_commit.h),
// so nothing that depends on a commit (its tagged OK, another session's
// EXISTS, a FETCH of its flags) reaches a client before it is durable:
// the guarantee of synchronous=FULL, without one fsync per commit on the
// store's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace imap::store {

class CommitSync {
  public:
    // `log_path`: the file SQLite appends commits to (the database's -wal).
    explicit CommitSync(std::string log_path);
    ~CommitSync();
    CommitSync(const CommitSync&) = delete;
    CommitSync& operator=(const CommitSync&) = delete;

    // Any thread: the serial of the last write commit counted, and of the
    // last one known durable (durable() <= committed()).
    std::uint64_t committed() const { return committed_.load(std::memory_order_acquire); }
    std::uint64_t durable() const { return durable_.load(std::memory_order_acquire); }

    // The store's thread, after a COMMIT that wrote returned.
    void count_commit() { committed_.fetch_add(1, std::memory_order_acq_rel); }

    // Any thread, blocking (one fdatasync): every commit counted before the
    // call is durable when it returns. Returns durable(). Throws
    // std::system_error when the file cannot be synced: the commits it
    // should have covered must then never be acknowledged.
    std::uint64_t sync();

  private:
    const std::string log_path_;
    std::mutex sync_mutex_;  // one sync at a time; guards fd_
    int fd_ = -1;
    std::atomic<std::uint64_t> committed_{0};
    std::atomic<std::uint64_t> durable_{0};
};

}  // namespace imap::store
