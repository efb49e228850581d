// FetchJob: one FETCH or UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2) as a
// resumable command (CommandResult::steps). Memory stays bounded whatever
// the set and the message sizes:
//
// - metadata comes from the store in batches of kBatchSize rows, the next
//   batch asked for from the last UID + 1;
// - the job yields (returns false) whenever the session's output reaches
//   Session::kOutputHighWater, between messages, between the items of one
//   message, and between the chunks of a literal;
// - a body section is read with MailStore::read_body for its byte range
//   only, in chunks of kBodyChunk: "{n}\r\n" goes out first, the bytes
//   follow chunk by chunk, so the stream is byte-identical to one
//   ResponseWriter::literal() of the whole section.
//
// Response layout, after Dovecot (src/imap/imap-fetch.c), checked against
// Dovecot 2.3 with the same requests:
// - UID first in UID FETCH responses (RFC 3501 6.4.8: always present);
// - then FLAGS, INTERNALDATE, RFC822.SIZE, ENVELOPE, BODY, BODYSTRUCTURE and
//   UID in the order asked, each once;
// - then FLAGS, when this FETCH set \Seen (RFC 3501 6.4.5: "the \Seen flag
//   is implicitly set; if this causes the flags to change, they SHOULD be
//   included as part of the FETCH responses") and FLAGS was not asked;
// - then the body sections (BODY[...], BODY.PEEK[...], RFC822,
//   RFC822.HEADER, RFC822.TEXT) in the order asked, duplicates kept. Body
//   sections are always literals, "{0}\r\n" included, as Dovecot sends them.
//
// EMAILID, THREADID (RFC 8474 5.3), SAVEDATE (RFC 8514 4.2) and PREVIEW
// (RFC 8970 3) are head items like the others, in the order asked. PREVIEW
// is a quoted string when it is ASCII, else a literal: the text is UTF-8
// (RFC 8970 3.3), RFC 6855 3 forbids UTF-8 in quoted strings to a client
// that did not enable UTF8=ACCEPT, and RFC 3501 literals carry 8-bit text
// (never NUL: the preview holds no control characters). Dovecot 2.3 sends
// it the same way. The same holds for ENVELOPE and BODYSTRUCTURE strings
// from RFC 6532 header fields (RFC 6855 8: no downgrade, the bytes as
// stored, in literals). Once the client enabled UTF8=ACCEPT or IMAP4rev2
// the ResponseWriter quotes UTF-8 strings (ResponseWriter::
// allow_utf8_quoted).
//
// CONDSTORE (RFC 7162): MODSEQ is a head item like the others. CHANGEDSINCE
// (3.1.4.1) fetches only messages whose modseq is above it and adds MODSEQ.
// With `condstore` (enabled in the session), every response that carries
// FLAGS carries MODSEQ too, and one whose \Seen this FETCH set also carries
// UID (3.2.4); both go right after FLAGS when not asked for.
//
// A message of the view that another session expunged (its EXPUNGE not sent
// yet, RFC 3501 7.4.1) is answered from what the store keeps for the view
// (RFC 2180 4.1.1; docs/storage.md "Body retention"): its last flags (or
// the view's copy after a STORE), \Recent as the view has it, its internal
// date, size, structure and body; a body section is NIL only if the body is
// no longer readable (an expunge log row without values). It never gets
// the implicit \Seen, and CHANGEDSINCE skips it. When the FETCH asked for
// more than FLAGS, UID and MODSEQ of such a message, the tagged response is
// "OK [EXPUNGEISSUED] Some messages were already expunged" (RFC 5530): the
// data is real, but the message is gone. Dovecot answers the same code when
// it has no such data (NIL, zero), and a plain OK for flags alone.
//
// A body being streamed is pinned (store::MailStore::BodyPin) until its
// literal is complete, so nothing another session does (EXPUNGE, DELETE of
// the mailbox) cuts it short. The padding and BYE of close_broken_message()
// remain for a body row that is really missing (corruption).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/command.h"
#include "protocol/output_buffer.h"
#include "server/imap/body_prefetch.h"
#include "server/imap/command_result.h"
#include "store/mail_store.h"
#include "store/message/message.h"
#include "store/message/transfer_decoder.h"

