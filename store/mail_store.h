// One user's mail: mailboxes, subscriptions, messages, flags, keywords,
// bodies and the expunge log. docs/storage.md has the SQLite schema.
//
// MailStore is the seam between the server and a storage backend
// (docs/architecture.md "The store seam"): an abstract interface, made by
// open_mail_store() from OpenOptions. SqliteMailStore
// (store/sqlite_mail_store.h) is the one backend today; nothing here names
// SQLite, so server/imap compiles against this header only.
//
// The API the server calls. It speaks UTF-8 mailbox names, UIDs, flag bits
// and keywords, modseqs and byte ranges; no IMAP wire syntax. Every call is
// synchronous; every change is one transaction, and a call that changes
// messages returns only after its commit is durable: the server sends its
// tagged OK after the call returns (docs/storage.md). With group commit
// (OpenOptions::defer_sync) it returns once committed, and the caller
// holds back what depends on it until commit_sync() reports it durable.
//
// Errors: StoreError (store/errors.h) for everything the client caused, and
// StoreErrc::Busy when another process held the store's lock too long; any
// other exception is a failure of the backend itself (disk full,
// corruption).
//
// Change feed: every committed write transaction reports the mailboxes it
// changed to the listener installed with set_change_listener() (UserMail's,
// which wakes IDLE sessions), once, after the commit; a rolled-back one
// reports nothing. Changes made by other processes are not in the feed:
// store/external_change_watcher.h reports those.
//
// Not thread-safe: one thread owns a MailStore (docs/architecture.md "Threads": its user's strand).
// Several stores (other processes, e.g. an LMTP delivery) may open the
// same user's mail: no mailbox state is cached in memory, every call reads
// it inside its transaction. The one in-memory state is this process's view
// pins ("Views and body retention" below).
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/commit_sync.h"
#include "store/errors.h"
#include "store/limits.h"
#include "store/message/message.h"
#include "store/open_options.h"
#include "store/thread.h"
#include "store/types.h"

