// TCP options for client sockets, set by the Connection (Linux; each is a
// no-op where the option does not exist).
//
// Clients that write a command in pieces (Python's imaplib sends an APPEND
// literal and the CRLF that ends the command as two writes) are held back
// by their own Nagle algorithm until the server ACKs the first piece; a
// server that has nothing to answer yet delays that ACK (Linux: up to
// ~40 ms), so each such command costs a delayed-ACK period. Two options
// remove both halves of that wait:
// - TCP_NODELAY: our own small writes (a tagged OK behind a large FETCH,
//   "+ idling") leave at once instead of waiting for an ACK;
// - TCP_QUICKACK: ACK what arrived at once. Linux clears it again after a
//   few segments (tcp(7): "not permanent"), so it is re-armed after every
//   read.
#pragma once

#include <uv.h>

#include <cstddef>

namespace imap::server {

// TCP_NODELAY on an accepted socket. Errors are ignored: the option only
// changes latency, never correctness.
void set_no_delay(uv_tcp_t* tcp);

// TCP_NOTSENT_LOWAT: the socket takes no more writes while more than
// `bytes` are queued in the kernel and not yet sent (the peer's window is
// full: it does not read). What the peer does not read then waits in our
// write queue, where the backpressure sees it, instead of in up to
// tcp_wmem's maximum (4 MiB by default) of kernel memory per connection.
void limit_unsent_in_kernel(uv_tcp_t* tcp, std::size_t bytes);

// Asks the kernel to acknowledge received data at once (TCP_QUICKACK);
// call after each read. Errors are ignored, as above.
void request_quick_ack(uv_tcp_t* tcp);

}  // namespace imap::server
