#include "server/net/lmtp_connection.h"

#include <exception>
#include <span>
#include <utility>

#include "protocol/limits.h"
#include "server/base/log.h"
#include "server/lmtp/lmtp_delivery.h"
#include "server/net/io_loop.h"

namespace imap::server {
namespace {

// Reading stops while this much output waits for a client that does not
// read its replies (a pipelined flood of NOOPs); it resumes once drained.
constexpr std::size_t kMaxUnsentOutput = 256 * 1024;

}  // namespace

LmtpConnection::LmtpConnection(IoLoop& loop, LmtpContext& context, bool unix_socket)
    : loop_(loop), context_(context), unix_socket_(unix_socket) {
    if (unix_socket_) {
        uv_pipe_init(loop_.loop(), &pipe_, 0);
        pipe_.data = this;
    } else {
        uv_tcp_init(loop_.loop(), &tcp_);
        tcp_.data = this;
    }
    uv_timer_init(loop_.loop(), &timer_);
    timer_.data = this;
    open_handles_ = 2;
}

LmtpConnection::~LmtpConnection() = default;

uv_stream_t* LmtpConnection::stream() {
    return unix_socket_ ? reinterpret_cast<uv_stream_t*>(&pipe_)
                        : reinterpret_cast<uv_stream_t*>(&tcp_);
}

void LmtpConnection::start(std::string peer) {
    peer_ = std::move(peer);
    session_.emplace(static_cast<lmtp::Backend&>(*this), context_.options);
    log::info("lmtp_connect", {{"peer", peer_}});
    pump();
}

void LmtpConnection::refuse() {
    // Closed from on_write once the line is out (no session: nothing else).
    write("421 4.3.2 Too many connections, try again later\r\n");
}

void LmtpConnection::shutdown() {
    shutting_down_ = true;
    if (!session_) return close();
    if (session_->delivering()) return;  // pump() closes once they are answered
    session_->close_with("421 4.3.2 Server shutting down");
    pump();
}

void LmtpConnection::close_now() {
    writes_pending_ = 0;
    close();
}

void LmtpConnection::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<LmtpConnection*>(handle->data);
    std::span<char> buffer = self->loop_.read_buffer();
    *buf = uv_buf_init(buffer.data(), static_cast<unsigned>(buffer.size()));
}

void LmtpConnection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<LmtpConnection*>(stream->data);
    if (nread == UV_EOF && !self->closing_) {
        // The client sent all it will (a half-close after QUIT, or after a
        // pipelined transaction): the replies to what it sent still go
        // out, then the connection closes.
        self->peer_done_ = true;
        self->stop_reading();
        self->pump();
        return;
    }
    if (nread < 0) {
        // An error: whatever was not answered the MTA retries.
        self->close_now();
        return;
    }
    if (nread == 0 || self->closing_) return;
    self->session_->receive(std::string_view(buf->base, static_cast<std::size_t>(nread)));
    self->pump();
}

void LmtpConnection::pump() {
    if (closing_ || !session_) return;
    if (session_->has_output()) write(session_->take_output());
    if (session_->wants_close() || ((shutting_down_ || peer_done_) && !session_->delivering())) {
        if (shutting_down_) session_->close_with("421 4.3.2 Server shutting down");
        if (session_->has_output()) write(session_->take_output());
        stop_reading();
        uv_timer_stop(&timer_);
        if (writes_pending_ == 0) close();
        return;
    }
    if (session_->delivering()) {
        // Nothing is read, and the client waits on us: no idle timeout.
        stop_reading();
        uv_timer_stop(&timer_);
        return;
    }
    if (uv_stream_get_write_queue_size(stream()) > kMaxUnsentOutput) {
        stop_reading();
    } else {
        start_reading();
    }
    uv_timer_start(
        &timer_, &LmtpConnection::on_timeout,
        static_cast<std::uint64_t>(std::chrono::milliseconds(limits::lmtp::kIdleTimeout).count()),
        0);
}

void LmtpConnection::on_timeout(uv_timer_t* timer) {
    auto* self = static_cast<LmtpConnection*>(timer->data);
    log::info("lmtp_timeout", {{"peer", self->peer_}});
    self->session_->close_with("421 4.4.2 Idle timeout, closing connection");
    self->pump();
}

void LmtpConnection::start_reading() {
    if (reading_ || closing_ || peer_done_) return;
    if (uv_read_start(stream(), &LmtpConnection::on_alloc, &LmtpConnection::on_read) == 0) {
        reading_ = true;
    }
}

void LmtpConnection::stop_reading() {
    if (!reading_) return;
    uv_read_stop(stream());
    reading_ = false;
}