namespace imap::store {

struct SearchKey;      // store/search.h
struct SortCriterion;  // store/search.h

struct MailboxInfo {
    MailboxId id = 0;
    std::string name;
    bool selectable = true;  // false: a \Noselect placeholder
    std::uint32_t uidvalidity = 0;
    // 64-bit: after UID 4294967295 has been given out it is 2^32, and the
    // mailbox takes no more messages (limits::kMaxUid).
    std::uint64_t uidnext = 1;
    std::uint64_t highestmodseq = 1;
    // Messages with uid >= this have not been claimed by a SELECT yet.
    std::uint32_t first_recent_uid = 1;
    std::uint32_t special_use = 0;  // list_attr::kSpecialUseMask bits (RFC 6154)
    // RFC 8474 MAILBOXID: new whenever the row becomes a mailbox, kept by
    // RENAME (not by RENAME INBOX: its messages go to a new mailbox, RFC
    // 8474 4). Empty for a \Noselect placeholder.
    std::string object_id;
};

// RFC 3501 6.3.10 STATUS items, plus RFC 7162 HIGHESTMODSEQ, RFC 9051
// DELETED and RFC 8438 SIZE. Counts are derived from indexes on each call.
struct MailboxStatus {
    std::uint32_t messages = 0;
    std::uint32_t recent = 0;  // unclaimed: would be \Recent for the next SELECT
    std::uint32_t unseen = 0;
    std::uint32_t deleted = 0;
    std::uint64_t uidnext = 1;  // see MailboxInfo::uidnext
    std::uint32_t uidvalidity = 0;
    std::uint64_t highestmodseq = 1;
    std::uint64_t size = 0;
};

// LIST attributes (RFC 3501 7.2.2, RFC 3348 children, RFC 5258).
namespace list_attr {
inline constexpr std::uint32_t kNoselect = 1;
inline constexpr std::uint32_t kHasChildren = 2;
inline constexpr std::uint32_t kHasNoChildren = 4;
inline constexpr std::uint32_t kMarked = 8;  // unclaimed (recent) messages exist
inline constexpr std::uint32_t kUnmarked = 16;
inline constexpr std::uint32_t kSubscribed = 32;   // RFC 5258
inline constexpr std::uint32_t kNonExistent = 64;  // RFC 5258: subscribed, no mailbox
// RFC 6154 special-use attributes, stored per mailbox (mailboxes.special_use).
inline constexpr std::uint32_t kAll = 128;
inline constexpr std::uint32_t kArchive = 256;
inline constexpr std::uint32_t kDrafts = 512;
inline constexpr std::uint32_t kFlagged = 1024;
inline constexpr std::uint32_t kJunk = 2048;
inline constexpr std::uint32_t kSent = 4096;
inline constexpr std::uint32_t kTrash = 8192;
inline constexpr std::uint32_t kSpecialUseMask =
    kAll | kArchive | kDrafts | kFlagged | kJunk | kSent | kTrash;
}  // namespace list_attr

struct ListEntry {
    std::string name;
    std::uint32_t attributes = 0;
    bool operator==(const ListEntry&) const = default;
};

struct AppendRequest {
    std::string_view message;        // the raw RFC 5322 bytes, stored as given
    std::int64_t internal_date = 0;  // unix seconds
    int zone_minutes = 0;            // the zone the date was given in (east of UTC)
    Flags flags;                     // \Recent is implicit (RFC 3501 6.3.11)
};

// RFC 4315 APPENDUID / COPYUID data.
struct AppendResult {
    std::uint32_t uidvalidity = 0;
    std::vector<std::uint32_t> uids;  // in request order
};

// The part of an append() that needs no database: each message parsed,
// hashed, its sort keys, preview and compressed forms computed. Made by
// MailStore::prepare_append(), which reads nothing of the store and so may
// run on any thread, and written by append_prepared(): `imapd import`
// prepares batches on several threads while one thread writes
// (docs/cli.md). Holds views of the requests' messages, which must outlive
// it. Bodies is the backend's own (store/sqlite_mail_store.cpp).
class PreparedAppend {
  public:
    struct Bodies;
    PreparedAppend();
    PreparedAppend(std::span<const AppendRequest> requests, std::unique_ptr<Bodies> bodies);
    PreparedAppend(PreparedAppend&&) noexcept;
    PreparedAppend& operator=(PreparedAppend&&) noexcept;
    ~PreparedAppend();

    std::span<const AppendRequest> requests() const { return requests_; }
    const Bodies* bodies() const { return bodies_.get(); }

