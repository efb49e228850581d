#include "store/schema.h"

#include <algorithm>
#include <chrono>
#include <string>

#include "store/errors.h"
#include "store/limits.h"

namespace imap::store {
namespace {

void accounts_v1(Database& db) {
    // Names are stored canonical (lower case, see AccountStore), so UNIQUE is
    // a plain byte comparison.
    db.exec(R"sql(
        CREATE TABLE users (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,   -- crypt(3) format: $y$..., $6$..., $2b$...
            created_at INTEGER NOT NULL,   -- unix seconds
            disabled INTEGER NOT NULL DEFAULT 0
        );
    )sql");
}

// SCRAM credentials (RFC 5802 3, store/scram.h) beside the crypt hash: one
// row per user and hash ("SHA-256", "SHA-1"), written by `imapd user
// add/passwd` and, for accounts made before, after their next successful
// PLAIN/LOGIN. `password_hash` is the crypt hash the keys were derived
// together with: a row whose hash no longer matches the user's (the
// password changed by a tool that does not know SCRAM) is ignored.
// server_secrets: per-server random values that must survive restarts,
// such as the key of the made-up SCRAM salts for unknown users (RFC 5802 9:
// a salt that changed with every restart would tell a real user from an
// unknown one).
void accounts_v2(Database& db) {
    db.exec(R"sql(
        CREATE TABLE scram_credentials (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            hash TEXT NOT NULL,              -- "SHA-256" or "SHA-1"
            password_hash TEXT NOT NULL,     -- users.password_hash when derived
            salt BLOB NOT NULL,
            iterations INTEGER NOT NULL,
            stored_key BLOB NOT NULL,
            server_key BLOB NOT NULL,
            PRIMARY KEY (user_id, hash)
        ) WITHOUT ROWID;
        CREATE TABLE server_secrets (
            name TEXT PRIMARY KEY,
            value BLOB NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO server_secrets (name, value) VALUES ('scram_fake_salt_key', randomblob(32));
    )sql");
}

void mail_v1(Database& db) {
    db.exec(R"sql(
        -- Per-user counters that must never go backwards.
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value INTEGER NOT NULL
        ) WITHOUT ROWID;
        INSERT INTO meta (key, value) VALUES ('last_uidvalidity', 0);

        -- Full hierarchical names, '/' delimiter, "INBOX" in canonical case.
        -- Every superior of a name exists as a row (a \Noselect placeholder
        -- if nothing else), so children are a range scan on the UNIQUE index
        -- (name > 'a/' AND name < 'a0') and RENAME is a prefix rewrite.
        CREATE TABLE mailboxes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            selectable INTEGER NOT NULL,        -- 0: \Noselect placeholder
            uidvalidity INTEGER NOT NULL,
            uidnext INTEGER NOT NULL DEFAULT 1,
            highestmodseq INTEGER NOT NULL DEFAULT 1,
            first_recent_uid INTEGER NOT NULL DEFAULT 1  -- \Recent: uid >= this, unclaimed
        );

        -- RFC 3501 6.3.6/6.3.9: subscriptions are names, not mailboxes; they
        -- survive DELETE.
        CREATE TABLE subscriptions (
            name TEXT PRIMARY KEY
        ) WITHOUT ROWID;

        -- A message's bytes, stored once by SHA-256 and shared by every copy.
        -- No reference counter: the trigger below deletes a body when the
        -- last message row referring to it goes (a derived count cannot
        -- drift). `raw` is the last column so reading the others never
        -- touches its overflow pages; byte ranges are read with
        -- sqlite3_blob_read.
        -- AUTOINCREMENT: a body id a session still holds never names
        -- another message's bytes after the first is expunged.
        CREATE TABLE bodies (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hash BLOB NOT NULL UNIQUE,
            size INTEGER NOT NULL,
            structure BLOB NOT NULL,    -- store/structure_codec.h: envelope + MIME tree
            sent_time INTEGER,          -- Date: header as unix seconds (SORT); NULL if unparsable
            sent_day INTEGER,           -- Date: header's calendar day, zone ignored (SENTON...)
            search_header TEXT NOT NULL,  -- decoded, unfolded "Name: value" lines
            search_body TEXT NOT NULL,    -- decoded text of the text parts
            raw BLOB NOT NULL
        );

        -- Substring search (IMAP SEARCH is substring, not word, search): the
        -- trigram tokenizer over the decoded header and text, external
        -- content so the text is stored once.
        CREATE VIRTUAL TABLE body_fts USING fts5(
            search_header, search_body,
            content='bodies', content_rowid='id', tokenize='trigram');
        CREATE TRIGGER bodies_fts_insert AFTER INSERT ON bodies BEGIN
            INSERT INTO body_fts (rowid, search_header, search_body)
                VALUES (new.id, new.search_header, new.search_body);
        END;
        CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies BEGIN
            INSERT INTO body_fts (body_fts, rowid, search_header, search_body)
                VALUES ('delete', old.id, old.search_header, old.search_body);
        END;

        -- One row per message in a mailbox. The clustered key (mailbox_id,
        -- uid) is the order every IMAP view needs. `size` repeats
        -- bodies.size so LARGER/SMALLER and STATUS stay one-table queries.
        CREATE TABLE messages (
            mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id),
            uid INTEGER NOT NULL,
            body_id INTEGER NOT NULL REFERENCES bodies (id),
            internal_date INTEGER NOT NULL,   -- unix seconds
            zone_minutes INTEGER NOT NULL,    -- the internal date's zone, east of UTC
            size INTEGER NOT NULL,
            flags INTEGER NOT NULL,           -- system flag bits, store/types.h
            modseq INTEGER NOT NULL,
            PRIMARY KEY (mailbox_id, uid)
        ) WITHOUT ROWID;
        CREATE INDEX messages_body ON messages (body_id);
        CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);
        -- Partial indexes keep STATUS UNSEEN and EXPUNGE proportional to the
        -- rows they count, not to the mailbox (100,000-message mailboxes).
        CREATE INDEX messages_unseen ON messages (mailbox_id, uid) WHERE (flags & 1) = 0;
        CREATE INDEX messages_deleted ON messages (mailbox_id, uid) WHERE (flags & 8) <> 0;

