#include "server/net/connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "server/base/log.h"
#include "server/base/metrics.h"
#include "server/net/io_loop.h"
#include "server/net/server.h"
#include "server/net/socket_options.h"
#include "store/accounts.h"

namespace imap::server {
namespace {

// One uv_write: the request and the bytes it sends, freed together in the
// write callback (docs/architecture.md: write buffers live until the write callback).
struct WriteRequest {
    uv_write_t req{};
    std::vector<std::string> chunks;  // the memory being written, kept until the callback
    Connection* connection = nullptr;
};

}  // namespace

Connection::Connection(IoLoop& loop) : loop_(loop), opened_at_(std::chrono::steady_clock::now()) {
    uv_tcp_init(loop_.loop(), &tcp_);
    tcp_.data = this;
    uv_timer_init(loop_.loop(), &timer_);
    timer_.data = this;
    uv_timer_init(loop_.loop(), &delay_timer_);
    delay_timer_.data = this;
    uv_timer_init(loop_.loop(), &poll_timer_);
    poll_timer_.data = this;
    uv_timer_init(loop_.loop(), &keepalive_timer_);
    keepalive_timer_.data = this;
    open_handles_ = 5;
}

Connection::~Connection() = default;

const std::string& Connection::user() const {
    static const std::string none;
    return host_ ? view().user : none;
}

ConnectionTransfer::~ConnectionTransfer() {
    if (fd >= 0) ::close(fd);
}

void Connection::move_to_session_loop() {
    IoLoop* target = loop_.server().session_loop();
    uv_os_fd_t fd = -1;
    const int copy =
        target != nullptr && uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) == 0
            ? ::dup(fd)
            : -1;
    moving_ = false;
    moved_ = true;
    if (copy < 0) {
        // Not worth a connection: it stays on this loop.
        log::warning("connection_move_failed", {{"peer", peer()}});
        update_reading();
        return;
    }
    host_->detach();
    auto transfer = std::make_shared<ConnectionTransfer>();
    transfer->fd = copy;
    transfer->tls = std::move(tls_);
    transfer->compression = std::move(compression_);
    transfer->host = std::move(host_);
    transfer->options = options_;
    transfer->deadlines = deadlines_;
    transfer->opened_at = opened_at_;
    // host_ is gone from here: this closes the old handles only, without a
    // log line, a BYE or a change to the connection counts.
    close_now("moved");
    target->post([target, transfer] { target->add_connection().take_over(std::move(*transfer)); });
}

void Connection::take_over(ConnectionTransfer transfer) {
    options_ = std::move(transfer.options);
    tls_ = std::move(transfer.tls);
    compression_ = std::move(transfer.compression);
    host_ = std::move(transfer.host);
    deadlines_ = transfer.deadlines;
    opened_at_ = transfer.opened_at;
    moved_ = true;
    counted_open_ = true;  // counted at start() on the first loop
    const int fd = std::exchange(transfer.fd, -1);
    const int rc = uv_tcp_open(&tcp_, fd);
    host_->attach(loop_.executor(), [this] { on_session_update(); });
    if (rc < 0) {
        ::close(fd);
        close_now(uv_strerror(rc));
        return;
    }
    log::debug("connection_moved",
               {{"peer", peer()}, {"loop", static_cast<std::uint64_t>(loop_.index())}});
    arm_timer();
    update_reading();
}

void Connection::start(Authenticator& authenticator, MailAccess& mail, StrandRegistry* strands,
                       ConnectionOptions options) {
    start(
        [&authenticator, &mail](SessionContext context) {
            return std::make_unique<Session>(std::move(context), authenticator, &mail);
        },
        strands, std::move(options));
}

