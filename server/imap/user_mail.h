// UserMail: one user's MailStore, shared by every session of that user in
// this process, and the change notification between those sessions.
//
// docs/architecture.md "Threads": everything about one user runs on its strand,
// so one store connection per user is enough and sessions never contend
// with each other for it. Sessions learn of each other's changes by asking
// the store at every command end (SelectedMailbox::sync, a one-row read),
// which also catches changes made by other processes (`imapd deliver`); the
// notification here only wakes sessions that wait without a command
// running (IDLE). It comes from the store's change feed (every committed
// write reports the mailboxes it changed), so no command handler has to
// remember it; other processes' changes come from the server's
// store::ExternalChangeWatcher.
//
// The store also holds the pins of this user's views (SelectedMailbox
// registers one per selected session, store::MailStore::ViewPin): a body
// another session expunged stays until every view has applied the expunge.
// Pins are in-process, which is why one server process serves a data
// directory and `imapd deliver` / `import` never collect garbage.
//
// Background indexing (docs/storage.md "The search index"): the store
// queues new bodies for the search index and indexes them in batches
// (store::MailStore::index_pending). Given a way to post work on the
// user's executor (the server's: the user's strand, or the loop with one
// thread), a UserMail posts one batch after every commit that queued
// bodies and after it is opened (a crash or `imapd deliver` may have left
// a queue); a batch that leaves more posts the next, so the user's
// commands run between batches. Without one (session tests, the CLI)
// nothing runs in the background.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/imap/group_commit.h"
#include "store/data_dir.h"
#include "store/mail_store.h"

namespace imap::server {

class UserMail : public std::enable_shared_from_this<UserMail> {
  public:
    using Task = std::function<void()>;
    // Runs a task on this user's executor, after what is posted there
    // already, once `delay` has passed (zero: now). Any thread.
    using Post = std::function<void(std::chrono::milliseconds delay, Task)>;

    // docs/storage.md "The search index": bodies a commit queued are
    // indexed kIndexDelay later, in one batch with whatever else was queued
    // meanwhile (FTS5 costs about half as much per body in batches of tens
    // as one at a time), or at once when kIndexEagerBodies commits queued
    // bodies and as many are still waiting (not expunged since), so
    // a batch stays short (about half a millisecond a body) and the queue
    // SEARCH has to scan stays small.
    static constexpr std::chrono::milliseconds kIndexDelay{200};
    static constexpr std::size_t kIndexEagerBodies = 32;
    // docs/storage.md "Body retention": the garbage collection a session's
    // view change makes due runs this much later, once for all the changes
    // meanwhile (store::MailStore::defer_garbage): with ten sessions on one
    // mailbox, at once it was a write transaction about every command.
    static constexpr std::chrono::milliseconds kGarbageDelay{1000};

    // Opens the store with the backend `options` names
    // (store::open_mail_store) and subscribes to its change feed.
    // `run_blocking`: where group commit's syncs run (a store opened with
    // OpenOptions::defer_sync); unused otherwise.
    UserMail(std::string user, const store::OpenOptions& options,
             GroupCommit::RunBlocking run_blocking = {});
    UserMail(const UserMail&) = delete;
    UserMail& operator=(const UserMail&) = delete;
    ~UserMail();

    const std::string& user() const { return user_; }
    // The user's store: its writer connection, except on a thread inside a
    // ReaderScope of this UserMail, where it is that scope's reader (so a
    // command handler reads through whichever connection its command was
    // given, without knowing).
    store::MailStore& store() {
        const ReaderScope* scope = current_reader_;
        return scope != nullptr && scope->mail_ == this ? scope->reader_ : *store_;
    }

    // True on a thread inside a ReaderScope of this UserMail: store() is a
    // reader, and a FETCH takes no body pin (the reader's snapshot keeps
    // the body; a pin is the writer's bookkeeping).
    bool reading_beside() const {
        const ReaderScope* scope = current_reader_;
        return scope != nullptr && scope->mail_ == this;
    }

