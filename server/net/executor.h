// Executors: where a session's work runs (docs/architecture.md "Threads").
//
//   LoopExecutor  the thread of one I/O loop (closures through its
//                 LoopInbox); pre-login sessions run here, and every session
//                 when the server runs with one thread.
//   Strand        closures run one at a time, in the order posted, on
//                 whichever thread of a shared WorkPool is free. Each user
//                 has one (StrandRegistry): every session of a user, its
//                 UserMail and its SQLite connection are used only from its
//                 strand, so a user's commands are serialised as on one
//                 thread while different users' commands run in parallel,
//                 and one user's fsync or long SEARCH holds one worker,
//                 never a loop and never another user.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "server/auth/work_pool.h"
#include "server/net/loop_inbox.h"

namespace imap::server {

class Executor {
  public:
    using Task = std::function<void()>;
    virtual ~Executor() = default;
    // Any thread. Runs `task` later, after everything posted before it.
    virtual void post(Task task) = 0;
    // Whether the calling thread is the one this executor runs on now: a
    // loop's own thread; for a strand, inside one of its closures.
    virtual bool running_here() const = 0;
};

class LoopExecutor final : public Executor {
  public:
    // `inbox` belongs to the loop whose thread is `thread`; both outlive
    // this executor's posts (LoopInbox drops posts after close()).
    LoopExecutor(LoopInbox& inbox, std::thread::id thread) : inbox_(inbox), thread_(thread) {}
    void post(Task task) override { inbox_.post(std::move(task)); }
    bool running_here() const override { return std::this_thread::get_id() == thread_; }

  private:
    LoopInbox& inbox_;
    std::thread::id thread_;
};

class Strand final : public Executor, public std::enable_shared_from_this<Strand> {
  public:
    // A strand runs at most this many closures per turn on a worker before
    // it goes to the back of the pool's queue: the other users waiting for a
    // worker get theirs in between (a session yields after its TurnBudget,
    // so a closure is itself bounded).
    static constexpr std::size_t kTasksPerTurn = 16;
    // A closure that ran this long has usually built something big and let
    // it go (THREAD of 100,000 messages: ~120 MB of strings and nodes, freed
    // when the answer is written); glibc keeps freed memory in its arenas,
    // so without malloc_trim(0) afterwards the process stays at that peak
    // for good (docs/storage.md "Memory"). Trimming costs a few ms; after a
    // closure of this length that is a few per cent, and short closures,
    // the common case, never pay it.
    static constexpr std::chrono::milliseconds kTrimAfterTask{50};
    // A command that runs in many short closures (STORE or FETCH in steps,
    // each resumed when the output drains) never has a long one, and each
    // of the pool's workers keeps its own glibc arena, so what the steps
    // freed stayed in up to one arena per worker: STORE 1:* of 100,000
    // messages left the server at 110 MiB. So when a strand runs out of
    // work, the free memory the arenas keep (mallinfo2) is looked at, at
    // most every kTrimCheckInterval for the whole process, and trimmed when
    // it is kTrimFreeBytes or more, at most every kTrimMinInterval.
    static constexpr std::size_t kTrimFreeBytes = 16 * 1024 * 1024;
    static constexpr std::chrono::milliseconds kTrimCheckInterval{100};
    static constexpr std::chrono::milliseconds kTrimMinInterval{1000};

    explicit Strand(WorkPool& pool) : pool_(pool) {}
    void post(Task task) override;
    bool running_here() const override;
    // Tasks posted and not started yet (any thread): from a task, whether
    // others of this user wait behind it.
    bool has_waiting() const;
    // The pool will never run this strand again (it went, with the
    // strand's turn still waiting): the waiting tasks are dropped, and so
    // is everything posted later. Called by the dropped turn; any thread.
    void abandon();

  private:
    void submit_turn();
    void run_turn();
    // The idle check above (kTrimFreeBytes).
    static void trim_if_hoarding();

    WorkPool& pool_;
    mutable std::mutex mutex_;
    std::deque<Task> tasks_;
    bool scheduled_ = false;
    bool abandoned_ = false;
    // The worker running a turn now (default id: none).
    std::thread::id running_on_;
};

// One strand per user while any session of that user holds it. Any thread.
class StrandRegistry {
  public:
    explicit StrandRegistry(WorkPool& pool) : pool_(pool) {}
    // The strand of `user` (its canonical name): the same one for as long
    // as anything holds it, a fresh one after.
    std::shared_ptr<Strand> of(std::string_view user);
    // A strand of no user on the same pool: where one session's read runs
    // beside its user's strand (docs/architecture.md "Reads beside the
    // strand").
    std::shared_ptr<Strand> spare() { return std::make_shared<Strand>(pool_); }
    // Submits jobs of no strand to the same pool (SessionContext::side_job;
    // false when the pool is stopping). It names the pool, not this
    // registry: a job may submit the next while the server is going down,
    // and the pool outlives its own jobs (its destructor joins them), where
    // the registry is destroyed first.
    std::function<bool(WorkPool::Job)> side_jobs() {
        return [&pool = pool_](WorkPool::Job job) { return pool.try_submit(std::move(job)); };
    }
    // Users with a live strand (for tests).
    std::size_t size();

  private:
    WorkPool& pool_;
    std::mutex mutex_;
    std::map<std::string, std::weak_ptr<Strand>, std::less<>> strands_;
};

}  // namespace imap::server