struct LmtpWrite {
    uv_write_t req{};
    std::string bytes;
    LmtpConnection* connection = nullptr;
};

void LmtpConnection::write(std::string bytes) {
    if (closing_ || bytes.empty()) return;
    auto* request = new LmtpWrite;
    request->bytes = std::move(bytes);
    request->connection = this;
    request->req.data = request;
    uv_buf_t buf = uv_buf_init(request->bytes.data(), static_cast<unsigned>(request->bytes.size()));
    if (uv_write(&request->req, stream(), &buf, 1, &LmtpConnection::on_write) != 0) {
        delete request;
        close_now();
        return;
    }
    ++writes_pending_;
}

void LmtpConnection::on_write(uv_write_t* req, int status) {
    auto* request = static_cast<LmtpWrite*>(req->data);
    LmtpConnection* self = request->connection;
    delete request;
    if (self->writes_pending_ > 0) --self->writes_pending_;
    if (self->closing_) return;
    if (status < 0) {
        self->close_now();
        return;
    }
    if (!self->session_ || self->session_->wants_close() || self->peer_done_) {
        if (self->writes_pending_ == 0) self->close();
        return;
    }
    self->pump();  // reading may resume now the output drained
}

void LmtpConnection::close() {
    if (closing_) return;
    closing_ = true;
    for (KeptMail& kept : kept_mail_)
        let_go(std::move(kept));
    kept_mail_.clear();
    *alive_ = false;
    alive_.reset();
    reading_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(stream()), &LmtpConnection::on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &LmtpConnection::on_close);
}

void LmtpConnection::on_close(uv_handle_t* handle) {
    auto* self = static_cast<LmtpConnection*>(handle->data);
    if (--self->open_handles_ == 0) {
        log::info("lmtp_disconnect", {{"peer", self->peer_}});
        self->loop_.lmtp_connection_closed(self);  // frees it
    }
}

store::Recipient LmtpConnection::find_recipient(std::string_view user) {
    return context_.find_recipient(user);
}

void LmtpConnection::deliver(lmtp::Delivery delivery, std::size_t index) {
    auto post = context_.poster_for_user(delivery.recipient.user);
    // Back on this loop with the recipient's reply, unless the connection
    // is gone (the MTA then retries whatever it did not hear).
    auto answer = [loop = &loop_, alive = std::weak_ptr<bool>(alive_), this,
                   index](lmtp::Reply reply) {
        loop->post([alive, this, index, reply = std::move(reply)]() mutable {
            if (alive.expired() || closing_) return;
            session_->delivered(index, std::move(reply));
            pump();
        });
    };
    MailAccess* access = context_.mail;
    // The user's mail comes back to this loop and is kept open for the
    // next delivery to that user (kKeptMail); let go on the user's
    // executor. Through the loop, which outlives the worker pools, so a
    // sync finishing during shutdown never posts into a pool already gone.
    auto release = [loop = &loop_, alive = std::weak_ptr<bool>(alive_), this, post,
                    user = delivery.recipient.user](std::shared_ptr<UserMail> mail) {
        if (!mail) return;
        loop->post([alive, this, post, user, mail = std::move(mail)]() mutable {
            if (alive.expired() || closing_) {
                post(std::chrono::milliseconds(0), [gone = std::move(mail)] {});
                return;
            }
            keep_mail(user, std::move(mail), post);
        });
    };
    post(std::chrono::milliseconds(0), [access, delivery = std::move(delivery),
                                        answer = std::move(answer), release] {
        lmtp::store_copy(*access, delivery,
                         std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()),
                         answer, release);
    });
}

void LmtpConnection::keep_mail(const std::string& user, std::shared_ptr<UserMail> mail,
                               const UserPost& post) {
    for (auto it = kept_mail_.begin(); it != kept_mail_.end(); ++it) {
        if (it->user != user) continue;
        if (it->mail == mail) {
            // The same store (the registry hands out the open one): this
            // reference is not the last, dropping it here closes nothing.
            mail.reset();
            KeptMail again = std::move(*it);
            kept_mail_.erase(it);
            kept_mail_.push_back(std::move(again));
            return;
        }
        let_go(std::move(*it));
        kept_mail_.erase(it);
        break;
    }
    kept_mail_.push_back({user, std::move(mail), post});
    if (kept_mail_.size() > kKeptMail) {
        let_go(std::move(kept_mail_.front()));
        kept_mail_.pop_front();
    }
}

void LmtpConnection::let_go(KeptMail kept) {
    kept.post(std::chrono::milliseconds(0), [gone = std::move(kept.mail)] {});
}

}  // namespace imap::server
