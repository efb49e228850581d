#include "server/net/io_loop.h"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "server/base/log.h"
#include "server/base/thread_name.h"
#include "server/net/connection.h"
#include "server/net/lmtp_connection.h"
#include "server/net/server.h"

namespace imap::server {

IoLoop::IoLoop(Server& server, std::size_t index) : server_(server), index_(index) {
    if (const int rc = uv_loop_init(&loop_); rc < 0) {
        throw std::runtime_error(std::string("uv_loop_init: ") + uv_strerror(rc));
    }
    inbox_ = std::make_unique<LoopInbox>(&loop_);
    uv_timer_init(&loop_, &deadline_);
    deadline_.data = this;
}

IoLoop::~IoLoop() {
    join();
    // Normally everything is closed when run() returns; after an error
    // (listen() failed, the loop never ran) close what is left.
    inbox_->close();
    uv_walk(
        &loop_,
        [](uv_handle_t* handle, void*) {
            if (!uv_is_closing(handle)) uv_close(handle, nullptr);
        },
        nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
}

void IoLoop::make_executor() {
    executor_ = std::make_shared<LoopExecutor>(*inbox_, std::this_thread::get_id());
}

void IoLoop::run() {
    make_executor();
    uv_run(&loop_, UV_RUN_DEFAULT);
}

void IoLoop::start_thread() {
    thread_ = std::thread([this] {
        name_this_thread("imapd-loop" + std::to_string(index_));
        // Before the loop runs anything posted to it (a connection handed
        // over by the acceptor reads it).
        make_executor();
        uv_run(&loop_, UV_RUN_DEFAULT);
    });
}

void IoLoop::join() {
    if (thread_.joinable()) thread_.join();
}

Connection& IoLoop::add_connection() {
    auto owned = std::make_unique<Connection>(*this);
    Connection& connection = *owned;
    connections_.emplace(&connection, std::move(owned));
    return connection;
}

void IoLoop::connection_closed(Connection* connection) {
    auto found = connections_.find(connection);
    if (found == connections_.end()) return;
    server_.connection_ended(*connection);
    connections_.erase(found);
    finish_if_drained();
}

LmtpConnection& IoLoop::add_lmtp_connection(LmtpContext& context, bool unix_socket) {
    auto owned = std::make_unique<LmtpConnection>(*this, context, unix_socket);
    LmtpConnection& connection = *owned;
    lmtp_connections_.emplace(&connection, std::move(owned));
    return connection;
}

void IoLoop::lmtp_connection_closed(LmtpConnection* connection) {
    if (lmtp_connections_.erase(connection) == 0) return;
    finish_if_drained();
}

void IoLoop::shutdown() {
    if (stopping_) return;
    stopping_ = true;
    for (auto& [raw, connection] : connections_)
        connection->shutdown();
    // Each may close (and be freed) at once: collect first.
    std::vector<LmtpConnection*> lmtp;
    for (auto& [raw, connection] : lmtp_connections_)
        lmtp.push_back(raw);
    for (LmtpConnection* connection : lmtp)
        connection->shutdown();
    uv_timer_start(&deadline_, &IoLoop::on_deadline,
                   static_cast<std::uint64_t>(Server::kShutdownGrace.count()), 0);
    finish_if_drained();
}

void IoLoop::on_deadline(uv_timer_t* timer) {
    auto* self = static_cast<IoLoop*>(timer->data);
    log::warning("shutdown_deadline",
                 {{"connections", static_cast<std::uint64_t>(self->connections_.size())},
                  {"loop", static_cast<std::uint64_t>(self->index_)}});
    // Closing may free connections: collect first.
    std::vector<Connection*> open;
    for (auto& [raw, connection] : self->connections_)
        open.push_back(raw);
    for (Connection* connection : open)
        connection->close_now("shutdown deadline");
    std::vector<LmtpConnection*> lmtp;
    for (auto& [raw, connection] : self->lmtp_connections_)
        lmtp.push_back(raw);
    for (LmtpConnection* connection : lmtp)
        connection->close_now();
}

void IoLoop::finish_if_drained() {
    if (!stopping_ || finished_ || !connections_.empty() || !lmtp_connections_.empty()) return;
    finished_ = true;
    // Nothing is left for this loop: with its last handles closed, uv_run
    // returns (and the thread ends).
    uv_close(reinterpret_cast<uv_handle_t*>(&deadline_), nullptr);
    inbox_->close();
}

}  // namespace imap::server