void Connection::start(const SessionHost::SessionFactory& make, StrandRegistry* strands,
                       ConnectionOptions options) {
    options_ = std::move(options);
    set_no_delay(&tcp_);
    limit_unsent_in_kernel(&tcp_, kKernelUnsent);
    deadlines_ = ConnectionDeadlines(options_.timeouts, opened_at_);
    if (options_.implicit_tls) tls_ = std::make_unique<TlsSession>(options_.tls_context);
    log::info("connection_opened",
              {{"peer", peer()}, {"listener", options_.listener}, {"tls", tls_ != nullptr}});
    metrics().connection_opened(options_.listener);
    counted_open_ = true;
    host_ = std::make_shared<SessionHost>(loop_.executor(), [this] { on_session_update(); });
    SessionContext context = options_.session_context;
    context.channel_binding = [slot = channel_binding_]() -> std::optional<sasl::ChannelBinding> {
        const std::lock_guard lock(slot->mutex);
        return slot->binding;
    };
    if (strands != nullptr) {
        // After login everything of the user runs on the user's strand
        // (executor.h); the host moves there before the session opens the
        // user's mail.
        context.run_as_user = [weak = std::weak_ptr<SessionHost>(host_), strands](
                                  std::string_view user, std::function<void()> then) {
            auto host = weak.lock();
            if (!host) return;
            host->move_to(strands->of(store::AccountStore::canonical_user_name(std::string(user))));
            host->post([then = std::move(then)](HostedSession&) { then(); });
        };
        // A read-only command runs on a worker beside the user's strand
        // (docs/architecture.md "Reads beside the strand"). Called from the
        // session's own tasks, while the host is alive.
        context.beside_strand.away = [weak = std::weak_ptr<SessionHost>(host_),
                                      strands](std::function<void()> task) {
            if (auto host = weak.lock()) host->run_away(strands->spare(), std::move(task));
        };
        context.side_job = strands->side_jobs();
        context.beside_strand.home =
            [weak = std::weak_ptr<SessionHost>(host_)](std::function<void()> task) {
                if (auto host = weak.lock()) host->come_home(std::move(task));
            };
    }
    // Greets, and delivers the greeting (on_session_update) before it returns.
    host_->start(std::move(context), make);
    arm_timer();
    update_reading();
}

void Connection::on_session_update() {
    if (closing_) return;
    host_->refresh_view();
    pump();
}

void Connection::pump() {
    // A task pump() posts may run at once on this loop and deliver (the
    // session before login runs here): the delivery then asks for another
    // round instead of nesting one.
    if (in_pump_) {
        pump_again_ = true;
        return;
    }
    in_pump_ = true;
    do {
        pump_again_ = false;
        pump_once();
    } while (pump_again_ && !closing_);
    in_pump_ = false;
}

void Connection::post_resume() {
    if (resume_serial_ > view().completed) return;  // one is on its way
    resume_serial_ = host_->post([](HostedSession& session) { session.resume(); });
}

void Connection::refuse(bool implicit_tls, std::string_view refusal) {
    // Over a connection limit: nothing is kept for this peer beyond this
    // call (no Session, no TLS, no timer). A plain client gets one line
    // (RFC 3501 7.1.5), written only if the socket takes it at once, which
    // a fresh socket's empty send buffer does; a TLS client would need a
    // handshake first, so it gets the close alone.
    if (!implicit_tls) {
        uv_buf_t buf =
            uv_buf_init(const_cast<char*>(refusal.data()), static_cast<unsigned>(refusal.size()));
        uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1);
    }
    close_now("connection limit");
}

ConnectionDeadlines::Phase Connection::phase() const {
    if (view().state == SessionState::NotAuthenticated) {
        return ConnectionDeadlines::Phase::NotAuthenticated;
    }
    return view().idling ? ConnectionDeadlines::Phase::Idling
                         : ConnectionDeadlines::Phase::Authenticated;
}

