// One user's mail: mailboxes, subscriptions, messages, flags, keywords,
// bodies and the expunge log, in one SQLite database (a file in the data
// directory, or ":memory:" in test mode). docs/storage.md has the schema.
//
// The API the server calls. It speaks UTF-8 mailbox names, UIDs, flag bits
// and keywords, modseqs and byte ranges; no IMAP wire syntax. Every call is
// synchronous; every change is one BEGIN IMMEDIATE transaction, and a call
// that changes messages returns only after COMMIT, which with
// synchronous=FULL means the change is durable: the server sends its tagged
// OK after the call returns (DESIGN.md "Store").
//
// Errors: StoreError (store/errors.h) for everything the client caused;
// SqliteError for the database itself (SQLITE_BUSY after busy_timeout,
// disk full, corruption).
//
// Not thread-safe: one thread owns a MailStore (DESIGN.md "Concurrency").
// Several MailStores (other processes, e.g. an LMTP delivery) may open the
// same file: no mailbox state is cached in memory, every call reads it
// inside its transaction. The one in-memory state is this process's view
// pins ("Views and body retention" below).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "store/errors.h"
#include "store/message/message.h"
#include "store/sqlite.h"
#include "store/types.h"

namespace imap::store {

struct SearchKey;  // store/search.h

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

struct MoveResult {
    CopyResult copy;
    ExpungeResult expunged;  // from the source (RFC 6851 3.3)
};

enum class FlagOp { Add, Remove, Replace };  // +FLAGS, -FLAGS, FLAGS

struct StoreFlagsResult {
    std::uint64_t modseq = 0;             // given to every changed message; 0 if none
    std::vector<std::uint32_t> changed;   // ascending
    std::vector<std::uint32_t> modified;  // RFC 7162 3.1.3 UNCHANGEDSINCE failures
};

struct MessageInfo {
    std::uint32_t uid = 0;
    std::uint64_t modseq = 0;
    std::uint32_t flags = 0;  // system flag bits
    std::vector<std::string> keywords;
    std::int64_t internal_date = 0;
    int zone_minutes = 0;
    std::uint64_t size = 0;    // RFC822.SIZE
    std::int64_t body_id = 0;  // for read_body() / structure()
    // From the expunge log (FetchOptions::expunged_after): the message's
    // last state before its expunge. body_id 0 when the log row holds
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

// What a collect_garbage() run did.
struct GarbageResult {
    std::size_t bodies_deleted = 0;
    std::size_t bodies_kept = 0;    // orphans a view still pins
    std::size_t rows_released = 0;  // expunge log rows no view needs any more
};

class MailStore {
  public:
    // Opens (creating if allowed) and migrates the database.
    explicit MailStore(const OpenOptions& options);
    ~MailStore();
    MailStore(const MailStore&) = delete;
    MailStore& operator=(const MailStore&) = delete;

    Database& database() { return db_; }

    // ---- Mailboxes -------------------------------------------------------

    // RFC 3501 6.3.3. A trailing delimiter is dropped. Missing superiors are
    // created as \Noselect placeholders; creating the name of a placeholder
    // makes it a mailbox (with a fresh UIDVALIDITY). AlreadyExists for an
    // existing mailbox, INBOX included. `special_use`: RFC 6154 3 CREATE
    // (USE (...)), list_attr::kSpecialUseMask bits, which INBOX cannot have.
    MailboxInfo create_mailbox(std::string_view name, std::uint32_t special_use = 0);

    // RFC 6154: the mailboxes a new account starts with, each subscribed:
    // Sent, Drafts, Trash, Junk and Archive with their special-use
    // attribute. Runs once per store (a meta row remembers it, so a default
    // the user deleted stays deleted); an existing mailbox of that name gets
    // the attribute unless another mailbox already has it. Returns whether
    // it ran. The server calls it when a user's mail is opened and
    // `imapd user add` when the account is made; a bare MailStore has only
    // INBOX.
    bool ensure_default_mailboxes();