  private:
    std::span<const AppendRequest> requests_;
    std::unique_ptr<Bodies> bodies_;
};

struct UidMapping {
    std::uint32_t source = 0;
    std::uint32_t destination = 0;
    bool operator==(const UidMapping&) const = default;
};

struct CopyResult {
    std::uint32_t uidvalidity = 0;    // of the destination
    std::vector<UidMapping> mapping;  // ascending source UIDs
};

struct ExpungeResult {
    std::vector<std::uint32_t> uids;  // ascending
    std::uint64_t modseq = 0;         // the expunge's MODSEQ; 0 when nothing went
};

// RFC 8508 REPLACE: the new message and the one it replaced.
struct ReplaceResult {
    AppendResult appended;   // RFC 4315 APPENDUID of the new message
    ExpungeResult expunged;  // the replaced UID, from the source
};

struct MoveResult {
    CopyResult copy;
    ExpungeResult expunged;  // from the source (RFC 6851 3.3)
};

enum class FlagOp { Add, Remove, Replace };  // +FLAGS, -FLAGS, FLAGS

struct StoreFlagsResult {
    std::uint64_t modseq = 0;                    // given to every changed message; 0 if none
    std::vector<std::uint32_t> changed;          // ascending
    std::vector<std::uint32_t> modified;         // RFC 7162 3.1.3 UNCHANGEDSINCE failures
    std::vector<std::uint64_t> modified_modseq;  // the modseq of each, in the same order
};

// A message body as the store names it: opaque to the server, which gets it
// from fetch() and hands it back to structure(), read_body() and
// pin_body(). A default (empty) BodyId names no body.
struct BodyId {
    std::int64_t key = 0;  // the backend's own key (SQLite: bodies.id)
    explicit operator bool() const { return key != 0; }
    auto operator<=>(const BodyId&) const = default;
};

// A change of the mailbox names or subscriptions (RFC 5465 5.4, 5.5: what
// NOTIFY's MailboxName and SubscriptionChange report). Names canonical.
struct NameChange {
    enum class Kind { Created, Deleted, Renamed, Subscribed, Unsubscribed };
    Kind kind = Kind::Created;
    std::string name;      // the mailbox (after a rename: its new name)
    std::string old_name;  // Renamed: the name before; inferiors moved with it
    bool operator==(const NameChange&) const = default;
};

// What one committed write transaction changed: the mailboxes whose
// messages or flags changed, or that were deleted (ascending, no repeats),
// and the names created, deleted, renamed, (un)subscribed (in order).
struct ChangeSet {
    std::vector<MailboxId> mailboxes;
    std::vector<NameChange> names;
    // How many new bodies joined the search index's queue (0: none, and
    // index_pending() has no new work from this transaction).
    std::size_t bodies_queued = 0;
};

struct MessageInfo {
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t flags = 0;  // system flag bits
    std::vector<std::string> keywords;
    std::int64_t internal_date = 0;
    int zone_minutes = 0;
    std::uint64_t size = 0;  // RFC822.SIZE
    BodyId body_id;          // for read_body() / structure() / objects()
    // RFC 8514 SAVEDATE (unix seconds): when APPEND, COPY or MOVE saved the
    // message into this mailbox; the internal date for messages stored
    // before the store recorded it (schema v6).
    std::int64_t save_date = 0;
    // From the expunge log (FetchOptions::expunged_after): the message's
    // last state before its expunge. body_id empty when the log row holds
    // nothing to read (then the other values are 0 and empty too).
    bool expunged = false;
};

struct FetchOptions {
    // RFC 7162 CHANGEDSINCE: only modseq > this (an expunged message's last
    // modseq counts).
    std::uint64_t changed_since = 0;
    // At most this many rows; a resumable FETCH asks again from last uid + 1.
    std::size_t limit = static_cast<std::size_t>(-1);
    // Also the messages expunged with a modseq above this, as `expunged`
    // rows: a view that has applied expunges up to this modseq (ViewPin)
    // still shows them (RFC 2180 4.1.1). nullopt: live messages only.
    std::optional<std::uint64_t> expunged_after;
};

// How much one index_pending() call may do. It stops after `max_bodies`
// bodies or once `max_time` has passed, whichever comes first, and always
// indexes at least one body when the queue holds one. With `yield_when`,
// it also stops once `min_bodies` are done and yield_when() is true
// (asked after each body: other work is waiting for the thread).
struct IndexLimits {
    std::size_t max_bodies = limits::kIndexBatchBodies;
    std::chrono::milliseconds max_time = limits::kIndexBatchTime;
    std::size_t min_bodies = limits::kIndexBatchMinBodies;
    std::function<bool()> yield_when;
};

// What an index_pending() call did.
struct IndexResult {
    std::size_t indexed = 0;
    bool more = false;  // bodies are still queued
    // Bodies waiting for the full-text index after this call (the
    // imapd_index_queue_bodies gauge, docs/operations.md "Metrics").
    std::size_t queued = 0;
};

// What RFC 8474 and RFC 8970 report about a body (store/body_objects.h).
struct MessageObjects {
    std::string email_id;  // RFC 8474 5.1 EMAILID
    // RFC 8474 5.2 THREADID and the RFC 8970 preview; nullopt only when
    // objects() was asked not to compute what is not stored yet.
    std::optional<std::string> thread_id;
    std::optional<std::string> preview;
};

// What a collect_garbage() run did.
struct GarbageResult {
    std::size_t bodies_deleted = 0;
    std::size_t bodies_kept = 0;    // orphans a view still pins
    std::size_t rows_released = 0;  // expunge log rows no view needs any more
};

class MailStore {
  public:
    MailStore() = default;
    virtual ~MailStore() = default;
    MailStore(const MailStore&) = delete;
    MailStore& operator=(const MailStore&) = delete;