    // ---- Reads beside the strand (docs/architecture.md "Reads beside the
    // strand") ----
    //
    // A read-only command of one session may run on a worker beside the
    // user's strand, on a reader connection of its own (SQLite WAL: readers
    // see the last commit and never block the writer), so ten devices of
    // one user reading do not queue behind each other's writes.
    //
    // Reader connections per user: each is one more SQLite connection with
    // its own page cache (up to store_cache), opened on first use and kept
    // while the UserMail lives. Two let two reads run beside the writer,
    // which is all two cores can use; a command that finds none free runs
    // on the strand as it always did.
    static constexpr std::size_t kMaxReaders = 2;

    // Readers from now on, opened with `options` (the writer's, made
    // read-only). Called once, before the UserMail is shared; without it
    // lease_reader() lends nothing (one thread, tests, in-memory stores,
    // whose ":memory:" cannot be opened twice).
    void enable_readers(store::OpenOptions options);

    // A reader lent to one command; back in the pool when destroyed (any
    // thread). The UserMail must outlive it.
    class ReaderLease {
      public:
        ReaderLease(ReaderLease&& other) noexcept
            : mail_(std::exchange(other.mail_, nullptr)), reader_(std::move(other.reader_)) {}
        ReaderLease& operator=(ReaderLease&& other) noexcept {
            if (this != &other) {
                give_back();
                mail_ = std::exchange(other.mail_, nullptr);
                reader_ = std::move(other.reader_);
            }
            return *this;
        }
        ReaderLease(const ReaderLease&) = delete;
        ReaderLease& operator=(const ReaderLease&) = delete;
        ~ReaderLease() { give_back(); }
        store::MailStore& store() { return *reader_; }

      private:
        friend class UserMail;
        ReaderLease(UserMail& mail, std::unique_ptr<store::MailStore> reader)
            : mail_(&mail), reader_(std::move(reader)) {}
        void give_back() noexcept;
        UserMail* mail_;
        std::unique_ptr<store::MailStore> reader_;
    };
    // On the user's strand: a free reader, opened if fewer than kMaxReaders
    // are; nullopt when readers are off, all are lent, or one cannot be
    // opened (the command then runs on the strand).
    std::optional<ReaderLease> lease_reader();
    // Readers opened so far (for tests).
    std::size_t readers_open();

    // While it lives, store() on this thread is `reader` (a lease's).
    class ReaderScope {
      public:
        ReaderScope(UserMail& mail, store::MailStore& reader)
            : mail_(&mail), reader_(reader), outer_(current_reader_) {
            current_reader_ = this;
        }
        ~ReaderScope() { current_reader_ = outer_; }
        ReaderScope(const ReaderScope&) = delete;
        ReaderScope& operator=(const ReaderScope&) = delete;

      private:
        friend class UserMail;
        const UserMail* mail_;
        store::MailStore& reader_;
        const ReaderScope* outer_;
    };
    // Group commit (docs/storage.md "Group commit"): nullptr when the store
    // makes every commit durable before returning. Otherwise a session's
    // output produced now may be sent once group_commit()->sync() reports
    // commit_serial() durable.
    const std::shared_ptr<GroupCommit>& group_commit() const { return group_commit_; }
    std::uint64_t commit_serial() { return group_commit_ ? store_->commit_serial() : 0; }

    // Called with the mailbox whose messages or flags changed.
    using Listener = std::function<void(store::MailboxId)>;
    // Called with a mailbox name created, deleted, renamed or
    // (un)subscribed (RFC 5465 MailboxName, SubscriptionChange).
    using NameListener = std::function<void(const store::NameChange&)>;
    // Returns a handle for remove_listener(). `on_name` may be empty.
    std::uint64_t add_listener(Listener listener, NameListener on_name = {});
    void remove_listener(std::uint64_t handle);
    // Tells every listener that `mailbox` changed. Listeners may add or
    // remove listeners while being called. The store's change feed calls
    // it for each mailbox of a committed transaction (so a listener may
    // read the store at once); handlers never do.
    void notify(store::MailboxId mailbox) noexcept;
    // The same for a name change, to the listeners that have an `on_name`.
    void notify(const store::NameChange& change) noexcept;