void Connection::arm_timer() {
    // Once closing, the timer bounds the flush (close_after_flush).
    if (closing_ || close_pending_) return;
    const auto deadline = deadlines_.next(phase(), view().waiting_on_server);
    if (!deadline) {
        uv_timer_stop(&timer_);
        return;
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(
        deadline->when - ConnectionDeadlines::Clock::now());
    uv_timer_start(&timer_, &Connection::on_timer,
                   static_cast<std::uint64_t>(std::max<std::int64_t>(left.count(), 0)), 0);
}

void Connection::on_timer(uv_timer_t* timer) {
    auto* self = static_cast<Connection*>(timer->data);
    if (self->close_pending_) {
        // A client that never read its last bytes.
        self->close_now("flush timeout");
        return;
    }
    const auto deadline = self->deadlines_.next(self->phase(), self->view().waiting_on_server);
    if (!deadline || ConnectionDeadlines::Clock::now() < deadline->when) {
        self->arm_timer();  // libuv's clock runs a little behind ours
        return;
    }
    log::info("connection_timeout", {{"peer", self->peer()},
                                     {"state", state_name(self->view().state)},
                                     {"timeout", to_string(deadline->kind)},
                                     {"unsent", static_cast<std::uint64_t>(self->unsent())}});
    // RFC 3501 7.1.5: BYE says why the server closes.
    auto bye = [self](std::string text) {
        self->host_->post(
            [text = std::move(text)](HostedSession& session) { session.say_goodbye(text); });
    };
    switch (deadline->kind) {
        case ConnectionDeadlines::Kind::Login:
            bye("Login took too long");
            break;
        case ConnectionDeadlines::Kind::Backlog:
            // Behind everything the client has not read: it sees this only
            // if it catches up within kBacklogFlushTimeout (best effort);
            // meanwhile nothing more is produced for it.
            bye("Too much output left unread");
            self->close_after_flush("output backlog", kBacklogFlushTimeout);
            self->pump();
            return;
        case ConnectionDeadlines::Kind::Inactivity:
        case ConnectionDeadlines::Kind::Idle:
            bye("Autologout; idle for too long");
            break;
    }
    self->close_after_flush("timeout");
    self->pump();
}

void Connection::on_delay(uv_timer_t* timer) {
    auto* self = static_cast<Connection*>(timer->data);
    self->delay_armed_ = false;
    if (self->closing_ || self->close_pending_) return;
    // Until the view shows this ran, the delay it ends is not armed again.
    self->delay_elapsed_serial_ = self->host_->post([](HostedSession& session) {
        if (session.delayed()) session.delay_elapsed();
    });
    self->pump();
}

void Connection::update_idle() {
    const bool idling = view().idling && !close_pending_;
    if (idling == idle_armed_) return;
    idle_armed_ = idling;
    if (idling) {
        const auto interval = static_cast<std::uint64_t>(options_.idle_poll_interval.count());
        uv_timer_start(&poll_timer_, &Connection::on_idle_poll, interval, interval);
        arm_keepalive();
        // The idle timeout counts from the start of IDLE (RFC 2177: clients
        // re-issue it at least every 29 minutes).
        deadlines_.idle_started(ConnectionDeadlines::Clock::now());
        arm_timer();
    } else {
        uv_timer_stop(&poll_timer_);
        uv_timer_stop(&keepalive_timer_);
    }
}

void Connection::arm_keepalive() {
    if (!idle_armed_ || options_.idle_keepalive.count() <= 0) return;
    uv_timer_start(&keepalive_timer_, &Connection::on_keepalive,
                   static_cast<std::uint64_t>(options_.idle_keepalive.count()), 0);
}

void Connection::on_idle_poll(uv_timer_t* timer) {
    auto* self = static_cast<Connection*>(timer->data);
    if (self->closing_ || self->close_pending_) return;
    // Its output comes back with the host's publish.
    self->host_->post([](HostedSession& session) { session.idle_poll(); });
}

void Connection::mail_changed_elsewhere(std::string_view user) {
    if (closing_ || close_pending_ || !host_ || !(view().idling || view().notifying)) return;
    if (store::AccountStore::canonical_user_name(view().user) != user) return;
    host_->post([](HostedSession& session) { session.changed_elsewhere(); });
}

void Connection::on_keepalive(uv_timer_t* timer) {
    auto* self = static_cast<Connection*>(timer->data);
    if (self->closing_ || self->close_pending_ || !self->view().idling) return;
    self->host_->post([](HostedSession& session) { session.idle_keepalive(); });
    self->arm_keepalive();
}

void Connection::shutdown() {
    end_with_bye("Server shutting down", "server shutdown");
}

void Connection::end_with_bye(std::string_view text, std::string_view reason) {
    if (closing_ || close_pending_) return;
    if (!host_) {
        close_now(reason);
        return;
    }
    host_->post([text = std::string(text)](HostedSession& session) { session.say_goodbye(text); });
    close_after_flush(reason);
    pump();
}

ControlSocket::ConnectionInfo Connection::describe() const {
    ControlSocket::ConnectionInfo info;
    if (host_) {
        info.user = view().user;
        info.state = state_name(view().state);
        info.idling = view().idling;
    }
    info.listener = options_.listener;
    info.peer = peer();
    info.tls = tls_ != nullptr;
    info.seconds = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::steady_clock::now() - opened_at_)
                       .count();
    return info;
}

void Connection::on_alloc(uv_handle_t* handle, std::size_t, uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(handle->data);
    // The loop's one buffer: libuv reads into it and calls on_read at once,
    // which copies what it needs (into the session's input or TLS), so no
    // connection holds 64 KiB of its own between reads.
    std::span<char> buffer = self->loop_.read_buffer();
    *buf = uv_buf_init(buffer.data(), static_cast<unsigned>(buffer.size()));
}