    // RFC 3501 6.3.4. NotPermitted for INBOX; NotFound; HasChildren for a
    // placeholder with inferiors; a mailbox with inferiors loses its
    // messages and becomes a placeholder. Subscriptions are left alone.
    void delete_mailbox(std::string_view name);

    // RFC 3501 6.3.5. Inferiors move with it (and their subscriptions); the
    // mailbox keeps its UIDVALIDITY and UIDs. Renaming INBOX moves its
    // messages to a new mailbox `to` and leaves INBOX empty (its UIDs are
    // logged as expunged for QRESYNC), its inferiors stay.
    void rename_mailbox(std::string_view from, std::string_view to);

    std::optional<MailboxInfo> find_mailbox(std::string_view name);
    MailboxInfo mailbox(MailboxId id);  // NotFound if deleted
    // For SELECT/EXAMINE/APPEND/COPY targets: NotFound, or NoSelect for a
    // placeholder.
    MailboxInfo open_mailbox(std::string_view name);

    // RFC 3501 6.3.8 LIST on the joined reference+pattern, sorted by name.
    std::vector<ListEntry> list(std::string_view pattern);
    // RFC 3501 6.3.9 LSUB: subscribed names matching `pattern` (kNoselect
    // when no selectable mailbox exists, kNonExistent when none at all),
    // plus, when the pattern has '%', unsubscribed levels above subscribed
    // names, as \Noselect.
    std::vector<ListEntry> list_subscribed(std::string_view pattern);
    // RFC 5258 LIST-EXTENDED: every mailbox with its list() attributes
    // (special-use bits included), plus every subscribed name with no
    // mailbox (kSubscribed | kNonExistent), sorted by name, in one snapshot.
    std::vector<ListEntry> list_all();

    // RFC 3501 6.3.6/6.3.7. A name need not exist to be subscribed. Returns
    // false when nothing changed (already / not subscribed).
    bool subscribe(std::string_view name);
    bool unsubscribe(std::string_view name);

    MailboxStatus status(MailboxId id);

    // Keywords defined in the mailbox, for FLAGS and PERMANENTFLAGS (with
    // \*: any new keyword may be created).
    std::vector<std::string> keywords(MailboxId id);

    // For SELECT (never EXAMINE): the UIDs that are \Recent for this session,
    // and moves the marker past them, atomically, so exactly one session
    // sees each message as recent (RFC 3501 2.3.2). nullopt when none.
    std::optional<UidRange> claim_recent(MailboxId id);

    // Every UID in the mailbox, ascending: the session's initial view.
    std::vector<std::uint32_t> uids(MailboxId id);
    // The UIDs >= `from`, ascending: what arrived since a view was loaded.
    std::vector<std::uint32_t> uids(MailboxId id, std::uint32_t from);
    // The lowest UID without \Seen, for SELECT's [UNSEEN n] (RFC 3501
    // 6.3.1); nullopt when every message is seen.
    std::optional<std::uint32_t> first_unseen_uid(MailboxId id);

    // ---- Messages --------------------------------------------------------

    // RFC 3501 6.3.11 (and RFC 3502 MULTIAPPEND: all or none). Each message
    // is parsed here, outside the write transaction. TooBig past
    // limits::kMaxMessageSize, OverLimit when UIDs or keywords run out.
    AppendResult append(MailboxId id, std::span<const AppendRequest> messages);
    std::uint32_t append(MailboxId id, const AppendRequest& message);

    // Metadata of the messages in `uids`, ascending.
    std::vector<MessageInfo> fetch(MailboxId id, UidSpan uids, const FetchOptions& options = {});

    // The parser's result for a body (structure_codec.h: `header` empty).
    ParsedMessage structure(std::int64_t body_id);
    // Bytes [offset, offset + length) of a body, clamped to its size; read
    // with sqlite3_blob_read, so a partial FETCH never loads the whole body.
    std::string read_body(std::int64_t body_id, std::uint64_t offset, std::uint64_t length);

