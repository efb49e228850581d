// LmtpConnection: one LMTP client (an MTA's delivery agent) on the first
// I/O loop, over a unix socket or TCP (docs/lmtp.md). It moves bytes
// between the socket and its lmtp::LmtpSession and runs the session's
// deliveries the way IMAP commands run (docs/architecture.md "Threads"):
//
//   loop 0: socket --> LmtpSession (parsing, DATA's dot-unstuffing, replies)
//             | Backend::deliver: one task per recipient
//             v
//   the recipient's strand: UserMail (shared with the user's IMAP
//   sessions, so their IDLE sees the new message at once), append
//             | the commit's serial, GroupCommit::when_durable
//             v
//   a sync thread: durable --> loop 0: LmtpSession::delivered --> "250"
//
// So a recipient's 250 is written only once that copy is on disk, and a
// slow user, a slow disk or a slow client never holds another user or the
// loop. While deliveries run, reading stops (the session keeps what it had
// read, at most one read's worth); a client that sends DATA slowly only
// holds its own connection, whose buffer never exceeds the size limit,
// and the idle timer (limits::lmtp::kIdleTimeout) ends one that stalls.
//
// Lifetime: owned by its IoLoop (add_lmtp_connection), freed from the close
// callback of the last of its two handles. Answers from other threads come
// back as loop tasks that check `alive_` first.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/imap/user_mail.h"
#include "server/lmtp/lmtp_session.h"

namespace imap::server {

class IoLoop;

// What every LMTP connection of a server shares (owned by the Server).
struct LmtpContext {
    // The account a local part names; on the loop's thread.
    std::function<store::Recipient(std::string_view user)> find_recipient;
    MailAccess* mail = nullptr;
    // Server::poster_for_user: runs a task on the user's executor.
    std::function<std::function<void(std::chrono::milliseconds, std::function<void()>)>(
        const std::string& user)>
        poster_for_user;
    lmtp::Options options;
};

class LmtpConnection : private lmtp::Backend {
  public:
    LmtpConnection(IoLoop& loop, LmtpContext& context, bool unix_socket);
    ~LmtpConnection() override;
    LmtpConnection(const LmtpConnection&) = delete;
    LmtpConnection& operator=(const LmtpConnection&) = delete;

    // The handle to uv_accept into.
    uv_stream_t* stream();
    // After the accept: greets and reads. `peer` for the log.
    void start(std::string peer);
    // Over the connection limit: "421 4.3.2" and close.
    void refuse();
    // SIGTERM: "421 4.3.2" and close, once the deliveries running finish.
    void shutdown();
    // Closes without a word (the shutdown deadline).
    void close_now();

  private:
    static void on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf);
    static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_timeout(uv_timer_t* timer);
    static void on_close(uv_handle_t* handle);

    // lmtp::Backend
    store::Recipient find_recipient(std::string_view user) override;
    void deliver(lmtp::Delivery delivery, std::size_t index) override;

    // After the session ran: writes its output, then reads, times out or
    // closes as it now wants.
    void pump();
    void write(std::string bytes);
    void start_reading();
    void stop_reading();
    void close();

    using UserPost = std::function<void(std::chrono::milliseconds, std::function<void()>)>;
    struct KeptMail {
        std::string user;
        std::shared_ptr<UserMail> mail;
        UserPost post;  // the user's executor, where it must be let go
    };
    // Users' mail kept open between deliveries: an MTA delivers many
    // messages over one connection, often to the same users, and opening
    // a user's store (SQLite open, schema check) cost more than the append
    // itself (1,000 msgs/s with a reopen each, 2,500 kept open: 10
    // connections, docs/lmtp.md). At most kKeptMail per connection, the
    // oldest let go first; all let go when the connection closes.
    static constexpr std::size_t kKeptMail = 8;
    void keep_mail(const std::string& user, std::shared_ptr<UserMail> mail, const UserPost& post);
    static void let_go(KeptMail kept);
    std::deque<KeptMail> kept_mail_;

    IoLoop& loop_;
    LmtpContext& context_;
    const bool unix_socket_;
    uv_tcp_t tcp_{};
    uv_pipe_t pipe_{};
    uv_timer_t timer_{};
    std::optional<lmtp::LmtpSession> session_;
    std::string peer_;
    bool reading_ = false;
    bool closing_ = false;
    bool shutting_down_ = false;
    bool peer_done_ = false;  // EOF read: answer what was sent, then close
    int open_handles_ = 0;
    std::size_t writes_pending_ = 0;
    // Expires with the connection: tasks from other threads check it.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace imap::server
