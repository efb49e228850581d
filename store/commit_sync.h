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

struct sqlite3;

namespace imap::store {

//
// Checkpoints (copying the log into the database file) move here too: the
// store's connection runs with wal_autocheckpoint off, and checkpoint()
// runs a PASSIVE checkpoint on a connection of its own once the log holds
// kCheckpointFrames, so the checkpoint's writes and its two fsyncs never run
// on the user's strand either. It is separate from sync(), and may run
// beside it on another thread: the waiters a sync covered are told at once,
// not after a checkpoint's copy and database fsync (GroupCommit runs it as a
// job of its own once they were told).
class CommitSync {
  public:
    // SQLite's own default (wal_autocheckpoint): a checkpoint per 1,000
    // frames (pages; 4 MB with 4 KiB pages) bounds the log, and a
    // checkpoint is then worth its two fsyncs. Counted in frames the store
    // reports after each commit (note_log_frames), not by the log file's
    // size: after a checkpoint SQLite writes the log again from its start
    // and the file keeps its size, so a size test checkpointed at every
    // sync once the file had grown (a copy and a database fsync per APPEND).
    static constexpr std::uint64_t kCheckpointFrames = 1000;

    // `database_path`: the database file; SQLite appends commits to its
    // "-wal" file.
    explicit CommitSync(std::string database_path);
    ~CommitSync();
    CommitSync(const CommitSync&) = delete;
    CommitSync& operator=(const CommitSync&) = delete;

    // Any thread: the serial of the last write commit counted, and of the
    // last one known durable (durable() <= committed()).
    std::uint64_t committed() const { return committed_.load(std::memory_order_acquire); }
    std::uint64_t durable() const { return durable_.load(std::memory_order_acquire); }

    // The store's thread, after a COMMIT that wrote returned.
    void count_commit() { committed_.fetch_add(1, std::memory_order_acq_rel); }
    // The store's thread, after each commit (sqlite3_wal_hook): how many
    // frames the log holds now. Small again once a checkpoint let SQLite
    // restart the log.
    void note_log_frames(std::uint64_t frames) {
        log_frames_.store(frames, std::memory_order_release);
    }

    // Any thread, blocking (one fdatasync): every commit counted before the
    // call is durable when it returns. Returns durable(). Throws
    // std::system_error when the file cannot be synced: the commits it
    // should have covered must then never be acknowledged.
    std::uint64_t sync();

    // Any thread: the log holds kCheckpointFrames or more.
    bool checkpoint_due() const {
        return log_frames_.load(std::memory_order_acquire) >= kCheckpointFrames;
    }
    // Any thread, blocking (a copy and two fsyncs), at the same time as
    // sync() on another: a PASSIVE checkpoint when checkpoint_due(). A
    // checkpoint already running on another thread makes this one return
    // at once (that one copies what there is). False when none ran.
    bool checkpoint();

    // Checkpoints run so far (for tests).
    std::uint64_t checkpoints() const { return checkpoints_.load(std::memory_order_acquire); }

  private:
    const std::string database_path_;
    const std::string log_path_;
    std::mutex sync_mutex_;  // one sync at a time; guards fd_
    int fd_ = -1;
    std::mutex checkpoint_mutex_;      // one checkpoint at a time; guards checkpointer_
    sqlite3* checkpointer_ = nullptr;  // opened at the first checkpoint
    std::atomic<std::uint64_t> checkpoints_{0};
    std::atomic<std::uint64_t> log_frames_{0};
    std::atomic<std::uint64_t> committed_{0};
    std::atomic<std::uint64_t> durable_{0};
};

}  // namespace imap::store
