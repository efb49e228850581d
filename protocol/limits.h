// Every limit the wire codec enforces, in one place. The server may lower
// (never raise past these) the configurable ones through its config.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace imap::limits {

// Longest command line (bytes between two line ends, CRLF excluded). A line
// longer than this is discarded up to its end and answered with BAD; its
// literal announcement, if any, is still honoured so the framer stays in step.
// Dovecot uses 64 KiB (imap_max_line_length); a SEARCH or a UID set from a
// client like mbsync fits well inside.
inline constexpr std::size_t kMaxLineLength = 64 * 1024;

// Largest literal any command may carry. APPEND is the only command that has
// a reason to send large literals; the server answers with [TOOBIG] / LIMIT
// before a synchronising literal is sent (RFC 7889 APPENDLIMIT).
inline constexpr std::uint64_t kMaxLiteralSize = 64ull * 1024 * 1024;

// A refused non-synchronising literal {n+} is on its way (RFC 7888 4): the
// framer reads and drops it (never buffering it) so the connection stays in
// step. Past this size it gives up instead and the server closes the
// connection (BYE [TOOBIG]) rather than read gigabytes a client announced.
// After login (LITERAL+) twice the largest literal, so a client whose APPEND
// of a message just over the limit is refused keeps its connection.
inline constexpr std::uint64_t kMaxDrainableLiteral = kMaxLiteralSize * 2;

// Total bytes of one command: all its lines and literals. Bounds the memory a
// single pipelined command can hold before it is executed.
inline constexpr std::uint64_t kMaxCommandSize = kMaxLiteralSize + 1024 * 1024;

// RFC 7888 5, LITERAL-: a non-synchronising literal may be at most 4096
// octets. Advertised before login, where no command needs a large literal
// (a client with more to send uses {n}, which the server can refuse before
// any byte is sent); LITERAL+ (no bound) only after it.
inline constexpr std::uint64_t kMaxLiteralMinus = 4096;

// Before login every command is small: LOGIN's two credentials (at most a
// few hundred octets each), AUTHENTICATE's initial response, an ID of 30
// field/value pairs of at most 30 + 1024 octets (RFC 2971 3.3, ~32 KiB
// quoted). So one unauthenticated command, lines and literals together, is
// at most this: what an anonymous peer can make the server hold. It is also
// the largest refused {n+} drained before login; larger ones end the
// connection with BYE at once, before their bytes are read (the
// CVE-2024-34055 class: a pre-login literal the server buffers whole).
inline constexpr std::uint64_t kMaxPreAuthCommandSize = 64 * 1024;

// Literals in one command (MULTIAPPEND sends one per message).
inline constexpr std::size_t kMaxLiteralsPerCommand = 1000;

// Parts of one CATENATE message (RFC 4469 5: TEXT literals and URLs). A
// client composing a message sends a handful (header, a few bodies and
// boundaries); each URL part costs the server a message lookup, so a list
// of thousands of tiny parts is refused before any is resolved. Every part
// also counts against kMaxArguments, which bounds a MULTIAPPEND of many
// CATENATE messages.
inline constexpr std::size_t kMaxCatenateParts = 1000;

// Nesting in one command: parenthesised lists and, in SEARCH, every NOT, OR
// and group (each recurses in the parser). Clients build long right-nested
// OR chains ("OR HEADER Message-ID a OR HEADER Message-ID b ..."), so this is
// generous; it only has to keep the stack bounded.
inline constexpr std::size_t kMaxNestingDepth = 1000;

// Arguments in one command (search keys, fetch items, flags, header names,
// ID field/value pairs each count as one).
inline constexpr std::size_t kMaxArguments = 10000;

// Longest tag. RFC 3501 sets no limit; clients use a few characters.
inline constexpr std::size_t kMaxTagLength = 64;

// Ranges in one sequence set before it is refused as abusive.
inline constexpr std::size_t kMaxSequenceRanges = 100000;

// Searches one session keeps up to date at once (RFC 5267 4.3: SEARCH /
// SORT RETURN (UPDATE)); past it the search is answered without updates
// and "* NO [NOUPDATE "tag"]" (4.3.1; the RFC asks for at least one).
// Each context holds its result (a UID per matching message) and costs one
// store query per context on every change of the mailbox the session sees
// (docs/architecture.md "Search contexts"), so their number bounds both the
// memory (10 x 4 bytes x the mailbox's messages) and the work a change
// costs. Dovecot 2.3 allows 10 as well.
inline constexpr std::size_t kMaxSearchUpdateContexts = 10;

