// The message parser: one raw RFC 5322 message in, its structure out, parsed
// once at delivery (docs/architecture.md, docs/storage.md).
//
// What comes out is what RFC 3501 7.4.2 needs and no more wire syntax than
// that: the ENVELOPE fields as raw values (nstrings as optionals), the MIME
// part tree with every BODYSTRUCTURE field, sizes and line counts, and the
// byte ranges of every section RFC 3501 6.4.5 can address. Formatting these
// as IMAP lives in server/imap/fetch_format.h.
//
// Never fails: any byte string is a message. Broken or missing headers and
// boundaries get the reading Dovecot gives them (tests/data/messages/ holds
// the Dovecot-derived expectations, DIFFERENCES.md the deliberate
// departures). Limits below keep time and memory linear in the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace imap::store {

// Limits of the parser. Past each, the parser stops refining the structure
// but still accepts the message: the rest is kept as the body of the part
// being parsed.
struct MessageLimits {
    // Multipart and message/rfc822 levels parsed; deeper parts are leaves.
    // Dovecot's message parser uses 100 as well (max_nested_mime_parts).
    static constexpr std::size_t kMaxMimeDepth = 100;
    // Parts in one message, all levels (Dovecot: max_total_mime_parts 10000).
    static constexpr std::size_t kMaxParts = 10000;
    // Header fields remembered per header block; later fields still belong
    // to the header (its range) but are not looked at.
    static constexpr std::size_t kMaxHeaderFields = 10000;
    // Addresses parsed from one address header; the rest are dropped.
    static constexpr std::size_t kMaxAddresses = 10000;
    // Parameters kept per Content-Type / Content-Disposition.
    static constexpr std::size_t kMaxParameters = 100;
    // Longest boundary honoured: RFC 2046 5.1.1 allows 70 characters; we
    // accept more, as Dovecot does, but not without bound.
    static constexpr std::size_t kMaxBoundaryLength = 1000;
};

// [begin, end) in the raw message.
struct ByteRange {
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t size() const { return end - begin; }
    bool operator==(const ByteRange&) const = default;
};

// One header field. Views point into the raw message given to
// parse_message() and are valid as long as it is.
struct HeaderField {
    std::string_view name;       // as written, trailing white space removed
    std::string_view raw_value;  // after the colon up to the final line end, folding kept
    ByteRange range;             // the whole field including its final line end
};

// RFC 3501 7.4.2 address: a mailbox, or a group start (mailbox = group name,
// host absent) or group end (all absent).
struct Address {
    std::optional<std::string> name;
    std::optional<std::string> adl;  // source route, "@a,@b"
    std::optional<std::string> mailbox;
    std::optional<std::string> host;
    bool operator==(const Address&) const = default;
};

// RFC 3501 7.4.2 ENVELOPE, raw values: encoded words are left encoded (the
// client decodes them), folding line ends removed. An absent header is
// std::nullopt (NIL); sender and reply-to already default to from.
struct Envelope {
    std::optional<std::string> date;
    std::optional<std::string> subject;
    std::vector<Address> from;
    std::vector<Address> sender;
    std::vector<Address> reply_to;
    std::vector<Address> to;
    std::vector<Address> cc;
    std::vector<Address> bcc;
    std::optional<std::string> in_reply_to;
    std::optional<std::string> message_id;
};

struct MimeParameter {
    std::string name;  // as written ("charset"), RFC 2231 continuations joined
    std::string value;
    bool operator==(const MimeParameter&) const = default;
};

// One MIME entity (RFC 2045 2.4). The top-level message is one too: its
// `header` is the message header.
struct MimePart {
    // RFC 2045 5.2 defaults. Case is kept as written; compare ignoring case.
    std::string type = "text";
    std::string subtype = "plain";
    std::vector<MimeParameter> parameters;  // in order; the default charset is added
    std::optional<std::string> id;
    std::optional<std::string> description;
    std::string encoding = "7bit";  // RFC 2045 6.1 default
    std::optional<std::string> md5;
    std::optional<std::string> disposition;
    std::vector<MimeParameter> disposition_parameters;
    std::vector<std::string> language;  // empty: NIL
    std::optional<std::string> location;

    // The MIME header, including the blank line that ends it (the
    // message header for the top level and for an embedded message's root).
    ByteRange header;
    // The body: for a multipart, preamble to epilogue; for message/rfc822,
    // the whole embedded message; otherwise the content. For parts inside a
    // multipart, the line end before the next boundary is not included
    // (RFC 2046 5.1.1).
    ByteRange body;
    // Line ends (LF) in the body; reported for text/* and message/rfc822.
    std::uint64_t body_lines = 0;