        CREATE TRIGGER messages_release_body AFTER DELETE ON messages
        WHEN NOT EXISTS (SELECT 1 FROM messages WHERE body_id = old.body_id) BEGIN
            DELETE FROM bodies WHERE id = old.body_id;
        END;

        -- Keywords are per mailbox (PERMANENTFLAGS lists them); a defined
        -- keyword stays defined when no message carries it any more.
        CREATE TABLE keywords (
            mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id),
            id INTEGER NOT NULL,
            name TEXT NOT NULL COLLATE NOCASE,
            PRIMARY KEY (mailbox_id, id),
            UNIQUE (mailbox_id, name)
        ) WITHOUT ROWID;
        CREATE TABLE message_keywords (
            mailbox_id INTEGER NOT NULL,
            uid INTEGER NOT NULL,
            keyword_id INTEGER NOT NULL,
            PRIMARY KEY (mailbox_id, uid, keyword_id),
            FOREIGN KEY (mailbox_id, uid) REFERENCES messages (mailbox_id, uid)
                ON DELETE CASCADE ON UPDATE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX message_keywords_by_keyword ON message_keywords (mailbox_id, keyword_id, uid);

        -- The change log QRESYNC needs: which UIDs went, at which MODSEQ
        -- (RFC 7162 3.2.10 VANISHED). Flag changes are logged by
        -- messages.modseq itself.
        CREATE TABLE expunged (
            mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id),
            uid INTEGER NOT NULL,
            modseq INTEGER NOT NULL,
            PRIMARY KEY (mailbox_id, uid)
        ) WITHOUT ROWID;
        CREATE INDEX expunged_modseq ON expunged (mailbox_id, modseq);
    )sql");

    // RFC 3501 5.1: INBOX always exists.
    db.prepare("INSERT INTO mailboxes (name, selectable, uidvalidity) VALUES ('INBOX', 1, ?1)")
        .bind(1, std::int64_t{allocate_uidvalidity(db)})
        .run();
}

