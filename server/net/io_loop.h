// IoLoop: one libuv loop and the connections it serves (docs/architecture.md
// "Threads"). The server runs `[server] threads` of them: the first on the
// thread that called Server::run() (it also holds the listeners, the
// signals and the users watcher), each other on a thread of its own. A
// connection lives on one loop from accept to close: its socket, timers,
// TLS and framing buffers are only touched there; its Session runs where its
// SessionHost says (this loop before login, the user's strand after).
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <thread>
#include <unordered_map>

#include "server/net/executor.h"
#include "server/net/loop_inbox.h"

namespace imap::server {

class Connection;
class LmtpConnection;
struct LmtpContext;
class Server;

class IoLoop {
  public:
    // On the main thread, before any thread runs.
    IoLoop(Server& server, std::size_t index);
    ~IoLoop();
    IoLoop(const IoLoop&) = delete;
    IoLoop& operator=(const IoLoop&) = delete;

    Server& server() { return server_; }
    std::size_t index() const { return index_; }
    uv_loop_t* loop() { return &loop_; }
    // This loop's thread as an executor (valid once the loop runs).
    const std::shared_ptr<Executor>& executor() const { return executor_; }

    // Any thread: runs `task` on this loop's thread.
    void post(std::function<void()> task) { inbox_->post(std::move(task)); }

    // Runs the loop on the calling thread until it stops (the first loop).
    void run();
    // Runs the loop on a new thread (the others); join() waits for it.
    void start_thread();
    void join();

    // ---- Loop thread ----
    // A new connection owned by this loop (freed from its last close callback
    // through connection_closed()).
    Connection& add_connection();
    void connection_closed(Connection* connection);
    template <typename F>
    void for_each_connection(F&& f) {
        for (auto& [raw, connection] : connections_)
            f(*connection);
    }
    std::size_t connection_count() const { return connections_.size(); }
    // LMTP clients (lmtp_connection.h), on the first loop only.
    LmtpConnection& add_lmtp_connection(LmtpContext& context, bool unix_socket);
    void lmtp_connection_closed(LmtpConnection* connection);
    std::size_t lmtp_connection_count() const { return lmtp_connections_.size(); }
    // Where every connection of this loop reads (Connection::on_alloc): a
    // read is consumed before the next one starts.
    std::span<char> read_buffer() { return {read_buffer_.get(), kReadBufferSize}; }
    static constexpr std::size_t kReadBufferSize = 64 * 1024;
    // SIGTERM's part on this loop: "* BYE Server shutting down" to every
    // connection, close each once flushed (at most kShutdownGrace); the loop
    // ends when the last is gone.
    void shutdown();

  private:
    static void on_deadline(uv_timer_t* timer);
    void make_executor();
    void finish_if_drained();

    Server& server_;
    std::size_t index_;
    uv_loop_t loop_{};
    std::unique_ptr<LoopInbox> inbox_;
    std::shared_ptr<Executor> executor_;
    uv_timer_t deadline_{};
    bool stopping_ = false;
    bool finished_ = false;
    std::thread thread_;
    std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
    std::unordered_map<LmtpConnection*, std::unique_ptr<LmtpConnection>> lmtp_connections_;
    std::unique_ptr<char[]> read_buffer_ = std::make_unique<char[]>(kReadBufferSize);
};

}  // namespace imap::server
