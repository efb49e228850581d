// Every limit the store enforces, in one place (docs/security.md lists them). Exceeding one is
// StoreErrc::OverLimit (or TooBig for message size), never a silent cut.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace imap::store::limits {

// Bytes of one full mailbox name (UTF-8, '/' separated). Dovecot's
// MAILBOX_LIST_NAME_MAX_LENGTH is 4096; names longer than a path component
// are useless to clients anyway.
inline constexpr std::size_t kMaxMailboxNameBytes = 1024;
// Hierarchy levels in one name ("a/b/c" has 3). Bounds LIST and RENAME work.
inline constexpr std::size_t kMaxMailboxDepth = 32;
// Bytes of the LIST / LSUB patterns of one command, each joined with the
// reference (RFC 3501 6.3.8; the patterns of an RFC 5258 pattern list
// count together). A pattern matches names at least as long as its
// characters other than wildcards, so this is as long as the longest name
// (any name can be listed by itself); only wildcards between most of a
// long name's characters would need more. Matching costs one bit per
// pattern character per name byte (store/mailbox_names.h): with this, a
// LIST over kMaxMailboxesPerUser names of the longest length takes about
// half a second.
inline constexpr std::size_t kMaxListPatternBytes = kMaxMailboxNameBytes;
// Mailboxes (placeholders included) per user. LIST loads all names.
inline constexpr std::size_t kMaxMailboxesPerUser = 10000;
// Distinct keywords per mailbox (they are all listed in PERMANENTFLAGS).
inline constexpr std::size_t kMaxKeywordsPerMailbox = 1000;
// Bytes of one keyword.
inline constexpr std::size_t kMaxKeywordBytes = 256;
// Keywords set on one message at a time.
inline constexpr std::size_t kMaxKeywordsPerMessage = 256;
// One message's size. Matches protocol/limits.h kMaxLiteralSize (64 MiB);
// the store cannot include protocol/, so it keeps its own copy.
inline constexpr std::uint64_t kMaxMessageSize = 64ull * 1024 * 1024;
// Highest UID (RFC 3501 2.3.1.1: 32-bit). A mailbox that reaches it refuses
// appends until it is re-created with a new UIDVALIDITY.
inline constexpr std::uint32_t kMaxUid = 0xffffffffu;
// Highest MODSEQ (RFC 7162 3: unsigned 63-bit).
inline constexpr std::uint64_t kMaxModseq = 0x7fffffffffffffffull;
// Bytes of a user name.
inline constexpr std::size_t kMaxUserNameBytes = 255;
// Ranges in one UID set handed to the store (protocol/limits.h
// kMaxSequenceRanges).
inline constexpr std::size_t kMaxUidRanges = 100000;

