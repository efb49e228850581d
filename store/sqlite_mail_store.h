// The SQLite backend of MailStore (store/mail_store.h): one user's mail in
// one SQLite database, a file in the data directory (or ":memory:" in test
// mode). docs/storage.md has the schema.
//
// Every change is one BEGIN IMMEDIATE transaction; with synchronous=FULL a
// COMMIT that returned is durable. SQLITE_BUSY / SQLITE_LOCKED past
// busy_timeout surface as StoreError(StoreErrc::Busy) (store/sqlite.h),
// every other SQLite failure as SqliteError. A WriteTransaction collects
// the mailboxes a transaction changes and reports them (the change feed)
// once it committed and its statements are done.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string_view>
#include <vector>

#include "store/mail_store.h"
#include "store/sqlite.h"

namespace imap::store {

class SqliteMailStore final : public MailStore {
  public:
    // Opens (creating if allowed) and migrates the database.
    explicit SqliteMailStore(const OpenOptions& options);
    ~SqliteMailStore() override;

    // For tests and tools that need SQL below the interface.
    Database& database() { return db_; }

    // One deferred read transaction for the batch's reads (Database).
    void begin_read_batch() override { db_.begin_read_batch(); }
    void end_read_batch() noexcept override { db_.end_read_batch(); }

    MailboxInfo create_mailbox(std::string_view name, std::uint32_t special_use = 0) override;
    bool ensure_default_mailboxes() override;
    void delete_mailbox(std::string_view name) override;
    void rename_mailbox(std::string_view from, std::string_view to) override;
    std::optional<MailboxInfo> find_mailbox(std::string_view name) override;
    MailboxInfo mailbox(MailboxId id) override;
    MailboxInfo open_mailbox(std::string_view name) override;
    std::vector<ListEntry> list(std::string_view pattern) override;
    std::vector<ListEntry> list_subscribed(std::string_view pattern) override;
    std::vector<ListEntry> list_all() override;
    bool subscribe(std::string_view name) override;
    bool unsubscribe(std::string_view name) override;
    MailboxStatus status(MailboxId id) override;
    std::vector<std::string> keywords(MailboxId id) override;
    std::optional<UidRange> claim_recent(MailboxId id) override;
    std::vector<std::uint32_t> uids(MailboxId id) override;
    std::vector<std::uint32_t> uids(MailboxId id, std::uint32_t from) override;
    std::optional<std::uint32_t> first_unseen_uid(MailboxId id) override;

    AppendResult append(MailboxId id, std::span<const AppendRequest> messages) override;
    std::uint32_t append(MailboxId id, const AppendRequest& message) override;
    PreparedAppend prepare_append(std::span<const AppendRequest> messages) const override;
    AppendResult append_prepared(MailboxId id, const PreparedAppend& prepared) override;
    ReplaceResult replace(MailboxId source, std::uint32_t uid, MailboxId destination,
                          const AppendRequest& message) override;
    std::vector<MessageInfo> fetch(MailboxId id, UidSpan uids,
                                   const FetchOptions& options = {}) override;
    MessageObjects objects(BodyId body, bool stored_only = false) override;
    // Parsed once at APPEND, stored encoded (store/structure_codec.h).
    ParsedMessage structure(BodyId body) override;
    // With sqlite3_blob_read: only the range is read, and of a compressed
    // body (schema v7) only the blocks that hold it are decompressed.
    std::string read_body(BodyId body, std::uint64_t offset, std::uint64_t length) override;
    std::optional<std::string> read_small_container(BodyId body) override;
    void changed_messages(MailboxId id, std::uint32_t max_uid, std::uint64_t changed_since,
                          std::optional<std::uint64_t> expunged_after,
                          const std::function<void(std::uint32_t uid, std::uint64_t modseq,
                                                   bool expunged)>& visit) override;
    StoreFlagsResult store_flags(
        MailboxId id, UidSpan uids, FlagOp op, const Flags& flags,
        std::optional<std::uint64_t> unchanged_since = std::nullopt) override;
    CopyResult copy(MailboxId source, UidSpan uids, MailboxId destination,
                    std::optional<std::size_t> expected = std::nullopt) override;
    MoveResult move(MailboxId source, UidSpan uids, MailboxId destination,
                    std::optional<std::size_t> expected = std::nullopt) override;
    ExpungeResult expunge(MailboxId id, std::optional<UidSpan> uids = std::nullopt) override;
    ExpungeResult update_maildrop(MailboxId id, std::span<const std::uint32_t> seen,
                                  std::span<const std::uint32_t> remove) override;
    std::vector<std::uint32_t> expunged_since(MailboxId id, std::uint64_t modseq) override;
    std::vector<std::uint32_t> search(MailboxId id, const SearchKey& key) override;
    std::vector<std::uint32_t> sort(MailboxId id, const SearchKey& key,
                                    std::span<const SortCriterion> criteria) override;
    ThreadForest thread(MailboxId id, const SearchKey& key, ThreadAlgorithm algorithm) override;

