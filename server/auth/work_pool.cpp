#include "server/auth/work_pool.h"

#include <utility>

#include "server/base/thread_name.h"

namespace imap::server {

WorkPool::WorkPool(std::size_t threads, std::size_t max_waiting, std::string name)
    : max_waiting_(max_waiting) {
    threads_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i)
        threads_.emplace_back([this, thread_name = name + std::to_string(i)] {
            name_this_thread(thread_name);
            work();
        });
}

WorkPool::~WorkPool() {
    std::deque<Job> dropped;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        dropped.swap(jobs_);
    }
    wake_.notify_all();
    for (std::thread& thread : threads_)
        thread.join();
    // Destroyed with the workers gone and the lock not held: a dropped job
    // may own the last reference to something whose destructor submits
    // here (refused: stopping_) or posts elsewhere (a strand's dropped turn
    // drops the strand's tasks, Strand::abandon).
    dropped.clear();
}

bool WorkPool::try_submit(Job job) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ || jobs_.size() >= max_waiting_) return false;
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

std::size_t WorkPool::waiting() const {
    std::lock_guard lock(mutex_);
    return jobs_.size();
}

void WorkPool::work() {
    for (;;) {
        Job job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (stopping_) return;
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

}  // namespace imap::server
