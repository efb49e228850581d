// Server: the reactors of `imapd serve` (docs/architecture.md "Threads").
// Owns `[server] threads` IoLoops (the first runs on the thread that calls
// run(), holds the listeners, accepts every connection and serves it until
// login; a login moves the connection to one of the others in turn), the
// worker pool and strands that run the users' sessions after login
// (threads > 1), the connection limits (total and per address at accept;
// per user at login and the failed-login delay through LoginLimits), and
// the signal handlers:
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
//   imapd: listening pop3 127.0.0.1:1110   (pop3s likewise)
#pragma once

#include <uv.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
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
#include "server/net/delayed_poster.h"
#include "server/net/executor.h"
#include "server/net/io_loop.h"
#include "server/net/lmtp_connection.h"
#include "server/net/tls.h"
#include "server/pop3/maildrop_locks.h"
#include "store/external_change_watcher.h"

namespace imap::server {

class MetricsEndpoint;
class ControlSocket;

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

    // LMTP (docs/lmtp.md): how a recipient's local part is looked up
    // (AccountAuthenticator::find_recipient: the accounts database under
    // its lock), on the first loop's thread. Set before listen(); without
    // it the LMTP listeners are not opened.
    void set_recipient_lookup(std::function<store::Recipient(std::string_view)> lookup);

    // Binds and listens on every configured listener and prints the
    // "imapd: listening ..." lines on `out`. Throws std::runtime_error naming
    // the address on failure.
    void listen(std::ostream& out);

    // Runs the loops until a shutdown completes (the first on this thread).
    void run();

    // Starts the graceful shutdown (what SIGTERM does). The first loop's
    // thread.
    void stop();

    // The first loop (listeners, signals).
    uv_loop_t* loop() { return loops_.front()->loop(); }
    std::size_t loop_count() const { return loops_.size(); }

    // From an IoLoop, for a connection it is about to free: its place in
    // the connection limits. Any loop's thread.
    void connection_ended(Connection& connection);
    // Where a connection goes after login: the loops after the first in
    // turn (the first accepts and serves connections before login only, so
    // a flood of connections or logins never shares a loop with logged-in
    // users). nullptr with one loop. The first loop's thread.
    IoLoop* session_loop();
    std::size_t session_loop_count() const { return loops_.size() - 1; }

    // Password verification off the loop (AccountAuthenticator::verify_on):
    // kVerifyThreads threads, at most kVerifyWaiting checks waiting.
    WorkPool& verification_pool() { return verification_pool_; }

    // Runs `task` on the executor of `user` (canonical name): the user's
    // strand with threads > 1, else the loop. For work the user's mail does
    // in the background (UserMailRegistry::set_background). Any thread.
    // A poster to the executor `user` runs on now (their strand, or the
    // first loop with one thread), which it keeps: tasks posted through it
    // later run there even if the user has another strand by then. A delay
    // (zero: now) waits on delayed_ (a thread of its own).
    std::function<void(std::chrono::milliseconds, std::function<void()>)> poster_for_user(
        const std::string& user);
    // That poster, and whether tasks wait on the same executor (empty with
    // one thread: the loop cannot tell).
    UserMail::Background background_for_user(const std::string& user);

    // Two threads: a yescrypt check costs 30-50 ms of one core, so two
    // answer 40-60 logins a second, while the loop keeps a core; more would
    // take CPU from the loop on a small machine for no benefit to anyone
    // but a flood.
    static constexpr std::size_t kVerifyThreads = 2;
    // Checks waiting for a thread: 32 are about 0.8 s of work, the longest a
    // legitimate login waits behind a flood; an attempt past that is
    // answered NO [UNAVAILABLE] (after the failed-login delay) instead.
    static constexpr std::size_t kVerifyWaiting = 32;

    // Group commit's fdatasyncs (docs/storage.md "Group commit"), with more
    // than one loop; nullptr with one (every commit then durable on return).
    WorkPool* sync_pool() { return sync_pool_.get(); }
    // An fdatasync mostly waits for the disk, and each user has at most one
    // running: a few threads let several users' syncs overlap on the
    // device without taking a core from anyone.
    static constexpr std::size_t kSyncThreads = 4;

  private:
    // The user's strand, or nullptr with one thread (the first loop).
    std::shared_ptr<Strand> strand_for(const std::string& user);
    // What poster_for_user() gives for that strand (null: the first loop).
    UserMail::Post poster_on(std::shared_ptr<Strand> strand);

