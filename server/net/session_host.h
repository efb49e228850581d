// SessionHost: runs one connection's Session on the Session's executor and
// hands its output and state to the connection's I/O loop
// (docs/architecture.md "Threads").
//
//   loop thread                          executor (loop, or the user's strand)
//   Connection --post(task)--> queue --> task(HostedSession&) ... (in order)
//   Connection <--deliver-- snapshot <-- publish: output moved out, state copied
//
// Every call into the Session is a task on the host's queue, run in the
// order posted, one at a time, on the host's current executor: the loop's
// own thread before login (and always with one thread), the user's strand
// after (run_as_user, Session's SessionContext hook), so all sessions of one
// user, and their UserMail, are only ever used from that user's strand.
// A host moves between executors only between two tasks.
//
// After the tasks it has (and whenever the Session calls its output
// listener: an IDLE update pushed by another session of the user, a
// password check's answer), the host publishes: the Session's output moves
// to the outbox, its state to a SessionView, and the connection's loop is
// told (at once when the executor is that loop and the host is not inside
// a task of its own). Backpressure: the Session sees the bytes in the outbox
// and those the connection holds (set_transport_unsent) as its unsent
// output, so its high-water mark pauses it exactly as when it ran on the
// loop.
//
// Group commit (docs/storage.md "Group commit"): output produced after a
// commit of the user's store that is not durable yet stays in the outbox,
// stamped with the commit's serial, and take_output() hands out only the
// chunks whose commit is durable. The user's GroupCommit tells the host
// when a sync covered its serial, and the host delivers again. Nothing a
// commit's answer or another session's update depends on reaches the
// client before the commit is on disk.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/imap/session.h"
#include "server/net/executor.h"
#include "store/commit_sync.h"

namespace imap::server {

// What the connection knows of its session: a copy made at the session's
// last publish.
struct SessionView {
    SessionState state = SessionState::NotAuthenticated;
    std::string user;
    bool wants_close = false;
    bool starttls_requested = false;
    bool delayed = false;
    std::chrono::milliseconds pending_delay{0};
    bool waiting_on_server = false;
    bool input_paused = false;
    bool idle_update_pending = false;
    bool idling = false;
    bool notifying = false;
    // How many of the host's tasks had run at this publish: a task posted
    // with serial n has run (and its effect is in this view) once
    // completed >= n.
    std::uint64_t completed = 0;
};

class SessionHost : public std::enable_shared_from_this<SessionHost> {
  public:
    using Task = std::function<void(HostedSession&)>;
    // Makes the connection's session (IMAP's Session, POP3's Pop3Session)
    // from the context the host completed (post_to_loop).
    using SessionFactory = std::function<std::unique_ptr<HostedSession>(SessionContext)>;
    // On the loop thread, with the host's output and view ready to take.
    using Delivery = std::function<void()>;

    // Loop thread. `loop` is the connection's loop executor, where the
    // session starts and where deliveries go.
    SessionHost(std::shared_ptr<Executor> loop, Delivery deliver);
    SessionHost(const SessionHost&) = delete;
    SessionHost& operator=(const SessionHost&) = delete;

    // Loop thread, once: builds the Session (on this thread: nothing of the
    // user's is touched before login) and greets.
    void start(SessionContext context, const SessionFactory& make);
    // An IMAP Session.
    void start(SessionContext context, Authenticator& authenticator, MailAccess* mail);

