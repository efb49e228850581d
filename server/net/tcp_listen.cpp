#include "server/net/tcp_listen.h"

#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace imap::server {

int bind_unix(uv_pipe_t* pipe, const std::filesystem::path& path, mode_t mode) {
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    int rc = uv_pipe_bind(pipe, path.c_str());
    if (rc == 0 && ::chmod(path.c_str(), mode) != 0) rc = -errno;
    return rc;
}

int bind_tcp(uv_tcp_t* tcp, const ListenAddress& address) {
    sockaddr_storage storage{};
    const int rc = address.ipv6 ? uv_ip6_addr(address.address.c_str(), address.port,
                                              reinterpret_cast<sockaddr_in6*>(&storage))
                                : uv_ip4_addr(address.address.c_str(), address.port,
                                              reinterpret_cast<sockaddr_in*>(&storage));
    if (rc != 0) return rc;
    return uv_tcp_bind(tcp, reinterpret_cast<const sockaddr*>(&storage),
                       address.ipv6 ? UV_TCP_IPV6ONLY : 0);
}

std::string ip_of(const sockaddr_storage& address) {
    char text[64] = {};
    if (address.ss_family == AF_INET) {
        uv_ip4_name(reinterpret_cast<const sockaddr_in*>(&address), text, sizeof text);
    } else if (address.ss_family == AF_INET6) {
        uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(&address), text, sizeof text);
    }
    return text;
}

std::string bound_endpoint(const uv_tcp_t* tcp) {
    sockaddr_storage bound{};
    int length = sizeof bound;
    uv_tcp_getsockname(tcp, reinterpret_cast<sockaddr*>(&bound), &length);
    const std::string ip = ip_of(bound);
    const int port = bound.ss_family == AF_INET
                         ? ntohs(reinterpret_cast<const sockaddr_in*>(&bound)->sin_port)
                         : ntohs(reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
    return bound.ss_family == AF_INET6 ? "[" + ip + "]:" + std::to_string(port)
                                       : ip + ":" + std::to_string(port);
}

}  // namespace imap::server