    ViewPin pin_view(MailboxId mailbox, std::uint64_t watermark) override;
    BodyPin pin_body(BodyId body) override;
    GarbageResult collect_garbage() override;
    void defer_garbage(std::function<void()> schedule) override {
        garbage_scheduler_ = std::move(schedule);
    }
    std::shared_ptr<CommitSync> commit_sync() override { return db_.commit_sync(); }
    std::uint64_t commit_serial() override { return db_.commit_serial(); }
    IndexResult index_pending(const IndexLimits& limits = {}) override;
    std::size_t bodies_awaiting_index(std::size_t at_most) override;

    // For tests: how many collect_garbage() runs did their queries.
    std::uint64_t garbage_runs() const { return garbage_runs_; }
    // For tests: live view pins.
    std::size_t view_pin_count() const { return views_.size(); }

  protected:
    void release_view(std::int64_t handle) noexcept override;
    void release_body(BodyId body) noexcept override;
    void advance_view(std::int64_t handle, std::uint64_t watermark) override;
    std::uint64_t view_watermark(std::int64_t handle) const override;

  private:
    class WriteTransaction;
    // read_body() of a body stored before schema v7, not compressed yet.
    std::string read_uncompressed_body(BodyId body, std::uint64_t offset, std::uint64_t length);
    // What a REPLACE removes along with its append (replace()).
    struct Replaced {
        MailboxId source = 0;
        std::uint32_t uid = 0;
        ExpungeResult* result = nullptr;
    };
    // append(), and when `replaced` is given the expunge of REPLACE, in the
    // append's transaction.
    AppendResult append_replacing(MailboxId id, const PreparedAppend& prepared,
                                  const Replaced* replaced);
    struct ViewEntry {
        MailboxId mailbox = 0;
        std::uint64_t watermark = 0;
    };
    // collect_garbage() for pins, which must not throw: a failed run only
    // leaves the orphans to the next one. With defer_garbage(), schedules
    // a run instead.
    void collect_garbage_quietly() noexcept;
    // Whether collect_garbage() has anything to release or delete, by
    // reads alone; when not, `kept` gets the pinned orphans it would count.
    bool garbage_to_collect(const std::map<MailboxId, std::uint64_t>& oldest,
                            const std::set<std::int64_t>& pinned, GarbageResult& kept);
    // Runs the search `key` over mailbox `id` as one statement whose rows
    // are `columns` of messages m and, if `sort_keys`, body_sort s, in the
    // order `order`, calling `row` for each (store/search.cpp).
    void run_search(MailboxId id, const SearchKey& key, std::string_view columns, bool sort_keys,
                    std::string_view order, const std::function<void(Statement&)>& row);
    // Computes what a migration queued in `queue` (sort_pending, v5:
    // body_sort; object_pending, v6: body_object) for the bodies of mailbox
    // `id`, so SORT and THREAD can join body_sort and SEARCH THREADID read
    // body_object (docs/storage.md "Sort keys"). No write when the queue is
    // empty.
    void fill_queued(MailboxId id, std::string_view queue);
    void fill_sort_keys(MailboxId id) { fill_queued(id, "sort_pending"); }
    // Computes and stores what either queue holds for `bodies` (one parse
    // each) and takes them off the queues, inside the caller's transaction.
    void compute_queued(const std::vector<std::int64_t>& bodies);
    // The v7 and v9 migrations' work for one body (compress_pending): its
    // bytes moved into body_raw as a zstd container if they are not there
    // yet, and its search text compressed against them (prefixed frames)
    // unless it is already, inside the caller's transaction (docs/storage.md
    // "Compressed bodies"); takes it off the queue.
    void compress_stored(std::int64_t body);

    Database db_;
    std::map<std::int64_t, ViewEntry> views_;  // by ViewPin handle
    std::int64_t next_view_ = 1;
    std::multiset<std::int64_t> pinned_bodies_;  // BodyId keys
    std::function<void()> garbage_scheduler_;    // defer_garbage()
    bool garbage_scheduled_ = false;             // called, not yet collected
    // Orphans or retained expunge values may exist. True at open (another
    // run may have left some) until a collection leaves none.
    bool garbage_possible_ = true;
    std::uint64_t garbage_runs_ = 0;
};

}  // namespace imap::store