void Connection::on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Connection*>(stream->data);
    if (nread == 0 || self->closing_) return;
    if (nread < 0) {
        self->close_now(nread == UV_EOF ? "peer closed" : uv_strerror(static_cast<int>(nread)));
        return;
    }
    // A client waiting for our ACK before it sends the rest of a command
    // (its Nagle algorithm) must not wait for the delayed ACK.
    request_quick_ack(&self->tcp_);
    metrics().bytes_received(static_cast<std::uint64_t>(nread));
    self->handle_input(std::string_view(buf->base, static_cast<std::size_t>(nread)));
}

void Connection::handle_input(std::string_view bytes) {
    if (close_pending_) return;  // after BYE nothing more is read
    deadlines_.activity(ConnectionDeadlines::Clock::now());
    const auto started = std::chrono::steady_clock::now();
    if (tls_) {
        tls_->feed_ciphertext(bytes);
        if (tls_->handshake_done() && !channel_binding_->published) {
            const std::lock_guard lock(channel_binding_->mutex);
            channel_binding_->binding = tls_->channel_binding();
            channel_binding_->published = true;
        }
        std::string plaintext;
        tls_->read_plaintext(plaintext);
        if (!plaintext.empty()) take_plaintext(std::move(plaintext));
        if (tls_->failed()) {
            log::info("tls_failed", {{"peer", peer()}, {"error", tls_->error()}});
            // The ciphertext may hold an alert: send it, then close.
            close_after_flush("tls failure");
        } else if (tls_->peer_closed()) {
            tls_->close_notify();
            close_after_flush("peer closed");
        }
    } else {
        take_plaintext(std::string(bytes));
    }
    if (log::enabled(LogLevel::Debug)) {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
        log::debug("input", {{"peer", peer()},
                             {"bytes", static_cast<std::uint64_t>(bytes.size())},
                             {"state", state_name(view().state)},
                             {"duration_us", static_cast<std::int64_t>(micros)}});
    }
    pump();
}

void Connection::take_plaintext(std::string bytes) {
    if (!compression_) {
        host_->post_input(std::move(bytes));
        return;
    }
    compression_->feed(bytes);
    inflate_input();
}

bool Connection::input_wanted() const {
    const SessionView& session = view();
    return !closing_ && !close_pending_ && !moving_ && !session.input_paused &&
           !session.waiting_on_server && !session.wants_close && unsent() <= kHighWater &&
           host_->pending_input() <= kHighWater;
}

void Connection::inflate_input() {
    while (compression_ && compression_->has_input() && input_wanted()) {
        std::string plain;
        compression_->inflate(plain, kInflateChunk);
        if (compression_->failed()) {
            log::info("compression_failed", {{"peer", peer()}, {"error", compression_->error()}});
            // RFC 3501 7.1.5: BYE says why; it goes out compressed.
            host_->post(
                [](HostedSession& session) { session.say_goodbye("Invalid compressed data"); });
            close_after_flush("compression failure");
            return;
        }
        if (plain.empty()) break;
        host_->post_input(std::move(plain));
    }
}

void Connection::write_output() {
    bool compress_after = false;
    std::string compressed;
    do {
        std::vector<std::string> out = host_->take_output(&compress_after);
        // The keepalive counts from the last output.
        if (idle_armed_ && !out.empty()) arm_keepalive();
        if (!compression_ && !tls_) {
            write_chunks(std::move(out));
            out.clear();
        }
        for (std::string& chunk : out) {
            if (compression_) {
                compression_->compress(chunk, compressed);
            } else {
                tls_->write_plaintext(chunk);
            }
        }
        if (compress_after && !compression_) {
            // RFC 4978 3: compressed from the byte after the OK's CRLF,
            // both ways; the session reads again once it knows.
            compression_ = std::make_unique<Compression>();
            host_->post([](HostedSession& session) { session.compression_started(); });
            log::debug("compress", {{"peer", peer()}});
        }
    } while (compress_after);
    if (compression_) {
        // RFC 4978 4: nothing of a burst waits in the compressor.
        compression_->flush(compressed);
        if (tls_) {
            tls_->write_plaintext(compressed);
        } else {
            write_raw(std::move(compressed));
        }
    }
    if (tls_ && tls_->pending_ciphertext() > 0) write_raw(tls_->take_ciphertext());
}

