#include "store/sqlite_mail_store.h"

#include <openssl/evp.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include "store/body_codec.h"
#include "store/body_objects.h"
#include "store/internal.h"
#include "store/limits.h"
#include "store/mailbox_names.h"
#include "store/schema.h"
#include "store/search.h"
#include "store/sort_keys.h"
#include "store/structure_codec.h"

namespace imap::store {

namespace detail {

ReadSnapshot::ReadSnapshot(Database& db) : db_(db) {
    db_.open_read_batch();  // inside a read batch, its transaction is the snapshot
    if (sqlite3_get_autocommit(db_.handle())) {
        db_.exec("BEGIN");
    } else {
        active_ = false;  // already inside a transaction: it is the snapshot
    }
}

ReadSnapshot::~ReadSnapshot() {
    if (active_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

}  // namespace detail

namespace {

using detail::ReadSnapshot;

constexpr std::string_view kInbox = "INBOX";
constexpr const char* kMailboxColumns =
    "id, name, selectable, uidvalidity, uidnext, highestmodseq, first_recent_uid, special_use, "
    "coalesce(object_id, '')";
// A new MAILBOXID (RFC 8474 4; schema v6): "F" and 96 random bits in hex.
// SQLite's randomblob() is seeded from the operating system; the UNIQUE
// index mailboxes_object_id turns the impossible collision into an error
// rather than two mailboxes with one id.
constexpr std::string_view kNewObjectId = "'F' || lower(hex(randomblob(12)))";

MailboxInfo read_mailbox(const Query& q) {
    MailboxInfo info;
    info.id = q.column_int(0);
    info.name = q.column_text(1);
    info.selectable = q.column_int(2) != 0;
    info.uidvalidity = static_cast<std::uint32_t>(q.column_int(3));
    info.uidnext = static_cast<std::uint64_t>(q.column_int(4));
    info.highestmodseq = static_cast<std::uint64_t>(q.column_int(5));
    info.first_recent_uid = static_cast<std::uint32_t>(q.column_int(6));
    info.special_use = static_cast<std::uint32_t>(q.column_int(7));
    info.object_id = q.column_text(8);
    return info;
}

std::optional<MailboxInfo> load_by_name(Database& db, std::string_view canonical) {
    static const std::string sql =
        std::string("SELECT ") + kMailboxColumns + " FROM mailboxes WHERE name = ?1";
    auto q = db.prepare(sql);
    q.bind(1, canonical);
    if (!q.step()) return std::nullopt;
    return read_mailbox(q);
}

std::optional<MailboxInfo> load_by_id(Database& db, MailboxId id) {
    static const std::string sql =
        std::string("SELECT ") + kMailboxColumns + " FROM mailboxes WHERE id = ?1";
    auto q = db.prepare(sql);
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    return read_mailbox(q);
}

// What require_mailbox() (selectable: require_selectable()) checks, for a
// caller that needs little of the row: two columns read, no MailboxInfo
// built. A session's view sync asks several times per command, for each of
// the ten sessions of the mixed benchmark (docs/benchmarks.md). Returns the
// mailbox's UIDNEXT, for the caller that needs it (uids()).
std::int64_t check_mailbox(Database& db, MailboxId id, bool selectable) {
    auto q = db.prepare("SELECT selectable, uidnext FROM mailboxes WHERE id = ?1");
    q.bind(1, id);
    if (!q.step()) throw StoreError(StoreErrc::NotFound, "mailbox does not exist");
    if (selectable && q.column_int(0) == 0) {
        throw StoreError(StoreErrc::NoSelect, "mailbox is not selectable");
    }
    return q.column_int(1);
}

MailboxInfo require_mailbox(Database& db, MailboxId id) {
    auto info = load_by_id(db, id);
    if (!info) throw StoreError(StoreErrc::NotFound, "mailbox does not exist");
    return *info;
}

MailboxInfo require_selectable(Database& db, MailboxId id) {
    MailboxInfo info = require_mailbox(db, id);
    if (!info.selectable) throw StoreError(StoreErrc::NoSelect, "mailbox is not selectable");
    return info;
}

// Bounds of the inferiors of `name` for a range scan on the name index:
// every "name/..." sorts between "name/" and "name0" ('0' follows '/').
std::string children_low(std::string_view name) {
    return std::string(name) + '/';
}
std::string children_high(std::string_view name) {
    return std::string(name) + '0';
}

bool has_children(Database& db, std::string_view name) {
    auto q = db.prepare("SELECT 1 FROM mailboxes WHERE name > ?1 AND name < ?2 LIMIT 1");
    q.bind(1, children_low(name)).bind(2, children_high(name));
    return q.step();
}

// One new MODSEQ per operation: every message the operation changes gets it
// (RFC 7162 3: later operations get greater values).
std::uint64_t next_modseq(Database& db, MailboxId id) {
    auto q = db.prepare(
        "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ?1 "
        "RETURNING highestmodseq");
    q.bind(1, id);
    if (!q.step()) throw StoreError(StoreErrc::NotFound, "mailbox does not exist");
    auto value = static_cast<std::uint64_t>(q.column_int(0));
    if (value > limits::kMaxModseq) throw StoreError(StoreErrc::OverLimit, "MODSEQ exhausted");
    return value;
}

std::size_t mailbox_count(Database& db) {
    auto q = db.prepare("SELECT count(*) FROM mailboxes");
    q.step();
    return static_cast<std::size_t>(q.column_int(0));
}

// Inserts \Noselect placeholders for every missing superior of `name`,
// keeping the invariant that a name's superiors all exist.
void create_superiors(Database& db, std::string_view name) {
    std::vector<std::string_view> missing;
    for (auto parent = parent_mailbox_name(name); parent; parent = parent_mailbox_name(*parent)) {
        if (load_by_name(db, *parent)) break;  // its own superiors exist too
        missing.push_back(*parent);
    }
    if (mailbox_count(db) + missing.size() + 1 > limits::kMaxMailboxesPerUser) {
        throw StoreError(StoreErrc::OverLimit, "too many mailboxes");
    }
    for (std::string_view placeholder : missing) {
        db.prepare("INSERT INTO mailboxes (name, selectable, uidvalidity) VALUES (?1, 0, 0)")
            .bind(1, placeholder)
            .run();
    }
}

MailboxId insert_mailbox(Database& db, std::string_view name, std::uint32_t uidvalidity) {
    db.prepare(
          "INSERT INTO mailboxes (name, selectable, uidvalidity, object_id) VALUES (?1, 1, ?2, " +
          std::string(kNewObjectId) + ")")
        .bind(1, name)
        .bind(2, std::int64_t{uidvalidity})
        .run();
    return db.last_insert_rowid();
}

// Removes every message (bodies follow through the trigger), keyword and
// expunge record of a mailbox.
void clear_mailbox(Database& db, MailboxId id) {
    db.prepare("DELETE FROM messages WHERE mailbox_id = ?1").bind(1, id).run();
    db.prepare("DELETE FROM keywords WHERE mailbox_id = ?1").bind(1, id).run();
    db.prepare("DELETE FROM expunged WHERE mailbox_id = ?1").bind(1, id).run();
}

// RFC 3501 9 flag-keyword = atom; atoms exclude atom-specials.
void check_keyword(std::string_view name) {
    if (name.empty() || name.size() > limits::kMaxKeywordBytes) {
        throw StoreError(StoreErrc::InvalidName, "invalid keyword length");
    }
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f ||
            std::string_view("(){%*\"\\]").find(c) != std::string_view::npos) {
            throw StoreError(StoreErrc::InvalidName, "invalid keyword");
        }
    }
}

// The keyword's id in the mailbox; creates it when `create`; -1 when absent.
std::int64_t keyword_id(Database& db, MailboxId mailbox, std::string_view name, bool create) {
    {
        auto q = db.prepare("SELECT id FROM keywords WHERE mailbox_id = ?1 AND name = ?2");
        q.bind(1, mailbox).bind(2, name);
        if (q.step()) return q.column_int(0);
    }
    if (!create) return -1;
    check_keyword(name);
    std::int64_t count = 0, next = 0;
    {
        auto q = db.prepare(
            "SELECT count(*), coalesce(max(id), 0) + 1 FROM keywords WHERE mailbox_id = ?1");
        q.bind(1, mailbox);
        q.step();
        count = q.column_int(0);
        next = q.column_int(1);
    }
    if (static_cast<std::size_t>(count) >= limits::kMaxKeywordsPerMailbox) {
        throw StoreError(StoreErrc::OverLimit, "too many keywords in this mailbox");
    }
    db.prepare("INSERT INTO keywords (mailbox_id, id, name) VALUES (?1, ?2, ?3)")
        .bind(1, mailbox)
        .bind(2, next)
        .bind(3, name)
        .run();
    return next;
}

std::vector<std::int64_t> keyword_ids(Database& db, MailboxId mailbox,
                                      const std::vector<std::string>& names, bool create) {
    if (names.size() > limits::kMaxKeywordsPerMessage) {
        throw StoreError(StoreErrc::OverLimit, "too many keywords");
    }
    std::vector<std::int64_t> ids;
    for (const std::string& name : names) {
        std::int64_t id = keyword_id(db, mailbox, name, create);
        if (id >= 0) ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

std::vector<std::int64_t> message_keyword_ids(Database& db, MailboxId mailbox, std::uint32_t uid) {
    auto q = db.prepare(
        "SELECT keyword_id FROM message_keywords WHERE mailbox_id = ?1 AND uid = ?2 "
        "ORDER BY keyword_id");
    q.bind(1, mailbox).bind(2, std::int64_t{uid});
    std::vector<std::int64_t> ids;
    while (q.step())
        ids.push_back(q.column_int(0));
    return ids;
}

std::vector<std::string> message_keyword_names(Database& db, MailboxId mailbox, std::uint32_t uid) {
    auto q = db.prepare(
        "SELECT k.name FROM message_keywords mk JOIN keywords k "
        "ON k.mailbox_id = mk.mailbox_id AND k.id = mk.keyword_id "
        "WHERE mk.mailbox_id = ?1 AND mk.uid = ?2 ORDER BY k.id");
    q.bind(1, mailbox).bind(2, std::int64_t{uid});
    std::vector<std::string> names;
    while (q.step())
        names.push_back(q.column_text(0));
    return names;
}

void add_message_keyword(Database& db, MailboxId mailbox, std::uint32_t uid, std::int64_t id) {
    db.prepare(
          "INSERT OR IGNORE INTO message_keywords (mailbox_id, uid, keyword_id) VALUES (?1, ?2, "
          "?3)")
        .bind(1, mailbox)
        .bind(2, std::int64_t{uid})
        .bind(3, id)
        .run();
}

// Everything about a body computed before the write transaction starts, so
// parsing a large message never holds the user's write lock.
struct PreparedBody {
    std::string_view raw;
    std::string hash;
    std::string structure;
    std::optional<SentDate> sent;
    SortKeys sort;
    BodyObjects objects;
    std::string search_header;
    std::string search_body;
    // store/body_codec.h: the container stored in body_raw, and the search
    // columns' frames (empty: store the text itself).
    std::string container;
    std::string search_header_frame;
    std::string search_body_frame;
};

// Binds the search column value of `text`: its zstd frame as a BLOB, or
// the text itself when it has none (docs/storage.md "Compressed bodies").
void bind_search_text(Query& q, int index, const std::string& text, const std::string& frame) {
    if (frame.empty()) {
        q.bind(index, text);
    } else {
        q.bind_blob(index, frame);
    }
}

// Where the last part whose text goes into search_body ends (extract_search_text:
// text parts, and the header of an embedded message), 0 when none: the
// prefix its frame is compressed against (store/body_codec.h).
std::size_t search_text_end(const MimePart& part, std::size_t depth = 0) {
    if (depth > MessageLimits::kMaxMimeDepth) return 0;
    std::size_t end = 0;
    if (part.is_message()) end = part.children.front().header.end;
    for (const MimePart& child : part.children)
        end = std::max(end, search_text_end(child, depth + 1));
    if (part.children.empty() && part.is_text()) end = std::max(end, part.body.end);
    return end;
}

PreparedBody prepare_body(std::string_view raw) {
    if (raw.size() > limits::kMaxMessageSize) {
        throw StoreError(StoreErrc::TooBig, "message too large");
    }
    PreparedBody body;
    body.raw = raw;
    body.hash = sha256(raw);
    ParsedMessage parsed = parse_message(raw);
    body.structure = encode_structure(parsed);
    for (const HeaderField& field : parsed.header) {
        if (field.name.size() == 4 && (field.name[0] == 'D' || field.name[0] == 'd') &&
            (field.name.substr(1) == "ate" || field.name.substr(1) == "ATE")) {
            body.sent = parse_date_header(unfold(field.raw_value));
            break;
        }
    }
    body.sort = compute_sort_keys(parsed);
    body.objects = compute_body_objects(raw, parsed, body.sort, body.hash);
    SearchText text = extract_search_text(raw, parsed);
    body.search_header = search_header_column(text);
    body.search_body = std::move(text.body);
    body.container = compress_body(raw);
    SearchTextFrames frames = compress_search_text(raw, search_text_end(parsed.root),
                                                   body.search_header, body.search_body);
    body.search_header_frame = std::move(frames.header);
    body.search_body_frame = std::move(frames.body);
    return body;
}

// The body_sort row of `body` (docs/storage.md "Sort keys").
void insert_sort_keys(Database& db, std::int64_t body, const SortKeys& keys) {
    auto q = db.prepare(
        "INSERT OR REPLACE INTO body_sort (body_id, sent_time, subject, reply, from_mailbox, "
        "to_mailbox, cc_mailbox, display_from, display_to, message_id, refs) VALUES (?1, ?2, ?3, "
        "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    q.bind(1, body);
    if (keys.sent_time) {
        q.bind(2, *keys.sent_time);
    } else {
        q.bind_null(2);
    }
    q.bind(3, keys.subject)
        .bind(4, std::int64_t{keys.reply_or_forward})
        .bind(5, keys.from_mailbox)
        .bind(6, keys.to_mailbox)
        .bind(7, keys.cc_mailbox)
        .bind(8, keys.display_from)
        .bind(9, keys.display_to)
        .bind(10, keys.message_id)
        .bind(11, join_references(keys.references));
    q.run();
}

// The body_object row of `body` (docs/storage.md "Object ids, save date,
// preview").
void insert_body_objects(Database& db, std::int64_t body, const BodyObjects& objects) {
    db.prepare(
          "INSERT OR REPLACE INTO body_object (body_id, thread_id, preview) VALUES (?1, ?2, ?3)")
        .bind(1, body)
        .bind(2, objects.thread_id)
        .bind(3, objects.preview)
        .run();
}

// The body's id, stored now unless the same bytes are stored already;
// `inserted` tells which (a new body joins the search index's queue through
// the trigger bodies_fts_queue).
std::int64_t store_body(Database& db, const PreparedBody& body, bool& inserted) {
    inserted = false;
    {
        auto q = db.prepare("SELECT id FROM bodies WHERE hash = ?1");
        q.bind_blob(1, body.hash);
        if (q.step()) {
            const std::int64_t id = q.column_int(0);
            // An orphan taken back is no orphan: the search index skips
            // orphans (index_pending) and should index it now, not after
            // the next garbage collection noticed.
            db.prepare("DELETE FROM orphan_bodies WHERE body_id = ?1").bind(1, id).run();
            return id;
        }
    }
    inserted = true;
    auto q = db.prepare(
        "INSERT INTO bodies (hash, size, structure, sent_time, sent_day, search_header, "
        "search_body, raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, x'')");
    q.bind_blob(1, body.hash)
        .bind(2, static_cast<std::int64_t>(body.raw.size()))
        .bind_blob(3, body.structure);
    if (body.sent) {
        q.bind(4, body.sent->time).bind(5, body.sent->day);
    } else {
        q.bind_null(4).bind_null(5);
    }
    bind_search_text(q, 6, body.search_header, body.search_header_frame);
    bind_search_text(q, 7, body.search_body, body.search_body_frame);
    // The bytes are in body_raw (schema v7); raw stays empty.
    q.run();
    const std::int64_t id = db.last_insert_rowid();
    db.prepare("INSERT INTO body_raw (body_id, format, data) VALUES (?1, ?2, ?3)")
        .bind(1, id)
        .bind(2, kBodyFormatZstdBlocks)
        .bind_blob(3, body.container)
        .run();
    insert_sort_keys(db, id, body.sort);
    insert_body_objects(db, id, body.objects);
    return id;
}

struct MessageRow {
    std::uint32_t uid = 0;
    std::int64_t body_id = 0;
    std::int64_t internal_date = 0;
    std::int64_t zone_minutes = 0;
    std::int64_t size = 0;
    std::uint32_t flags = 0;
    std::uint64_t modseq = 0;
    std::int64_t save_date = 0;  // RFC 8514: set by the caller when it saves the row
};

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void insert_message(Database& db, MailboxId mailbox, const MessageRow& m) {
    db.prepare(
          "INSERT INTO messages (mailbox_id, uid, body_id, internal_date, zone_minutes, size, "
          "flags, modseq, save_date) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
        .bind(1, mailbox)
        .bind(2, std::int64_t{m.uid})
        .bind(3, m.body_id)
        .bind(4, m.internal_date)
        .bind(5, m.zone_minutes)
        .bind(6, m.size)
        .bind(7, std::int64_t{m.flags})
        .bind(8, static_cast<std::int64_t>(m.modseq))
        .bind(9, m.save_date)
        .run();
}

std::vector<MessageRow> select_rows(Database& db, MailboxId mailbox, UidSpan set) {
    std::vector<MessageRow> rows;
    for (const UidRange& range : set) {
        auto q = db.prepare(
            "SELECT uid, body_id, internal_date, zone_minutes, size, flags, modseq FROM messages "
            "WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
        q.bind(1, mailbox).bind(2, std::int64_t{range.first}).bind(3, std::int64_t{range.last});
        while (q.step()) {
            MessageRow row;
            row.uid = static_cast<std::uint32_t>(q.column_int(0));
            row.body_id = q.column_int(1);
            row.internal_date = q.column_int(2);
            row.zone_minutes = q.column_int(3);
            row.size = q.column_int(4);
            row.flags = static_cast<std::uint32_t>(q.column_int(5));
            row.modseq = static_cast<std::uint64_t>(q.column_int(6));
            rows.push_back(row);
        }
    }
    return rows;
}

// What STORE needs of a message: its flags and modseq.
struct FlagRow {
    std::uint32_t uid = 0;
    std::uint32_t flags = 0;
    std::uint64_t modseq = 0;
};

// The FlagRows of `mailbox` with a UID in [first, last], ascending, at most
// `limit` of them.
std::vector<FlagRow> select_flag_rows(Database& db, MailboxId mailbox, std::uint64_t first,
                                      std::uint32_t last, std::size_t limit) {
    auto q = db.prepare(
        "SELECT uid, flags, modseq FROM messages "
        "WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid LIMIT ?4");
    q.bind(1, mailbox)
        .bind(2, static_cast<std::int64_t>(first))
        .bind(3, std::int64_t{last})
        .bind(4, static_cast<std::int64_t>(limit));
    std::vector<FlagRow> rows;
    rows.reserve(limit);
    while (q.step()) {
        rows.push_back(FlagRow{static_cast<std::uint32_t>(q.column_int(0)),
                               static_cast<std::uint32_t>(q.column_int(1)),
                               static_cast<std::uint64_t>(q.column_int(2))});
    }
    return rows;
}

UidSet checked_set(UidSpan uids) {
    if (uids.size() > limits::kMaxUidRanges) {
        throw StoreError(StoreErrc::OverLimit, "too many UID ranges");
    }
    return normalize(uids);
}

// The expunge log row of the messages `where` selects from `messages m`
// (?1 the mailbox, ?2 the expunge's modseq, ?3 a UID if `where` uses it):
// the UID and modseq QRESYNC needs, and the message's last state for the
// views that have not applied the expunge yet (schema v3).
constexpr const char* kLogExpunged =
    "INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq, body_id, flags, keywords, "
    "internal_date, zone_minutes, size, message_modseq, save_date) "
    "SELECT m.mailbox_id, m.uid, ?2, m.body_id, m.flags, "
    "(SELECT group_concat(k.name, ' ') FROM message_keywords mk JOIN keywords k "
    " ON k.mailbox_id = mk.mailbox_id AND k.id = mk.keyword_id "
    " WHERE mk.mailbox_id = m.mailbox_id AND mk.uid = m.uid), "
    "m.internal_date, m.zone_minutes, m.size, m.modseq, m.save_date FROM messages m ";

// Logs the UIDs with `modseq` (kLogExpunged) and deletes the rows; their
// bodies become orphans (collect_garbage).
void remove_messages(Database& db, MailboxId mailbox, const std::vector<std::uint32_t>& uids,
                     std::uint64_t modseq) {
    for (std::uint32_t uid : uids) {
        db.prepare(std::string(kLogExpunged) + "WHERE m.mailbox_id = ?1 AND m.uid = ?3")
            .bind(1, mailbox)
            .bind(2, static_cast<std::int64_t>(modseq))
            .bind(3, std::int64_t{uid})
            .run();
        db.prepare("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")
            .bind(1, mailbox)
            .bind(2, std::int64_t{uid})
            .run();
    }
}

// Keywords are atoms (check_keyword), so a space separates them; sorted as
// fetch() returns them.
std::vector<std::string> split_keywords(const std::string& joined) {
    std::vector<std::string> keywords;
    for (std::size_t start = 0; start < joined.size();) {
        std::size_t end = std::min(joined.find(' ', start), joined.size());
        if (end > start) keywords.push_back(joined.substr(start, end - start));
        start = end + 1;
    }
    std::sort(keywords.begin(), keywords.end());
    return keywords;
}

CopyResult copy_rows(Database& db, MailboxId source, const UidSet& set, MailboxId destination,
                     std::optional<std::size_t> expected) {
    MailboxInfo dest = require_selectable(db, destination);
    check_mailbox(db, source, true);
    std::vector<MessageRow> rows = select_rows(db, source, set);
    if (expected && rows.size() < *expected) {
        // RFC 2180 4.4.1: the whole COPY fails, nothing is copied.
        throw StoreError(StoreErrc::Expunged, "Some of the requested messages no longer exist");
    }
    CopyResult result;
    result.uidvalidity = dest.uidvalidity;
    if (rows.empty()) return result;
    if (dest.uidnext + rows.size() - 1 > limits::kMaxUid) {
        throw StoreError(StoreErrc::OverLimit, "no UIDs left in the destination mailbox");
    }
    const std::uint64_t modseq = next_modseq(db, destination);
    // RFC 8514 3: a COPY or MOVE saves the message anew.
    const std::int64_t saved = unix_now();
    std::uint64_t uid = dest.uidnext;
    for (const MessageRow& row : rows) {
        std::vector<std::string> keywords = message_keyword_names(db, source, row.uid);
        MessageRow copy = row;
        copy.uid = static_cast<std::uint32_t>(uid);
        copy.modseq = modseq;
        copy.save_date = saved;
        insert_message(db, destination, copy);
        for (std::int64_t id : keyword_ids(db, destination, keywords, true)) {
            add_message_keyword(db, destination, copy.uid, id);
        }
        result.mapping.push_back({row.uid, static_cast<std::uint32_t>(uid)});
        ++uid;
    }
    db.prepare("UPDATE mailboxes SET uidnext = ?2 WHERE id = ?1")
        .bind(1, destination)
        .bind(2, static_cast<std::int64_t>(uid))
        .run();
    return result;
}

}  // namespace

// A write transaction and the change set it reports: the mailboxes passed
// to changed() go to the change listener once the transaction committed,
// from the destructor, i.e. after every statement of the call that opened
// it has ended, so the listener may use the store at once. A transaction
// that did not commit (an exception, an early return) reports nothing.
class SqliteMailStore::WriteTransaction {
  public:
    explicit WriteTransaction(SqliteMailStore& store) : store_(store), transaction_(store.db_) {}
    ~WriteTransaction() {
        if (!committed_) return;
        std::vector<MailboxId>& ids = changes_.mailboxes;
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        store_.report_changes(changes_);
    }
    WriteTransaction(const WriteTransaction&) = delete;
    WriteTransaction& operator=(const WriteTransaction&) = delete;

    void changed(MailboxId mailbox) { changes_.mailboxes.push_back(mailbox); }
    void queued_bodies() { ++changes_.bodies_queued; }
    void name_changed(NameChange::Kind kind, std::string name, std::string old_name = {}) {
        changes_.names.push_back({kind, std::move(name), std::move(old_name)});
    }
    void commit() {
        transaction_.commit();
        committed_ = true;
    }

  private:
    SqliteMailStore& store_;
    Transaction transaction_;
    ChangeSet changes_;
    bool committed_ = false;
};

SqliteMailStore::SqliteMailStore(const OpenOptions& options) : db_(options) {
    if (options.read_only) {
        // A reader reads what its writer migrated; it cannot migrate.
        if (db_.user_version() != static_cast<int>(mail_migrations().size())) {
            throw StoreError(StoreErrc::Busy, "a reader needs the current schema");
        }
    } else {
        db_.migrate(mail_migrations());
    }
    detail::register_search_functions(db_);
}

SqliteMailStore::~SqliteMailStore() = default;

// ---- Mailboxes -------------------------------------------------------------

MailboxInfo SqliteMailStore::create_mailbox(std::string_view name, std::uint32_t special_use) {
    // RFC 3501 6.3.3: a trailing delimiter only declares the intent to
    // create inferiors; the name itself is created.
    while (name.size() > 1 && name.back() == kHierarchyDelimiter)
        name.remove_suffix(1);
    const std::string canonical = canonical_mailbox_name(name);
    if ((special_use & ~list_attr::kSpecialUseMask) != 0) {
        throw StoreError(StoreErrc::InvalidName, "unknown special-use attribute");
    }
    if (special_use != 0 && canonical == kInbox) {
        throw StoreError(StoreErrc::AlreadyExists, "mailbox already exists");
    }
    WriteTransaction transaction(*this);
    if (auto existing = load_by_name(db_, canonical)) {
        if (existing->selectable) {
            throw StoreError(StoreErrc::AlreadyExists, "mailbox already exists");
        }
        // A placeholder becomes a mailbox; a fresh UIDVALIDITY, since the
        // name may have been a mailbox before (RFC 3501 2.3.1.1).
        db_.prepare(
               "UPDATE mailboxes SET selectable = 1, uidvalidity = ?2, uidnext = 1, "
               "highestmodseq = 1, first_recent_uid = 1, object_id = " +
               std::string(kNewObjectId) + " WHERE id = ?1")
            .bind(1, existing->id)
            .bind(2, std::int64_t{allocate_uidvalidity(db_)})
            .run();
    } else {
        create_superiors(db_, canonical);
        insert_mailbox(db_, canonical, allocate_uidvalidity(db_));
    }
    if (special_use != 0) {
        db_.prepare("UPDATE mailboxes SET special_use = ?2 WHERE name = ?1")
            .bind(1, canonical)
            .bind(2, std::int64_t{special_use})
            .run();
    }
    MailboxInfo info = *load_by_name(db_, canonical);
    transaction.name_changed(NameChange::Kind::Created, canonical);
    transaction.commit();
    return info;
}

bool SqliteMailStore::ensure_default_mailboxes() {
    struct Default {
        std::string_view name;
        std::uint32_t special_use;
    };
    // Dovecot's example configuration names, in the order it lists them.
    static constexpr Default kDefaults[] = {
        {"Sent", list_attr::kSent}, {"Drafts", list_attr::kDrafts},   {"Trash", list_attr::kTrash},
        {"Junk", list_attr::kJunk}, {"Archive", list_attr::kArchive},
    };
    Transaction transaction(db_);
    {
        auto q = db_.prepare("SELECT 1 FROM meta WHERE key = 'default_mailboxes'");
        if (q.step()) return false;
    }
    for (const Default& d : kDefaults) {
        {
            auto q = db_.prepare("SELECT 1 FROM mailboxes WHERE (special_use & ?1) <> 0 LIMIT 1");
            q.bind(1, std::int64_t{d.special_use});
            if (q.step()) continue;  // the user already has one
        }
        auto existing = load_by_name(db_, d.name);
        if (!existing) {
            create_superiors(db_, d.name);
            insert_mailbox(db_, d.name, allocate_uidvalidity(db_));
        } else if (!existing->selectable) {
            db_.prepare("UPDATE mailboxes SET selectable = 1, uidvalidity = ?2, object_id = " +
                        std::string(kNewObjectId) + " WHERE id = ?1")
                .bind(1, existing->id)
                .bind(2, std::int64_t{allocate_uidvalidity(db_)})
                .run();
        }
        db_.prepare("UPDATE mailboxes SET special_use = special_use | ?2 WHERE name = ?1")
            .bind(1, d.name)
            .bind(2, std::int64_t{d.special_use})
            .run();
        db_.prepare("INSERT OR IGNORE INTO subscriptions (name) VALUES (?1)").bind(1, d.name).run();
    }
    db_.exec("INSERT INTO meta (key, value) VALUES ('default_mailboxes', 1)");
    transaction.commit();
    return true;
}

void SqliteMailStore::delete_mailbox(std::string_view name) {
    const std::string canonical = canonical_mailbox_name(name);
    if (canonical == kInbox) {
        throw StoreError(StoreErrc::NotPermitted, "INBOX cannot be deleted");  // RFC 3501 6.3.4
    }
    WriteTransaction transaction(*this);
    auto info = load_by_name(db_, canonical);
    if (!info) throw StoreError(StoreErrc::NotFound, "mailbox does not exist");
    const bool children = has_children(db_, canonical);
    if (children && !info->selectable) {
        throw StoreError(StoreErrc::HasChildren, "mailbox has inferior hierarchical names");
    }
    clear_mailbox(db_, info->id);
    transaction.changed(info->id);  // a session that selected it ends (BYE)
    garbage_possible_ = true;
    if (children) {
        // RFC 3501 6.3.4: messages go, the name stays as \Noselect.
        // RFC 8474 4: no longer a mailbox; made one again, it gets a new id.
        db_.prepare(
               "UPDATE mailboxes SET selectable = 0, special_use = 0, object_id = NULL WHERE id = "
               "?1")
            .bind(1, info->id)
            .run();
    } else {
        db_.prepare("DELETE FROM mailboxes WHERE id = ?1").bind(1, info->id).run();
    }
    transaction.name_changed(NameChange::Kind::Deleted, canonical);
    transaction.commit();
}

void SqliteMailStore::rename_mailbox(std::string_view from, std::string_view to) {
    const std::string source = canonical_mailbox_name(from);
    const std::string target = canonical_mailbox_name(to);
    WriteTransaction transaction(*this);
    auto info = load_by_name(db_, source);
    if (!info) throw StoreError(StoreErrc::NotFound, "mailbox does not exist");
    if (load_by_name(db_, target)) {
        throw StoreError(StoreErrc::AlreadyExists, "target mailbox already exists");
    }
    if (source == kInbox) {
        // RFC 3501 6.3.5: INBOX's messages move to the new name, INBOX stays
        // (empty, same UIDVALIDITY, UIDNEXT unchanged so no UID is reused),
        // its inferiors stay where they are.
        create_superiors(db_, target);
        const MailboxId moved = insert_mailbox(db_, target, allocate_uidvalidity(db_));
        db_.prepare(
               "UPDATE mailboxes SET uidnext = ?2, highestmodseq = ?3, first_recent_uid = ?4 "
               "WHERE id = ?1")
            .bind(1, moved)
            .bind(2, static_cast<std::int64_t>(info->uidnext))
            .bind(3, static_cast<std::int64_t>(info->highestmodseq))
            .bind(4, std::int64_t{info->first_recent_uid})
            .run();
        db_.prepare(
               "INSERT INTO keywords (mailbox_id, id, name) "
               "SELECT ?2, id, name FROM keywords WHERE mailbox_id = ?1")
            .bind(1, info->id)
            .bind(2, moved)
            .run();
        // For INBOX the messages are gone: QRESYNC clients must see them
        // vanish.
        const std::uint64_t modseq = next_modseq(db_, info->id);
        db_.prepare(std::string(kLogExpunged) + "WHERE m.mailbox_id = ?1")
            .bind(1, info->id)
            .bind(2, static_cast<std::int64_t>(modseq))
            .run();
        // message_keywords follow through ON UPDATE CASCADE.
        db_.prepare("UPDATE messages SET mailbox_id = ?2 WHERE mailbox_id = ?1")
            .bind(1, info->id)
            .bind(2, moved)
            .run();
        garbage_possible_ = true;       // the log rows hold values for INBOX's views
        transaction.changed(info->id);  // INBOX's views see its messages vanish
        // RFC 5465 5.4: a new INBOX is assumed, and `target` is INBOX renamed.
        transaction.name_changed(NameChange::Kind::Renamed, target, source);
        transaction.commit();
        return;
    }
    if (target.size() > source.size() && target.compare(0, source.size(), source) == 0 &&
        target[source.size()] == kHierarchyDelimiter) {
        throw StoreError(StoreErrc::InvalidName, "cannot rename a mailbox into itself");
    }
    // The mailbox and its inferiors, each renamed by replacing the prefix.
    std::vector<std::pair<MailboxId, std::string>> renames;
    {
        auto q = db_.prepare(
            "SELECT id, name FROM mailboxes WHERE name = ?1 OR (name > ?2 AND name < ?3)");
        q.bind(1, source).bind(2, children_low(source)).bind(3, children_high(source));
        while (q.step()) {
            std::string old_name = q.column_text(1);
            renames.emplace_back(q.column_int(0),
                                 canonical_mailbox_name(target + old_name.substr(source.size())));
        }
    }
    create_superiors(db_, target);
    for (const auto& [id, new_name] : renames) {
        db_.prepare("UPDATE mailboxes SET name = ?2 WHERE id = ?1")
            .bind(1, id)
            .bind(2, new_name)
            .run();
    }
    // Subscriptions follow the rename (as in Dovecot): the client renamed
    // the folder it subscribed to. Existing target subscriptions are kept.
    std::vector<std::string> subscribed;
    {
        auto q = db_.prepare(
            "SELECT name FROM subscriptions WHERE name = ?1 OR (name > ?2 AND name < ?3)");
        q.bind(1, source).bind(2, children_low(source)).bind(3, children_high(source));
        while (q.step())
            subscribed.push_back(q.column_text(0));
    }
    for (const std::string& old_name : subscribed) {
        db_.prepare("DELETE FROM subscriptions WHERE name = ?1").bind(1, old_name).run();
        db_.prepare("INSERT OR IGNORE INTO subscriptions (name) VALUES (?1)")
            .bind(1, target + old_name.substr(source.size()))
            .run();
    }
    // One change for the inferiors too (RFC 5465 5.4: they are renamed
    // with it, no event of their own).
    transaction.name_changed(NameChange::Kind::Renamed, target, source);
    transaction.commit();
}

std::optional<MailboxInfo> SqliteMailStore::find_mailbox(std::string_view name) {
    return load_by_name(db_, canonical_mailbox_name(name));
}

MailboxInfo SqliteMailStore::mailbox(MailboxId id) {
    return require_mailbox(db_, id);
}

MailboxInfo SqliteMailStore::open_mailbox(std::string_view name) {
    auto info = find_mailbox(name);
    if (!info) throw StoreError(StoreErrc::NotFound, "mailbox does not exist");
    if (!info->selectable) throw StoreError(StoreErrc::NoSelect, "mailbox is not selectable");
    return *info;
}

std::vector<ListEntry> SqliteMailStore::list(std::string_view pattern) {
    const MailboxPattern matcher(pattern);
    ReadSnapshot snapshot(db_);
    std::unordered_set<std::string> subscribed;
    {
        auto q = db_.prepare("SELECT name FROM subscriptions");
        while (q.step())
            subscribed.insert(q.column_text(0));
    }
    struct Row {
        std::string name;
        bool selectable;
        bool marked;
        std::uint32_t special_use;
    };
    std::vector<Row> rows;
    std::unordered_set<std::string> parents;
    {
        auto q = db_.prepare(
            "SELECT name, selectable, first_recent_uid < uidnext, special_use FROM mailboxes "
            "ORDER BY name");
        while (q.step()) {
            rows.push_back(
                {q.column_text(0), q.column_int(1) != 0, q.column_int(2) != 0,
                 static_cast<std::uint32_t>(q.column_int(3)) & list_attr::kSpecialUseMask});
            if (auto parent = parent_mailbox_name(rows.back().name)) {
                parents.emplace(*parent);
            }
        }
    }
    std::vector<ListEntry> entries;
    for (const Row& row : rows) {
        if (!matcher.matches(row.name)) continue;
        std::uint32_t attributes =
            parents.count(row.name) ? list_attr::kHasChildren : list_attr::kHasNoChildren;
        if (!row.selectable) {
            attributes |= list_attr::kNoselect;
        } else {
            attributes |= row.marked ? list_attr::kMarked : list_attr::kUnmarked;
        }
        if (subscribed.count(row.name)) attributes |= list_attr::kSubscribed;
        attributes |= row.special_use;
        entries.push_back({row.name, attributes});
    }
    return entries;
}

std::vector<ListEntry> SqliteMailStore::list_all() {
    ReadSnapshot snapshot(db_);
    std::vector<ListEntry> entries = list("*");
    for (const ListEntry& entry : list_subscribed("*")) {
        if (entry.attributes & list_attr::kNonExistent) {
            entries.push_back({entry.name, list_attr::kSubscribed | list_attr::kNonExistent});
        }
    }
    std::sort(entries.begin(), entries.end(),
              [](const ListEntry& a, const ListEntry& b) { return a.name < b.name; });
    return entries;
}

std::vector<ListEntry> SqliteMailStore::list_subscribed(std::string_view pattern) {
    const MailboxPattern matcher(pattern);
    ReadSnapshot snapshot(db_);
    std::map<std::string, bool> mailboxes;  // name -> selectable
    {
        auto q = db_.prepare("SELECT name, selectable FROM mailboxes");
        while (q.step())
            mailboxes.emplace(q.column_text(0), q.column_int(1) != 0);
    }
    std::set<std::string> subscribed;
    {
        auto q = db_.prepare("SELECT name FROM subscriptions");
        while (q.step())
            subscribed.insert(q.column_text(0));
    }
    std::map<std::string, std::uint32_t> result;
    for (const std::string& name : subscribed) {
        if (!matcher.matches(name)) continue;
        std::uint32_t attributes = list_attr::kSubscribed;
        auto it = mailboxes.find(name);
        if (it == mailboxes.end()) {
            attributes |= list_attr::kNonExistent | list_attr::kNoselect;
        } else if (!it->second) {
            attributes |= list_attr::kNoselect;
        }
        result[name] = attributes;
    }
    // RFC 3501 6.3.9: with '%', a level above a subscribed name that is not
    // itself subscribed is listed as \Noselect.
    if (pattern.find('%') != std::string_view::npos) {
        for (const std::string& name : subscribed) {
            for (auto parent = parent_mailbox_name(name); parent;
                 parent = parent_mailbox_name(*parent)) {
                std::string level(*parent);
                if (subscribed.count(level) || !matcher.matches(level)) continue;
                result.emplace(level, list_attr::kNoselect);
            }
        }
    }
    std::vector<ListEntry> entries;
    for (auto& [name, attributes] : result)
        entries.push_back({name, attributes});
    return entries;
}

bool SqliteMailStore::subscribe(std::string_view name) {
    const std::string canonical = canonical_mailbox_name(name);
    WriteTransaction transaction(*this);
    db_.prepare("INSERT OR IGNORE INTO subscriptions (name) VALUES (?1)").bind(1, canonical).run();
    const bool changed = db_.changes() > 0;
    if (changed) transaction.name_changed(NameChange::Kind::Subscribed, canonical);
    transaction.commit();
    return changed;
}

bool SqliteMailStore::unsubscribe(std::string_view name) {
    const std::string canonical = canonical_mailbox_name(name);
    WriteTransaction transaction(*this);
    db_.prepare("DELETE FROM subscriptions WHERE name = ?1").bind(1, canonical).run();
    const bool changed = db_.changes() > 0;
    if (changed) transaction.name_changed(NameChange::Kind::Unsubscribed, canonical);
    transaction.commit();
    return changed;
}

MailboxStatus SqliteMailStore::status(MailboxId id) {
    ReadSnapshot snapshot(db_);
    MailboxInfo info = require_selectable(db_, id);
    MailboxStatus status;
    status.uidnext = info.uidnext;
    status.uidvalidity = info.uidvalidity;
    status.highestmodseq = info.highestmodseq;
    auto count = [&](const char* sql, std::int64_t extra) {
        auto q = db_.prepare(sql);
        q.bind(1, id);
        if (extra >= 0) q.bind(2, extra);
        q.step();
        return static_cast<std::uint32_t>(q.column_int(0));
    };
    status.messages = count("SELECT count(*) FROM messages WHERE mailbox_id = ?1", -1);
    status.unseen = count(
        "SELECT count(*) FROM messages INDEXED BY messages_unseen "
        "WHERE mailbox_id = ?1 AND (flags & 1) = 0",
        -1);
    status.deleted = count(
        "SELECT count(*) FROM messages INDEXED BY messages_deleted "
        "WHERE mailbox_id = ?1 AND (flags & 8) <> 0",
        -1);
    status.recent = count("SELECT count(*) FROM messages WHERE mailbox_id = ?1 AND uid >= ?2",
                          std::int64_t{info.first_recent_uid});
    {
        auto q = db_.prepare("SELECT coalesce(sum(size), 0) FROM messages WHERE mailbox_id = ?1");
        q.bind(1, id);
        q.step();
        status.size = static_cast<std::uint64_t>(q.column_int(0));
    }
    return status;
}

std::vector<std::string> SqliteMailStore::keywords(MailboxId id) {
    ReadSnapshot snapshot(db_);
    check_mailbox(db_, id, false);
    auto q = db_.prepare("SELECT name FROM keywords WHERE mailbox_id = ?1 ORDER BY id");
    q.bind(1, id);
    std::vector<std::string> names;
    while (q.step())
        names.push_back(q.column_text(0));
    return names;
}

std::optional<UidRange> SqliteMailStore::claim_recent(MailboxId id) {
    // Every selected session asks at every command end; mostly there is
    // nothing new. A read says so without the write lock (and, with group
    // commit, without a commit that would hold the session's output back).
    {
        const MailboxInfo seen = require_selectable(db_, id);
        if (seen.first_recent_uid >= seen.uidnext) return std::nullopt;
    }
    Transaction transaction(db_);
    MailboxInfo info = require_selectable(db_, id);
    if (info.first_recent_uid >= info.uidnext) return std::nullopt;
    db_.prepare("UPDATE mailboxes SET first_recent_uid = uidnext WHERE id = ?1").bind(1, id).run();
    transaction.commit();
    return UidRange{info.first_recent_uid, static_cast<std::uint32_t>(info.uidnext - 1)};
}

std::vector<std::uint32_t> SqliteMailStore::uids(MailboxId id) {
    return uids(id, 1);
}

std::vector<std::uint32_t> SqliteMailStore::uids(MailboxId id, std::uint32_t from) {
    ReadSnapshot snapshot(db_);
    // No UID of the mailbox is at or above its UIDNEXT (RFC 3501 2.3.1.1),
    // which also bounds what damaged runs could make this allocate.
    const std::int64_t uidnext = check_mailbox(db_, id, true);
    // From the runs of consecutive UIDs (schema v10, uid_runs): the run
    // holding `from` or the first above it, and every run after it.
    auto q = db_.prepare(
        "SELECT first_uid, last_uid FROM uid_runs WHERE mailbox_id = ?1 AND first_uid >= "
        "coalesce((SELECT first_uid FROM uid_runs WHERE mailbox_id = ?1 AND first_uid <= ?2 "
        "ORDER BY first_uid DESC LIMIT 1), 0) ORDER BY first_uid");
    q.bind(1, id).bind(2, std::int64_t{from});
    std::vector<std::uint32_t> result;
    std::int64_t previous_last = 0;
    while (q.step()) {
        const std::int64_t first = std::max<std::int64_t>(q.column_int(0), from);
        const std::int64_t last = q.column_int(1);
        // Runs the triggers made are disjoint and ascending; anything else
        // is a damaged database, not a reason to allocate without bound.
        if (q.column_int(0) <= previous_last || last < q.column_int(0) || last >= uidnext) {
            throw StoreError(StoreErrc::Corrupt, "the mailbox's UID runs are damaged");
        }
        previous_last = last;
        for (std::int64_t uid = first; uid <= last; ++uid)
            result.push_back(static_cast<std::uint32_t>(uid));
    }
    return result;
}

std::optional<std::uint32_t> SqliteMailStore::first_unseen_uid(MailboxId id) {
    // The messages_unseen partial index answers this without a scan.
    auto q = db_.prepare(
        "SELECT uid FROM messages WHERE mailbox_id = ?1 AND (flags & 1) = 0 ORDER BY uid LIMIT 1");
    q.bind(1, id);
    if (!q.step()) return std::nullopt;
    return static_cast<std::uint32_t>(q.column_int(0));
}

// ---- Messages --------------------------------------------------------------

struct PreparedAppend::Bodies {
    std::vector<PreparedBody> list;  // one per request, in order
};

PreparedAppend::PreparedAppend() = default;
PreparedAppend::PreparedAppend(std::span<const AppendRequest> requests,
                               std::unique_ptr<Bodies> bodies)
    : requests_(requests), bodies_(std::move(bodies)) {}
PreparedAppend::PreparedAppend(PreparedAppend&&) noexcept = default;
PreparedAppend& PreparedAppend::operator=(PreparedAppend&&) noexcept = default;
PreparedAppend::~PreparedAppend() = default;

PreparedAppend SqliteMailStore::prepare_append(std::span<const AppendRequest> messages) const {
    auto bodies = std::make_unique<PreparedAppend::Bodies>();
    bodies->list.reserve(messages.size());
    for (const AppendRequest& request : messages) {
        if (request.flags.system & ~flag::kAll) {
            throw StoreError(StoreErrc::InvalidName, "unknown system flag");
        }
        for (const std::string& keyword : request.flags.keywords)
            check_keyword(keyword);
        bodies->list.push_back(prepare_body(request.message));
    }
    return PreparedAppend(messages, std::move(bodies));
}

AppendResult SqliteMailStore::append_prepared(MailboxId id, const PreparedAppend& prepared) {
    return append_replacing(id, prepared, nullptr);
}

AppendResult SqliteMailStore::append(MailboxId id, std::span<const AppendRequest> messages) {
    return append_replacing(id, prepare_append(messages), nullptr);
}

ReplaceResult SqliteMailStore::replace(MailboxId source, std::uint32_t uid, MailboxId destination,
                                       const AppendRequest& message) {
    ReplaceResult result;
    const Replaced replaced{source, uid, &result.expunged};
    result.appended = append_replacing(
        destination, prepare_append(std::span<const AppendRequest>(&message, 1)), &replaced);
    return result;
}

AppendResult SqliteMailStore::append_replacing(MailboxId id, const PreparedAppend& prepared,
                                               const Replaced* replaced) {
    static const std::vector<PreparedBody> kNoBodies;  // a default-constructed PreparedAppend
    const std::span<const AppendRequest> messages = prepared.requests();
    const std::vector<PreparedBody>& bodies =
        prepared.bodies() != nullptr ? prepared.bodies()->list : kNoBodies;
    if (bodies.size() != messages.size()) {
        throw std::logic_error("append_prepared: not prepared by prepare_append()");
    }
    WriteTransaction transaction(*this);
    MailboxInfo info = require_selectable(db_, id);
    AppendResult result;
    result.uidvalidity = info.uidvalidity;
    if (messages.empty()) return result;
    if (info.uidnext + messages.size() - 1 > limits::kMaxUid) {
        throw StoreError(StoreErrc::OverLimit, "no UIDs left in this mailbox");
    }
    const std::uint64_t modseq = next_modseq(db_, id);
    const std::int64_t saved = unix_now();  // RFC 8514 3
    auto uid = static_cast<std::uint32_t>(info.uidnext);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        const AppendRequest& request = messages[i];
        MessageRow row;
        row.uid = uid;
        bool inserted = false;
        row.body_id = store_body(db_, bodies[i], inserted);
        if (inserted) transaction.queued_bodies();
        row.internal_date = request.internal_date;
        row.zone_minutes = request.zone_minutes;
        row.size = static_cast<std::int64_t>(request.message.size());
        row.flags = request.flags.system;
        row.modseq = modseq;
        row.save_date = saved;
        insert_message(db_, id, row);
        for (std::int64_t keyword : keyword_ids(db_, id, request.flags.keywords, true)) {
            add_message_keyword(db_, id, uid, keyword);
        }
        result.uids.push_back(uid);
        ++uid;  // wraps to 0 only after the last message, never stored
    }
    db_.prepare("UPDATE mailboxes SET uidnext = ?2 WHERE id = ?1")
        .bind(1, id)
        .bind(2, static_cast<std::int64_t>(result.uids.back()) + 1)
        .run();
    transaction.changed(id);
    if (replaced != nullptr) {
        // RFC 8508 3.4: the old message goes in the same transaction.
        check_mailbox(db_, replaced->source, true);
        const UidRange range{replaced->uid, replaced->uid};
        if (select_rows(db_, replaced->source, std::span(&range, 1)).empty()) {
            throw StoreError(StoreErrc::Expunged, "The message to replace no longer exists");
        }
        replaced->result->uids = {replaced->uid};
        replaced->result->modseq = next_modseq(db_, replaced->source);
        remove_messages(db_, replaced->source, replaced->result->uids, replaced->result->modseq);
        garbage_possible_ = true;
        transaction.changed(replaced->source);
    }
    transaction.commit();  // durable from here (synchronous=FULL)
    return result;
}

std::uint32_t SqliteMailStore::append(MailboxId id, const AppendRequest& message) {
    return append(id, std::span<const AppendRequest>(&message, 1)).uids.front();
}

namespace {

// A MessageInfo from the columns uid, modseq, flags, internal_date,
// zone_minutes, size, body_id, keywords (space-joined), save date, in this
// order.
MessageInfo read_message_info(const Query& q) {
    MessageInfo info;
    info.uid = static_cast<std::uint32_t>(q.column_int(0));
    info.modseq = static_cast<std::uint64_t>(q.column_int(1));
    info.flags = static_cast<std::uint32_t>(q.column_int(2));
    info.internal_date = q.column_int(3);
    info.zone_minutes = static_cast<int>(q.column_int(4));
    info.size = static_cast<std::uint64_t>(q.column_int(5));
    info.body_id = BodyId{q.column_int(6)};
    info.keywords = split_keywords(q.column_text(7));
    info.save_date = q.column_int(8);
    return info;
}

// The expunge log rows of `range` expunged with a modseq above `after`
// whose last modseq is above `changed_since`, ascending, at most `limit`.
std::vector<MessageInfo> fetch_expunged(Database& db, MailboxId id, const UidRange& range,
                                        std::uint64_t after, std::uint64_t changed_since,
                                        std::size_t limit) {
    // expunged_modseq (mailbox_id, modseq) finds the few rows a view has
    // not applied, however long the log is.
    auto q = db.prepare(
        "SELECT uid, coalesce(message_modseq, modseq), coalesce(flags, 0), "
        "coalesce(internal_date, 0), coalesce(zone_minutes, 0), coalesce(size, 0), "
        "coalesce(body_id, 0), coalesce(keywords, ''), coalesce(save_date, internal_date, 0) "
        "FROM expunged INDEXED BY expunged_modseq "
        "WHERE mailbox_id = ?1 AND modseq > ?2 AND uid BETWEEN ?3 AND ?4 "
        "AND coalesce(message_modseq, modseq) > ?5 ORDER BY uid LIMIT ?6");
    q.bind(1, id)
        .bind(2, static_cast<std::int64_t>(after))
        .bind(3, std::int64_t{range.first})
        .bind(4, std::int64_t{range.last})
        .bind(5, static_cast<std::int64_t>(changed_since))
        .bind(6, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<MessageInfo> rows;
    while (q.step()) {
        MessageInfo info = read_message_info(q);
        info.expunged = true;
        rows.push_back(std::move(info));
    }
    return rows;
}

}  // namespace

std::vector<MessageInfo> SqliteMailStore::fetch(MailboxId id, UidSpan uids,
                                                const FetchOptions& options) {
    const UidSet set = checked_set(uids);
    ReadSnapshot snapshot(db_);
    check_mailbox(db_, id, true);
    std::vector<MessageInfo> result;
    for (const UidRange& range : set) {
        if (result.size() >= options.limit) break;
        const std::size_t first_of_range = result.size();
        // With a modseq to start from (a view's sync after every command,
        // FETCH CHANGEDSINCE: RFC 7162 3.1.4.1) the few changed rows are
        // found through messages_modseq. Left to itself SQLite walks the
        // primary key over the whole UID range for the ORDER BY, reading
        // every row of the mailbox: at 100,000 messages that was 9 ms of
        // each command's sync, and why APPEND grew with the mailbox
        // (docs/benchmarks.md).
        static const std::string kColumns =
            "SELECT m.uid, m.modseq, m.flags, m.internal_date, m.zone_minutes, m.size, m.body_id, "
            "(SELECT group_concat(k.name, ' ') FROM message_keywords mk JOIN keywords k "
            " ON k.mailbox_id = mk.mailbox_id AND k.id = mk.keyword_id "
            " WHERE mk.mailbox_id = m.mailbox_id AND mk.uid = m.uid), "
            "coalesce(m.save_date, m.internal_date) ";
        static const std::string kWhere =
            " WHERE m.mailbox_id = ?1 AND m.uid BETWEEN ?2 AND ?3 AND m.modseq > ?4 "
            "ORDER BY m.uid LIMIT ?5";
        static const std::string kByUid = kColumns + "FROM messages m" + kWhere;
        static const std::string kByModseq =
            kColumns + "FROM messages m INDEXED BY messages_modseq" + kWhere;
        auto q = db_.prepare(options.changed_since > 0 ? kByModseq : kByUid);
        q.bind(1, id)
            .bind(2, std::int64_t{range.first})
            .bind(3, std::int64_t{range.last})
            .bind(4, static_cast<std::int64_t>(options.changed_since))
            .bind(5, static_cast<std::int64_t>(
                         std::min<std::size_t>(options.limit - result.size(), INT64_MAX)));
        while (q.step()) {
            result.push_back(read_message_info(q));
        }
        if (!options.expunged_after) continue;
        // A UID is in one table or the other (UIDs are never reused): merge
        // by UID and keep the first `limit` of the range's rows.
        std::vector<MessageInfo> gone =
            fetch_expunged(db_, id, range, *options.expunged_after, options.changed_since,
                           options.limit - first_of_range);
        if (gone.empty()) continue;
        const auto middle = result.insert(result.end(), std::make_move_iterator(gone.begin()),
                                          std::make_move_iterator(gone.end()));
        std::inplace_merge(
            result.begin() + static_cast<std::ptrdiff_t>(first_of_range), middle, result.end(),
            [](const MessageInfo& a, const MessageInfo& b) { return a.uid < b.uid; });
        if (result.size() > options.limit) result.resize(options.limit);
    }
    return result;
}

void SqliteMailStore::changed_messages(
    MailboxId id, std::uint32_t max_uid, std::uint64_t changed_since,
    std::optional<std::uint64_t> expunged_after,
    const std::function<void(std::uint32_t uid, std::uint64_t modseq, bool expunged)>& visit) {
    ReadSnapshot snapshot(db_);
    check_mailbox(db_, id, true);
    // Both read their modseq index only (its entries carry the uid, the
    // tables being WITHOUT ROWID), in index order: no row, no sort.
    auto live = db_.prepare(
        "SELECT uid, modseq FROM messages INDEXED BY messages_modseq "
        "WHERE mailbox_id = ?1 AND modseq > ?2 AND uid <= ?3");
    live.bind(1, id)
        .bind(2, static_cast<std::int64_t>(changed_since))
        .bind(3, std::int64_t{max_uid});
    while (live.step()) {
        visit(static_cast<std::uint32_t>(live.column_int(0)),
              static_cast<std::uint64_t>(live.column_int(1)), false);
    }
    if (!expunged_after) return;
    auto gone = db_.prepare(
        "SELECT uid, coalesce(message_modseq, modseq) FROM expunged INDEXED BY expunged_modseq "
        "WHERE mailbox_id = ?1 AND modseq > ?2 AND uid <= ?3 "
        "AND coalesce(message_modseq, modseq) > ?4");
    gone.bind(1, id)
        .bind(2, static_cast<std::int64_t>(*expunged_after))
        .bind(3, std::int64_t{max_uid})
        .bind(4, static_cast<std::int64_t>(changed_since));
    while (gone.step()) {
        visit(static_cast<std::uint32_t>(gone.column_int(0)),
              static_cast<std::uint64_t>(gone.column_int(1)), true);
    }
}

ParsedMessage SqliteMailStore::structure(BodyId body) {
    auto q = db_.prepare("SELECT structure FROM bodies WHERE id = ?1");
    q.bind(1, body.key);
    if (!q.step()) throw StoreError(StoreErrc::NotFound, "message body does not exist");
    return decode_structure(q.column_text(0));
}

namespace {

// An open sqlite3_blob handle, closed on scope exit.
class BlobHandle {
  public:
    BlobHandle() = default;
    ~BlobHandle() { sqlite3_blob_close(blob_); }
    BlobHandle(const BlobHandle&) = delete;
    BlobHandle& operator=(const BlobHandle&) = delete;
    // False when the row does not exist.
    bool open(sqlite3* db, const char* table, const char* column, std::int64_t row) {
        const int code = sqlite3_blob_open(db, "main", table, column, row, 0, &blob_);
        if (code == SQLITE_OK) return true;
        sqlite3_blob_close(blob_);
        blob_ = nullptr;
        if (code == SQLITE_ERROR) return false;  // "no such rowid"
        throw_sqlite_error(code, std::string("blob open: ") + sqlite3_errmsg(db));
    }
    std::uint64_t size() const { return static_cast<std::uint64_t>(sqlite3_blob_bytes(blob_)); }
    void read(std::uint64_t offset, char* out, std::size_t count) const {
        if (count == 0) return;
        if (offset + count > size()) {
            throw StoreError(StoreErrc::Corrupt, "stored message body is damaged: cut short");
        }
        const int code =
            sqlite3_blob_read(blob_, out, static_cast<int>(count), static_cast<int>(offset));
        if (code != SQLITE_OK) throw_sqlite_error(code, "blob read");
    }

  private:
    sqlite3_blob* blob_ = nullptr;
};

// The body's container when it is at most limits::kBodyReadWholeBytes
// (NULL when bigger; no row: not compressed yet). length() of a BLOB reads
// no overflow page, so a big container costs nothing here.
Query small_container_query(Database& db, BodyId body) {
    Query q = db.prepare(
        "SELECT CASE WHEN length(data) <= ?2 THEN data END FROM body_raw WHERE body_id = ?1");
    q.bind(1, body.key).bind(2, static_cast<std::int64_t>(limits::kBodyReadWholeBytes));
    return q;
}

}  // namespace

std::string SqliteMailStore::read_body(BodyId body, std::uint64_t offset, std::uint64_t length) {
    // Compressed (schema v7): only the blocks that hold the range. A
    // container of at most limits::kBodyReadWholeBytes comes whole from one
    // cached statement: sqlite3_blob_open compiles a statement on every
    // call, which cost a tenth of a FETCH of a thousand small messages
    // (docs/benchmarks.md). A bigger one is read through a blob handle, so
    // a section of a 64 MB message reads its blocks, not the message.
    {
        Query q = small_container_query(db_, body);
        if (!q.step()) return read_uncompressed_body(body, offset, length);
        if (!q.column_is_null(0)) return read_container_range(q.column_blob(0), offset, length);
    }
    BlobHandle blob;
    if (blob.open(db_.handle(), "body_raw", "data", body.key)) {
        return read_container_range(
            blob.size(),
            [&](std::uint64_t at, char* out, std::size_t count) { blob.read(at, out, count); },
            offset, length);
    }
    // Not there after all (nothing runs between the two on this
    // connection): looked for in the old form, as if never compressed.
    return read_uncompressed_body(body, offset, length);
}

std::optional<std::string> SqliteMailStore::read_small_container(BodyId body) {
    Query q = small_container_query(db_, body);
    if (!q.step() || q.column_is_null(0)) return std::nullopt;
    return std::string(q.column_blob(0));
}

std::string SqliteMailStore::read_uncompressed_body(BodyId body, std::uint64_t offset,
                                                    std::uint64_t length) {
    // Stored before v7 and not recompressed yet: the bytes as they are.
    BlobHandle blob;
    if (!blob.open(db_.handle(), "bodies", "raw", body.key)) {
        throw StoreError(StoreErrc::NotFound, "message body does not exist");
    }
    const std::uint64_t size = blob.size();
    std::string out;
    if (offset < size) {
        out.resize(static_cast<std::size_t>(std::min(length, size - offset)));
        blob.read(offset, out.data(), out.size());
    }
    return out;
}

StoreFlagsResult SqliteMailStore::store_flags(MailboxId id, UidSpan uids, FlagOp op,
                                              const Flags& flags,
                                              std::optional<std::uint64_t> unchanged_since) {
    if (flags.system & ~flag::kAll) throw StoreError(StoreErrc::InvalidName, "unknown system flag");
    for (const std::string& keyword : flags.keywords)
        check_keyword(keyword);
    const UidSet set = checked_set(uids);
    WriteTransaction transaction(*this);
    check_mailbox(db_, id, true);
    // Removing a keyword the mailbox never defined changes nothing, so it
    // is not created.
    const std::vector<std::int64_t> keywords =
        keyword_ids(db_, id, flags.keywords, op != FlagOp::Remove);
    StoreFlagsResult result;
    const bool touches_keywords = op == FlagOp::Replace || !keywords.empty();
    // The rows a batch at a time (limits::kStoreFlagsBatchRows), read before
    // they are changed: STORE 1:* on a million messages held all of them
    // (64 bytes each, twice while the vector grew).
    for (const UidRange& range : set) {
        for (std::uint64_t next = range.first; next <= range.last;) {
            const std::vector<FlagRow> rows =
                select_flag_rows(db_, id, next, range.last, limits::kStoreFlagsBatchRows);
            for (const FlagRow& row : rows) {
                if (unchanged_since && row.modseq > *unchanged_since) {
                    result.modified.push_back(row.uid);
                    result.modified_modseq.push_back(row.modseq);
                    continue;
                }
                std::uint32_t new_flags = row.flags;
                switch (op) {
                    case FlagOp::Add:
                        new_flags |= flags.system;
                        break;
                    case FlagOp::Remove:
                        new_flags &= ~flags.system;
                        break;
                    case FlagOp::Replace:
                        new_flags = flags.system;
                        break;
                }
                std::vector<std::int64_t> add, remove;
                if (touches_keywords) {
                    const std::vector<std::int64_t> current = message_keyword_ids(db_, id, row.uid);
                    auto has = [](const std::vector<std::int64_t>& v, std::int64_t x) {
                        return std::binary_search(v.begin(), v.end(), x);
                    };
                    if (op != FlagOp::Remove) {
                        for (std::int64_t k : keywords) {
                            if (!has(current, k)) add.push_back(k);
                        }
                    }
                    if (op == FlagOp::Remove) {
                        for (std::int64_t k : keywords) {
                            if (has(current, k)) remove.push_back(k);
                        }
                    } else if (op == FlagOp::Replace) {
                        for (std::int64_t k : current) {
                            if (!has(keywords, k)) remove.push_back(k);
                        }
                    }
                }
                if (new_flags == row.flags && add.empty() && remove.empty()) continue;
                // RFC 7162 3.2: only a real change gets a MODSEQ.
                if (result.modseq == 0) result.modseq = next_modseq(db_, id);
                db_.prepare(
                       "UPDATE messages SET flags = ?3, modseq = ?4 WHERE mailbox_id = ?1 AND uid "
                       "= ?2")
                    .bind(1, id)
                    .bind(2, std::int64_t{row.uid})
                    .bind(3, std::int64_t{new_flags})
                    .bind(4, static_cast<std::int64_t>(result.modseq))
                    .run();
                for (std::int64_t k : add)
                    add_message_keyword(db_, id, row.uid, k);
                for (std::int64_t k : remove) {
                    db_.prepare(
                           "DELETE FROM message_keywords WHERE mailbox_id = ?1 AND uid = ?2 AND "
                           "keyword_id = ?3")
                        .bind(1, id)
                        .bind(2, std::int64_t{row.uid})
                        .bind(3, k)
                        .run();
                }
                result.changed.push_back(row.uid);
            }
            if (rows.size() < limits::kStoreFlagsBatchRows) break;
            next = rows.back().uid + 1ull;
        }
    }
    if (!result.changed.empty()) transaction.changed(id);
    transaction.commit();
    return result;
}

CopyResult SqliteMailStore::copy(MailboxId source, UidSpan uids, MailboxId destination,
                                 std::optional<std::size_t> expected) {
    const UidSet set = checked_set(uids);
    WriteTransaction transaction(*this);
    CopyResult result = copy_rows(db_, source, set, destination, expected);
    if (!result.mapping.empty()) transaction.changed(destination);
    transaction.commit();
    return result;
}

MoveResult SqliteMailStore::move(MailboxId source, UidSpan uids, MailboxId destination,
                                 std::optional<std::size_t> expected) {
    const UidSet set = checked_set(uids);
    WriteTransaction transaction(*this);
    MoveResult result;
    result.copy = copy_rows(db_, source, set, destination, expected);
    if (!result.copy.mapping.empty()) {
        for (const UidMapping& m : result.copy.mapping)
            result.expunged.uids.push_back(m.source);
        result.expunged.modseq = next_modseq(db_, source);
        remove_messages(db_, source, result.expunged.uids, result.expunged.modseq);
        garbage_possible_ = true;
        transaction.changed(source);
        transaction.changed(destination);
    }
    transaction.commit();
    return result;
}

ExpungeResult SqliteMailStore::expunge(MailboxId id, std::optional<UidSpan> uids) {
    UidSet set = uids ? checked_set(*uids) : UidSet{{1, limits::kMaxUid}};
    WriteTransaction transaction(*this);
    check_mailbox(db_, id, true);
    ExpungeResult result;
    for (const UidRange& range : set) {
        // The partial index messages_deleted makes this proportional to the
        // \Deleted messages, not to the mailbox. INDEXED BY because without
        // ANALYZE statistics the planner prefers the primary key (and
        // INDEXED BY fails to prepare if the index ever stops applying).
        auto q = db_.prepare(
            "SELECT uid FROM messages INDEXED BY messages_deleted "
            "WHERE mailbox_id = ?1 AND (flags & 8) <> 0 "
            "AND uid BETWEEN ?2 AND ?3 ORDER BY uid");
        q.bind(1, id).bind(2, std::int64_t{range.first}).bind(3, std::int64_t{range.last});
        while (q.step())
            result.uids.push_back(static_cast<std::uint32_t>(q.column_int(0)));
    }
    if (!result.uids.empty()) {
        result.modseq = next_modseq(db_, id);
        remove_messages(db_, id, result.uids, result.modseq);
        garbage_possible_ = true;
        transaction.changed(id);
    }
    transaction.commit();
    return result;
}

ExpungeResult SqliteMailStore::update_maildrop(MailboxId id, std::span<const std::uint32_t> seen,
                                               std::span<const std::uint32_t> remove) {
    WriteTransaction transaction(*this);
    check_mailbox(db_, id, true);
    bool changed = false;
    std::uint64_t seen_modseq = 0;
    // Sorted once: a POP3 client that retrieves and deletes a whole big
    // maildrop must not cost retrieved x deleted comparisons.
    std::vector<std::uint32_t> removing(remove.begin(), remove.end());
    std::sort(removing.begin(), removing.end());
    for (std::uint32_t uid : seen) {
        // A message being removed as well needs no flag: its expunge's
        // modseq is the one that counts.
        if (std::binary_search(removing.begin(), removing.end(), uid)) continue;
        if (seen_modseq == 0) {
            bool unseen = false;
            {
                auto q = db_.prepare(
                    "SELECT 1 FROM messages WHERE mailbox_id = ?1 AND uid = ?2 AND (flags & ?3) = "
                    "0");
                q.bind(1, id).bind(2, std::int64_t{uid}).bind(3, std::int64_t{flag::kSeen});
                unseen = q.step();
            }
            if (!unseen) continue;
            seen_modseq = next_modseq(db_, id);
        }
        auto update = db_.prepare(
            "UPDATE messages SET flags = flags | ?3, modseq = ?4 "
            "WHERE mailbox_id = ?1 AND uid = ?2 AND (flags & ?3) = 0");
        update.bind(1, id)
            .bind(2, std::int64_t{uid})
            .bind(3, std::int64_t{flag::kSeen})
            .bind(4, static_cast<std::int64_t>(seen_modseq))
            .run();
        if (db_.changes() > 0) changed = true;
    }
    ExpungeResult result;
    for (std::uint32_t uid : remove) {
        auto q = db_.prepare("SELECT 1 FROM messages WHERE mailbox_id = ?1 AND uid = ?2");
        q.bind(1, id).bind(2, std::int64_t{uid});
        if (q.step()) result.uids.push_back(uid);
    }
    std::sort(result.uids.begin(), result.uids.end());
    result.uids.erase(std::unique(result.uids.begin(), result.uids.end()), result.uids.end());
    if (!result.uids.empty()) {
        result.modseq = next_modseq(db_, id);
        remove_messages(db_, id, result.uids, result.modseq);
        garbage_possible_ = true;
        changed = true;
    }
    if (changed) transaction.changed(id);
    transaction.commit();
    return result;
}

std::vector<std::uint32_t> SqliteMailStore::expunged_since(MailboxId id, std::uint64_t modseq) {
    ReadSnapshot snapshot(db_);
    check_mailbox(db_, id, false);
    // By the modseq index, sorted here: with ORDER BY uid SQLite walks the
    // whole log of the mailbox in uid order instead (no ANALYZE data), and
    // every session asks at every command end with a recent modseq.
    auto q = db_.prepare(
        "SELECT uid FROM expunged INDEXED BY expunged_modseq WHERE mailbox_id = ?1 AND modseq > "
        "?2");
    q.bind(1, id).bind(2, static_cast<std::int64_t>(modseq));
    std::vector<std::uint32_t> result;
    while (q.step())
        result.push_back(static_cast<std::uint32_t>(q.column_int(0)));
    std::sort(result.begin(), result.end());
    return result;
}

// ---- Views and body retention ------------------------------------------------

void SqliteMailStore::release_view(std::int64_t handle) noexcept {
    views_.erase(handle);
    collect_garbage_quietly();
}

void SqliteMailStore::release_body(BodyId body) noexcept {
    pinned_bodies_.erase(pinned_bodies_.find(body.key));
    collect_garbage_quietly();
}

void SqliteMailStore::advance_view(std::int64_t handle, std::uint64_t watermark) {
    ViewEntry& entry = views_.at(handle);
    if (watermark <= entry.watermark) return;
    entry.watermark = watermark;
    collect_garbage_quietly();
}

std::uint64_t SqliteMailStore::view_watermark(std::int64_t handle) const {
    return views_.at(handle).watermark;
}

SqliteMailStore::ViewPin SqliteMailStore::pin_view(MailboxId mailbox, std::uint64_t watermark) {
    const std::int64_t handle = next_view_++;
    views_.emplace(handle, ViewEntry{mailbox, watermark});
    return make_view_pin(handle);
}

SqliteMailStore::BodyPin SqliteMailStore::pin_body(BodyId body) {
    pinned_bodies_.insert(body.key);
    return make_body_pin(body);
}

namespace {

// synchronous=NORMAL for one transaction, the previous setting restored
// after it. In WAL mode a NORMAL commit is not fsync'd but stays ordered:
// the next FULL commit's fsync covers it, and a crash can only lose it
// together with everything after it. Losing a garbage collection loses
// nothing: its orphans are found again by the next one.
class RelaxedSync {
  public:
    explicit RelaxedSync(Database& db) : db_(db) {
        {
            auto q = db_.prepare("PRAGMA synchronous");
            q.step();
            previous_ = q.column_int(0);
        }
        // SQLite refuses to change the setting inside a transaction, and a
        // read batch's is one.
        db_.close_read_batch();
        db_.exec("PRAGMA synchronous=NORMAL");
    }
    ~RelaxedSync() {
        db_.close_read_batch();
        // PRAGMA takes no bound parameters; the value is SQLite's own.
        sqlite3_exec(db_.handle(), ("PRAGMA synchronous=" + std::to_string(previous_)).c_str(),
                     nullptr, nullptr, nullptr);
    }
    RelaxedSync(const RelaxedSync&) = delete;
    RelaxedSync& operator=(const RelaxedSync&) = delete;

  private:
    Database& db_;
    std::int64_t previous_ = 2;  // FULL
};

}  // namespace

GarbageResult SqliteMailStore::collect_garbage() {
    GarbageResult result;
    garbage_scheduled_ = false;  // a pin change from now on schedules again
    if (!garbage_possible_) return result;
    ++garbage_runs_;
    // The oldest watermark of each mailbox's live views: a log row above it
    // is still shown by some view.
    std::map<MailboxId, std::uint64_t> oldest;
    for (const auto& [handle, view] : views_) {
        auto [it, inserted] = oldest.emplace(view.mailbox, view.watermark);
        if (!inserted) it->second = std::min(it->second, view.watermark);
    }
    std::set<std::int64_t> pinned(pinned_bodies_.begin(), pinned_bodies_.end());
    bool retained = false;

    // Most runs (a view advanced while another still shows the expunge)
    // find nothing to do: find that out with reads alone, without the
    // write lock and a commit.
    if (!garbage_to_collect(oldest, pinned, result)) return result;

    RelaxedSync relaxed(db_);
    Transaction transaction(db_);
    std::vector<std::pair<MailboxId, std::uint32_t>> release;
    {
        auto q = db_.prepare(
            "SELECT mailbox_id, uid, modseq, body_id FROM expunged INDEXED BY expunged_retained "
            "WHERE body_id IS NOT NULL");
        while (q.step()) {
            const MailboxId mailbox = q.column_int(0);
            const auto modseq = static_cast<std::uint64_t>(q.column_int(2));
            const auto view = oldest.find(mailbox);
            if (view != oldest.end() && view->second < modseq) {
                pinned.insert(q.column_int(3));
                retained = true;
            } else {
                release.emplace_back(mailbox, static_cast<std::uint32_t>(q.column_int(1)));
            }
        }
    }
    for (const auto& [mailbox, uid] : release) {
        db_.prepare(
               "UPDATE expunged SET body_id = NULL, flags = NULL, keywords = NULL, "
               "internal_date = NULL, zone_minutes = NULL, size = NULL, message_modseq = NULL "
               "WHERE mailbox_id = ?1 AND uid = ?2")
            .bind(1, mailbox)
            .bind(2, std::int64_t{uid})
            .run();
    }
    result.rows_released = release.size();

    std::vector<std::int64_t> orphans;
    {
        auto q = db_.prepare("SELECT body_id FROM orphan_bodies");
        while (q.step())
            orphans.push_back(q.column_int(0));
    }
    for (std::int64_t body : orphans) {
        bool referenced = false;
        {
            // An APPEND of the same bytes refers to the body again
            // (store_body finds it by hash).
            auto q = db_.prepare("SELECT 1 FROM messages WHERE body_id = ?1 LIMIT 1");
            q.bind(1, body);
            referenced = q.step();
        }
        if (!referenced && pinned.count(body) != 0) {
            ++result.bodies_kept;
            continue;
        }
        if (!referenced) {
            // The index follows through bodies_fts_delete.
            db_.prepare("DELETE FROM bodies WHERE id = ?1").bind(1, body).run();
            ++result.bodies_deleted;
        }
        db_.prepare("DELETE FROM orphan_bodies WHERE body_id = ?1").bind(1, body).run();
    }
    transaction.commit();
    garbage_possible_ = retained || result.bodies_kept > 0;
    return result;
}

bool SqliteMailStore::garbage_to_collect(const std::map<MailboxId, std::uint64_t>& oldest,
                                         const std::set<std::int64_t>& pinned,
                                         GarbageResult& kept) {
    ReadSnapshot snapshot(db_);
    bool retained = false;
    std::set<std::int64_t> shown;  // bodies of rows some view still shows
    {
        auto q = db_.prepare(
            "SELECT mailbox_id, modseq, body_id FROM expunged INDEXED BY expunged_retained "
            "WHERE body_id IS NOT NULL");
        while (q.step()) {
            retained = true;
            const auto view = oldest.find(q.column_int(0));
            if (view == oldest.end() || view->second >= static_cast<std::uint64_t>(q.column_int(1)))
                return true;  // a row no view shows any more
            shown.insert(q.column_int(2));
        }
    }
    std::size_t orphans_kept = 0;
    auto q = db_.prepare("SELECT body_id FROM orphan_bodies");
    while (q.step()) {
        const std::int64_t body = q.column_int(0);
        // Deleted, or its orphan row dropped (referenced again): work.
        if (pinned.count(body) == 0 && shown.count(body) == 0) return true;
        ++orphans_kept;
    }
    // Only retained rows and pinned orphans: what a full run would report.
    kept.bodies_kept = orphans_kept;
    garbage_possible_ = retained || orphans_kept > 0;
    return false;
}

namespace {

// Work for index_pending(): a queued body some message still refers to, or
// a body whose sort keys the v5 migration queued. An orphan (every message
// of it expunged: SEARCH never looks at it again) is left queued rather
// than indexed, only for the garbage collection to delete it from the index
// again; its queue row goes with it (bodies_fts_delete), or it is indexed
// once an APPEND of the same bytes takes it back (its orphan row goes).
constexpr const char* kPendingWork =
    "SELECT 1 WHERE EXISTS (SELECT 1 FROM fts_pending WHERE body_id NOT IN (SELECT body_id "
    "FROM orphan_bodies)) OR EXISTS (SELECT 1 FROM sort_pending) OR EXISTS (SELECT 1 FROM "
    "object_pending) OR EXISTS (SELECT 1 FROM compress_pending)";

}  // namespace

IndexResult SqliteMailStore::index_pending(const IndexLimits& limits) {
    IndexResult result;
    {
        // Nothing queued (the common case once the indexer has caught up):
        // no write transaction, no lock.
        auto q = db_.prepare(kPendingWork);
        if (!q.step()) return result;
    }
    const auto deadline = std::chrono::steady_clock::now() + limits.max_time;
    // Losing a batch to a crash loses nothing: its bodies are still queued.
    RelaxedSync relaxed(db_);
    Transaction transaction(db_);
    std::vector<std::int64_t> batch;
    {
        auto q = db_.prepare(
            "SELECT body_id FROM fts_pending WHERE body_id NOT IN (SELECT body_id FROM "
            "orphan_bodies) ORDER BY body_id LIMIT ?1");
        q.bind(1, static_cast<std::int64_t>(std::max<std::size_t>(limits.max_bodies, 1)));
        while (q.step())
            batch.push_back(q.column_int(0));
    }
    bool yielded = false;  // others wait: the rest of the batch is for later
    for (std::int64_t body : batch) {
        if (result.indexed > 0 && std::chrono::steady_clock::now() >= deadline) break;
        if (result.indexed >= std::max<std::size_t>(limits.min_bodies, 1) && limits.yield_when &&
            limits.yield_when()) {
            yielded = true;
            break;
        }
        db_.prepare(
               "INSERT INTO body_fts_header (rowid, search_header) "
               "SELECT id, imap_text(search_header, id) FROM bodies WHERE id = ?1")
            .bind(1, body)
            .run();
        db_.prepare(
               "INSERT INTO body_fts_body (rowid, search_body) "
               "SELECT id, imap_text(search_body, id) FROM bodies WHERE id = ?1")
            .bind(1, body)
            .run();
        db_.prepare("DELETE FROM fts_pending WHERE body_id = ?1").bind(1, body).run();
        ++result.indexed;
    }
    // Whether the index left time for the other queued work (none once
    // the batch gave way to waiting commands).
    const auto time_left = [&] {
        return !yielded && (result.indexed == 0 || std::chrono::steady_clock::now() < deadline);
    };
    // The sort keys and objects the v5 and v6 migrations queued
    // (docs/storage.md "Sort keys", "Object ids, save date, preview"), in
    // the time the index left.
    if (time_left()) {
        std::vector<std::int64_t> queued;
        {
            auto q = db_.prepare(
                "SELECT body_id FROM sort_pending UNION SELECT body_id FROM object_pending "
                "ORDER BY 1 LIMIT ?1");
            q.bind(1, static_cast<std::int64_t>(
                          std::min(limits::kSortKeyBatchBodies, limits::kObjectBatchBodies)));
            while (q.step())
                queued.push_back(q.column_int(0));
        }
        compute_queued(queued);
    }
    // The bodies the v7 migration queued for compression, likewise.
    if (time_left()) {
        std::vector<std::int64_t> queued;
        {
            auto q = db_.prepare("SELECT body_id FROM compress_pending ORDER BY 1 LIMIT ?1");
            q.bind(1, static_cast<std::int64_t>(limits::kCompressBatchBodies));
            while (q.step())
                queued.push_back(q.column_int(0));
        }
        std::size_t compressed = 0;
        for (std::int64_t body : queued) {
            if (compressed > 0 && std::chrono::steady_clock::now() >= deadline) break;
            compress_stored(body);
            ++compressed;
        }
    }
    {
        auto q = db_.prepare(kPendingWork);
        result.more = q.step();
    }
    if (result.more) result.queued = bodies_awaiting_index(SIZE_MAX);
    transaction.commit();
    return result;
}

std::size_t SqliteMailStore::bodies_awaiting_index(std::size_t at_most) {
    auto q = db_.prepare(
        "SELECT count(*) FROM (SELECT 1 FROM fts_pending WHERE body_id NOT IN (SELECT body_id "
        "FROM orphan_bodies) LIMIT ?1)");
    // LIMIT -1: no limit.
    q.bind(1, at_most >= static_cast<std::size_t>(INT64_MAX) ? std::int64_t{-1}
                                                             : static_cast<std::int64_t>(at_most));
    return q.step() ? static_cast<std::size_t>(q.column_int(0)) : 0;
}

void SqliteMailStore::compress_stored(std::int64_t id) {
    // A body in the old form (raw bytes, text columns: queued by v7), or
    // compressed with a search column still a plain frame (queued by v9,
    // docs/storage.md "Compressed bodies"); anything else is done already.
    bool compressed = false;
    bool plain_frames = false;
    bool found = false;
    {
        auto q = db_.prepare(
            "SELECT EXISTS (SELECT 1 FROM body_raw WHERE body_id = ?1), "
            "(typeof(search_header) = 'blob' AND substr(search_header, 1, 1) <> x'01') OR "
            "(typeof(search_body) = 'blob' AND substr(search_body, 1, 1) <> x'01') "
            "FROM bodies WHERE id = ?1");
        q.bind(1, id);
        if (q.step()) {
            found = true;
            compressed = q.column_int(0) != 0;
            plain_frames = q.column_int(1) != 0;
        }
    }
    if (found && (!compressed || plain_frames)) {
        std::string search_header;
        std::string search_body;
        {
            auto q = db_.prepare(
                "SELECT imap_text(search_header, id), imap_text(search_body, id) FROM bodies "
                "WHERE id = ?1");
            q.bind(1, id);
            q.step();
            search_header = q.column_text(0);
            search_body = q.column_text(1);
        }
        // read_body reads bodies.raw for a body in the old form.
        const std::string raw = read_body(BodyId{id}, 0, limits::kMaxMessageSize);
        if (!compressed) {
            db_.prepare("INSERT INTO body_raw (body_id, format, data) VALUES (?1, ?2, ?3)")
                .bind(1, id)
                .bind(2, kBodyFormatZstdBlocks)
                .bind_blob(3, compress_body(raw))
                .run();
        }
        const SearchTextFrames frames = compress_search_text(
            raw, search_text_end(parse_message(raw).root), search_header, search_body);
        auto q = db_.prepare(
            "UPDATE bodies SET raw = x'', search_header = ?2, search_body = ?3 WHERE id = ?1");
        q.bind(1, id);
        bind_search_text(q, 2, search_header, frames.header);
        bind_search_text(q, 3, search_body, frames.body);
        q.run();
    }
    db_.prepare("DELETE FROM compress_pending WHERE body_id = ?1").bind(1, id).run();
}

void SqliteMailStore::compute_queued(const std::vector<std::int64_t>& bodies) {
    for (std::int64_t body : bodies) {
        std::string hash;
        {
            auto q = db_.prepare("SELECT hash FROM bodies WHERE id = ?1");
            q.bind(1, body);
            if (q.step()) hash = q.column_text(0);
        }
        const std::string raw = read_body(BodyId{body}, 0, limits::kMaxMessageSize);
        const ParsedMessage parsed = parse_message(raw);
        const SortKeys keys = compute_sort_keys(parsed);
        bool sort_queued = false;
        bool objects_queued = false;
        {
            auto q = db_.prepare(
                "SELECT EXISTS (SELECT 1 FROM sort_pending WHERE body_id = ?1), "
                "EXISTS (SELECT 1 FROM object_pending WHERE body_id = ?1)");
            q.bind(1, body);
            q.step();
            sort_queued = q.column_int(0) != 0;
            objects_queued = q.column_int(1) != 0;
        }
        if (sort_queued) {
            insert_sort_keys(db_, body, keys);
            db_.prepare("DELETE FROM sort_pending WHERE body_id = ?1").bind(1, body).run();
        }
        if (objects_queued) {
            insert_body_objects(db_, body, compute_body_objects(raw, parsed, keys, hash));
            db_.prepare("DELETE FROM object_pending WHERE body_id = ?1").bind(1, body).run();
        }
    }
}

void SqliteMailStore::fill_queued(MailboxId id, std::string_view queue) {
    // The queue is one of two fixed table names, never client text.
    const std::string table(queue);
    {
        auto q = db_.prepare("SELECT 1 FROM " + table + " LIMIT 1");
        if (!q.step()) return;
    }
    // Derived data, like an index batch: a crash leaves the bodies queued.
    RelaxedSync relaxed(db_);
    Transaction transaction(db_);
    std::vector<std::int64_t> bodies;
    {
        auto q = db_.prepare("SELECT DISTINCT m.body_id FROM " + table +
                             " p CROSS JOIN messages m "
                             "INDEXED BY messages_body ON m.body_id = p.body_id WHERE "
                             "m.mailbox_id = ?1");
        q.bind(1, id);
        while (q.step())
            bodies.push_back(q.column_int(0));
    }
    compute_queued(bodies);
    transaction.commit();
}

MessageObjects SqliteMailStore::objects(BodyId body, bool stored_only) {
    MessageObjects result;
    bool stored = false;
    std::string hash;
    {
        auto q = db_.prepare(
            "SELECT b.hash, o.thread_id, o.preview FROM bodies b "
            "LEFT JOIN body_object o ON o.body_id = b.id WHERE b.id = ?1");
        q.bind(1, body.key);
        if (!q.step()) throw StoreError(StoreErrc::NotFound, "message body does not exist");
        hash = q.column_text(0);
        stored = !q.column_is_null(1);
        if (stored) {
            result.thread_id = q.column_text(1);
            result.preview = q.column_text(2);
        }
    }
    result.email_id = email_id(hash);
    if (stored || stored_only) return result;
    // Queued by the v6 migration and not computed yet: from the bytes, as
    // the queue's batch will (and store) them.
    std::string raw = read_body(body, 0, limits::kMaxMessageSize);
    const ParsedMessage parsed = parse_message(raw);
    const SortKeys keys = compute_sort_keys(parsed);
    result.thread_id = thread_id(keys, hash);
    result.preview = compute_preview(raw, parsed);
    return result;
}

void SqliteMailStore::collect_garbage_quietly() noexcept {
    if (!garbage_possible_) return;
    if (garbage_scheduler_) {
        if (garbage_scheduled_) return;  // the run to come takes this too
        try {
            garbage_scheduler_();
            garbage_scheduled_ = true;
            return;
        } catch (...) {
            // Could not schedule (out of memory): collect now instead.
        }
    }
    try {
        collect_garbage();
    } catch (...) {
        // SQLITE_BUSY past busy_timeout, disk full: the orphans stay for the
        // next run (garbage_possible_ is still set).
    }
}

}  // namespace imap::store
