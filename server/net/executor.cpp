#include "server/net/executor.h"

#include <malloc.h>

#include <atomic>
#include <utility>
#include <vector>

#include "server/base/log.h"

namespace imap::server {

void Strand::post(Task task) {
    bool schedule = false;
    {
        std::lock_guard lock(mutex_);
        if (!abandoned_) {
            tasks_.push_back(std::move(task));
            if (!scheduled_) schedule = scheduled_ = true;
        }
    }
    // An abandoned strand's task is destroyed here, outside the lock.
    if (schedule) submit_turn();
}

namespace {

// A strand's turn as the pool holds it. Run, it gives the strand up first;
// destroyed unrun (the pool refused it or dropped it when it went), it
// abandons the strand: nothing will run its tasks any more, and a task may
// hold what holds the strand (a session's host posts its drain here and
// keeps the strand as its executor), a cycle that would otherwise outlive
// the server and everything the session holds with it.
struct Turn {
    std::shared_ptr<Strand> strand;
    explicit Turn(std::shared_ptr<Strand> owner) : strand(std::move(owner)) {}
    Turn(const Turn&) = delete;
    Turn& operator=(const Turn&) = delete;
    ~Turn() {
        if (strand) strand->abandon();
    }
};

}  // namespace

void Strand::submit_turn() {
    // Shared, so that std::function's copies of the job are one turn.
    auto turn = std::make_shared<Turn>(shared_from_this());
    pool_.try_submit([turn] {
        std::shared_ptr<Strand> self = std::move(turn->strand);
        self->run_turn();
    });
    // Refused (the pool is stopping; the strand pool has no waiting bound):
    // the job, and with it the turn, is gone already and the strand
    // abandoned.
}

void Strand::abandon() {
    std::deque<Task> dropped;
    {
        std::lock_guard lock(mutex_);
        abandoned_ = true;
        scheduled_ = false;
        dropped.swap(tasks_);
    }
    log::warning("strand_dropped", {{"tasks", static_cast<std::uint64_t>(dropped.size())}});
    // Outside the lock: a task's destructor may post here again (dropped).
}

bool Strand::running_here() const {
    std::lock_guard lock(mutex_);
    return running_on_ == std::this_thread::get_id();
}

bool Strand::has_waiting() const {
    std::lock_guard lock(mutex_);
    return !tasks_.empty();
}

void Strand::trim_if_hoarding() {
    using Clock = std::chrono::steady_clock;
    static std::atomic<Clock::rep> next_check{0};
    static std::atomic<Clock::rep> last_trim{0};
    const Clock::rep now = Clock::now().time_since_epoch().count();
    Clock::rep due = next_check.load(std::memory_order_relaxed);
    if (now < due) return;
    const Clock::rep next =
        now + std::chrono::duration_cast<Clock::duration>(kTrimCheckInterval).count();
    if (!next_check.compare_exchange_strong(due, next, std::memory_order_relaxed)) {
        return;  // another worker looks now
    }
    const Clock::rep quiet = std::chrono::duration_cast<Clock::duration>(kTrimMinInterval).count();
    if (now - last_trim.load(std::memory_order_relaxed) < quiet) return;
    // Free bytes in the arenas, pages already given back included (a trim
    // leaves them in the free lists): at most a second's trim walks over
    // them again, which costs little next to what a big command frees.
    if (mallinfo2().fordblks < kTrimFreeBytes) return;
    malloc_trim(0);
    last_trim.store(now, std::memory_order_relaxed);
}

void Strand::run_turn() {
    bool idle = false;
    for (std::size_t done = 0; done < kTasksPerTurn && !idle; ++done) {
        Task task;
        {
            std::lock_guard lock(mutex_);
            if (tasks_.empty()) {
                scheduled_ = false;
                running_on_ = {};
                idle = true;
                continue;
            }
            task = std::move(tasks_.front());
            tasks_.pop_front();
            running_on_ = std::this_thread::get_id();
        }
        const auto started = std::chrono::steady_clock::now();
        task();
        if (std::chrono::steady_clock::now() - started >= kTrimAfterTask) malloc_trim(0);
    }
    if (!idle) {
        std::lock_guard lock(mutex_);
        running_on_ = {};
        if (tasks_.empty()) {
            scheduled_ = false;
            idle = true;
        }
    }
    if (idle) {
        // Nothing of this user's runs here any more: a moment to see what
        // the arenas kept (kTrimFreeBytes).
        trim_if_hoarding();
        return;
    }
    // More to do: to the back of the pool's queue, behind the other users.
    submit_turn();
}

std::shared_ptr<Strand> StrandRegistry::of(std::string_view user) {
    std::lock_guard lock(mutex_);
    auto found = strands_.find(user);
    if (found != strands_.end()) {
        if (auto strand = found->second.lock()) return strand;
    }
    // Forget the strands nobody holds any more while we are here, so the map
    // stays as large as the number of users with sessions.
    std::erase_if(strands_, [](const auto& entry) { return entry.second.expired(); });
    auto strand = std::make_shared<Strand>(pool_);
    strands_.insert_or_assign(std::string(user), strand);
    return strand;
}

std::size_t StrandRegistry::size() {
    std::lock_guard lock(mutex_);
    std::erase_if(strands_, [](const auto& entry) { return entry.second.expired(); });
    return strands_.size();
}

}  // namespace imap::server