    // ---- Change feed -----------------------------------------------------

    // Called once per committed write transaction that changed a mailbox,
    // after the commit (so it may read the store at once, or write: its
    // own commits report again), on the thread that made the call. It must
    // not throw (it runs where a committed change cannot be undone).
    using ChangeListener = std::function<void(const ChangeSet&)>;
    // Replaces the listener; an empty one stops the reports.
    void set_change_listener(ChangeListener listener) { change_listener_ = std::move(listener); }

    // ---- Read batches ----------------------------------------------------

    // Between begin_read_batch() and end_read_batch() (ReadBatch below) the
    // store may answer reads from one snapshot, taken at the first read and
    // taken again after each write made through this store, instead of one
    // per read: for a caller running a burst of work (a session's turn on
    // its user's strand) that need not see other processes' commits made
    // during it. Writes behave as without. Nested batches count.
    virtual void begin_read_batch() {}
    virtual void end_read_batch() noexcept {}

    // ---- Mailboxes -------------------------------------------------------

    // RFC 3501 6.3.3. A trailing delimiter is dropped. Missing superiors are
    // created as \Noselect placeholders; creating the name of a placeholder
    // makes it a mailbox (with a fresh UIDVALIDITY). AlreadyExists for an
    // existing mailbox, INBOX included. `special_use`: RFC 6154 3 CREATE
    // (USE (...)), list_attr::kSpecialUseMask bits, which INBOX cannot have.
    virtual MailboxInfo create_mailbox(std::string_view name, std::uint32_t special_use = 0) = 0;

    // RFC 6154: the mailboxes a new account starts with, each subscribed:
    // Sent, Drafts, Trash, Junk and Archive with their special-use
    // attribute. Runs once per store (a meta row remembers it, so a default
    // the user deleted stays deleted); an existing mailbox of that name gets
    // the attribute unless another mailbox already has it. Returns whether
    // it ran. The server calls it when a user's mail is opened and
    // `imapd user add` when the account is made; a bare MailStore has only
    // INBOX.
    virtual bool ensure_default_mailboxes() = 0;

    // RFC 3501 6.3.4. NotPermitted for INBOX; NotFound; HasChildren for a
    // placeholder with inferiors; a mailbox with inferiors loses its
    // messages and becomes a placeholder. Subscriptions are left alone.
    virtual void delete_mailbox(std::string_view name) = 0;

    // RFC 3501 6.3.5. Inferiors move with it (and their subscriptions); the
    // mailbox keeps its UIDVALIDITY and UIDs. Renaming INBOX moves its
    // messages to a new mailbox `to` and leaves INBOX empty (its UIDs are
    // logged as expunged for QRESYNC), its inferiors stay.
    virtual void rename_mailbox(std::string_view from, std::string_view to) = 0;

    virtual std::optional<MailboxInfo> find_mailbox(std::string_view name) = 0;
    virtual MailboxInfo mailbox(MailboxId id) = 0;  // NotFound if deleted
    // For SELECT/EXAMINE/APPEND/COPY targets: NotFound, or NoSelect for a
    // placeholder.
    virtual MailboxInfo open_mailbox(std::string_view name) = 0;

