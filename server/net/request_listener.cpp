#include "server/net/request_listener.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "server/net/tcp_listen.h"

namespace imap::server {

struct RequestListener::Client {
    RequestListener* owner = nullptr;
    std::uint64_t id = 0;
    uv_tcp_t tcp{};    // on a TCP listener
    uv_pipe_t pipe{};  // on a unix socket
    uv_timer_t timer{};
    uv_write_t write{};
    uv_shutdown_t shutdown{};
    std::string request;
    std::string answer;
    bool unix = false;
    bool asked = false;    // the request went to the handler (or too_large)
    bool replied = false;  // the answer is being written
    int open_handles = 2;

    uv_stream_t* stream() {
        return unix ? reinterpret_cast<uv_stream_t*>(&pipe) : reinterpret_cast<uv_stream_t*>(&tcp);
    }
};

RequestListener::RequestListener(uv_loop_t* loop, Limits limits, Handler handler)
    : loop_(loop),
      limits_(limits),
      handler_(std::move(handler)),
      self_(std::make_shared<RequestListener*>(this)) {}

RequestListener::~RequestListener() {
    *self_ = nullptr;
}

uv_stream_t* RequestListener::listener() {
    return unix_ ? reinterpret_cast<uv_stream_t*>(&pipe_) : reinterpret_cast<uv_stream_t*>(&tcp_);
}

int RequestListener::listen_tcp(const ListenAddress& address) {
    uv_tcp_init(loop_, &tcp_);
    tcp_.data = this;
    listening_ = true;
    int rc = bind_tcp(&tcp_, address);
    if (rc == 0) {
        rc = uv_listen(listener(), static_cast<int>(limits_.max_clients),
                       &RequestListener::on_connection);
    }
    if (rc == 0) bound_ = bound_endpoint(&tcp_);
    return rc;
}

int RequestListener::listen_unix(const std::filesystem::path& path, mode_t mode) {
    unix_ = true;
    uv_pipe_init(loop_, &pipe_, 0);
    pipe_.data = this;
    listening_ = true;
    int rc = bind_unix(&pipe_, path, mode);
    if (rc == 0) {
        socket_path_ = path;
        rc = uv_listen(listener(), static_cast<int>(limits_.max_clients),
                       &RequestListener::on_connection);
    }
    bound_ = path.string();
    return rc;
}

void RequestListener::close() {
    *self_ = nullptr;
    if (listening_) {
        listening_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(listener()), nullptr);
        if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
    }
    while (!clients_.empty())
        drop(clients_.begin()->second);
}

void RequestListener::on_connection(uv_stream_t* server, int status) {
    if (status < 0) return;
    static_cast<RequestListener*>(server->data)->accept();
}

void RequestListener::accept() {
    auto* client = new Client;
    client->owner = this;
    client->id = next_id_++;
    client->unix = unix_;
    if (unix_) {
        uv_pipe_init(loop_, &client->pipe, 0);
    } else {
        uv_tcp_init(loop_, &client->tcp);
    }
    uv_timer_init(loop_, &client->timer);
    client->stream()->data = client;
    client->timer.data = client;
    clients_.emplace(client->id, client);
    if (uv_accept(listener(), client->stream()) != 0 || clients_.size() > limits_.max_clients) {
        drop(client);
        return;
    }
    uv_timer_start(
        &client->timer,
        [](uv_timer_t* timer) {
            auto* c = static_cast<Client*>(timer->data);
            c->owner->drop(c);
        },
        static_cast<std::uint64_t>(limits_.timeout.count()), 0);
    uv_read_start(
        client->stream(),
        [](uv_handle_t*, std::size_t, uv_buf_t* buf) {
            static thread_local char buffer[4096];
            *buf = uv_buf_init(buffer, sizeof buffer);
        },
        [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
            auto* c = static_cast<Client*>(stream->data);
            RequestListener& owner = *c->owner;
            if (nread < 0) {
                owner.drop(c);
                return;
            }
            // After the request, reading goes on (and discards): closing with
            // unread input would reset the connection and could lose the
            // answer on its way to the client.
            if (c->asked) return;
            c->request.append(buf->base, static_cast<std::size_t>(nread));
            if (c->request.size() > owner.limits_.max_request_bytes) {
                c->asked = true;
                owner.reply(c->id, owner.handler_.too_large);
            } else if (owner.handler_.complete(c->request)) {
                c->asked = true;
                std::weak_ptr<RequestListener*> weak = owner.self_;
                owner.handler_.respond(std::move(c->request),
                                       [weak, id = c->id](std::string answer) {
                                           auto self = weak.lock();
                                           if (self && *self) (*self)->reply(id, std::move(answer));
                                       });
            }
        });
}

void RequestListener::reply(std::uint64_t id, std::string answer) {
    auto it = clients_.find(id);
    if (it == clients_.end() || it->second->replied) return;
    Client* client = it->second;
    client->replied = true;
    client->answer = std::move(answer);
    client->write.data = client;
    uv_buf_t buf = uv_buf_init(client->answer.data(), static_cast<unsigned>(client->answer.size()));
    if (uv_write(&client->write, client->stream(), &buf, 1, [](uv_write_t* request, int status) {
            auto* c = static_cast<Client*>(request->data);
            c->shutdown.data = c;
            if (status < 0 || uv_shutdown(&c->shutdown, c->stream(), [](uv_shutdown_t* done, int) {
                                  auto* cl = static_cast<Client*>(done->data);
                                  cl->owner->drop(cl);
                              }) != 0) {
                c->owner->drop(c);
            }
        }) != 0) {
        drop(client);
    }
}

void RequestListener::drop(Client* client) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(client->stream()))) return;
    // Forgotten now; freed when both handles have closed.
    clients_.erase(client->id);
    auto closed = [](uv_handle_t* handle) {
        auto* c = static_cast<Client*>(handle->data);
        if (--c->open_handles == 0) delete c;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(client->stream()), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&client->timer), closed);
}

}  // namespace imap::server
