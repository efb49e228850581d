#include "server/net/metrics_endpoint.h"

#include <stdexcept>

#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/net/tcp_listen.h"

namespace imap::server {

struct MetricsEndpoint::Client {
    MetricsEndpoint* owner = nullptr;
    uv_tcp_t tcp{};
    uv_timer_t timer{};
    uv_write_t write{};
    uv_shutdown_t shutdown{};
    std::string request;
    std::string response;
    int open_handles = 2;
    bool done = false;
    Client* prev = nullptr;
    Client* next = nullptr;
};

namespace {

std::string http(std::string_view status, std::string_view body, bool head) {
    std::string out = "HTTP/1.1 ";
    out += status;
    out += "\r\nContent-Type: ";
    out += status.starts_with("200") ? "text/plain; version=0.0.4; charset=utf-8"
                                     : "text/plain; charset=utf-8";
    out += "\r\nContent-Length: " + std::to_string(body.size());
    out += "\r\nConnection: close\r\n\r\n";
    if (!head) out += body;
    return out;
}

}  // namespace

std::string MetricsEndpoint::respond(std::string_view request) {
    const std::size_t line_end = request.find("\r\n");
    const std::string_view line = request.substr(0, line_end);
    // "METHOD TARGET HTTP/1.x"
    const std::size_t first = line.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos || !line.substr(second + 1).starts_with("HTTP/1.")) {
        return http("400 Bad Request", "bad request\n", false);
    }
    const std::string_view method = line.substr(0, first);
    std::string_view target = line.substr(first + 1, second - first - 1);
    target = target.substr(0, target.find('?'));  // Prometheus may add parameters
    if (method != "GET" && method != "HEAD") {
        return http("405 Method Not Allowed", "only GET /metrics\n", false);
    }
    if (target != "/metrics") return http("404 Not Found", "see /metrics\n", method == "HEAD");
    return http("200 OK", metrics().exposition(), method == "HEAD");
}

MetricsEndpoint::MetricsEndpoint(uv_loop_t* loop, const ListenAddress& address) : loop_(loop) {
    uv_tcp_init(loop_, &listener_);
    listener_.data = this;
    listening_ = true;
    int rc = bind_tcp(&listener_, address);
    if (rc == 0) {
        rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 16,
                       &MetricsEndpoint::on_connection);
    }
    if (rc < 0) {
        close();
        throw std::runtime_error("cannot listen on " + address.to_string() +
                                 " (metrics): " + uv_strerror(rc));
    }
    bound_ = bound_endpoint(&listener_);
}

MetricsEndpoint::~MetricsEndpoint() = default;

void MetricsEndpoint::close() {
    if (listening_) {
        listening_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
    }
    while (first_ != nullptr)
        drop(first_);
}

void MetricsEndpoint::on_connection(uv_stream_t* server, int status) {
    if (status < 0) return;
    static_cast<MetricsEndpoint*>(server->data)->accept();
}

void MetricsEndpoint::accept() {
    auto* client = new Client;
    client->owner = this;
    uv_tcp_init(loop_, &client->tcp);
    uv_timer_init(loop_, &client->timer);
    client->tcp.data = client;
    client->timer.data = client;
    client->next = first_;
    if (first_ != nullptr) first_->prev = client;
    first_ = client;
    ++clients_;
    if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_),
                  reinterpret_cast<uv_stream_t*>(&client->tcp)) != 0 ||
        clients_ > kMaxClients) {
        drop(client);
        return;
    }
    uv_timer_start(
        &client->timer,
        [](uv_timer_t* timer) {
            static_cast<Client*>(timer->data)->owner->drop(static_cast<Client*>(timer->data));
        },
        static_cast<std::uint64_t>(kRequestTimeout.count()), 0);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&client->tcp),
        [](uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
            static thread_local char buffer[4096];
            (void)handle;
            *buf = uv_buf_init(buffer, sizeof buffer);
        },
        [](uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
            auto* c = static_cast<Client*>(stream->data);
            if (nread < 0) {
                c->owner->drop(c);
                return;
            }
            if (c->done) return;
            c->request.append(buf->base, static_cast<std::size_t>(nread));
            if (c->request.size() > kMaxRequestBytes) {
                c->owner->finish(c,
                                 http("431 Request Header Fields Too Large", "too large\n", false));
            } else if (c->request.find("\r\n\r\n") != std::string::npos) {
                c->owner->finish(c, respond(c->request));
            }
        });
}

void MetricsEndpoint::finish(Client* client, const std::string& response) {
    // Reading goes on (and discards): closing with unread input would reset
    // the connection and could lose the answer on its way to the client.
    client->done = true;
    client->response = response;
    client->write.data = client;
    uv_buf_t buf =
        uv_buf_init(client->response.data(), static_cast<unsigned>(client->response.size()));
    if (uv_write(&client->write, reinterpret_cast<uv_stream_t*>(&client->tcp), &buf, 1,
                 [](uv_write_t* request, int status) {
                     auto* c = static_cast<Client*>(request->data);
                     c->shutdown.data = c;
                     if (status < 0 ||
                         uv_shutdown(&c->shutdown, reinterpret_cast<uv_stream_t*>(&c->tcp),
                                     [](uv_shutdown_t* done, int) {
                                         auto* cl = static_cast<Client*>(done->data);
                                         cl->owner->drop(cl);
                                     }) != 0) {
                         c->owner->drop(c);
                     }
                 }) != 0) {
        drop(client);
    }
}

void MetricsEndpoint::drop(Client* client) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&client->tcp))) return;
    // Unlinked now; freed when both handles have closed.
    if (client->prev != nullptr) client->prev->next = client->next;
    if (client->next != nullptr) client->next->prev = client->prev;
    if (first_ == client) first_ = client->next;
    client->prev = client->next = nullptr;
    --clients_;
    auto closed = [](uv_handle_t* handle) {
        auto* c = static_cast<Client*>(handle->data);
        if (--c->open_handles == 0) delete c;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&client->tcp), closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&client->timer), closed);
}

}  // namespace imap::server