// Keys in one SEARCH criteria tree (protocol/limits.h kMaxArguments).
inline constexpr std::size_t kMaxSearchKeys = 10000;
// And / Or / Not levels of one SEARCH in the SQL it becomes (store/search.cpp
// SqlBuilder): chains of one operator are flattened and emitted eight terms
// a level (10,000 keys take five levels), NOT NOT cancels, and what remains
// nests as the client nested it. SQLite's parser stack (100 entries in
// Debian's build) overflows past about 70 such levels with the deepest
// terms; clients nest a handful.
inline constexpr std::size_t kMaxSearchDepth = 64;
// Bytes of one SEARCH string (BODY, TEXT, HEADER, FROM, SUBJECT...). What
// clients search for is typed or pasted text and identifiers: the longest
// of those, a Message-ID, fits in a line and RFC 5322 2.1.1 caps lines at
// 998 octets; 4 KiB also holds a pasted paragraph. The matching is linear
// either way (SubstringMatcher); the limit bounds the index query and the
// memory one string holds. SEARCH also refuses a literal longer than this
// before it is sent (server/imap/command_table.cpp).
inline constexpr std::size_t kMaxSearchStringBytes = 4096;
// Body ids the trigram index may return for the strings of one SEARCH
// together (each distinct query runs once, its ids are kept for the
// statement): 32 MB, and a bound on the exact checks that follow. One
// string matching every message of a 4-million-message account fits.
inline constexpr std::size_t kMaxSearchCandidates = 4 * 1024 * 1024;
// Distinct strings of one SEARCH the trigram index is asked about. Each
// query costs a lookup of up to kSearchIndexTrigrams terms in the user's
// whole index (about a millisecond with 50,000 messages); further strings
// are checked against every message, within the text budget below. An OR
// chain of Message-IDs as a client writes it nests one level per key, so
// the parser's kMaxNestingDepth (1000) already caps it at this.
inline constexpr std::size_t kMaxSearchIndexQueries = 1000;
// What one SEARCH may cost, in proportion to the selected mailbox, so the
// keys x messages product of a hostile search is bounded (NO [LIMIT]
// "Search too costly for this mailbox") while real searches stay far
// inside. The matchers may read the mailbox's text (its size in bytes)
// kSearchScansPerMailbox times, plus kSearchScanAllowance bytes (so a small
// mailbox still takes a few dozen scans, a fraction of a second): a string
// the index narrows is read only in its candidates, a string too short
// for the index in every message, once per occurrence. SQLite may run
// kSearchStepsPerMessage virtual machine steps per message, plus
// kSearchStepAllowance: ten keys take about a hundred steps per message,
// so 1000 is some 200 keys evaluated on every message (an OR of strings
// the index narrows is skipped as one for messages outside all of them).
// At the limits a hostile search is refused after about a second per
// 50,000 messages (tests/unit/search_match.cpp measures).
inline constexpr std::uint64_t kSearchScansPerMailbox = 4;
inline constexpr std::uint64_t kSearchScanAllowance = 16ull * 1024 * 1024;
inline constexpr std::uint64_t kSearchStepsPerMessage = 1000;
inline constexpr std::uint64_t kSearchStepAllowance = 50'000'000;
// Distinct trigrams of one string the FTS5 index is asked for (store/search.h).
// Sixteen spread over the string already leave only the messages that hold
// it or nearly; more only lengthen the index query.
inline constexpr std::size_t kSearchIndexTrigrams = 16;

// One index_pending() batch (store/mail_store.h IndexLimits): at most this
// many queued bodies, and no new one once this much time has passed. FTS5
// costs about half as much per document with a hundred in one transaction
// as with one (docs/storage.md "The search index" has the measurements);
// a batch runs on the user's executor between the user's commands, so it
// should not hold them up for more than some tens of milliseconds (a
// typical body takes about half a millisecond; one body is indexed whole
// whatever its size, up to kMaxMessageSize of text).
inline constexpr std::size_t kIndexBatchBodies = 100;
inline constexpr std::chrono::milliseconds kIndexBatchTime{50};
// A batch stops early, after this many bodies, once the user's commands are
// waiting for the executor it runs on (IndexLimits::yield_when): a command
// then waits for a few milliseconds of indexing, not for a whole 50 ms
// batch (which was the p99 of APPEND under load, docs/benchmarks.md). Not
// one: the index's cost per body nearly halves from one body to a few in a
// transaction, and under steady load the index still moves on by this
// many at every turn.
inline constexpr std::size_t kIndexBatchMinBodies = 8;

// SORT and THREAD (RFC 5256; store/sort_keys.h, store/thread.h).
// Message ids kept per message for THREAD REFERENCES: the last ones of its
// References field (its nearest ancestors, which decide its parent; an MUA
// that shortens the field keeps those too). Real messages carry a few to
// a few dozen; a hostile one with 10,000 ids then costs the threading no
// more than 64, and its row in body_sort stays small.
inline constexpr std::size_t kMaxThreadReferences = 64;
// Bytes of one normalised message id; longer ones are not valid ids
// (RFC 5322 2.1.1 bounds a line to 998 octets, and an id is on one).
inline constexpr std::size_t kMaxMessageIdBytes = 998;
// Ancestors the REFERENCES loop check walks (RFC 5256 3 "do not create a
// parent/child link if creating that link would introduce a loop"): a link
// whose check would need more is not made, as if it were a loop. The check
// is needed only when the would-be child already has children, which in a
// mailbox in arrival order is rare; the bound keeps a hostile mailbox
// (100,000 messages in one chain, referenced in reverse) linear: at most
// this many steps per reference. Real threads are far shallower.
inline constexpr std::size_t kMaxThreadDepth = 1000;
// Bodies whose sort keys one fill_sort_keys() batch computes (the v5
// migration's queue, docs/storage.md "Sort keys"): like an index batch,
// some tens of milliseconds on the user's executor.
inline constexpr std::size_t kSortKeyBatchBodies = 200;