// RFC 6154 SPECIAL-USE: the special-use attributes of a mailbox, as
// list_attr bits (store/mail_store.h, kSpecialUseMask); 0 for none. A
// \Noselect placeholder has none. The 'default_mailboxes' meta row records
// that ensure_default_mailboxes() has run, so a default mailbox the user
// deleted is not created again.
void mail_v2(Database& db) {
    db.exec("ALTER TABLE mailboxes ADD COLUMN special_use INTEGER NOT NULL DEFAULT 0");
}

// Body retention for session views (docs/storage.md "Body retention"): a
// message another session expunged stays readable to every view that has
// not applied that expunge yet (RFC 2180 4.1.1).
// - The expunge log keeps what such a view still answers for the message:
//   its body, flags, keywords (space-separated atoms), internal date and
//   zone, size and last modseq. NULL body_id: not readable (rows from
//   before version 3, and rows no view needs any more, whose values the
//   garbage collection clears). body_id has no foreign key: the body may
//   go while the row stays for QRESYNC.
// - Removing the last message row of a body no longer deletes the body: the
//   trigger records it in orphan_bodies, and MailStore::collect_garbage()
//   deletes it once no view pins it and no message (an APPEND of the same
//   bytes) refers to it again.
void mail_v3(Database& db) {
    db.exec(R"sql(
        ALTER TABLE expunged ADD COLUMN body_id INTEGER;
        ALTER TABLE expunged ADD COLUMN flags INTEGER;
        ALTER TABLE expunged ADD COLUMN keywords TEXT;
        ALTER TABLE expunged ADD COLUMN internal_date INTEGER;
        ALTER TABLE expunged ADD COLUMN zone_minutes INTEGER;
        ALTER TABLE expunged ADD COLUMN size INTEGER;
        ALTER TABLE expunged ADD COLUMN message_modseq INTEGER;
        -- The rows that still hold a body: what the garbage collection
        -- reads, kept small because it clears the rows no view needs.
        CREATE INDEX expunged_retained ON expunged (mailbox_id, modseq)
            WHERE body_id IS NOT NULL;

        CREATE TABLE orphan_bodies (
            body_id INTEGER PRIMARY KEY
        );
        DROP TRIGGER messages_release_body;
        CREATE TRIGGER messages_orphan_body AFTER DELETE ON messages
        WHEN NOT EXISTS (SELECT 1 FROM messages WHERE body_id = old.body_id) BEGIN
            INSERT OR IGNORE INTO orphan_bodies (body_id) VALUES (old.body_id);
        END;
    )sql");
}

// Full-text indexing off the commit path (docs/storage.md "The search
// index"): the index is derived data, so a new body only joins the queue
// fts_pending in its transaction and MailStore::index_pending() indexes
// the queue in batches later (FTS5 costs about half as much per document
// with a hundred per transaction). A body still queued is a candidate of
// every indexed SEARCH string (store/search.cpp), so SEARCH stays exact.
// body_fts is recreated with detail=column: SEARCH asks the index for ANDs
// of one-token phrases (trigrams) with a column filter, which need no
// positions; the index is about half the size and costs about half the
// time per document. The new index starts empty and every existing body
// is queued: the server rebuilds it in the background, batch by batch, and
// a crash part-way leaves the rest queued.
void mail_v4(Database& db) {
    db.exec(R"sql(
        DROP TRIGGER bodies_fts_insert;
        DROP TRIGGER bodies_fts_delete;
        DROP TABLE body_fts;
        CREATE VIRTUAL TABLE body_fts USING fts5(
            search_header, search_body,
            content='bodies', content_rowid='id', tokenize='trigram', detail=column);

        CREATE TABLE fts_pending (
            body_id INTEGER PRIMARY KEY
        );
        INSERT INTO fts_pending (body_id) SELECT id FROM bodies;
        CREATE TRIGGER bodies_fts_queue AFTER INSERT ON bodies BEGIN
            INSERT INTO fts_pending (body_id) VALUES (new.id);
        END;
        -- A queued body was never indexed: it only leaves the queue. An
        -- indexed one is removed from the index (external content: the
        -- 'delete' needs the values it was indexed with, which are the row's).
        CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies BEGIN
            INSERT INTO body_fts (body_fts, rowid, search_header, search_body)
                SELECT 'delete', old.id, old.search_header, old.search_body
                WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE body_id = old.id);
            DELETE FROM fts_pending WHERE body_id = old.id;
        END;
    )sql");
}