    // multipart/*: the parts (at least one, as RFC 3501 requires).
    // message/rfc822: exactly one, the embedded message's root entity.
    std::vector<MimePart> children;
    // message/rfc822 only: the embedded message's envelope.
    std::optional<Envelope> embedded_envelope;

    bool is_multipart() const;
    // message/rfc822 that was parsed as a message (has a child).
    bool is_message() const { return embedded_envelope.has_value(); }
    bool is_text() const;
};

struct ParsedMessage {
    std::size_t size = 0;             // RFC822.SIZE: octets of the raw message
    std::vector<HeaderField> header;  // top-level header fields, in order
    Envelope envelope;
    MimePart root;  // root.header = HEADER, root.body = TEXT
};

// Parses `raw`; never fails. The result's HeaderField views point into
// `raw`. Cost is linear in raw.size() (bounded by MessageLimits).
ParsedMessage parse_message(std::string_view raw);

// Header fields of the block [range) of `raw` (a message or MIME header).
std::vector<HeaderField> parse_header_fields(std::string_view raw, ByteRange range);

// The value of `field` with folding line ends removed and outer white space
// trimmed: the form ENVELOPE uses for date, subject and message ids.
std::string unfold(std::string_view raw_value);

// RFC 2822 3.4 address-list, including groups and the obsolete forms
// (routes, missing domains), the way Dovecot reads them.
std::vector<Address> parse_address_list(std::string_view raw_value);

// The text SEARCH FROM / TO / CC / BCC match (RFC 3501 6.4.4: the envelope
// structure's field): the parsed addresses, comments and folding gone
// (RFC 5322 3.2.2), display names decoded (RFC 2047, inside quotes too, as
// mailers put them there), written as
//   Display Name <local@domain>, <local@domain>, Group: <a@b>, Name <c@d>;
// Unlike Dovecot's form, names are not quoted (a needle typed as a client
// shows the address matches) and the placeholders of missing parts are
// left out ("<local>", not "<local@MISSING_DOMAIN>"); the local part is
// unquoted, as in ENVELOPE. Valid UTF-8, no line ends.
std::string address_search_form(std::string_view raw_value);

// The part a section part path names (RFC 3501 6.4.5): numbers from 1;
// empty path: the message itself (root). For a non-multipart entity only "1"
// exists and names the entity itself; past a message/rfc822 part, numbers
// index the embedded message. nullptr when there is no such part.
const MimePart* find_part(const ParsedMessage& message, std::span<const std::uint32_t> path);

enum class SectionKind {
    Whole,         // BODY[] / BODY[1.2]: the message, or the part's body
    Header,        // BODY[HEADER], BODY[3.HEADER]: an RFC 5322 header
    HeaderFields,  // BODY[HEADER.FIELDS (...)] and .NOT: filtered from Header's range
    Text,          // BODY[TEXT], BODY[3.TEXT]: the text after that header
    Mime,          // BODY[1.MIME]: the part's MIME header
};

// The bytes BODY[<path>.<kind>] covers, or nullopt when the section does not
// exist (RFC 3501 6.4.5: HEADER/TEXT after a part path need a message/rfc822
// part; MIME needs a part path). The server answers a missing section with
// an empty string, as Dovecot does.
std::optional<ByteRange> resolve_section(const ParsedMessage& message,
                                         std::span<const std::uint32_t> path, SectionKind kind);

// Decoded text for SEARCH and the full-text index, all UTF-8.
struct SearchText {
    // Every header field of the message (top level), encoded words decoded
    // (RFC 2047), unfolded.
    struct Field {
        std::string name;
        std::string value;
    };
    std::vector<Field> header;
    // One per From, To, Cc and Bcc field of the message (top level), in
    // order: its address_search_form().
    std::vector<Field> addresses;
    // Text of every text/* part (and of embedded messages' headers and text
    // parts), transfer decoding undone and charset converted; parts joined
    // by "\n".
    std::string body;
};
SearchText extract_search_text(std::string_view raw, const ParsedMessage& message);

// RFC 2047 encoded words in a header value decoded to UTF-8; white space
// between adjacent encoded words dropped (RFC 2047 6.2).
std::string decode_header_value(std::string_view value);

// Converts `bytes` in `charset` to UTF-8 with iconv. Unknown charsets and
// invalid sequences: bytes that are valid UTF-8 are kept, others become
// U+FFFD.
std::string to_utf8(std::string_view bytes, std::string_view charset);

// Transfer decodings (RFC 2045 6.7, 6.8), lenient: invalid input is skipped.
std::string decode_base64(std::string_view in);
std::string decode_quoted_printable(std::string_view in);

}  // namespace imap::store