    // RFC 3501 6.3.8 LIST on the joined reference+pattern, sorted by name.
    virtual std::vector<ListEntry> list(std::string_view pattern) = 0;
    // RFC 3501 6.3.9 LSUB: subscribed names matching `pattern` (kNoselect
    // when no selectable mailbox exists, kNonExistent when none at all),
    // plus, when the pattern has '%', unsubscribed levels above subscribed
    // names, as \Noselect.
    virtual std::vector<ListEntry> list_subscribed(std::string_view pattern) = 0;
    // RFC 5258 LIST-EXTENDED: every mailbox with its list() attributes
    // (special-use bits included), plus every subscribed name with no
    // mailbox (kSubscribed | kNonExistent), sorted by name, in one snapshot.
    virtual std::vector<ListEntry> list_all() = 0;

    // RFC 3501 6.3.6/6.3.7. A name need not exist to be subscribed. Returns
    // false when nothing changed (already / not subscribed).
    virtual bool subscribe(std::string_view name) = 0;
    virtual bool unsubscribe(std::string_view name) = 0;

    virtual MailboxStatus status(MailboxId id) = 0;

    // Keywords defined in the mailbox, for FLAGS and PERMANENTFLAGS (with
    // \*: any new keyword may be created).
    virtual std::vector<std::string> keywords(MailboxId id) = 0;

    // For SELECT (never EXAMINE): the UIDs that are \Recent for this session,
    // and moves the marker past them, atomically, so exactly one session
    // sees each message as recent (RFC 3501 2.3.2). nullopt when none.
    virtual std::optional<UidRange> claim_recent(MailboxId id) = 0;

    // Every UID in the mailbox, ascending: the session's initial view.
    virtual std::vector<std::uint32_t> uids(MailboxId id) = 0;
    // The UIDs >= `from`, ascending: what arrived since a view was loaded.
    virtual std::vector<std::uint32_t> uids(MailboxId id, std::uint32_t from) = 0;
    // The lowest UID without \Seen, for SELECT's [UNSEEN n] (RFC 3501
    // 6.3.1); nullopt when every message is seen.
    virtual std::optional<std::uint32_t> first_unseen_uid(MailboxId id) = 0;

    // ---- Messages --------------------------------------------------------

    // RFC 3501 6.3.11 (and RFC 3502 MULTIAPPEND: all or none). Each message
    // is parsed here, outside the write transaction. TooBig past
    // limits::kMaxMessageSize, OverLimit when UIDs or keywords run out.
    virtual AppendResult append(MailboxId id, std::span<const AppendRequest> messages) = 0;
    virtual std::uint32_t append(MailboxId id, const AppendRequest& message) = 0;
    // append() in two steps (PreparedAppend): prepare_append() may run on
    // any thread, beside calls on the store, and throws what append()
    // throws for a message (TooBig, an unknown flag, a bad keyword);
    // append_prepared() writes one transaction, as append().
    virtual PreparedAppend prepare_append(std::span<const AppendRequest> messages) const = 0;
    virtual AppendResult append_prepared(MailboxId id, const PreparedAppend& prepared) = 0;
    // RFC 8508 REPLACE: appends `message` to `destination` (as append()) and
    // expunges `uid` from `source` (as UID EXPUNGE, whatever its flags), in
    // one transaction: either both happen or neither. Expunged when `uid`
    // no longer exists in `source` (another session expunged it: RFC 2180
    // 4.4.1 as for MOVE, nothing is appended); `source` may be
    // `destination`.
    virtual ReplaceResult replace(MailboxId source, std::uint32_t uid, MailboxId destination,
                                  const AppendRequest& message) = 0;

    // Metadata of the messages in `uids`, ascending.
    virtual std::vector<MessageInfo> fetch(MailboxId id, UidSpan uids,
                                           const FetchOptions& options = {}) = 0;

