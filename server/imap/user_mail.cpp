#include "server/imap/user_mail.h"

#include <atomic>
#include <mutex>
#include <vector>

#include "server/base/log.h"
#include "store/accounts.h"

namespace imap::server {
namespace {

// UserMail::index_queue_total(): each UserMail adds the change of its own
// count, so a scrape reads one atomic instead of visiting every user's
// strand.
std::atomic<std::int64_t> g_index_queue_total{0};

}  // namespace

std::int64_t UserMail::index_queue_total() {
    return g_index_queue_total.load(std::memory_order_relaxed);
}

void UserMail::set_index_queue(std::size_t bodies) noexcept {
    g_index_queue_total.fetch_add(
        static_cast<std::int64_t>(bodies) - static_cast<std::int64_t>(index_queue_),
        std::memory_order_relaxed);
    index_queue_ = bodies;
}

UserMail::~UserMail() {
    set_index_queue(0);
}

UserMail::UserMail(std::string user, const store::OpenOptions& options,
                   GroupCommit::RunBlocking run_blocking)
    : user_(std::move(user)), store_(store::open_mail_store(options)) {
    if (auto sync = store_->commit_sync())
        group_commit_ = std::make_shared<GroupCommit>(std::move(sync), std::move(run_blocking));
    // The store is ours and reports only from calls made on it: `this`
    // outlives every report.
    store_->set_change_listener([this](const store::ChangeSet& changes) {
        for (store::MailboxId mailbox : changes.mailboxes)
            notify(mailbox);
        for (const store::NameChange& change : changes.names)
            notify(change);
        if (changes.bodies_queued > 0) {
            set_index_queue(index_queue_ + changes.bodies_queued);
            index_soon();
        }
    });
}

void UserMail::enable_readers(store::OpenOptions options) {
    options.read_only = true;
    options.create = false;
    options.defer_sync = false;
    std::lock_guard lock(readers_mutex_);
    // A lease coming back never allocates (its destructor cannot throw).
    idle_readers_.reserve(kMaxReaders);
    reader_options_ = std::move(options);
}

std::optional<UserMail::ReaderLease> UserMail::lease_reader() {
    std::unique_ptr<store::MailStore> reader;
    store::OpenOptions options;
    {
        std::lock_guard lock(readers_mutex_);
        if (!reader_options_) return std::nullopt;
        if (!idle_readers_.empty()) {
            reader = std::move(idle_readers_.back());
            idle_readers_.pop_back();
            return ReaderLease(*this, std::move(reader));
        }
        if (readers_open_ >= kMaxReaders) return std::nullopt;
        ++readers_open_;
        options = *reader_options_;
    }
    try {
        reader = store::open_mail_store(options);
    } catch (const std::exception& error) {
        std::lock_guard lock(readers_mutex_);
        --readers_open_;
        log::warning("reader_open_failed", {{"user", user_}, {"error", error.what()}});
        return std::nullopt;
    }
    return ReaderLease(*this, std::move(reader));
}

void UserMail::ReaderLease::give_back() noexcept {
    if (mail_ == nullptr || !reader_) return;
    std::lock_guard lock(mail_->readers_mutex_);
    mail_->idle_readers_.push_back(std::move(reader_));  // reserved: no allocation
    mail_ = nullptr;
}

std::size_t UserMail::readers_open() {
    std::lock_guard lock(readers_mutex_);
    return readers_open_;
}

void UserMail::set_background(Background background) {
    others_waiting_ = std::move(background.others_waiting);
    post_ = std::move(background.post);
    if (!post_) return;
    // The store calls this on this UserMail's executor (a pin changes in a
    // session's command) and owns no reference: it is ours.
    store_->defer_garbage([this] {
        post_(kGarbageDelay, [weak = weak_from_this()] {
            if (auto self = weak.lock()) self->collect_garbage();
        });
    });
}

void UserMail::collect_garbage() noexcept {
    try {
        store_->collect_garbage();
    } catch (const std::exception& error) {
        // Busy or a failing disk: the orphans stay; the next view change
        // schedules another run, and opening the store collects too.
        log::warning("garbage_failed", {{"user", user_}, {"error", error.what()}});
    }
}

void UserMail::index_in_background() {
    if (!post_ || index_posted_) return;
    index_posted_ = true;
    post_(std::chrono::milliseconds{0}, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->index_posted_ = false;
            self->index_batch();
        }
    });
}

void UserMail::index_soon() {
    if (!post_) return;
    if (++queued_since_batch_ >= kIndexEagerBodies) {
        check_index_waiting();
        return;
    }
    delay_index_batch();
}

void UserMail::delay_index_batch() {
    if (index_posted_ || index_delayed_) return;  // that batch takes these too
    index_delayed_ = true;
    post_(kIndexDelay, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->index_delayed_ = false;
            self->index_batch();
        }
    });
}

void UserMail::check_index_waiting() {
    if (index_posted_ || index_check_posted_) return;
    index_check_posted_ = true;
    // Posted, not asked here: this runs inside a commit's change report.
    post_(std::chrono::milliseconds{0}, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->index_check_posted_ = false;
            self->index_if_waiting();
        }
    });
}

