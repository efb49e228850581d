#include "server/imap/group_commit.h"

#include <exception>
#include <utility>
#include <vector>

#include "server/base/log.h"
#include "server/base/metrics.h"

namespace imap::server {

GroupCommit::GroupCommit(std::shared_ptr<store::CommitSync> sync, RunBlocking run_blocking)
    : sync_(std::move(sync)), run_blocking_(std::move(run_blocking)) {}

bool GroupCommit::failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
}

bool GroupCommit::when_durable(std::uint64_t serial, Ready ready) {
    bool start = false;
    {
        std::unique_lock lock(mutex_);
        if (failed_) {
            lock.unlock();
            ready(false);
            return false;
        }
        if (serial <= sync_->durable()) return true;
        waiters_.emplace(serial, std::move(ready));
        if (!running_) running_ = start = true;
    }
    if (start) {
        auto self = shared_from_this();
        if (!run_blocking_ || !run_blocking_([self] { self->run_syncs(); })) run_syncs();
    }
    return false;
}

void GroupCommit::run_syncs() {
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (waiters_.empty()) {
                running_ = false;
                return;
            }
        }
        bool durable = true;
        std::uint64_t covered = 0;
        try {
            const auto started = std::chrono::steady_clock::now();
            covered = sync_->sync();
            metrics().store_sync_done(std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::steady_clock::now() - started));
        } catch (const std::exception& error) {
            log::error("sync_failed", {{"error", error.what()}});
            durable = false;
        }
        std::vector<Ready> ready;
        {
            std::lock_guard lock(mutex_);
            if (!durable) failed_ = true;
            auto end = durable ? waiters_.upper_bound(covered) : waiters_.end();
            for (auto it = waiters_.begin(); it != end; ++it)
                ready.push_back(std::move(it->second));
            waiters_.erase(waiters_.begin(), end);
            if (!durable) running_ = false;
        }
        for (Ready& r : ready)
            r(durable);
        if (!durable) return;
        start_checkpoint();
    }
}

void GroupCommit::start_checkpoint() {
    if (!sync_->checkpoint_due()) return;
    {
        std::lock_guard lock(mutex_);
        if (checkpointing_) return;
        checkpointing_ = true;
    }
    auto self = shared_from_this();
    auto job = [self] {
        try {
            self->sync_->checkpoint();
        } catch (const std::exception& error) {
            // Nothing waits for a checkpoint: the log only grows until the
            // next one.
            log::error("checkpoint_failed", {{"error", error.what()}});
        }
        std::lock_guard lock(self->mutex_);
        self->checkpointing_ = false;
    };
    if (!run_blocking_ || !run_blocking_(job)) job();
}

}  // namespace imap::server