// SORT and THREAD (RFC 5256, RFC 5957; docs/storage.md "Sort keys"): what
// they compare, per body (the keys depend only on the bytes, which bodies
// share), computed from the parse that stores a body (store/sort_keys.h).
// A table of its own rather than columns of bodies: a SORT reads every row
// of the mailbox, and a small row of short strings keeps that read to a
// few pages per thousand messages; columns added to bodies would come
// after `raw` and after the search text, past their overflow pages.
// Strings are casemapped, so BINARY order is the collation's; '' when the
// message has none (RFC 5256 3: "treated as the empty string").
// Existing bodies are queued in sort_pending and computed online: in
// batches with the search index's (MailStore::index_pending), and for a
// mailbox at once before its first SORT or THREAD, so neither ever misses
// a message. The migration itself is one INSERT ... SELECT of ids.
void mail_v5(Database& db) {
    db.exec(R"sql(
        CREATE TABLE body_sort (
            body_id INTEGER PRIMARY KEY,     -- bodies.id
            sent_time INTEGER,               -- Date: in UTC seconds; NULL: none or unparsable
            subject TEXT NOT NULL,           -- RFC 5256 2.1 base subject
            reply INTEGER NOT NULL,          -- the subject marked a reply or forward
            from_mailbox TEXT NOT NULL,      -- first address's addr-mailbox
            to_mailbox TEXT NOT NULL,
            cc_mailbox TEXT NOT NULL,
            display_from TEXT NOT NULL,      -- RFC 5957 display name or addr-spec
            display_to TEXT NOT NULL,
            message_id TEXT NOT NULL,        -- normalised; '' when none is valid
            refs TEXT NOT NULL               -- normalised references, space-separated
        );
        CREATE TABLE sort_pending (
            body_id INTEGER PRIMARY KEY
        );
        INSERT INTO sort_pending (body_id) SELECT id FROM bodies;
        CREATE TRIGGER bodies_sort_delete AFTER DELETE ON bodies BEGIN
            DELETE FROM body_sort WHERE body_id = old.id;
            DELETE FROM sort_pending WHERE body_id = old.id;
        END;
    )sql");
}

// OBJECTID (RFC 8474), SAVEDATE (RFC 8514) and PREVIEW (RFC 8970);
// docs/storage.md "Object ids, save date, preview".
// - mailboxes.object_id: the MAILBOXID, "F" and 24 random hex digits, new
//   whenever a row becomes a mailbox (CREATE, a placeholder made a
//   mailbox, the new mailbox of a RENAME of INBOX), kept by RENAME, NULL
//   for a \Noselect placeholder. Existing mailboxes get theirs here: one
//   UPDATE of at most limits::kMaxMailboxesPerUser rows.
// - messages.save_date (and the expunge log's copy): when the message was
//   saved into its mailbox (APPEND, COPY, MOVE), unix seconds. NULL for
//   the messages stored before: read as their internal date (RFC 8514 3
//   leaves what an old message reports to the server; its internal date is
//   when it was delivered, unless an APPEND set it), so nothing is
//   rewritten here.
// - body_object: per body (like body_sort, it depends only on the bytes)
//   the THREADID and the PREVIEW text (store/body_objects.h); EMAILID is
//   the body's hash and needs no column. Existing bodies are queued in
//   object_pending and computed online, as v5's sort keys: in the index
//   batches, for a mailbox at once before a SEARCH THREADID, and a FETCH
//   computes what it needs of a queued body on the spot.
void mail_v6(Database& db) {
    db.exec(R"sql(
        ALTER TABLE mailboxes ADD COLUMN object_id TEXT;
        UPDATE mailboxes SET object_id = 'F' || lower(hex(randomblob(12))) WHERE selectable = 1;
        CREATE UNIQUE INDEX mailboxes_object_id ON mailboxes (object_id);

        ALTER TABLE messages ADD COLUMN save_date INTEGER;
        ALTER TABLE expunged ADD COLUMN save_date INTEGER;

        CREATE TABLE body_object (
            body_id INTEGER PRIMARY KEY,     -- bodies.id
            thread_id TEXT NOT NULL,         -- RFC 8474 THREADID
            preview TEXT NOT NULL            -- RFC 8970 preview, '' when none
        );
        CREATE INDEX body_object_thread ON body_object (thread_id);
        CREATE TABLE object_pending (
            body_id INTEGER PRIMARY KEY
        );
        INSERT INTO object_pending (body_id) SELECT id FROM bodies;
        CREATE TRIGGER bodies_object_delete AFTER DELETE ON bodies BEGIN
            DELETE FROM body_object WHERE body_id = old.id;
            DELETE FROM object_pending WHERE body_id = old.id;
        END;
    )sql");
}

