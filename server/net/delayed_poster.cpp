#include "server/net/delayed_poster.h"

#include <exception>
#include <utility>

#include "server/base/log.h"
#include "server/base/thread_name.h"

namespace imap::server {

DelayedPoster::DelayedPoster()
    : thread_([this] {
          name_this_thread("imapd-timer");
          run();
      }) {}

DelayedPoster::~DelayedPoster() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
}

void DelayedPoster::post_after(std::chrono::milliseconds delay, std::function<void()> task) {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        due_.emplace(Clock::now() + delay, std::move(task));
    }
    wake_.notify_one();
}

void DelayedPoster::run() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (due_.empty()) {
            wake_.wait(lock);
            continue;
        }
        const auto next = due_.begin()->first;
        if (Clock::now() < next) {
            wake_.wait_until(lock, next);
            continue;
        }
        std::function<void()> task = std::move(due_.begin()->second);
        due_.erase(due_.begin());
        lock.unlock();
        try {
            task();
        } catch (const std::exception& error) {
            log::error("delayed_task_failed", {{"error", error.what()}});
        }
        lock.lock();
    }
}

}  // namespace imap::server
