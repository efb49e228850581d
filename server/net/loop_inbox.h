// LoopInbox: closures posted from any thread (a WorkPool job's result), run
// on the thread of one libuv loop, in the order posted, from a uv_async
// handle. After close() (on the loop thread, before the loop ends) posts
// are dropped, so a late worker never touches a closed handle.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

namespace imap::server {

class LoopInbox {
  public:
    using Task = std::function<void()>;

    // Registers the async handle on `loop`; the loop must be running (or
    // run) on the thread that calls close().
    explicit LoopInbox(uv_loop_t* loop);
    LoopInbox(const LoopInbox&) = delete;
    LoopInbox& operator=(const LoopInbox&) = delete;
    // The handle must have been closed (close()) and the loop run since.
    ~LoopInbox() = default;

    // Any thread. Dropped after close().
    void post(Task task);

    // Loop thread: stops taking posts and closes the handle; tasks not run
    // yet are dropped.
    void close();

  private:
    static void on_async(uv_async_t* handle);

    uv_async_t async_{};
    std::mutex mutex_;
    std::vector<Task> tasks_;
    bool closed_ = false;
};

}  // namespace imap::server