// PREVIEW (RFC 8970; store/body_objects.h). Characters of a preview: RFC
// 8970 3.3 says SHOULD 200, MUST NOT more than 256.
inline constexpr std::size_t kPreviewCharacters = 200;
// Bytes of the chosen part's encoded body that are decoded for its
// preview: a preview needs the first few hundred characters of text, so a
// 64 MiB text part (or one whose HTML is mostly markup) costs at most this
// much decoding, charset conversion and tag stripping. 64 KiB holds the
// markup of a typical newsletter's head and first paragraphs.
inline constexpr std::size_t kPreviewSourceBytes = 64 * 1024;
// Bodies whose THREADID and PREVIEW one index batch computes (the v6
// migration's queue, docs/storage.md "Object ids, save date, preview"),
// as kSortKeyBatchBodies.
inline constexpr std::size_t kObjectBatchBodies = 200;

// STORE reads the flags of the messages it changes this many at a time
// (uid, flags, modseq: 16 bytes each), changing each batch before it reads
// the next, all in one transaction: a STORE 1:* of a million messages holds
// 64 KiB of rows instead of 64 MB.
inline constexpr std::size_t kStoreFlagsBatchRows = 4096;

// Compressed bodies (schema v7; store/body_codec.h, docs/storage.md
// "Compressed bodies"). A body is cut into independently compressed
// blocks of this many raw bytes, so a partial FETCH decompresses only the
// blocks its range touches (64 KiB at most for BODY[]<0.1024> of a 64 MiB
// message) instead of the whole body. Measured on the benchmark corpus
// (3,000 messages, zstd level 3): compressed/raw 0.569 with 16 KiB blocks,
// 0.566 with 64 KiB, 256 KiB and whole bodies; one 64 KiB block
// decompresses in about 25-60 us. 85 % of messages (under 10 KB) are one
// block, one frame.
inline constexpr std::size_t kBodyBlockBytes = 64 * 1024;
// A compressed body of at most this many bytes is read whole with one
// cached statement (SqliteMailStore::read_body) instead of through a blob
// handle, which SQLite builds anew for every read. A body of one block
// (raw at most kBodyBlockBytes) is decompressed whole for any range anyway,
// so reading its few pages whole costs nothing more; a bigger one is read
// block by block.
inline constexpr std::size_t kBodyReadWholeBytes = kBodyBlockBytes;
// zstd's level: 3 (its default) compresses the corpus to 0.566, level 1 to
// 0.575, level 6 to 0.554 at about half the speed; compression runs at
// APPEND outside the write lock, but on the user's strand.
inline constexpr int kBodyCompressionLevel = 3;
// Whether a body's literals (the bytes zstd found no match for) are stored
// as they are instead of Huffman-coded. Decoding the Huffman-coded literals
// is most of what decompressing a message costs, and decompressing is most
// of what a FETCH of whole messages costs: on the benchmark corpus raw
// literals decompress at about 1,150 MB/s instead of 670 (and compress at
// 200 MB/s instead of 180), for 0.667 of the raw bytes instead of 0.544
// (docs/storage.md "Compressed bodies" has the table). The search text
// keeps Huffman coding: it is read only to confirm a SEARCH candidate.
inline constexpr bool kBodyLiteralsRaw = true;
// Search text shorter than this is stored as it is: a zstd frame has about
// a dozen bytes of overhead, and short header text hardly shrinks.
inline constexpr std::size_t kTextCompressionMinBytes = 64;
// Bodies one index batch recompresses for the v7 migration
// (compress_pending): a body takes about 0.1-1 ms to read, compress and
// write, so a batch stays within kIndexBatchTime like the others.
inline constexpr std::size_t kCompressBatchBodies = 100;
// Search text is compressed against the body's own raw bytes (schema v8,
// store/body_codec.h "prefixed" frames) only when the part of the body it
// needs is at most this long: reading the text back (SEARCH confirming a
// candidate, the index's 'delete') decompresses that part of the body, so
// this bounds what one candidate costs (about 0.2 ms for 1 MiB). Bigger
// bodies keep the plain frame of schema v7. In the benchmark corpus every
// message is under 1 MiB; a body's header is always much shorter.
inline constexpr std::size_t kTextPrefixMaxBytes = 1024 * 1024;

}  // namespace imap::store::limits
