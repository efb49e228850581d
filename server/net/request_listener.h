// RequestListener: a listener that answers one request per connection, the
// shape of the metrics endpoint (server/net/metrics_endpoint.h, HTTP on
// TCP) and of the control socket (server/net/control_socket.h, a line on a
// unix socket). It reads until the owner says the request is complete,
// hands it over, writes the answer the owner gives (now or later, from the
// same loop), then shuts the connection down.
//
// Hostile input is bounded by Limits (docs/security.md): a request longer
// than max_request_bytes gets the owner's too-large answer, a connection
// not answered within `timeout` of its accept is closed, and at most
// max_clients are served at once (the rest are closed at accept).
//
// Threads: everything on the loop's thread, the Reply included.
#pragma once

#include <sys/types.h>
#include <uv.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "server/base/config.h"

namespace imap::server {

class RequestListener {
  public:
    struct Limits {
        std::size_t max_request_bytes = 0;
        std::chrono::milliseconds timeout{0};
        std::size_t max_clients = 0;
    };
    // Sends the answer and closes; later calls, and calls after the client
    // went (timeout, reset) or the listener closed, do nothing.
    using Reply = std::function<void(std::string answer)>;
    struct Handler {
        // Whether `request` (everything read so far) is a whole request.
        std::function<bool(std::string_view request)> complete;
        // The answer to a request over max_request_bytes.
        std::string too_large;
        // Called once per complete request; answers through `reply`.
        std::function<void(std::string request, Reply reply)> respond;
    };

    RequestListener(uv_loop_t* loop, Limits limits, Handler handler);
    ~RequestListener();
    RequestListener(const RequestListener&) = delete;
    RequestListener& operator=(const RequestListener&) = delete;

    // Binds and listens; at most one of the two, once. 0 or a libuv error.
    int listen_tcp(const ListenAddress& address);
    // A unix socket at `path` with permission bits `mode`; a socket left
    // there by a server that did not stop is replaced, anything else at
    // the path is an error.
    int listen_unix(const std::filesystem::path& path, mode_t mode);
    // "127.0.0.1:9143" (port 0 resolved) or the socket's path.
    const std::string& bound() const { return bound_; }

    // Stops listening (removing a unix socket's file) and ends the
    // connections. Pending replies are dropped.
    void close();

  private:
    struct Client;
    static void on_connection(uv_stream_t* server, int status);
    void accept();
    void reply(std::uint64_t id, std::string answer);
    void drop(Client* client);

    uv_loop_t* loop_;
    Limits limits_;
    Handler handler_;
    uv_stream_t* listener();
    uv_tcp_t tcp_{};
    uv_pipe_t pipe_{};
    bool unix_ = false;
    bool listening_ = false;
    std::filesystem::path socket_path_;
    std::string bound_;
    // Clients by id, so a Reply that comes late finds its client or
    // nothing; freed by their handles' close callbacks, which the loop runs
    // before the listener goes.
    std::map<std::uint64_t, Client*> clients_;
    std::uint64_t next_id_ = 1;
    // Cleared by close(): Replies hold it weakly.
    std::shared_ptr<RequestListener*> self_;
};

}  // namespace imap::server