    // The messages of `id` with a UID up to `max_uid` whose modseq is above
    // `changed_since` (RFC 7162 3.1.4.1), as (uid, modseq) pairs in no
    // particular order, with `expunged` telling which come from the expunge
    // log, without reading their rows: a view's sync learns
    // which changed, leaves out its session's own changes and fetches the
    // rest in batches, so a change to a million messages costs neither a
    // million MessageInfo at once nor a scan of the mailbox. With
    // `expunged_after`, also the expunge log's messages expunged with a
    // modseq above it whose last modseq is above `changed_since` (what
    // fetch() returns as `expunged` rows). `visit` must not call the store.
    virtual void changed_messages(MailboxId id, std::uint32_t max_uid, std::uint64_t changed_since,
                                  std::optional<std::uint64_t> expunged_after,
                                  const std::function<void(std::uint32_t uid, std::uint64_t modseq,
                                                           bool expunged)>& visit) = 0;

    // EMAILID, THREADID and PREVIEW of a body. EMAILID is always there (it
    // is the body's hash). A body the v6 migration left queued has the
    // others computed here from its bytes (a parse) unless `stored_only`
    // (then nullopt: EMAILID alone, PREVIEW (LAZY)); the queue's batches
    // store them. NotFound when the body is gone.
    virtual MessageObjects objects(BodyId body, bool stored_only = false) = 0;

    // The parser's result for a body (structure_codec.h: `header` empty).
    virtual ParsedMessage structure(BodyId body) = 0;
    // Bytes [offset, offset + length) of a body, clamped to its size; reads
    // only that range, so a partial FETCH never loads the whole body.
    virtual std::string read_body(BodyId body, std::uint64_t offset, std::uint64_t length) = 0;
    // The stored container of a compressed body (body_codec.h) of at most
    // limits::kBodyReadWholeBytes, for decompressing on another thread
    // (store::read_container_range); nullopt for a bigger one, one stored
    // uncompressed, a store that keeps no containers, or a body that is
    // gone. read_body() remains the way to read any body.
    virtual std::optional<std::string> read_small_container(BodyId) { return std::nullopt; }

    // RFC 3501 6.4.6 STORE. Only messages whose flags or keywords really
    // change get the new MODSEQ (RFC 7162 3.1.3 / 3.2). `unchanged_since`:
    // RFC 7162 UNCHANGEDSINCE.
    virtual StoreFlagsResult store_flags(
        MailboxId id, UidSpan uids, FlagOp op, const Flags& flags,
        std::optional<std::uint64_t> unchanged_since = std::nullopt) = 0;

    // RFC 3501 6.4.7 / RFC 4315 COPYUID. Flags and keywords go along; the
    // body is shared, not copied. NoSelect / NotFound for the destination.
    // `expected`: how many messages `uids` names in the caller's view; when
    // fewer exist (another session expunged some), nothing is copied and
    // the call throws Expunged (RFC 2180 4.4.1, RFC 5530 EXPUNGEISSUED).
    virtual CopyResult copy(MailboxId source, UidSpan uids, MailboxId destination,
                            std::optional<std::size_t> expected = std::nullopt) = 0;
    // RFC 6851: copy and expunge from the source in one transaction.
    virtual MoveResult move(MailboxId source, UidSpan uids, MailboxId destination,
                            std::optional<std::size_t> expected = std::nullopt) = 0;

    // RFC 3501 6.4.3 EXPUNGE (uids = nullopt) / RFC 4315 UID EXPUNGE: removes
    // the \Deleted messages, logs their UIDs with the new MODSEQ and what
    // views that have not applied the expunge still show (body, flags,
    // keywords, internal date, size, modseq). The bodies stay until
    // collect_garbage() finds them unpinned.
    virtual ExpungeResult expunge(MailboxId id, std::optional<UidSpan> uids = std::nullopt) = 0;

