// GroupCommit: one user's waiters for durability (docs/storage.md "Group
// commit"). Sessions of the user hold back their output produced after a
// commit until the commit is durable; this runs the syncs that make it so,
// on a thread that may block (never the user's strand, never a loop), and
// tells each waiter when its serial is covered.
//
// One sync runs at a time per user; commits made while it runs wait for
// the next, which then covers all of them: ten sessions committing at once
// share one fdatasync instead of queueing ten behind each other.
//
// A checkpoint the log is due for runs as a job of its own, started after
// the waiters a sync covered were told, so their output never waits for a
// checkpoint's copy and database fsync, and later syncs go on beside it.
// At a million messages a checkpoint copies a few hundred pages scattered
// over the file (docs/storage.md "Group commit").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "store/commit_sync.h"

namespace imap::server {

class GroupCommit : public std::enable_shared_from_this<GroupCommit> {
  public:
    // Runs a job on a thread that may block; false when it could not be
    // queued (the job then runs on the caller's thread).
    using RunBlocking = std::function<bool(std::function<void()>)>;
    // Called once: true when the serial is durable, false when the sync
    // failed (the output that waited must never be sent).
    using Ready = std::function<void(bool durable)>;

    GroupCommit(std::shared_ptr<store::CommitSync> sync, RunBlocking run_blocking);

    const std::shared_ptr<store::CommitSync>& sync() const { return sync_; }
    // True once a sync failed: nothing committed after it is ever reported
    // durable.
    bool failed() const;

    // Any thread. True when `serial` is durable already (`ready` is then
    // not kept). Otherwise `ready` runs later, on the syncing thread, and
    // a sync is started unless one is running.
    bool when_durable(std::uint64_t serial, Ready ready);

  private:
    void run_syncs();
    // Starts a checkpoint job when the log is due for one and none runs.
    void start_checkpoint();

    const std::shared_ptr<store::CommitSync> sync_;
    const RunBlocking run_blocking_;
    mutable std::mutex mutex_;
    std::multimap<std::uint64_t, Ready> waiters_;  // by serial
    bool running_ = false;
    bool checkpointing_ = false;  // a checkpoint job is queued or running
    bool failed_ = false;
};

}  // namespace imap::server
