// What every listener of the server does the same way (IMAP, LMTP, the
// metrics endpoint, the control socket): bind a configured numeric address
// or a unix socket, and name the address it is bound to (port 0 resolved)
// in the documented form.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <uv.h>

#include <filesystem>
#include <string>

#include "server/base/config.h"

namespace imap::server {

// Binds the initialised `tcp` to `address`; an IPv6 address IPv6-only, so
// "[::]" and "0.0.0.0" listeners can coexist. 0 or a libuv error code.
int bind_tcp(uv_tcp_t* tcp, const ListenAddress& address);

// Binds the initialised `pipe` to a unix socket at `path` and gives it the
// permission bits `mode`. A socket file already there (left by a server
// that did not stop cleanly) is replaced; anything else at the path is the
// operator's and makes the bind fail. 0 or a libuv error code.
int bind_unix(uv_pipe_t* pipe, const std::filesystem::path& path, mode_t mode);

// "127.0.0.1" / "::1" for a peer or local address; empty when unknown.
std::string ip_of(const sockaddr_storage& address);

// The documented stdout form of the address `tcp` is bound to:
// 127.0.0.1:1143, [::1]:1993.
std::string bound_endpoint(const uv_tcp_t* tcp);

}  // namespace imap::server