    // POP3's UPDATE state (RFC 1939 6, docs/pop3.md): sets \Seen on the
    // messages `seen` names and removes those `remove` names (whatever
    // their flags, logged as an expunge), in one transaction: all of it
    // happens or none. UIDs no longer in the mailbox (another session
    // expunged them) are skipped. Returns the UIDs removed, ascending.
    virtual ExpungeResult update_maildrop(MailboxId id, std::span<const std::uint32_t> seen,
                                          std::span<const std::uint32_t> remove) = 0;

    // RFC 7162 3.2.5.2 VANISHED (EARLIER): UIDs expunged with modseq > this.
    virtual std::vector<std::uint32_t> expunged_since(MailboxId id, std::uint64_t modseq) = 0;

    // SEARCH (store/search.h): matching UIDs, ascending.
    virtual std::vector<std::uint32_t> search(MailboxId id, const SearchKey& key) = 0;

    // SORT (RFC 5256 3, store/search.h SortCriterion): the UIDs matching
    // `key`, in the order of `criteria`, ties in UID (mailbox) order. One
    // query over the stored sort keys (store/sort_keys.h); the keys of
    // bodies the v5 migration left to compute are computed first.
    virtual std::vector<std::uint32_t> sort(MailboxId id, const SearchKey& key,
                                            std::span<const SortCriterion> criteria) = 0;

    // THREAD (RFC 5256 3, store/thread.h): the messages matching `key`,
    // threaded by `algorithm`.
    virtual ThreadForest thread(MailboxId id, const SearchKey& key, ThreadAlgorithm algorithm) = 0;

    // ---- Views and body retention ----------------------------------------
    //
    // docs/storage.md "Body retention". A session's view of a mailbox
    // (server/imap/selected_mailbox.h) keeps showing a message another session
    // expunged until it applies that expunge, so the message's body must
    // outlive its row. Expunged bodies become orphans; collect_garbage()
    // deletes an orphan once no message refers to it and no pin holds it.
    // Pins live in this object, i.e. in the one process that serves IMAP
    // for this data directory; other processes (imapd deliver, import)
    // hold none and must not call collect_garbage().

    // A registration in this store that ends (and collects garbage) when
    // the handle is destroyed or assigned over; move-only. The MailStore
    // must outlive it.
    class Pin {
      public:
        Pin() = default;
        Pin(Pin&& other) noexcept;
        Pin& operator=(Pin&& other) noexcept;
        Pin(const Pin&) = delete;
        Pin& operator=(const Pin&) = delete;
        ~Pin();
        bool active() const { return store_ != nullptr; }

      protected:
        enum class Kind { View, Body };
        Pin(MailStore& store, Kind kind, std::int64_t key)
            : store_(&store), kind_(kind), key_(key) {}
        MailStore* store_ = nullptr;
        Kind kind_ = Kind::View;
        std::int64_t key_ = 0;  // the view's handle, or the body's key

      private:
        void release() noexcept;
    };

    // A live view of `mailbox` that has applied its expunges up to
    // `watermark` (a modseq): it pins the bodies of the messages expunged
    // with a higher modseq.
    class ViewPin : public Pin {
      public:
        ViewPin() = default;
        // The view has applied the expunges up to `watermark` (never moves
        // back). Collects garbage when that may free something.
        void advance(std::uint64_t watermark);
        std::uint64_t watermark() const;

      private:
        friend class MailStore;
        ViewPin(MailStore& store, std::int64_t handle) : Pin(store, Kind::View, handle) {}
    };
    virtual ViewPin pin_view(MailboxId mailbox, std::uint64_t watermark) = 0;

    // Keeps one body whatever happens to its messages, while a FETCH streams
    // it across several steps (the messages' mailbox may even be deleted).
    class BodyPin : public Pin {
      public:
        BodyPin() = default;

      private:
        friend class MailStore;
        BodyPin(MailStore& store, BodyId body) : Pin(store, Kind::Body, body.key) {}
    };
    virtual BodyPin pin_body(BodyId body) = 0;