// Compressed bodies (docs/storage.md "Compressed bodies", store/body_codec.h).
// - body_raw: a body's bytes as a zstd container of independently
//   compressed blocks (format 1); a body with a row here has an empty
//   bodies.raw. Bodies without one (stored before v7, not recompressed
//   yet) keep their bytes in bodies.raw: the row says how it is stored,
//   and both are read the same way (SqliteMailStore::read_body).
// - bodies.search_header / search_body of a compressed body hold one zstd
//   frame each (a BLOB) unless the text is short or does not shrink (TEXT,
//   as before): imap_text() returns the text either way. The FTS 'delete'
//   needs the indexed text, so the trigger now decompresses it.
// - compress_pending: the bodies stored before v7, recompressed in the
//   background in small batches (MailStore::index_pending) and readable
//   throughout; each batch is one transaction, so a crash part-way leaves
//   the rest queued. The migration itself is one INSERT ... SELECT of ids.
void mail_v7(Database& db) {
    db.exec(R"sql(
        CREATE TABLE body_raw (
            body_id INTEGER PRIMARY KEY,     -- bodies.id
            format INTEGER NOT NULL,         -- 1: zstd blocks (store/body_codec.h)
            data BLOB NOT NULL
        );
        CREATE TABLE compress_pending (
            body_id INTEGER PRIMARY KEY
        );
        INSERT INTO compress_pending (body_id) SELECT id FROM bodies;
        DROP TRIGGER bodies_fts_delete;
        CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies BEGIN
            INSERT INTO body_fts (body_fts, rowid, search_header, search_body)
                SELECT 'delete', old.id, imap_text(old.search_header), imap_text(old.search_body)
                WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE body_id = old.id);
            DELETE FROM fts_pending WHERE body_id = old.id;
            DELETE FROM body_raw WHERE body_id = old.id;
            DELETE FROM compress_pending WHERE body_id = old.id;
        END;
    )sql");
}

// Search text compressed against its own message (docs/storage.md
// "Compressed bodies", store/body_codec.h "prefixed" frames): a search
// column may now hold a frame that can only be read with the start of its
// body's raw bytes, so imap_text() takes the body's id, and the FTS
// 'delete' trigger gives it (body_raw is deleted after the 'delete' read
// the text). Nothing else changes and nothing is rewritten: the plain
// frames and TEXT values of v7 keep being read as they are. The version
// itself is what matters: an imapd that knows only v7 refuses the
// database (Database::migrate) instead of failing on every prefixed frame.
void mail_v8(Database& db) {
    db.exec(R"sql(
        DROP TRIGGER bodies_fts_delete;
        CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies BEGIN
            INSERT INTO body_fts (body_fts, rowid, search_header, search_body)
                SELECT 'delete', old.id, imap_text(old.search_header, old.id),
                       imap_text(old.search_body, old.id)
                WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE body_id = old.id);
            DELETE FROM fts_pending WHERE body_id = old.id;
            DELETE FROM body_raw WHERE body_id = old.id;
            DELETE FROM compress_pending WHERE body_id = old.id;
        END;
    )sql");
}

