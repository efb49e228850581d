#include "server/net/loop_inbox.h"

#include <utility>

namespace imap::server {

LoopInbox::LoopInbox(uv_loop_t* loop) {
    uv_async_init(loop, &async_, &LoopInbox::on_async);
    async_.data = this;
}

void LoopInbox::post(Task task) {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    tasks_.push_back(std::move(task));
    // Under the lock, so close() cannot close the handle in between.
    uv_async_send(&async_);
}

void LoopInbox::close() {
    std::vector<Task> dropped;
    {
        std::lock_guard lock(mutex_);
        if (closed_) return;
        closed_ = true;
        dropped.swap(tasks_);
    }
    // Destroyed outside the lock: a task may own the last reference to
    // something whose destructor posts (dropped, since closed_ is set).
    dropped.clear();
    uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

void LoopInbox::on_async(uv_async_t* handle) {
    auto* self = static_cast<LoopInbox*>(handle->data);
    std::vector<Task> tasks;
    {
        std::lock_guard lock(self->mutex_);
        tasks.swap(self->tasks_);
    }
    // uv_async_send coalesces: one call runs everything posted so far.
    for (Task& task : tasks)
        task();
}

}  // namespace imap::server
