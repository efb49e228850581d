// WorkPool: a few threads for CPU-bound jobs that must not run on an event
// loop (password hashing: yescrypt costs 30-50 ms, and one loop serves every
// client). Bounded twice: `threads` jobs run at once, at most `max_waiting`
// more wait; try_submit() refuses the next one rather than queue without
// end, so a flood of login attempts costs a bounded amount of CPU and
// memory and the caller answers the excess at once (NO [UNAVAILABLE]).
//
// A job reports back through whatever it captured (LoopInbox::post for a
// result the loop needs). Jobs still waiting when the pool is destroyed are
// dropped, unrun, after the running ones are finished and the threads
// joined, so a dropped job's destructor may submit (refused) without
// deadlocking on the pool's lock.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace imap::server {

class WorkPool {
  public:
    using Job = std::function<void()>;

    // Threads are named `name` followed by their index (top -H, perf).
    WorkPool(std::size_t threads, std::size_t max_waiting, std::string name = "imapd-work");
    ~WorkPool();
    WorkPool(const WorkPool&) = delete;
    WorkPool& operator=(const WorkPool&) = delete;

    // Queues `job` for a worker thread. False, and `job` dropped, when
    // max_waiting jobs are waiting already. Any thread.
    bool try_submit(Job job);

    // Jobs queued and not yet started (for tests and logs).
    std::size_t waiting() const;

  private:
    void work();

    const std::size_t max_waiting_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Job> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

}  // namespace imap::server