// The search index split in two (docs/storage.md "The search index"):
// body_fts_header over search_header and body_fts_body over search_body,
// each with detail=none, in place of the one detail=column table over
// both. SEARCH asks the index only for ANDs of one-trigram phrases in one
// column (HEADER, FROM...: the header; BODY: the body; TEXT: each, the
// candidates being either's), which a table per column answers without
// column lists; a detail=none doclist is rowids only, so the two tables
// together are about a third of the one (measured in docs/benchmarks.md).
// The new tables start empty and every existing body is queued again, as
// version 4 did: the server rebuilds the index in the background, batch
// by batch, SEARCH scanning the queued bodies meanwhile, and a crash
// part-way leaves the rest queued. Every body is queued in
// compress_pending too, so the same batches rewrite v7's plain search text
// frames as prefixed ones (v8) while they pass: the text stays the same,
// byte for byte, so the index's 'delete' is unaffected. The migration
// itself is one DROP and two INSERT ... SELECTs of ids.
void mail_v9(Database& db) {
    db.exec(R"sql(
        DROP TRIGGER bodies_fts_delete;
        DROP TABLE body_fts;
        CREATE VIRTUAL TABLE body_fts_header USING fts5(
            search_header,
            content='bodies', content_rowid='id', tokenize='trigram', detail=none);
        CREATE VIRTUAL TABLE body_fts_body USING fts5(
            search_body,
            content='bodies', content_rowid='id', tokenize='trigram', detail=none);
        INSERT OR IGNORE INTO fts_pending (body_id) SELECT id FROM bodies;
        INSERT OR IGNORE INTO compress_pending (body_id) SELECT id FROM bodies;
        CREATE TRIGGER bodies_fts_delete AFTER DELETE ON bodies BEGIN
            INSERT INTO body_fts_header (body_fts_header, rowid, search_header)
                SELECT 'delete', old.id, imap_text(old.search_header, old.id)
                WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE body_id = old.id);
            INSERT INTO body_fts_body (body_fts_body, rowid, search_body)
                SELECT 'delete', old.id, imap_text(old.search_body, old.id)
                WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE body_id = old.id);
            DELETE FROM fts_pending WHERE body_id = old.id;
            DELETE FROM body_raw WHERE body_id = old.id;
            DELETE FROM compress_pending WHERE body_id = old.id;
        END;
    )sql");
}

// A subquery: `column` of the last run of `row`.mailbox_id whose first UID
// is `op` (< or <=) `row`.uid, found through the primary key (the run at
// or below a UID is the last one starting at or below it).
std::string last_run_column(const std::string& row, const char* column, const char* op) {
    return std::string("(SELECT ") + column + " FROM uid_runs WHERE mailbox_id = " + row +
           ".mailbox_id AND first_uid " + op + " " + row + ".uid ORDER BY first_uid DESC LIMIT 1)";
}

// The SQL of a trigger step that takes UID `row`.uid of mailbox
// `row`.mailbox_id (`row`: "new" or "old") into uid_runs, keeping every run
// maximal: the run ending right below grows over it (and over the run
// starting right above, which then goes), else the run starting right
// above starts at it, else it is a run of its own. A UID a run already
// covers changes nothing. Each statement finds its row through the primary
// key (last_run_column).
std::string add_uid_to_runs(const std::string& row) {
    const std::string m = row + ".mailbox_id";
    const std::string u = row + ".uid";
    return "UPDATE uid_runs SET last_uid = coalesce((SELECT last_uid FROM uid_runs WHERE "
           "mailbox_id = " +
           m + " AND first_uid = " + u + " + 1), " + u + ") WHERE mailbox_id = " + m +
           " AND first_uid = " + last_run_column(row, "first_uid", "<") + " AND last_uid = " + u +
           " - 1;\n" + "DELETE FROM uid_runs WHERE mailbox_id = " + m + " AND first_uid = " + u +
           " + 1 AND coalesce(" + last_run_column(row, "last_uid", "<") + ", 0) > " + u + ";\n" +
           "UPDATE uid_runs SET first_uid = " + u + " WHERE mailbox_id = " + m +
           " AND first_uid = " + u + " + 1;\n" +
           "INSERT INTO uid_runs (mailbox_id, first_uid, last_uid) SELECT " + m + ", " + u + ", " +
           u + " WHERE coalesce(" + last_run_column(row, "last_uid", "<=") + ", 0) < " + u + ";\n";
}