void UserMail::index_if_waiting() noexcept {
    // The commits counted may have queued bodies that are expunged by now
    // (a draft saved again, a message deleted once read): those are never
    // indexed and SEARCH no longer scans them. An early batch only when
    // kIndexEagerBodies bodies really wait; fewer wait for the delayed
    // batch. In the mixed benchmark, where most messages are expunged
    // within milliseconds, counting commits ran a batch every 32 APPENDs
    // for the few still there, whose index entries the garbage collection
    // then deleted again (docs/storage.md "The search index").
    std::size_t waiting = kIndexEagerBodies;  // not known: as if enough
    try {
        waiting = store_->bodies_awaiting_index(kIndexEagerBodies);
    } catch (const std::exception& error) {
        log::warning("index_failed", {{"user", user_}, {"error", error.what()}});
    }
    if (waiting >= kIndexEagerBodies) {
        index_batch();
        return;
    }
    queued_since_batch_ = waiting;
    if (waiting > 0) delay_index_batch();
}

void UserMail::index_batch() noexcept {
    queued_since_batch_ = 0;
    try {
        store::IndexLimits limits;
        limits.yield_when = others_waiting_;
        const store::IndexResult result = store_->index_pending(limits);
        set_index_queue(result.queued);
        if (result.more) index_in_background();
    } catch (const std::exception& error) {
        // Busy (another process holds the lock) or a failing disk: the
        // bodies stay queued, SEARCH still finds them, and the next commit
        // or open that queues bodies tries again.
        log::warning("index_failed", {{"user", user_}, {"error", error.what()}});
    }
}

std::uint64_t UserMail::add_listener(Listener listener, NameListener on_name) {
    const std::uint64_t handle = next_handle_++;
    listeners_.emplace(handle, Listeners{std::move(listener), std::move(on_name)});
    return handle;
}

void UserMail::remove_listener(std::uint64_t handle) {
    listeners_.erase(handle);
}

template <class Call>
void UserMail::call_listeners(Call&& call) noexcept {
    try {
        // Copy the handles: a listener may remove itself or others.
        std::vector<std::uint64_t> handles;
        handles.reserve(listeners_.size());
        for (const auto& [handle, listener] : listeners_)
            handles.push_back(handle);
        for (std::uint64_t handle : handles) {
            auto it = listeners_.find(handle);
            if (it == listeners_.end()) continue;
            Listeners listener = it->second;  // survives its own removal
            call(listener);
        }
    } catch (const std::exception& error) {
        // Called after a commit, from the session that made it: its command
        // succeeded whatever an idling session's wake-up did. Those poll
        // again (idle_poll_interval).
        log::error("notify_failed", {{"user", user_}, {"error", error.what()}});
    }
}

void UserMail::notify(store::MailboxId mailbox) noexcept {
    call_listeners([mailbox](const Listeners& listener) {
        if (listener.on_mailbox) listener.on_mailbox(mailbox);
    });
}

void UserMail::notify(const store::NameChange& change) noexcept {
    call_listeners([&change](const Listeners& listener) {
        if (listener.on_name) listener.on_name(change);
    });
}

std::shared_ptr<UserMail> UserMailRegistry::open(std::string_view user) {
    const std::string name = store::AccountStore::canonical_user_name(user);
    {
        std::lock_guard lock(mutex_);
        if (auto it = open_.find(name); it != open_.end()) {
            if (auto mail = it->second.mail.lock()) return mail;
        }
    }
    // Opened outside the lock: other users' logins go on meanwhile, and
    // this user's cannot race it (they run on the user's strand).
    store::OpenOptions options = data_dir_.user_options(name);
    options.defer_sync = static_cast<bool>(run_blocking_);
    options.page_cache_bytes = page_cache_bytes_;
    auto mail = std::make_shared<UserMail>(name, options, run_blocking_);
    // Readers beside the strand only where there are workers to run them
    // (the same condition as group commit) and a file to open twice.
    if (run_blocking_ && !data_dir_.is_in_memory()) mail->enable_readers(options);
    mail->store().ensure_default_mailboxes();  // RFC 6154 defaults, once per store
    // Bodies a crash (or the last session's pins) left behind: no view of
    // this user exists in the process yet, so none is pinned. Only this
    // process serves IMAP for the data directory (docs/storage.md).
    mail->store().collect_garbage();
    UserMail::Post post;
    if (background_) {
        UserMail::Background background = background_(name);
        post = background.post;
        mail->set_background(std::move(background));
        // Bodies queued by a crash before indexing, `imapd deliver`, or the
        // migration that rebuilds the index.
        mail->index_in_background();
    }
    std::lock_guard lock(mutex_);
    open_[name] = OpenMail{mail, std::move(post)};
    if (data_dir_.is_in_memory()) kept_[name] = mail;
    return mail;
}

void UserMailRegistry::defer_syncs(GroupCommit::RunBlocking run_blocking) {
    run_blocking_ = std::move(run_blocking);
}

void UserMailRegistry::set_background(BackgroundForUser background) {
    background_ = std::move(background);
}

void UserMailRegistry::changed_elsewhere(std::string_view user) {
    if (!background_) return;
    const std::string name = store::AccountStore::canonical_user_name(user);
    OpenMail open;
    {
        std::lock_guard lock(mutex_);
        auto it = open_.find(name);
        if (it == open_.end() || !it->second.post) return;
        open = it->second;
    }
    // Locked on the mail's own executor: if that drops the last reference,
    // the store closes there, not on this (a loop's) thread.
    open.post(std::chrono::milliseconds{0}, [weak = std::move(open.mail)] {
        if (auto mail = weak.lock()) mail->index_in_background();
    });
}

std::size_t UserMailRegistry::open_count() {
    std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (auto it = open_.begin(); it != open_.end();) {
        if (it->second.mail.expired()) {
            it = open_.erase(it);
        } else {
            ++count;
            ++it;
        }
    }
    return count;
}

}  // namespace imap::server