void Connection::pump_once() {
    if (closing_ || !host_) return;
    write_output();
    const SessionView& session = view();

    // A held-back answer (a failed login, a penalised attempt): wait without
    // reading; only the login deadline runs meanwhile (arm_timer).
    if (session.delayed && !delay_armed_ && !close_pending_ &&
        session.completed >= delay_elapsed_serial_) {
        delay_armed_ = true;
        uv_timer_start(&delay_timer_, &Connection::on_delay,
                       static_cast<std::uint64_t>(session.pending_delay.count()), 0);
    }

    // RFC 3501 6.2.1: the tagged OK went out in plaintext (it is queued on
    // the socket ahead of anything TLS writes); every byte read from now on
    // is ciphertext. The Session dropped what was pipelined behind STARTTLS,
    // and this layer buffers no input of its own.
    if (session.starttls_requested && !tls_ && !close_pending_) {
        tls_ = std::make_unique<TlsSession>(options_.tls_context);
        host_->post([](HostedSession& started) { started.tls_started(); });
        log::debug("starttls", {{"peer", peer()}});
    }
    if (session.wants_close && !close_pending_) {
        if (tls_) {
            tls_->close_notify();
            if (tls_->pending_ciphertext() > 0) write_raw(tls_->take_ciphertext());
        }
        close_after_flush("logout");
    }
    if (close_pending_ && flushed()) {
        close_now(close_reason_);
        return;
    }
    // Logged in on the accepting loop: on to a session loop, once what was
    // written here is on the wire (the new loop's writes come after it).
    if (!moved_ && !close_pending_ && session.state != SessionState::NotAuthenticated) {
        if (loop_.server().session_loop_count() == 0) {
            moved_ = true;  // one loop: everything stays here
        } else {
            moving_ = true;
        }
    }
    if (moving_ && !close_pending_ && writes_in_flight_ == 0 &&
        !(tls_ && tls_->pending_ciphertext() > 0)) {
        move_to_session_loop();
        return;
    }
    // An IDLE update or commands held back for our output: once it drained.
    if ((session.input_paused || session.idle_update_pending) && !close_pending_ &&
        unsent() < kLowWater) {
        post_resume();
    }
    update_idle();
    inflate_input();
    update_reading();
    host_->set_transport_unsent(transport_unsent());
    deadlines_.unsent_output(unsent(), ConnectionDeadlines::Clock::now());
    // The phase may have changed (login, a delay begun or over): the
    // deadline that applies with it. Recorded times only, so this never
    // extends a deadline.
    arm_timer();
}

void Connection::write_raw(std::string bytes) {
    std::vector<std::string> chunks;
    chunks.push_back(std::move(bytes));
    write_chunks(std::move(chunks));
}

void Connection::write_chunks(std::vector<std::string> chunks) {
    if (closing_) return;
    std::erase_if(chunks, [](const std::string& chunk) { return chunk.empty(); });
    if (chunks.empty()) return;
    auto* request = new WriteRequest;
    request->chunks = std::move(chunks);
    request->connection = this;
    request->req.data = request;
    // One write of every chunk (writev): a FETCH of a thousand messages is
    // two chunks a message (the body moved in whole, OutputBuffer), and a
    // write each cost a system call and a TCP segment each, a third of the
    // loop's time in that FETCH.
    std::vector<uv_buf_t> bufs;
    bufs.reserve(request->chunks.size());
    std::size_t total = 0;
    for (std::string& chunk : request->chunks) {
        bufs.push_back(uv_buf_init(chunk.data(), static_cast<unsigned>(chunk.size())));
        total += chunk.size();
    }
    // libuv copies `bufs` (not the bytes) into the request.
    const int rc = uv_write(&request->req, reinterpret_cast<uv_stream_t*>(&tcp_), bufs.data(),
                            static_cast<unsigned>(bufs.size()), &Connection::on_write);
    if (rc < 0) {
        delete request;
        close_now(uv_strerror(rc));
        return;
    }
    ++writes_in_flight_;
    metrics().bytes_sent(total);
}

void Connection::on_write(uv_write_t* req, int status) {
    auto* request = static_cast<WriteRequest*>(req->data);
    Connection* self = request->connection;
    delete request;
    // Write callbacks (UV_ECANCELED after uv_close) run before the close
    // callback, so `self` is still alive here.
    --self->writes_in_flight_;
    if (self->closing_) return;
    if (status < 0) {
        self->close_now(uv_strerror(status));
        return;
    }
    self->host_->set_transport_unsent(self->transport_unsent());
    self->pump();
}

std::size_t Connection::transport_unsent() const {
    std::size_t total = uv_stream_get_write_queue_size(reinterpret_cast<const uv_stream_t*>(&tcp_));
    if (tls_) total += tls_->pending_ciphertext() + tls_->queued_plaintext();
    return total;
}