// The SQL of a trigger step that takes UID `row`.uid of mailbox
// `row`.mailbox_id out of uid_runs: the run holding it splits in two, or
// ends below it, or starts above it, or goes. A UID no run covers changes
// nothing.
std::string remove_uid_from_runs(const std::string& row) {
    const std::string m = row + ".mailbox_id";
    const std::string u = row + ".uid";
    const std::string holding = last_run_column(row, "first_uid", "<=");
    return "INSERT INTO uid_runs (mailbox_id, first_uid, last_uid) SELECT mailbox_id, " + u +
           " + 1, last_uid FROM uid_runs WHERE mailbox_id = " + m + " AND first_uid = " + holding +
           " AND first_uid < " + u + " AND last_uid > " + u + ";\n" +
           "UPDATE uid_runs SET last_uid = " + u + " - 1 WHERE mailbox_id = " + m +
           " AND first_uid = " + holding + " AND first_uid < " + u + " AND last_uid >= " + u +
           ";\n" + "DELETE FROM uid_runs WHERE mailbox_id = " + m + " AND first_uid = " + u +
           " AND last_uid = " + u + ";\n" + "UPDATE uid_runs SET first_uid = " + u +
           " + 1 WHERE mailbox_id = " + m + " AND first_uid = " + u + ";\n";
}

// A mailbox's UIDs as runs of consecutive UIDs (docs/storage.md "UID
// runs"): uid_runs holds one row per maximal run, kept by triggers on
// messages, so SELECT reads a mailbox's UIDs from a few rows instead of
// stepping through a row per message (a 100,000-message INBOX whose
// messages were never expunged in the middle is one row; the step per row
// was most of its SELECT). The runs of the existing messages are computed
// once (gaps and islands: within a run, uid minus its rank is constant).
void mail_v10(Database& db) {
    db.exec(R"sql(
        CREATE TABLE uid_runs (
            mailbox_id INTEGER NOT NULL,
            first_uid INTEGER NOT NULL,
            last_uid INTEGER NOT NULL,
            PRIMARY KEY (mailbox_id, first_uid)
        ) WITHOUT ROWID;
        INSERT INTO uid_runs (mailbox_id, first_uid, last_uid)
            SELECT mailbox_id, min(uid), max(uid) FROM (
                SELECT mailbox_id, uid,
                       uid - row_number() OVER (PARTITION BY mailbox_id ORDER BY uid) AS run
                FROM messages)
            GROUP BY mailbox_id, run;
    )sql");
    db.exec("CREATE TRIGGER messages_uid_runs_insert AFTER INSERT ON messages BEGIN\n" +
            add_uid_to_runs("new") + "END;");
    db.exec("CREATE TRIGGER messages_uid_runs_delete AFTER DELETE ON messages BEGIN\n" +
            remove_uid_from_runs("old") + "END;");
    db.exec(
        "CREATE TRIGGER messages_uid_runs_update AFTER UPDATE OF mailbox_id, uid ON messages "
        "WHEN old.mailbox_id <> new.mailbox_id OR old.uid <> new.uid BEGIN\n" +
        remove_uid_from_runs("old") + add_uid_to_runs("new") + "END;");
}

const Migration kAccountsMigrations[] = {accounts_v1, accounts_v2};
const Migration kMailMigrations[] = {mail_v1, mail_v2, mail_v3, mail_v4, mail_v5,
                                     mail_v6, mail_v7, mail_v8, mail_v9, mail_v10};

}  // namespace

std::span<const Migration> accounts_migrations() {
    return kAccountsMigrations;
}

std::span<const Migration> mail_migrations() {
    return kMailMigrations;
}

std::uint32_t allocate_uidvalidity(Database& db) {
    std::int64_t last = 0;
    {
        auto query = db.prepare("SELECT value FROM meta WHERE key = 'last_uidvalidity'");
        if (query.step()) last = query.column_int(0);
    }
    const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    std::int64_t next = std::max(last + 1, now);
    if (next > std::int64_t{0xffffffff}) {
        throw StoreError(StoreErrc::OverLimit, "UIDVALIDITY values exhausted");
    }
    db.prepare("UPDATE meta SET value = ?1 WHERE key = 'last_uidvalidity'").bind(1, next).run();
    return static_cast<std::uint32_t>(next);
}

}  // namespace imap::store
