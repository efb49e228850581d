#include "server/net/socket_options.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace imap::server {

void set_no_delay(uv_tcp_t* tcp) {
    uv_tcp_nodelay(tcp, 1);
}

void limit_unsent_in_kernel(uv_tcp_t* tcp, std::size_t bytes) {
#ifdef TCP_NOTSENT_LOWAT
    uv_os_fd_t fd{};
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(tcp), &fd) != 0) return;
    const int value = static_cast<int>(bytes);
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &value, sizeof value);
#else
    (void)tcp;
    (void)bytes;
#endif
}

void request_quick_ack(uv_tcp_t* tcp) {
#ifdef TCP_QUICKACK
    uv_os_fd_t fd{};
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(tcp), &fd) != 0) return;
    const int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
#else
    (void)tcp;
#endif
}

}  // namespace imap::server