namespace imap::server {

class Session;
class SelectedMailbox;

// What a section-text names (RFC 3501 6.4.5), as the store resolves it
// (store::resolve_section); HEADER.FIELDS[.NOT] is the header, filtered.
store::SectionKind section_kind(SectionSpec::Text text);

// RFC 3501 6.4.5 HEADER.FIELDS / HEADER.FIELDS.NOT: the fields of `header`
// whose names are (not) listed, compared without regard to case, as they
// are in the message (folding kept) and in its order, then the blank line
// that ends a header. A field that is absent adds nothing, so with no match
// the result is the blank line alone, as in Dovecot. (Also CATENATE's URL
// sections, catenate.cpp.)
std::string filter_header(std::string_view header, const std::vector<std::string>& names,
                          bool exclude);

class FetchJob {
  public:
    // Messages asked of the store at a time.
    static constexpr std::size_t kBatchSize = 256;
    // Bytes of a body section read (and appended to the output) at a time.
    static constexpr std::size_t kBodyChunk = 256 * 1024;

    // `uids`: the command's set resolved in the session's view
    // (SelectedMailbox::resolve).
    FetchJob(const FetchCommand& command, const store::UidSet& uids, const SelectedMailbox& view,
             bool condstore = false);

    // One step (a CommandStep): writes responses until the output reaches
    // the high-water mark (nullopt) or every message is done (how the
    // command ends).
    std::optional<CommandResult> step(Session& session);

    // A FETCH of whole messages (BODY.PEEK[], RFC822, ...) of at least this
    // many has their bodies decompressed ahead beside it (BodyPrefetch).
    static constexpr std::uint64_t kPrefetchMinMessages = 8;

    // Never yield: the first step writes every response whole. For NOTIFY's
    // MessageNew FETCH (RFC 5465 5.2), an unsolicited response that must not
    // leave a literal half written while commands run; its size is the new
    // messages' items.
    void write_whole() { write_whole_ = true; }

  private:
    // RFC 3516: BINARY[...] (decoded content) and BINARY.SIZE[...].
    enum class BinaryItem { None, Content, Size };
    // A response item, prepared once for every message.
    struct Item {
        enum class Kind {
            Uid,
            Flags,
            InternalDate,
            Size,
            Envelope,
            Body,
            BodyStructure,
            ModSeq,
            EmailId,   // RFC 8474 5.3
            ThreadId,  // RFC 8474 5.3
            SaveDate,  // RFC 8514 4.2
            Preview,   // RFC 8970 3
            Section,
        };
        Kind kind = Kind::Flags;
        // Section: the name the response gives it ("BODY[1.MIME]<0>",
        // "RFC822.TEXT"), what it covers, and the partial range.
        std::string name;
        std::vector<std::uint32_t> part;
        store::SectionKind section = store::SectionKind::Whole;
        bool fields_not = false;
        std::vector<std::string> fields;
        std::optional<Partial> partial;
        BinaryItem binary = BinaryItem::None;
        // Preview: every PREVIEW asked had LAZY (RFC 8970 4.1: NIL when the
        // preview is not stored yet).
        bool lazy = false;
    };
    // What BINARY[part] decodes: the part's body and its encoding. nullopt:
    // no such part (an empty string, as BODY[]).
    struct BinarySource {
        store::ByteRange range;
        store::TransferEncoding encoding = store::TransferEncoding::Identity;
        // text/*: CRLF line ends (RFC 3516 6).
        store::TransferDecoder::LineEnds line_ends = store::TransferDecoder::LineEnds::AsIs;
    };

    std::optional<CommandResult> run(Session& session);
    // False when there is nothing more to fetch.
    bool load_batch(Session& session);
    void start_message(Session& session, const store::MessageInfo& message);
    // False when it yielded in the middle of the message.
    bool continue_message(Session& session);
    void write_head_item(Session& session, const Item& item);
    // EMAILID, THREADID, PREVIEW of the message being written, read once;
    // computed from its bytes only when `compute` and not stored yet (a
    // body the schema v6 migration left queued).
    const store::MessageObjects& objects(Session& session, bool compute);
    void write_section(Session& session, const Item& item);
    // RFC 3516 4.2: only leaf parts (RFC 9051 6.4.5) with an encoding
    // TransferDecoder knows; anything else is Unknown.
    static std::optional<BinarySource> binary_source(const store::ParsedMessage& structure,
                                                     const Item& item);
    // Every BINARY item can be answered for the message (else
    // [UNKNOWN-CTE]).
    bool binary_decodable(const store::ParsedMessage& structure) const;
    // BINARY.SIZE, or BINARY's literal (literal8 when it holds NUL, RFC 3516
    // 4.3): in memory up to kBodyChunk of encoded bytes; larger parts are
    // decoded once to learn the size, then streamed (continue_binary).
    void write_binary(Session& session, const Item& item);
    // Streams the decoded part chunk by chunk; false when it yielded.
    bool continue_binary(Session& session);
    // After an exception in the middle of a message: completes the literal
    // being sent (padding) and the FETCH response, so the stream stays
    // parseable. Returns true when a literal had to be padded.
    bool close_broken_message(Session& session);
    // The tagged OK, EXPUNGEISSUED when messages went missing.
    CommandResult finish() const;