    // The session whose command is running on this user's strand now
    // (nullptr: none, e.g. `imapd deliver` or LMTP), so a listener can tell
    // its own changes from others' (RFC 5465 5: a client SHOULD NOT be told
    // of the changes it caused). Set for the length of a scope by Acting.
    const void* actor() const { return actor_; }
    class Acting {
      public:
        Acting(UserMail* mail, const void* actor)
            : mail_(mail),
              previous_(mail != nullptr ? std::exchange(mail->actor_, actor) : nullptr) {}
        Acting(const Acting&) = delete;
        Acting& operator=(const Acting&) = delete;
        ~Acting() {
            if (mail_ != nullptr) mail_->actor_ = previous_;
        }

      private:
        UserMail* mail_;
        const void* previous_;
    };

    // A listener registration that removes itself when destroyed (an IDLE
    // session's, Session::begin_idle). The UserMail must outlive it.
    class Subscription {
      public:
        Subscription() = default;
        Subscription(UserMail& mail, Listener listener, NameListener on_name = {})
            : mail_(&mail), handle_(mail.add_listener(std::move(listener), std::move(on_name))) {}
        Subscription(Subscription&& other) noexcept
            : mail_(std::exchange(other.mail_, nullptr)), handle_(other.handle_) {}
        Subscription& operator=(Subscription&& other) noexcept {
            if (this != &other) {
                reset();
                mail_ = std::exchange(other.mail_, nullptr);
                handle_ = other.handle_;
            }
            return *this;
        }
        Subscription(const Subscription&) = delete;
        Subscription& operator=(const Subscription&) = delete;
        ~Subscription() { reset(); }

        bool active() const { return mail_ != nullptr; }
        void reset() {
            if (mail_ != nullptr) std::exchange(mail_, nullptr)->remove_listener(handle_);
        }

      private:
        UserMail* mail_ = nullptr;
        std::uint64_t handle_ = 0;
    };
    // add_listener() with automatic removal.
    Subscription subscribe(Listener listener, NameListener on_name = {}) {
        return Subscription(*this, std::move(listener), std::move(on_name));
    }

    // Listeners registered now (for tests).
    std::size_t listener_count() const { return listeners_.size(); }

    // Where background work goes; empty (the default): nowhere. Set once,
    // before the UserMail is shared (UserMailRegistry::open). It must post
    // to the executor this UserMail is used on (the strand it was opened
    // on, which it keeps alive), never to "the user's strand" looked up
    // again later: after the user's last session a new login may get a
    // new strand while this UserMail still has work queued on the old one,
    // and its SQLite connection must never be used from two threads.
    // Also where the garbage collection is deferred to (kGarbageDelay).
    // `others_waiting`, when the executor can tell, says from a background
    // task whether the user's commands wait behind it there: an index
    // batch then stops early (store::IndexLimits::yield_when).
    struct Background {
        Post post;
        std::function<bool()> others_waiting;
    };
    void set_background(Background background);
    // On the user's executor: posts an index batch unless one is waiting.
    void index_in_background();

    // Bodies of this user waiting for the search index, as last known: set
    // exactly by each index batch, raised by each commit that queued
    // bodies in between (a body expunged before its batch counts until
    // then, at most kIndexDelay).
    std::size_t index_queue() const { return index_queue_; }
    // The sum over every open UserMail of the process: the
    // imapd_index_queue_bodies gauge (docs/operations.md "Metrics"). Any
    // thread.
    static std::int64_t index_queue_total();

  private:
    static inline thread_local const ReaderScope* current_reader_ = nullptr;

