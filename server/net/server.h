// Server: the libuv reactor of `imapd serve`. Owns the listeners (plain with
// STARTTLS, and implicit TLS, RFC 8314), the registry of open Connections
// with the connection limits (total and per address at accept; per user at
// login and the failed-login delay through LoginLimits), and the signal
// handlers:
//   SIGTERM/SIGINT  stop accepting, "* BYE Server shutting down" to every
//                   client, wait for their writes (at most kShutdownGrace),
//                   then return from run().
//   SIGHUP          reload the TLS context (new connections get the new one,
//                   open ones keep theirs).
//
// Stdout contract (tests and scripts read it), one line per bound socket,
// printed and flushed once it accepts connections:
//   imapd: listening imap 127.0.0.1:1143
//   imapd: listening imaps [::1]:1993
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/auth/login_limits.h"
#include "server/auth/work_pool.h"
#include "server/base/config.h"
#include "server/imap/authenticator.h"
#include "server/imap/user_mail.h"
#include "server/net/loop_inbox.h"
#include "server/net/tls.h"
#include "store/external_change_watcher.h"

namespace imap::server {

class Connection;

class Server {
  public:
    static constexpr std::chrono::milliseconds kShutdownGrace{2000};

    // Builds a new TLS context for SIGHUP; throws on failure (the old one
    // stays). Empty: nothing to reload.
    using TlsReloader = std::function<std::shared_ptr<const TlsContext>()>;

    // `config`, `authenticator` and `mail` must outlive the server.
    Server(const Config& config, Authenticator& authenticator, MailAccess& mail,
           std::shared_ptr<const TlsContext> tls_context, TlsReloader reloader = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds and listens on every configured listener and prints the
    // "imapd: listening ..." lines on `out`. Throws std::runtime_error naming
    // the address on failure.
    void listen(std::ostream& out);

    // Runs the loop until a shutdown completes.
    void run();

    // Starts the graceful shutdown (what SIGTERM does).
    void stop();

    uv_loop_t* loop() { return &loop_; }

    // From Connection's last close callback: unregisters and frees it.
    void connection_closed(Connection* connection);

    // Password verification off the loop (AccountAuthenticator::verify_on):
    // kVerifyThreads threads, at most kVerifyWaiting checks waiting.
    WorkPool& verification_pool() { return verification_pool_; }

    // Two threads: a yescrypt check costs 30-50 ms of one core, so two
    // answer 40-60 logins a second, while the loop keeps a core; more would
    // take CPU from the loop on a small machine for no benefit to anyone
    // but a flood.
    static constexpr std::size_t kVerifyThreads = 2;
    // Checks waiting for a thread: 32 are about 0.8 s of work, the longest a
    // legitimate login waits behind a flood; an attempt past that is
    // answered NO [UNAVAILABLE] (after the failed-login delay) instead.
    static constexpr std::size_t kVerifyWaiting = 32;

  private:
    struct Listener {
        uv_tcp_t tcp{};
        ListenAddress address;
        Server* server = nullptr;
        bool open = false;
    };

    static void on_connection(uv_stream_t* stream, int status);
    static void on_signal(uv_signal_t* handle, int signum);
    static void on_deadline(uv_timer_t* timer);

    void accept(Listener& listener);
    void reload_tls();
    void finish_if_drained();

    const Config& config_;
    Authenticator& authenticator_;
    MailAccess& mail_;
    std::shared_ptr<const TlsContext> tls_context_;
    TlsReloader reloader_;

    uv_loop_t loop_{};
    std::vector<std::unique_ptr<Listener>> listeners_;
    uv_signal_t sigterm_{};
    uv_signal_t sigint_{};
    uv_signal_t sighup_{};
    uv_timer_t deadline_{};
    bool stopping_ = false;
    bool deadline_armed_ = false;

    std::unordered_map<Connection*, std::unique_ptr<Connection>> connections_;
    std::unordered_map<std::string, std::size_t> per_ip_;
    std::size_t counted_ = 0;
    // Per-user connection limit and failed-login delay, shared by every
    // connection's Session (SessionContext::login_gate).
    LoginLimits login_limits_;
    // Answers from the verification pool, run on this loop. Before the pool,
    // so the pool's threads are joined (its destructor) while it exists.
    std::unique_ptr<LoopInbox> inbox_;
    // A commit by another process (imapd deliver) wakes that user's idling
    // sessions at once (RFC 2177). Calls from its own thread, so it posts
    // into inbox_; after inbox_, so it is stopped (joined) before inbox_ goes.
    std::unique_ptr<store::ExternalChangeWatcher> external_changes_;
    void mail_changed_elsewhere(const std::string& user);
    WorkPool verification_pool_{kVerifyThreads, kVerifyWaiting};
};

// `imapd serve ARGS`: configuration, data directory, seed and demo accounts,
// certificate, listeners, loop. Returns the exit code.
int run_serve(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace imap::server