    // RFC 3501 6.4.6 STORE. Only messages whose flags or keywords really
    // change get the new MODSEQ (RFC 7162 3.1.3 / 3.2). `unchanged_since`:
    // RFC 7162 UNCHANGEDSINCE.
    StoreFlagsResult store_flags(MailboxId id, UidSpan uids, FlagOp op, const Flags& flags,
                                 std::optional<std::uint64_t> unchanged_since = std::nullopt);

    // RFC 3501 6.4.7 / RFC 4315 COPYUID. Flags and keywords go along; the
    // body is shared, not copied. NoSelect / NotFound for the destination.
    // `expected`: how many messages `uids` names in the caller's view; when
    // fewer exist (another session expunged some), nothing is copied and
    // the call throws Expunged (RFC 2180 4.4.1, RFC 5530 EXPUNGEISSUED).
    CopyResult copy(MailboxId source, UidSpan uids, MailboxId destination,
                    std::optional<std::size_t> expected = std::nullopt);
    // RFC 6851: copy and expunge from the source in one transaction.
    MoveResult move(MailboxId source, UidSpan uids, MailboxId destination,
                    std::optional<std::size_t> expected = std::nullopt);

    // RFC 3501 6.4.3 EXPUNGE (uids = nullopt) / RFC 4315 UID EXPUNGE: removes
    // the \Deleted messages, logs their UIDs with the new MODSEQ and what
    // views that have not applied the expunge still show (body, flags,
    // keywords, internal date, size, modseq). The bodies stay until
    // collect_garbage() finds them unpinned.
    ExpungeResult expunge(MailboxId id, std::optional<UidSpan> uids = std::nullopt);

    // RFC 7162 3.2.5.2 VANISHED (EARLIER): UIDs expunged with modseq > this.
    std::vector<std::uint32_t> expunged_since(MailboxId id, std::uint64_t modseq);

    // SEARCH (store/search.h): matching UIDs, ascending.
    std::vector<std::uint32_t> search(MailboxId id, const SearchKey& key);

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
        std::int64_t key_ = 0;  // the view's handle, or the body's id

      private:
        friend class MailStore;
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
    ViewPin pin_view(MailboxId mailbox, std::uint64_t watermark);

    // Keeps one body whatever happens to its messages, while a FETCH streams
    // it across several steps (the messages' mailbox may even be deleted).
    class BodyPin : public Pin {
      public:
        BodyPin() = default;

      private:
        friend class MailStore;
        BodyPin(MailStore& store, std::int64_t body_id) : Pin(store, Kind::Body, body_id) {}
    };
    BodyPin pin_body(std::int64_t body_id);

    // Deletes the orphan bodies that no message refers to and no pin holds,
    // and clears the expunge log's retained values no live view needs. The
    // server calls it when it opens a user's store (a crash leaves orphans);
    // pins call it as they advance or go. Runs no query when this process
    // has made no garbage since the last run left none.
    GarbageResult collect_garbage();
    // For tests: how many collect_garbage() runs did their queries.
    std::uint64_t garbage_runs() const { return garbage_runs_; }
    // For tests: live view pins.
    std::size_t view_pin_count() const { return views_.size(); }

  private:
    struct ViewEntry {
        MailboxId mailbox = 0;
        std::uint64_t watermark = 0;
    };
    // collect_garbage() for pins, which must not throw: a failed run only
    // leaves the orphans to the next one.
    void collect_garbage_quietly() noexcept;

    Database db_;
    std::map<std::int64_t, ViewEntry> views_;  // by ViewPin handle
    std::int64_t next_view_ = 1;
    std::multiset<std::int64_t> pinned_bodies_;
    // Orphans or retained expunge values may exist. True at open (another
    // run may have left some) until a collection leaves none.
    bool garbage_possible_ = true;
    std::uint64_t garbage_runs_ = 0;
};

}  // namespace imap::store