    std::string user_;
    std::unique_ptr<store::MailStore> store_;
    // Reads beside the strand: guarded by readers_mutex_ (leases come back
    // on any thread).
    std::mutex readers_mutex_;
    std::optional<store::OpenOptions> reader_options_;
    std::vector<std::unique_ptr<store::MailStore>> idle_readers_;
    std::size_t readers_open_ = 0;
    std::shared_ptr<GroupCommit> group_commit_;
    struct Listeners {
        Listener on_mailbox;
        NameListener on_name;
    };
    std::map<std::uint64_t, Listeners> listeners_;
    const void* actor_ = nullptr;
    std::uint64_t next_handle_ = 1;
    Post post_;
    std::function<bool()> others_waiting_;
    bool index_posted_ = false;           // a batch is waiting on the executor
    bool index_delayed_ = false;          // a batch is waiting for kIndexDelay
    bool index_check_posted_ = false;     // index_if_waiting() is waiting on the executor
    std::size_t queued_since_batch_ = 0;  // commits that queued bodies
    std::size_t index_queue_ = 0;         // index_queue()
    void set_index_queue(std::size_t bodies) noexcept;
    // A commit queued bodies: a batch after kIndexDelay, or sooner when
    // kIndexEagerBodies such commits came and as many bodies still wait.
    void index_soon();
    void delay_index_batch();
    // Posts index_if_waiting() unless it or a batch is waiting already.
    void check_index_waiting();
    // A batch now if kIndexEagerBodies bodies wait, else after the delay.
    void index_if_waiting() noexcept;

    void index_batch() noexcept;
    // Calls `call` with each listener, a copy (it may remove itself);
    // catches and logs.
    template <class Call>
    void call_listeners(Call&& call) noexcept;
    void collect_garbage() noexcept;
};

// How a Session reaches a user's mail after login. An interface so session
// tests run on in-memory stores and the server on its data directory.
class MailAccess {
  public:
    virtual ~MailAccess() = default;
    // The mail of `user` (the name the client authenticated with). Throws
    // store::StoreError (or the backend's own error) when it cannot be
    // opened.
    virtual std::shared_ptr<UserMail> open(std::string_view user) = 0;
    // Another process changed the mail of `user` (store::ExternalChangeWatcher):
    // e.g. `imapd deliver` queued bodies for the index. Any thread.
    virtual void changed_elsewhere(std::string_view /*user*/) {}
};

// The server's MailAccess: one UserMail per user, opened on first login
// and closed when that user's last session ends. In memory mode a store
// lives until the registry does: a second ":memory:" open would be empty.
// Any thread; a UserMail itself is used only on its user's strand
// (docs/architecture.md "Threads").
class UserMailRegistry : public MailAccess {
  public:
    explicit UserMailRegistry(store::DataDir data_dir) : data_dir_(std::move(data_dir)) {}

    // Group commit from now on: stores opened after this call defer their
    // fsyncs (OpenOptions::defer_sync) and run them with `run_blocking`.
    // The server calls it when it has worker threads; with one loop every
    // commit stays durable on return.
    void defer_syncs(GroupCommit::RunBlocking run_blocking);
    // Each store opened from now on gets this much page cache
    // ([limits] store_cache, store::OpenOptions::page_cache_bytes).
    void set_page_cache(std::size_t bytes) { page_cache_bytes_ = bytes; }

    std::shared_ptr<UserMail> open(std::string_view user) override;
    // Posts an index batch for the user's mail if it is open.
    void changed_elsewhere(std::string_view user) override;

    // Called on the user's executor while a UserMail is opened there: the
    // Background of that executor itself (UserMail::set_background).
    using BackgroundForUser = std::function<UserMail::Background(const std::string& user)>;
    // The server's, set before it serves (server/net/server.cpp); without
    // one nothing runs in the background.
    void set_background(BackgroundForUser background);

    // Users with mail open now (for tests and limits).
    std::size_t open_count();

  private:
    store::DataDir data_dir_;
    GroupCommit::RunBlocking run_blocking_;                                 // set before any open()
    std::size_t page_cache_bytes_ = store::OpenOptions{}.page_cache_bytes;  // set before any open()
    std::mutex mutex_;                                                      // the maps
    BackgroundForUser background_;                                          // set before any open()
    // An open user's mail, and the Post of the executor it lives on, so a
    // report from another thread reaches it without taking a reference
    // there (which could be the last one, and close the store off its
    // executor).
    struct OpenMail {
        std::weak_ptr<UserMail> mail;
        UserMail::Post post;
    };
    std::map<std::string, OpenMail, std::less<>> open_;
    std::map<std::string, std::shared_ptr<UserMail>, std::less<>> kept_;  // in memory
};

}  // namespace imap::server
