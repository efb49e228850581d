#include "server/net/metrics_endpoint.h"

#include <stdexcept>

#include "server/base/log.h"
#include "server/base/metrics.h"

namespace imap::server {

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

MetricsEndpoint::MetricsEndpoint(uv_loop_t* loop, const ListenAddress& address)
    : listener_(
          loop, {kMaxRequestBytes, kRequestTimeout, kMaxClients},
          {[](std::string_view request) {
               return request.find("\r\n\r\n") != std::string_view::npos;
           },
           http("431 Request Header Fields Too Large", "too large\n", false),
           [](std::string request, RequestListener::Reply reply) { reply(respond(request)); }}) {
    const int rc = listener_.listen_tcp(address);
    if (rc < 0) {
        listener_.close();
        throw std::runtime_error("cannot listen on " + address.to_string() +
                                 " (metrics): " + uv_strerror(rc));
    }
}

}  // namespace imap::server
