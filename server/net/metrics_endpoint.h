// The Prometheus endpoint (docs/operations.md "Metrics"): `[metrics] listen`
// names a TCP address where `GET /metrics` answers with metrics().exposition()
// (server/base/metrics.h). Plain HTTP/1.1, one request per connection
// (server/net/request_listener.h), on the first loop; meant for a scraper on loopback or a private
// network (it shows counts, never users or addresses).
//
// Hostile input is bounded (docs/security.md): a request longer than
// kMaxRequestBytes gets 431, one not complete within kRequestTimeout is
// closed, at most kMaxClients are served at once (the rest are closed at
// accept), and nothing but GET or HEAD of /metrics is answered with data.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <string>

#include "server/base/config.h"
#include "server/net/request_listener.h"

namespace imap::server {

class MetricsEndpoint {
  public:
    // A GET request with the headers a scraper sends is a few hundred bytes.
    static constexpr std::size_t kMaxRequestBytes = 8192;
    static constexpr std::chrono::milliseconds kRequestTimeout{5000};
    // Prometheus scrapes one at a time; a few more for people with curl.
    static constexpr std::size_t kMaxClients = 16;

    // Binds and listens on `address` on `loop`. Throws std::runtime_error.
    MetricsEndpoint(uv_loop_t* loop, const ListenAddress& address);

    // "127.0.0.1:9143" as bound (port 0 resolved).
    const std::string& bound() const { return listener_.bound(); }
    // Stops listening and ends the connections (the loop's shutdown).
    void close() { listener_.close(); }

    // The HTTP answer to `request` (a whole request head), for tests.
    static std::string respond(std::string_view request);

  private:
    RequestListener listener_;
};

}  // namespace imap::server
