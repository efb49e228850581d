#include "server/net/session_host.h"

#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "server/base/log.h"
#include "server/imap/user_mail.h"

namespace imap::server {

SessionHost::SessionHost(std::shared_ptr<Executor> loop, Delivery deliver)
    : loop_(std::move(loop)), deliver_(std::move(deliver)), executor_(loop_) {}

void SessionHost::detach() {
    std::lock_guard lock(mutex_);
    attached_ = false;
}

void SessionHost::attach(std::shared_ptr<Executor> loop, Delivery deliver) {
    {
        std::lock_guard lock(mutex_);
        loop_ = std::move(loop);
        deliver_ = deliver;
        attached_ = true;
        if (retired_) return;
    }
    // Whatever was published while the connection moved.
    deliver();
}

void SessionHost::start(SessionContext context, Authenticator& authenticator, MailAccess* mail) {
    start(std::move(context), [&authenticator, mail](SessionContext completed) {
        return std::make_unique<Session>(std::move(completed), authenticator, mail);
    });
}

void SessionHost::start(SessionContext context, const SessionFactory& make) {
    // Answers of the password check come back as tasks, so they run where
    // the session runs, in order with its input.
    context.post_to_loop = [weak = weak_from_this()](std::function<void()> answer) {
        if (auto self = weak.lock())
            self->post([answer = std::move(answer)](HostedSession&) { answer(); });
    };
    session_ = make(std::move(context));
    session_->set_transport_unsent([this] { return unsent(); });
    // Outside this host's own tasks (an IDLE update another session of the
    // user pushed, on the same strand): publish now. Inside them the drain
    // publishes when it runs out of tasks.
    session_->set_output_listener([this] {
        bool inside;
        {
            std::lock_guard lock(mutex_);
            inside = draining_;
        }
        if (!inside) publish();
    });
    {
        std::lock_guard lock(mutex_);
        draining_ = scheduled_ = true;
    }
    session_->greeting();
    publish();
    std::lock_guard lock(mutex_);
    draining_ = scheduled_ = false;
    if (!tasks_.empty()) {
        // Posted by the delivery above: run them as any other.
        scheduled_ = true;
        loop_->post([self = shared_from_this()] { self->drain(); });
    }
}

std::uint64_t SessionHost::post(Task task) {
    std::shared_ptr<Executor> executor;
    bool run_now = false;
    std::uint64_t serial = 0;
    {
        std::lock_guard lock(mutex_);
        if (retired_) return 0;
        tasks_.push_back(std::move(task));
        serial = ++posted_;
        if (scheduled_) return serial;
        scheduled_ = true;
        executor = executor_;
        // On the loop's thread with nothing of ours running: at once, as a
        // single-threaded server would (one loop iteration less per command).
        run_now = executor == loop_ && loop_->running_here();
    }
    if (run_now) {
        drain();
    } else {
        executor->post([self = shared_from_this()] { self->drain(); });
    }
    return serial;
}

void SessionHost::post_input(std::string bytes) {
    pending_input_ += bytes.size();
    post([this, bytes = std::move(bytes)](HostedSession& session) {
        pending_input_ -= bytes.size();
        session.receive(bytes);
    });
}

void SessionHost::move_to(std::shared_ptr<Executor> executor) {
    std::lock_guard lock(mutex_);
    executor_ = std::move(executor);
}

void SessionHost::run_away(std::shared_ptr<Executor> away, std::function<void()> task) {
    std::lock_guard lock(mutex_);
    home_ = executor_;
    executor_ = std::move(away);
    first_.push_back(std::move(task));
}

void SessionHost::come_home(std::function<void()> task) {
    std::lock_guard lock(mutex_);
    executor_ = std::move(home_);
    home_.reset();
    first_.push_back(std::move(task));
}

void SessionHost::retire() {
    std::shared_ptr<Executor> executor;
    {
        std::lock_guard lock(mutex_);
        if (retired_) return;
        // The last task: abandon() gives back the user's slot in the
        // per-user limit if the session still holds it.
        tasks_.push_back([](HostedSession& session) { session.abandon(); });
        ++posted_;
        // Under the same lock as the task: the drain that runs it must see
        // retired_, or it would end without destroying the Session, which
        // would then die wherever the host's last reference goes (a loop),
        // off its user's strand while the strand uses the user's store.
        retired_ = true;
        if (scheduled_) return;  // the drain running now takes it
        scheduled_ = true;
        executor = executor_;
    }
    executor->post([self = shared_from_this()] { self->drain(); });
}

void SessionHost::drain() {
    std::shared_ptr<Executor> running_on;
    {
        std::lock_guard lock(mutex_);
        running_on = executor_;
        draining_ = true;
    }
    for (;;) {
        Task task;
        std::function<void()> first;
        bool moved = false;
        bool away = false;
        {
            std::lock_guard lock(mutex_);
            if (executor_ != running_on) {
                moved = true;
            } else if (!first_.empty()) {
                first = std::move(first_.front());
                first_.pop_front();
                away = home_ != nullptr;
            } else if (!tasks_.empty()) {
                task = std::move(tasks_.front());
                tasks_.pop_front();
            }
        }
        if (task || first) {
            if (session_) {
                try {
                    // The task's reads (often several commands of a turn)
                    // share one snapshot of the user's store: one read
                    // transaction instead of one per query. `mail` keeps the
                    // store alive if the task logs the session out. Away
                    // from the strand the writer is not ours to touch.
                    std::shared_ptr<UserMail> mail = session_->shared_mail();
                    std::optional<store::ReadBatch> batch;
                    if (mail && !away) batch.emplace(mail->store());
                    if (first) {
                        first();
                    } else {
                        task(*session_);
                    }
                } catch (const std::exception& error) {
                    // Handlers catch their own errors (Session::fail); this
                    // is the transport's task itself failing.
                    log::error("session_task_failed", {{"error", error.what()}});
                }
            }
            if (first) continue;
            std::lock_guard lock(mutex_);
            ++completed_;
            continue;
        }
        // Out of tasks (or moving): hand over what the tasks produced while
        // this drain still owns the session. A delivery made here at once
        // (on the loop) may post more tasks: they are taken by this loop.
        publish();
        std::lock_guard lock(mutex_);
        if (moved || executor_ != running_on) {
            draining_ = false;
            executor_->post([self = shared_from_this()] { self->drain(); });
            return;
        }
        if (!tasks_.empty() || !first_.empty()) continue;
        draining_ = false;
        if (session_ && session_->yielded() && !retired_) {
            // It used up its TurnBudget: it goes on after the others waiting
            // for this executor (the loop's other connections; on a strand
            // the user's other sessions, and on the pool the other users).
            tasks_.push_back([](HostedSession& again) { again.resume(); });
            ++posted_;
            executor_->post([self = shared_from_this()] { self->drain(); });
            return;
        }
        scheduled_ = false;
        if (retired_ && session_) {
            // Destroyed on its executor: it may hold its user's mail.
            session_.reset();
        }
        return;
    }
}

void SessionHost::publish() {
    if (!session_) return;
    HostedSession& session = *session_;
    // Away from the strand, nothing of the user's mail may be read here,
    // nor output sent before the strand has counted the commits it shows.
    if (session.holds_output()) return;
    // Group commit: what the session produced now may depend on any commit
    // of its user's store so far (its own, or another session's).
    std::shared_ptr<GroupCommit> group;
    std::uint64_t serial = 0;
    if (UserMail* mail = session.mail(); mail != nullptr && mail->group_commit()) {
        group = mail->group_commit();
        serial = mail->commit_serial();
        if (serial <= group->sync()->durable()) serial = 0;
    }
    bool wait = false;
    bool deliver_now = false;
    std::shared_ptr<Executor> loop;
    Delivery deliver;
    {
        std::lock_guard lock(mutex_);
        OutputBuffer& out = session.output();
        bool produced = false;
        // COMPRESS (RFC 4978 3): the chunk that ends with the tagged OK's
        // CRLF is marked; the connection compresses what follows it.
        // (A count and a flag rather than an optional: through the virtual
        // call g++ 12 warns the optional's value may be uninitialised.)
        const std::optional<std::size_t> offset = session.compressed_output_offset();
        bool marking = offset.has_value();
        std::size_t plain_left = offset.value_or(0);
        while (!out.empty()) {
            std::string chunk;
            bool compress_after = false;
            if (marking && out.front().size() > plain_left) {
                // Coalesced with output written after the OK: split there.
                chunk = std::string(out.front().substr(0, plain_left));
                out.consume(plain_left);
            } else {
                chunk = out.take_front();
            }
            if (marking) {
                plain_left -= chunk.size();
                if (plain_left == 0) {
                    compress_after = true;
                    marking = false;
                    session.compressed_output_marked();
                }
            }
            if (storage_failed_) continue;  // nothing after a failed sync goes out
            outbox_bytes_ += chunk.size();
            outbox_.push_back({std::move(chunk), serial, compress_after});
            produced = true;
        }
        if (produced && serial > 0) {
            commit_sync_ = group->sync();
            if (serial > awaited_serial_) {
                awaited_serial_ = serial;
                wait = true;
            }
        }
        published_.state = session.state();
        if (published_.user != session.user()) published_.user = session.user();
        published_.wants_close = session.wants_close() || storage_failed_;
        published_.starttls_requested = session.starttls_requested();
        published_.delayed = session.delayed();
        published_.pending_delay = session.pending_delay();
        published_.waiting_on_server = session.waiting_on_server();
        published_.input_paused = session.input_paused();
        published_.idle_update_pending = session.idle_update_pending();
        published_.idling = session.idling();
        published_.notifying = session.notifying();
        published_.completed = completed_;
        if (retired_ || !attached_) {
            // attach() delivers
        } else if (loop_->running_here()) {
            deliver_now = true;
            deliver = deliver_;
        } else {
            loop = claim_delivery();
        }
    }
    if (wait) {
        group->when_durable(serial, [weak = weak_from_this()](bool durable) {
            if (auto self = weak.lock()) self->on_durable(durable);
        });
    }
    if (deliver_now) {
        deliver();
    } else if (loop) {
        loop->post([self = shared_from_this()] { self->deliver_on_loop(); });
    }
}

std::shared_ptr<Executor> SessionHost::claim_delivery() {
    if (delivery_pending_) return nullptr;  // the delivery on its way takes this too
    delivery_pending_ = true;
    return loop_;
}

void SessionHost::on_durable(bool durable) {
    std::shared_ptr<Executor> loop;
    {
        std::lock_guard lock(mutex_);
        if (!durable && !storage_failed_) {
            // The commits this output depends on may not be on disk: it
            // never goes out (RFC 3501 7.1.5 BYE, RFC 5530 UNAVAILABLE).
            storage_failed_ = true;
            const std::uint64_t covered = commit_sync_ ? commit_sync_->durable() : 0;
            while (!outbox_.empty() && outbox_.back().serial > covered) {
                outbox_bytes_ -= outbox_.back().bytes.size();
                outbox_.pop_back();
            }
            std::string bye = "* BYE [UNAVAILABLE] The server could not store your changes\r\n";
            outbox_bytes_ += bye.size();
            outbox_.push_back({std::move(bye), 0});
            published_.wants_close = true;
        }
        if (retired_ || !attached_) return;
        loop = claim_delivery();
    }
    if (loop) loop->post([self = shared_from_this()] { self->deliver_on_loop(); });
}

void SessionHost::deliver_on_loop() {
    Delivery deliver;
    {
        std::lock_guard lock(mutex_);
        if (retired_ || !attached_) {
            delivery_pending_ = false;
            return;
        }
        if (!loop_->running_here()) {
            // Posted to the loop the connection has left: to its new one.
            loop_->post([self = shared_from_this()] { self->deliver_on_loop(); });
            return;
        }
        delivery_pending_ = false;
        deliver = deliver_;
    }
    deliver();
}

bool SessionHost::busy() const {
    std::lock_guard lock(mutex_);
    // A read beside the strand counts too: its output is still to come.
    return completed_ < posted_ || home_ != nullptr || !first_.empty();
}

void SessionHost::refresh_view() {
    std::lock_guard lock(mutex_);
    view_ = published_;
}

std::vector<std::string> SessionHost::take_output(bool* compress_after) {
    std::vector<std::string> out;
    if (compress_after != nullptr) *compress_after = false;
    {
        std::lock_guard lock(mutex_);
        // In order, up to the first chunk still waiting for its commit, or
        // up to the end of COMPRESS's OK.
        const std::uint64_t durable = commit_sync_ ? commit_sync_->durable() : 0;
        while (!outbox_.empty() && outbox_.front().serial <= durable) {
            const bool last_plain = outbox_.front().compress_after;
            out.push_back(std::move(outbox_.front().bytes));
            outbox_.pop_front();
            if (last_plain) {
                if (compress_after != nullptr) *compress_after = true;
                break;
            }
        }
    }
    std::size_t bytes = 0;
    for (const std::string& chunk : out)
        bytes += chunk.size();
    outbox_bytes_ -= bytes;
    return out;
}

}  // namespace imap::server