    // Any thread: `task` runs with the Session on the host's executor,
    // after every task posted before it; dropped once the session is
    // retired. Returns the task's serial (SessionView::completed).
    std::uint64_t post(Task task);
    // post() of input bytes, counted in pending_input() until they ran.
    void post_input(std::string bytes);
    // Input bytes posted and not yet given to the Session.
    std::size_t pending_input() const { return pending_input_.load(); }
    // Within a task: the tasks after this one run on `executor`.
    void move_to(std::shared_ptr<Executor> executor);
    // Reads beside the strand (docs/architecture.md), within a task:
    // `task` runs next on `away`, before anything queued, without the
    // host's read batch (it reads through its own connection), and nothing
    // is published while the session holds_output(). come_home(), from
    // `task`, moves back to the executor the host left and runs its `task`
    // there first. Neither counts as a posted task (SessionView::completed).
    void run_away(std::shared_ptr<Executor> away, std::function<void()> task);
    void come_home(std::function<void()> task);
    // Loop thread: the connection moves to another loop (after login,
    // Connection::move_to_session_loop). Deliveries wait until attach(),
    // called on the new loop's thread, which delivers what was published
    // meanwhile.
    void detach();
    void attach(std::shared_ptr<Executor> loop, Delivery deliver);
    // Loop thread: the connection is gone; no delivery from now on. The
    // session is destroyed by a last task on its executor (it may hold its
    // user's mail), after Session::abandon() gave back its login slot (the
    // per-user limit), unless LOGOUT or a BYE gave it back already.
    void retire();

    // ---- The loop's side of a delivery (loop thread) ----
    // The output published so far, in order. With `compress_after`: it
    // stops after the chunk that ends with COMPRESS's tagged OK (RFC 4978
    // 3) and sets *compress_after; everything after it is to be
    // compressed, and the transport calls Session::compression_started().
    std::vector<std::string> take_output(bool* compress_after = nullptr);
    const SessionView& view() const { return view_; }
    // Bytes in the outbox plus what the connection reports it holds:
    // the Session's "transport unsent".
    std::size_t unsent() const { return outbox_bytes_.load() + transport_bytes_.load(); }
    void set_transport_unsent(std::size_t bytes) { transport_bytes_.store(bytes); }
    std::size_t outbox_bytes() const { return outbox_bytes_.load(); }
    // Tasks posted and not finished: a BYE or abandon may still be coming.
    bool busy() const;
    // Loop thread: refreshes view() from the latest published state.
    void refresh_view();

  private:
    struct Chunk {
        std::string bytes;
        // The commit serial it may go out after (0: at once).
        std::uint64_t serial = 0;
        // It ends with COMPRESS's tagged OK: what follows is compressed.
        bool compress_after = false;
    };

    void schedule();
    // From the user's GroupCommit, any thread: the output waiting for
    // `serial` may go, or (a failed sync) must never go.
    void on_durable(bool durable);
    // A delivery to the loop unless one is on its way. mutex_ held; returns
    // the loop to post to, or nullptr.
    std::shared_ptr<Executor> claim_delivery();
    void drain();
    // On the executor, after tasks: output to the outbox, state to the
    // published view, and a delivery to the loop unless one is on its way.
    void publish();
    void deliver_on_loop();

    // Guarded by mutex_: the connection's loop and its delivery (they change
    // when the connection moves), the queue, the executor, the outbox and
    // the state published for the loop.
    mutable std::mutex mutex_;
    std::shared_ptr<Executor> loop_;
    Delivery deliver_;
    bool attached_ = true;
    std::deque<Task> tasks_;
    std::shared_ptr<Executor> executor_;
    // run_away() / come_home(): their tasks, run before tasks_; the
    // executor to come back to, set while the host is away from it.
    std::deque<std::function<void()>> first_;
    std::shared_ptr<Executor> home_;
    bool scheduled_ = false;
    bool draining_ = false;
    std::deque<Chunk> outbox_;
    // The user's store's sync tracker once a chunk waited on it; the
    // highest serial a wake-up was asked for; a sync failed.
    std::shared_ptr<store::CommitSync> commit_sync_;
    std::uint64_t awaited_serial_ = 0;
    bool storage_failed_ = false;
    SessionView published_;
    bool delivery_pending_ = false;
    bool retired_ = false;

    std::atomic<std::size_t> outbox_bytes_{0};
    std::atomic<std::size_t> transport_bytes_{0};
    std::atomic<std::size_t> pending_input_{0};
    // Guarded by mutex_: serials of tasks posted and run.
    std::uint64_t posted_ = 0;
    std::uint64_t completed_ = 0;

    // Only on the executor (inside tasks): the Session itself.
    std::unique_ptr<HostedSession> session_;
    // Loop thread only.
    SessionView view_;
};

}  // namespace imap::server