std::size_t Connection::unsent() const {
    return host_->unsent();
}

bool Connection::flushed() const {
    if (writes_in_flight_ > 0) return false;
    // A BYE still to be written, or in the outbox.
    if (host_ && (host_->busy() || host_->outbox_bytes() > 0)) return false;
    if (tls_ && !tls_->failed()) {
        if (tls_->pending_ciphertext() > 0) return false;
        // Implicit TLS: a greeting or BYE waiting for the handshake to finish.
        if (tls_->queued_plaintext() > 0 && !tls_->close_sent()) return false;
    }
    return true;
}

void Connection::update_reading() {
    if (closing_) return;
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    const std::size_t pending = unsent();
    // While closing after a BYE, keep reading only for a TLS handshake that
    // carries the BYE (an implicit-TLS client still in its handshake at a
    // timeout or shutdown); input is ignored.
    const SessionView& session = view();
    const std::size_t input = host_->pending_input();
    bool want = !session.input_paused && !session.waiting_on_server &&
                !(reading_ && (pending > kHighWater || input > kHighWater)) &&
                !(!reading_ && (pending > kLowWater || input > kLowWater));
    if (close_pending_) want = tls_ && !tls_->handshake_done() && !tls_->failed();
    // Moving: the new loop reads what follows. Compressed input left: it is
    // inflated first (inflate_input), as the session takes it.
    if (moving_ || (compression_ && compression_->has_input())) want = false;
    if (want && !reading_) {
        if (uv_read_start(stream, &Connection::on_alloc, &Connection::on_read) == 0) {
            reading_ = true;
        }
    } else if (!want && reading_) {
        uv_read_stop(stream);
        reading_ = false;
    }
}

void Connection::close_after_flush(std::string_view reason, std::chrono::milliseconds flush) {
    if (close_pending_ || closing_) return;
    close_pending_ = true;
    close_reason_ = reason;
    // Whatever the session still waits for or would push is not wanted now.
    if (host_) host_->post([](HostedSession& session) { session.abandon(); });
    // Bounded: a peer that does not read its last bytes is cut off.
    uv_timer_start(&timer_, &Connection::on_timer, static_cast<std::uint64_t>(flush.count()), 0);
}

void Connection::close_now(std::string_view reason) {
    if (closing_) return;
    closing_ = true;
    const auto seconds = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - opened_at_)
                             .count();
    if (host_) {
        log::info("connection_closed", {{"peer", peer()},
                                        {"listener", options_.listener},
                                        {"tls", tls_ != nullptr},
                                        {"user", view().user},
                                        {"reason", reason},
                                        {"duration_ms", static_cast<std::int64_t>(seconds)}});
    }
    // Without host_ only the old handles of a moved connection close.
    if (host_ && counted_open_) metrics().connection_closed(options_.listener);
    // The session goes on its executor; with it the user's slot in the
    // per-user connection limit, if LOGOUT has not given it back already.
    if (host_) host_->retire();
    uv_timer_stop(&timer_);
    uv_timer_stop(&delay_timer_);
    uv_timer_stop(&poll_timer_);
    uv_timer_stop(&keepalive_timer_);
    if (reading_) uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    // The connection ends here (a moved one's socket lives on in its copy,
    // whose input is not ours to take).
    if (host_) discard_unread_input();
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), &Connection::on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Connection::on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&delay_timer_), &Connection::on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_timer_), &Connection::on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&keepalive_timer_), &Connection::on_close);
}

void Connection::discard_unread_input() {
    // Closing a socket whose input was not all read sends a reset instead
    // of a FIN, and a reset also throws away what is still queued to send:
    // the BYE just written could go with it (RFC 3501 3.4, 7.1.5: the
    // server sends BYE, then closes). A client still sending when the
    // server ends the connection (a login deadline, a shutdown) had its
    // last bytes unread, since reading stops once the close is decided; so
    // what is there now is read and dropped first, at most
    // kMaxDiscardedOnClose bytes.
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return;
    char buffer[16 * 1024];
    for (std::size_t discarded = 0; discarded < kMaxDiscardedOnClose;) {
        const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n <= 0) return;
        discarded += static_cast<std::size_t>(n);
    }
}

void Connection::on_close(uv_handle_t* handle) {
    auto* self = static_cast<Connection*>(handle->data);
    if (--self->open_handles_ == 0) self->loop_.connection_closed(self);  // deletes self
}

}  // namespace imap::server