    struct Listener {
        uv_tcp_t tcp{};
        ListenAddress address;
        Server* server = nullptr;
        bool open = false;
    };

    struct LmtpListener {
        uv_tcp_t tcp{};
        uv_pipe_t pipe{};
        LmtpListenAddress address;
        std::filesystem::path socket_path;  // unix: resolved, unlinked at stop
        Server* server = nullptr;
        bool open = false;
        uv_handle_t* handle() {
            return address.unix_path.empty() ? reinterpret_cast<uv_handle_t*>(&tcp)
                                             : reinterpret_cast<uv_handle_t*>(&pipe);
        }
    };

    static void on_connection(uv_stream_t* stream, int status);
    static void on_lmtp_connection(uv_stream_t* stream, int status);
    void listen_lmtp(LmtpListener& listener, std::ostream& out);
    void accept_lmtp(LmtpListener& listener);
    static void on_signal(uv_signal_t* handle, int signum);

    void accept(Listener& listener);
    void uncount(const std::string& peer);
    void reload_tls();

    const Config& config_;
    Authenticator& authenticator_;
    MailAccess& mail_;
    std::shared_ptr<const TlsContext> tls_context_;
    TlsReloader reloader_;

    // Declared first: destroyed last, after the pools whose work may still
    // post to them.
    std::vector<std::unique_ptr<IoLoop>> loops_;
    std::size_t next_session_loop_ = 0;
    std::vector<std::unique_ptr<Listener>> listeners_;
    // [metrics] listen, on the first loop; closed with the listeners.
    std::unique_ptr<MetricsEndpoint> metrics_;
    // `imapd who` / `imapd kick` ([server] control_socket), on the first
    // loop; closed with the listeners.
    std::unique_ptr<ControlSocket> control_;
    void listen_control(std::ostream& out);
    // Closes the listeners, the signal handles and the metrics and control
    // endpoints (all on the first loop); stop() and a never-run ~Server.
    void close_handles();
    // Visits every connection on its own loop, then calls `done` on the
    // first loop with what `visit` returned for each (nullopt: skipped).
    template <class T>
    void gather(std::function<std::optional<T>(Connection&)> visit,
                std::function<void(std::vector<T>)> done);
    std::vector<std::unique_ptr<LmtpListener>> lmtp_listeners_;
    LmtpContext lmtp_context_;
    uv_signal_t sigterm_{};
    uv_signal_t sigint_{};
    uv_signal_t sighup_{};
    // A commit by another process (imapd deliver) wakes that user's idling
    // sessions at once (RFC 2177). The watcher calls from its own thread and
    // posts to the first loop, which tells every loop; declared after the
    // loops, so it is stopped (joined) before they go.
    std::unique_ptr<store::ExternalChangeWatcher> external_changes_;
    void mail_changed_elsewhere(const std::string& user);
    bool stopping_ = false;

    // Connection limits: accept() counts on the first loop, connection_ended()
    // uncounts on any.
    std::mutex counts_mutex_;
    std::unordered_map<std::string, std::size_t> per_ip_;
    std::size_t counted_ = 0;
    // Per-user connection limit and failed-login delay, shared by every
    // connection's Session (SessionContext::login_gate), from any thread.
    LoginLimits login_limits_;
    // RFC 1939 8: one POP3 session per user (docs/pop3.md).
    pop3::MaildropLocks maildrop_locks_;
    // threads > 1: the workers that run the users' strands. Bounded by the
    // strands themselves (each has at most one turn waiting), not by a queue
    // limit: nothing ever waits to be refused here.
    // Declared before the strands' pool: its workers queue syncs here.
    std::unique_ptr<WorkPool> sync_pool_;
    std::unique_ptr<WorkPool> strand_pool_;
    std::unique_ptr<StrandRegistry> strands_;
    // After the strands and loops it posts to: destroyed (joined) first.
    DelayedPoster delayed_;
    WorkPool verification_pool_{kVerifyThreads, kVerifyWaiting, "imapd-auth"};
};

// `imapd serve ARGS`: configuration, data directory, seed and demo accounts,
// certificate, listeners, loop. Returns the exit code.
int run_serve(std::span<const std::string_view> args, std::ostream& out, std::ostream& err);

}  // namespace imap::server