    // The output reached Session::kOutputHighWater: yield (unless
    // write_whole(), or inside a message while reading beside the strand).
    bool full(const OutputBuffer& out) const;
    // Beside the strand (UserMail::reading_beside) a message is written
    // whole, with no body pin: its body stays readable in the reader's
    // snapshot until the response ends, and nothing may be left half sent
    // for the strand, where the writer holds no pin for it. So a message
    // starts there only when all its body items together are at most
    // kBodyChunk; a bigger one is left to the strand (the step yields).
    bool fits_beside(const store::MessageInfo& message) const;
    // BODY[] / RFC822 of the message itself (partial or not): its range
    // needs no structure.
    static bool is_whole_message(const Item& item);
    // Queues the containers of the batch's messages after the one starting
    // now, up to BodyPrefetch::kAheadBytes ahead (beside the strand).
    void feed_prefetch(Session& session);
    // Bytes [begin, begin + size) of the message being written, from the
    // prefetch when it holds its body, else from the store.
    std::string read_small_section(store::MailStore& store, std::uint64_t begin,
                                   std::uint64_t size);
    bool prefetches_ = false;                 // whole messages only, kPrefetchMinMessages or more
    std::unique_ptr<BodyPrefetch> prefetch_;  // made by the first feed_prefetch()
    std::size_t feed_pos_ = 0;                // the batch's next message to queue
    bool write_whole_ = false;
    bool beside_ = false;  // this step runs on a reader beside the strand
    bool uid_command_ = false;
    std::vector<Item> head_items_;  // non-body items, in response order
    std::vector<Item> body_items_;  // body sections, in response order
    bool asks_binary_ = false;      // a BINARY or BINARY.SIZE item
    bool unknown_cte_ = false;      // a BINARY part could not be decoded
    bool sets_seen_ = false;        // a non-PEEK section, RFC822 or RFC822.TEXT
    bool needs_structure_ = false;
    bool asks_flags_ = false;
    bool condstore_ = false;
    bool asks_uid_ = false;
    bool asks_modseq_ = false;
    bool asks_content_ = false;    // an item other than FLAGS, UID and MODSEQ
    bool expunge_issued_ = false;  // content of an expunged message was asked
    std::optional<std::uint64_t> changed_since_;

    store::UidSet uids_;          // normalized
    std::uint64_t next_uid_ = 1;  // the next batch starts here
    bool exhausted_ = false;
    std::vector<store::MessageInfo> batch_;
    std::size_t batch_pos_ = 0;
    std::vector<std::uint32_t> seen_set_;  // UIDs of the batch this FETCH set \Seen on

    std::size_t expected_ = 0;   // messages of the view in the set
    std::size_t delivered_ = 0;  // FETCH responses started

    // The message being written.
    bool in_message_ = false;
    store::MessageInfo message_;
    std::optional<store::ParsedMessage> structure_;
    std::optional<store::MessageObjects> objects_;
    bool body_readable_ = true;  // false: body sections are NIL
    store::MailStore::BodyPin body_pin_;
    std::size_t body_pos_ = 0;   // next body item
    bool item_written_ = false;  // the next item needs a space before it
    // The literal being streamed: body bytes [literal_pos_, literal_end_).
    bool in_literal_ = false;
    std::uint64_t literal_pos_ = 0;
    std::uint64_t literal_end_ = 0;
    // A BINARY literal being streamed: encoded bytes [literal_pos_,
    // literal_end_) through decoder_, the first binary_skip_ decoded bytes
    // dropped (the partial's origin), binary_left_ still to send.
    bool binary_ = false;
    std::optional<store::TransferDecoder> decoder_;  // the item's BinarySource's
    std::uint64_t binary_skip_ = 0;
    std::uint64_t binary_left_ = 0;
};

}  // namespace imap::server