    // Deletes the orphan bodies that no message refers to and no pin holds,
    // and clears the expunge log's retained values no live view needs. The
    // server calls it when it opens a user's store (a crash leaves orphans);
    // pins call it as they advance or go. Runs no query when this process
    // has made no garbage since the last run left none.
    virtual GarbageResult collect_garbage() = 0;

    // Instead of collecting at once whenever a pin advances or goes (a write
    // transaction, and for an indexed body an index delete, about once per
    // command when several sessions show one mailbox), the store calls
    // `schedule` once and leaves the collection to the caller, who calls
    // collect_garbage() later, on the store's thread; the next pin change
    // after that run schedules again. Empty: collect at once (the default).
    virtual void defer_garbage(std::function<void()> schedule) = 0;

    // ---- Group commit (OpenOptions::defer_sync, store/commit_sync.h) ----
    // The tracker that makes this store's commits durable, or nullptr when
    // every call returns only after its commit is durable.
    virtual std::shared_ptr<CommitSync> commit_sync() { return nullptr; }
    // The serial of the last write committed by this store (0 without
    // commit_sync()): whatever a caller produced from the store's state now
    // is safe to show once commit_sync()->durable() reaches it.
    virtual std::uint64_t commit_serial() { return 0; }

    // ---- The search index ------------------------------------------------
    //
    // docs/storage.md "The search index". A new body is queued for the
    // full-text index in the transaction that stores it and indexed later
    // by this call, so an APPEND's commit does not pay for the index. SEARCH
    // is exact either way: a queued body is checked like any candidate.
    // The server calls it on the user's executor after each commit that
    // queued bodies and after opening the store, one batch per call, until
    // no more remain (UserMail); `imapd import` calls it at its end.
    // Any process may call it: a batch is one transaction.
    virtual IndexResult index_pending(const IndexLimits& limits = {}) = 0;
    // Bodies queued for the full-text index that a message still refers
    // to, counted up to `at_most` (a queue of 100,000 after an import is
    // not counted whole to learn that it holds 32): what the next batch
    // would index and what SEARCH scans meanwhile. Not those every message
    // of which was expunged since (orphans, never indexed).
    // IndexResult::queued counts the same way.
    virtual std::size_t bodies_awaiting_index(std::size_t at_most) = 0;

  protected:
    // For backends: a pin handle on this store, and its bookkeeping, which
    // the pins call. The release hooks must not throw (a failed garbage
    // collection leaves the orphans to the next one).
    ViewPin make_view_pin(std::int64_t handle) { return ViewPin(*this, handle); }
    BodyPin make_body_pin(BodyId body) { return BodyPin(*this, body); }
    virtual void release_view(std::int64_t handle) noexcept = 0;
    virtual void release_body(BodyId body) noexcept = 0;
    virtual void advance_view(std::int64_t handle, std::uint64_t watermark) = 0;
    virtual std::uint64_t view_watermark(std::int64_t handle) const = 0;

    // For backends: reports a committed transaction's changes to the
    // listener (nothing when `changes` is empty or no listener is set).
    // Call it after the commit returned and the transaction's own
    // statements are done, once per transaction.
    void report_changes(const ChangeSet& changes) noexcept;

  private:
    ChangeListener change_listener_;
};

// Opens (creating if options.create) and migrates the store `options`
// names, with the backend options.backend names.
std::unique_ptr<MailStore> open_mail_store(const OpenOptions& options);

// A read batch for a scope (MailStore::begin_read_batch).
class ReadBatch {
  public:
    explicit ReadBatch(MailStore& store) : store_(store) { store_.begin_read_batch(); }
    ~ReadBatch() { store_.end_read_batch(); }
    ReadBatch(const ReadBatch&) = delete;
    ReadBatch& operator=(const ReadBatch&) = delete;

  private:
    MailStore& store_;
};

}  // namespace imap::store
