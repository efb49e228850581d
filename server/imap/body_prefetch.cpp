#include "server/imap/body_prefetch.h"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <mutex>
#include <utility>

#include "store/body_codec.h"
#include "store/limits.h"

namespace imap::server {

struct BodyPrefetch::Shared : std::enable_shared_from_this<BodyPrefetch::Shared> {
    static constexpr std::size_t kEntriesPerJob = 64;

    enum class State { Queued, Decoding, Done, Failed };
    struct Entry {
        std::uint64_t serial = 0;  // a decoder finds its entry again by it
        store::BodyId body;
        std::uint64_t raw_size = 0;
        State state = State::Queued;
        std::string container;  // until a decoder takes it
        std::string decoded;    // Done
    };

    std::mutex mutex;
    std::condition_variable finished;  // an entry left State::Decoding
    std::deque<Entry> entries;         // in the order added
    std::uint64_t ahead = 0;
    std::uint64_t next_serial = 0;

    // Decodes `queued` with `lock` released meanwhile.
    void decode(Entry& queued, std::unique_lock<std::mutex>& lock) {
        queued.state = State::Decoding;
        const std::uint64_t serial = queued.serial;
        const std::string container = std::move(queued.container);
        lock.unlock();
        std::optional<std::string> decoded;
        try {
            decoded = store::read_container_range(container, 0, store::limits::kMaxMessageSize);
        } catch (const std::exception&) {
            // A damaged container: the FETCH's own read reports it.
        }
        lock.lock();
        // The entry may be gone meanwhile (take() passed it by, clear()).
        const auto entry = std::find_if(entries.begin(), entries.end(),
                                        [&](const Entry& e) { return e.serial == serial; });
        if (entry != entries.end()) {
            entry->state = decoded ? State::Done : State::Failed;
            if (decoded) entry->decoded = std::move(*decoded);
        }
        finished.notify_all();
    }

    Submit submit;
    bool job_submitted = false;  // a helper job is queued or running

    // Submits a helper job; the caller set job_submitted (under the lock,
    // which is not held here: the job's thread takes it at once).
    static void submit_job(const std::shared_ptr<Shared>& self) {
        if (self->submit([self] { self->run_job(); })) return;
        // Refused: the entries stay queued and take() hands them back.
        std::lock_guard lock(self->mutex);
        self->job_submitted = false;
    }

    // A helper job: the entries still queued, first to last, at most
    // kEntriesPerJob of them; then it goes to the back of the pool's queue,
    // so the users whose turns wait there get theirs in between.
    void run_job() {
        std::unique_lock lock(mutex);
        for (std::size_t done = 0;; ++done) {
            const auto next = std::find_if(entries.begin(), entries.end(),
                                           [](const Entry& e) { return e.state == State::Queued; });
            if (next == entries.end()) {
                job_submitted = false;
                return;
            }
            if (done == kEntriesPerJob) break;
            decode(*next, lock);
        }
        lock.unlock();
        submit_job(shared_from_this());  // still submitted: the next turn
    }
};

BodyPrefetch::BodyPrefetch(Submit submit) : shared_(std::make_shared<Shared>()) {
    shared_->submit = std::move(submit);
}

BodyPrefetch::~BodyPrefetch() {
    // Jobs not run yet find no entry; one running finishes its body alone.
    clear();
}

void BodyPrefetch::add(store::BodyId body, std::uint64_t raw_size, std::string container) {
    {
        std::lock_guard lock(shared_->mutex);
        shared_->entries.push_back(Shared::Entry{shared_->next_serial++, body, raw_size,
                                                 Shared::State::Queued, std::move(container),
                                                 std::string()});
        shared_->ahead += raw_size;
        if (shared_->job_submitted) return;  // the job on its way takes this one too
        shared_->job_submitted = true;
    }
    Shared::submit_job(shared_);
}

std::uint64_t BodyPrefetch::ahead() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->ahead;
}

std::optional<BodyPrefetch::Taken> BodyPrefetch::take(store::BodyId body) {
    using State = Shared::State;
    Shared& shared = *shared_;
    std::unique_lock lock(shared.mutex);
    auto& entries = shared.entries;
    const auto found = std::find_if(entries.begin(), entries.end(),
                                    [&](const Shared::Entry& entry) { return entry.body == body; });
    if (found == entries.end()) return std::nullopt;
    for (auto it = entries.begin(); it != found; ++it)
        shared.ahead -= it->raw_size;
    entries.erase(entries.begin(), found);
    // While a helper decodes this one, this thread decodes the last one
    // still queued rather than wait: with the helper alone at it, the
    // helper became what the FETCH waited for.
    while (entries.front().state == State::Decoding) {
        const auto last =
            std::find_if(entries.rbegin(), entries.rend(),
                         [](const Shared::Entry& entry) { return entry.state == State::Queued; });
        if (last == entries.rend()) {
            shared.finished.wait(lock);
        } else {
            shared.decode(*last, lock);
        }
    }
    Taken taken;
    Shared::Entry& entry = entries.front();
    if (entry.state == State::Done) taken.body = std::move(entry.decoded);
    if (entry.state == State::Queued) taken.container = std::move(entry.container);
    shared.ahead -= entry.raw_size;
    entries.pop_front();
    return taken;
}

void BodyPrefetch::clear() {
    std::lock_guard lock(shared_->mutex);
    shared_->entries.clear();
    shared_->ahead = 0;
}

}  // namespace imap::server