// NOTIFY (RFC 5465 5.8): events for other mailboxes a session may have
// queued while it cannot write them (a command is running, or the client
// has kOutputHighWater unread). STATUS events coalesce per mailbox, so this
// is reached by a client that stops reading while a thousand of its
// mailboxes change or names are created, renamed or (un)subscribed; past
// it the queue is dropped, the client gets "* OK [NOTIFICATIONOVERFLOW]"
// and NOTIFY is off, as the RFC asks: resynchronising with LIST and STATUS
// is cheaper for both sides than a backlog. Bounds the queue to a thousand
// names (at most 1000 x a mailbox name's bytes) per session.
inline constexpr std::size_t kMaxQueuedNotifications = 1000;

// ---- LMTP (RFC 2033; server/lmtp/lmtp_session.h, docs/lmtp.md) ----
namespace lmtp {

// A command line with its CRLF. RFC 5321 4.5.3.1.4 sets 512 octets and lets
// extensions add to it; SIZE= and BODY= add about 30. Four times that
// leaves room for any path an MTA sends; a longer line is answered
// "500 5.5.2" and skipped to its end, never buffered.
inline constexpr std::size_t kMaxCommandLine = 2048;
// A path between < and > (RFC 5321 4.5.3.1.3: 256 octets).
inline constexpr std::size_t kMaxPath = 256;
// Recipients of one transaction: RFC 5321 4.5.3.1.8 asks for at least 100
// (Postfix's lmtp sends at most 50 at once). Past it "452 4.5.3": the MTA
// sends the rest in another transaction.
inline constexpr std::size_t kMaxRecipients = 100;
// What the server prepends to each delivered copy (Return-Path and
// Delivered-To, each a path and its field name): the message SIZE
// advertises is the store's limit less this, so every copy still fits.
inline constexpr std::size_t kTraceReserve = 2 * (kMaxPath + 64);
// Commands before LHLO (NOOP, RSET, VRFY and refused ones): an MTA sends
// LHLO first; something that does not is not an MTA ("421 4.7.0").
inline constexpr std::size_t kMaxCommandsBeforeLhlo = 10;
// Refused commands (syntax, sequence, unknown) in one connection before
// "421 4.7.0" and close: Postfix's smtpd uses 20 for the open Internet;
// an LMTP client is a local MTA that makes none.
inline constexpr std::size_t kMaxErrors = 10;
// No byte from the client for this long, outside a delivery the server is
// running: "421 4.4.2" and close. RFC 5321 4.5.3.2.7 gives a server 5
// minutes; the same bounds a DATA that stalls.
inline constexpr std::chrono::seconds kIdleTimeout{300};
// LMTP connections at once: each MTA delivery process holds one (Postfix's
// default concurrency is 20 per destination). Past it "421 4.3.2" at once.
inline constexpr std::size_t kMaxConnections = 100;

}  // namespace lmtp

namespace pop3 {

// A command line with its CRLF: RFC 2449 4 raises RFC 1939's 47 to 255
// octets. A longer line is answered "-ERR" and skipped to its end, never
// buffered.
inline constexpr std::size_t kMaxCommandLine = 255;
// A line of an AUTH exchange (RFC 5034 4: a base64 response, which may be
// longer than a command line): one SASL PLAIN response with a user and a
// password of the sizes IMAP accepts before login.
inline constexpr std::size_t kMaxAuthLine = 8192;
// Refused commands (unknown, wrong state, bad arguments, failed logins)
// before "-ERR" and close: Dovecot's pop3 closes after 20; a real client
// makes none, and each costs a line of ours.
inline constexpr std::size_t kMaxErrors = 20;
// Bytes of a message read from the store per RETR/TOP step: the size of a
// socket read, so a large message streams without ever being whole in
// memory and yields to the output high-water mark between steps.
inline constexpr std::size_t kReadChunk = 64 * 1024;

}  // namespace pop3

}  // namespace imap::limits
