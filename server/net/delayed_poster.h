// DelayedPoster: runs closures after a delay on a thread of its own, for
// work that should wait a little to be done in bulk (the search index's
// batches, docs/storage.md "The search index"). The closure itself should
// only hand work elsewhere (post to a user's strand): it runs on the one
// timer thread. Closures not yet due when the poster is destroyed are
// dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace imap::server {

class DelayedPoster {
  public:
    DelayedPoster();
    ~DelayedPoster();
    DelayedPoster(const DelayedPoster&) = delete;
    DelayedPoster& operator=(const DelayedPoster&) = delete;

    // Any thread.
    void post_after(std::chrono::milliseconds delay, std::function<void()> task);

  private:
    using Clock = std::chrono::steady_clock;
    void run();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::multimap<Clock::time_point, std::function<void()>> due_;
    bool stopping_ = false;
    std::thread thread_;  // last: started once the rest exists
};

}  // namespace imap::server
