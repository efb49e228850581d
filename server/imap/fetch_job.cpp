// FETCH and UID FETCH, resumable (see fetch_job.h).
#include "server/imap/fetch_job.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>
#include <utility>

#include "protocol/chars.h"
#include "protocol/datetime.h"
#include "server/imap/fetch_format.h"
#include "server/imap/session.h"
#include "store/body_codec.h"
#include "store/errors.h"

namespace imap::server {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) ==
                      std::toupper(static_cast<unsigned char>(y));
           });
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

// A header-fld-name (astring) inside the response's section text: an atom
// when it can be one, else a quoted string, else a literal (all valid per
// the section grammar). Dovecot upper-cases the names, which the caller has
// done.
void append_field_name(std::string& out, std::string_view name) {
    const bool atom =
        !name.empty() && !iequals(name, "NIL") && std::all_of(name.begin(), name.end(), [](char c) {
            return imap::is_atom_char(c);  // ATOM-CHAR less "]" (protocol/chars.h)
        });
    if (atom) {
        out += name;
        return;
    }
    const bool quotable = std::all_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u != 0 && u < 0x80 && u != '\r' && u != '\n';
    });
    if (quotable) {
        out += '"';
        for (char c : name) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
        return;
    }
    out += '{' + std::to_string(name.size()) + "}\r\n";
    out += name;
}

// section = "[" [section-spec] "]" as RFC 3501 7.4.2 shows it back:
// "BODY[1.2.HEADER.FIELDS (DATE FROM)]".
std::string section_name(const SectionSpec& spec) {
    std::string out = "BODY[";
    for (std::size_t i = 0; i < spec.part.size(); ++i) {
        if (i > 0) out += '.';
        out += std::to_string(spec.part[i]);
    }
    std::string_view text;
    switch (spec.text) {
        case SectionSpec::Text::None:
            break;
        case SectionSpec::Text::Header:
            text = "HEADER";
            break;
        case SectionSpec::Text::HeaderFields:
            text = "HEADER.FIELDS";
            break;
        case SectionSpec::Text::HeaderFieldsNot:
            text = "HEADER.FIELDS.NOT";
            break;
        case SectionSpec::Text::Text:
            text = "TEXT";
            break;
        case SectionSpec::Text::Mime:
            text = "MIME";
            break;
    }
    if (!text.empty()) {
        if (!spec.part.empty()) out += '.';
        out += text;
    }
    if (spec.text == SectionSpec::Text::HeaderFields ||
        spec.text == SectionSpec::Text::HeaderFieldsNot) {
        out += " (";
        for (std::size_t i = 0; i < spec.fields.size(); ++i) {
            if (i > 0) out += ' ';
            append_field_name(out, upper(spec.fields[i]));
        }
        out += ')';
    }
    out += ']';
    return out;
}

// INTERNALDATE as Dovecot writes it: "02-Jan-2024 10:11:12 -0730", the day
// with a leading zero (date-day-fixed allows both forms, RFC 3501 9).
std::string date_time(std::int64_t unix_seconds, int zone_minutes) {
    std::string text = format_date_time(DateTime::from_unix(unix_seconds, zone_minutes));
    if (!text.empty() && text[0] == ' ') text[0] = '0';
    return text;
}

std::string internal_date(const store::MessageInfo& message) {
    return date_time(message.internal_date, message.zone_minutes);
}

bool is_not_found(const std::exception& error) {
    const auto* store_error = dynamic_cast<const store::StoreError*>(&error);
    return store_error != nullptr && store_error->code() == store::StoreErrc::NotFound;
}

// Thrown when a body read comes back shorter than the range it was asked
// for: the body is no longer the one the metadata described.
store::StoreError body_gone() {
    return store::StoreError(store::StoreErrc::NotFound, "message body does not exist");
}

}  // namespace

store::SectionKind section_kind(SectionSpec::Text text) {
    switch (text) {
        case SectionSpec::Text::None:
            return store::SectionKind::Whole;
        case SectionSpec::Text::Header:
            return store::SectionKind::Header;
        case SectionSpec::Text::HeaderFields:
        case SectionSpec::Text::HeaderFieldsNot:
            return store::SectionKind::HeaderFields;
        case SectionSpec::Text::Text:
            return store::SectionKind::Text;
        case SectionSpec::Text::Mime:
            return store::SectionKind::Mime;
    }
    return store::SectionKind::Whole;
}

std::string filter_header(std::string_view header, const std::vector<std::string>& names,
                          bool exclude) {
    std::string out;
    for (const store::HeaderField& field :
         store::parse_header_fields(header, store::ByteRange{0, header.size()})) {
        const bool listed = std::any_of(names.begin(), names.end(), [&](const std::string& n) {
            return iequals(field.name, n);
        });
        if (listed == exclude) continue;
        const std::string_view bytes = header.substr(field.range.begin, field.range.size());
        out += bytes;
        // The last field of a header that ends the message without a line end.
        if (!bytes.ends_with('\n')) out += "\r\n";
    }
    out += "\r\n";
    return out;
}

FetchJob::FetchJob(const FetchCommand& command, const store::UidSet& uids,
                   const SelectedMailbox& view, bool condstore)
    : uid_command_(command.uid),
      condstore_(condstore),
      changed_since_(command.changed_since),
      uids_(store::normalize(uids)) {
    if (!uids_.empty()) next_uid_ = uids_.front().first;
    const ViewUids& in_view = view.uids();
    for (const store::UidRange& range : uids_) {
        expected_ += in_view.count_between(range.first, range.last);
    }
    const auto add_head = [this](Item::Kind kind) {
        for (const Item& item : head_items_) {
            if (item.kind == kind) return;
        }
        Item item;
        item.kind = kind;
        head_items_.push_back(std::move(item));
    };
    // RFC 3501 6.4.8: UID FETCH responses always carry the UID.
    if (uid_command_) add_head(Item::Kind::Uid);
    for (const FetchItem& requested : command.items) {
        Item item;
        item.kind = Item::Kind::Section;
        switch (requested.kind) {
            case FetchItem::Kind::Envelope:
                needs_structure_ = true;
                add_head(Item::Kind::Envelope);
                continue;
            case FetchItem::Kind::Flags:
                asks_flags_ = true;
                add_head(Item::Kind::Flags);
                continue;
            case FetchItem::Kind::InternalDate:
                add_head(Item::Kind::InternalDate);
                continue;
            case FetchItem::Kind::Rfc822Size:
                add_head(Item::Kind::Size);
                continue;
            case FetchItem::Kind::Body:
                needs_structure_ = true;
                add_head(Item::Kind::Body);
                continue;
            case FetchItem::Kind::BodyStructure:
                needs_structure_ = true;
                add_head(Item::Kind::BodyStructure);
                continue;
            case FetchItem::Kind::Uid:
                add_head(Item::Kind::Uid);
                continue;
            case FetchItem::Kind::ModSeq:
                add_head(Item::Kind::ModSeq);
                continue;
            case FetchItem::Kind::EmailId:
                add_head(Item::Kind::EmailId);
                continue;
            case FetchItem::Kind::ThreadId:
                add_head(Item::Kind::ThreadId);
                continue;
            case FetchItem::Kind::SaveDate:
                add_head(Item::Kind::SaveDate);
                continue;
            case FetchItem::Kind::Preview: {
                // PREVIEW asked twice answers once; LAZY only if every one
                // said so (a plain PREVIEW must never be NIL, RFC 8970 3.2).
                const bool first =
                    std::none_of(head_items_.begin(), head_items_.end(),
                                 [](const Item& head) { return head.kind == Item::Kind::Preview; });
                add_head(Item::Kind::Preview);
                for (Item& head : head_items_) {
                    if (head.kind == Item::Kind::Preview) {
                        head.lazy = first ? requested.lazy : head.lazy && requested.lazy;
                    }
                }
                continue;
            }
            case FetchItem::Kind::BinarySection:
            case FetchItem::Kind::BinarySize: {
                // RFC 3516 4.3: "BINARY[1.2]<0>", "BINARY.SIZE[1.2]".
                const bool size = requested.kind == FetchItem::Kind::BinarySize;
                item.binary = size ? BinaryItem::Size : BinaryItem::Content;
                asks_binary_ = true;
                item.part = requested.section.part;
                item.name = size ? "BINARY.SIZE[" : "BINARY[";
                for (std::size_t i = 0; i < item.part.size(); ++i) {
                    if (i > 0) item.name += '.';
                    item.name += std::to_string(item.part[i]);
                }
                item.name += ']';
                item.partial = requested.partial;
                if (item.partial) item.name += '<' + std::to_string(item.partial->offset) + '>';
                // RFC 3516 4.2: BINARY sets \Seen as BODY does.
                if (!size && !requested.peek) sets_seen_ = true;
                break;
            }
            case FetchItem::Kind::Rfc822:
                // = BODY[] (RFC 3501 6.4.5), named RFC822 in the response.
                item.name = "RFC822";
                item.section = store::SectionKind::Whole;
                sets_seen_ = true;
                break;
            case FetchItem::Kind::Rfc822Header:
                // = BODY.PEEK[HEADER]
                item.name = "RFC822.HEADER";
                item.section = store::SectionKind::Header;
                break;
            case FetchItem::Kind::Rfc822Text:
                // = BODY[TEXT]
                item.name = "RFC822.TEXT";
                item.section = store::SectionKind::Text;
                sets_seen_ = true;
                break;
            case FetchItem::Kind::BodySection: {
                const SectionSpec& spec = requested.section;
                item.name = section_name(spec);
                item.part = spec.part;
                item.section = section_kind(spec.text);
                item.fields_not = spec.text == SectionSpec::Text::HeaderFieldsNot;
                item.fields = spec.fields;
                item.partial = requested.partial;
                // RFC 3501 7.4.2: "<" origin ">", the length left out.
                if (item.partial) item.name += '<' + std::to_string(item.partial->offset) + '>';
                if (!requested.peek) sets_seen_ = true;
                break;
            }
        }
        body_items_.push_back(std::move(item));
    }
    // RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ; 3.1: once CONDSTORE is
    // on, flags go with their modseq.
    if (changed_since_ || (condstore_ && asks_flags_)) add_head(Item::Kind::ModSeq);
    for (const Item& item : head_items_) {
        if (item.kind == Item::Kind::Uid) asks_uid_ = true;
        if (item.kind == Item::Kind::ModSeq) asks_modseq_ = true;
        if (item.kind != Item::Kind::Uid && item.kind != Item::Kind::ModSeq &&
            item.kind != Item::Kind::Flags) {
            asks_content_ = true;
        }
    }
    if (!body_items_.empty()) asks_content_ = true;
    // A section's byte range comes from the message's structure, except the
    // whole message's: [0, RFC822.SIZE), from the message row. So the usual
    // download (BODY.PEEK[], BODY[], RFC822, partial or not) decodes no
    // structure for a live message; decoding it cost a tenth of a FETCH
    // 1:1000 BODY.PEEK[] (docs/benchmarks.md).
    for (const Item& item : body_items_) {
        if (!is_whole_message(item)) needs_structure_ = true;
    }
    // Whole messages, and enough of them: decompressed ahead (BodyPrefetch).
    std::uint64_t in_set = 0;
    for (const store::UidRange& range : uids_)
        in_set += range.last - range.first + 1ull;
    prefetches_ = !body_items_.empty() && !needs_structure_ && !asks_binary_ &&
                  in_set >= kPrefetchMinMessages;
}

void FetchJob::feed_prefetch(Session& session) {
    if (!prefetch_) {
        if (!session.context().side_job) {
            prefetches_ = false;  // one thread: nobody to decompress ahead
            return;
        }
        prefetch_ = std::make_unique<BodyPrefetch>(session.context().side_job);
    }
    store::MailStore& store = session.mail()->store();
    // From the message after the one starting now: that one is needed at
    // once, so it is read here as before.
    feed_pos_ = std::max(feed_pos_, batch_pos_ + 1);
    // Topped up in bursts, from half of kAheadBytes: one helper job takes a
    // burst, where one body at a time cost a wake-up of a worker each.
    if (prefetch_->ahead() >= BodyPrefetch::kAheadBytes / 2) return;
    while (feed_pos_ < batch_.size() && prefetch_->ahead() < BodyPrefetch::kAheadBytes) {
        const store::MessageInfo& message = batch_[feed_pos_];
        // A bigger message is read chunk by chunk (and beside the strand
        // ends the step: the strand goes on from it).
        if (beside_ && !fits_beside(message)) return;
        ++feed_pos_;
        if (!fits_beside(message)) continue;
        if (message.expunged || !message.body_id || message.size == 0) continue;
        if (auto container = store.read_small_container(message.body_id)) {
            prefetch_->add(message.body_id, message.size, std::move(*container));
        }
    }
}

std::string FetchJob::read_small_section(store::MailStore& store, std::uint64_t begin,
                                         std::uint64_t size) {
    if (prefetch_) {
        if (auto taken = prefetch_->take(message_.body_id)) {
            if (taken->body) {
                std::string& body = *taken->body;
                if (begin == 0 && size >= body.size()) return std::move(body);  // the usual case
                if (begin >= body.size()) return {};
                return body.substr(static_cast<std::size_t>(begin), static_cast<std::size_t>(size));
            }
            if (taken->container)
                return store::read_container_range(*taken->container, begin, size);
        }
    }
    return store.read_body(message_.body_id, begin, size);
}

bool FetchJob::is_whole_message(const Item& item) {
    return item.binary == BinaryItem::None && item.part.empty() &&
           item.section == store::SectionKind::Whole;
}

bool FetchJob::full(const OutputBuffer& out) const {
    return !write_whole_ && !(beside_ && in_message_) && out.size() >= Session::kOutputHighWater;
}

bool FetchJob::fits_beside(const store::MessageInfo& message) const {
    if (body_items_.empty()) return true;
    // Every body item beside the strand is a section of the message or its
    // header (reads_beside_strand), so none is longer than the message.
    return message.size * body_items_.size() <= kBodyChunk;
}

std::optional<CommandResult> FetchJob::step(Session& session) {
    beside_ = session.mail()->reading_beside();
    for (;;) {
        try {
            return run(session);
        } catch (const std::exception& error) {
            if (!in_message_) throw;
            if (close_broken_message(session)) {
                // Bytes that are not the message went out in a literal whose
                // size was already announced: the client cannot trust this
                // response, so the connection ends, as Dovecot disconnects a
                // FETCH whose body stream fails.
                session.writer().bye("FETCH failed: the message went away while being sent");
                return CommandResult::disconnect();
            }
            if (!is_not_found(error)) throw;
            // Expunged by another session between two steps, after some of
            // its items went out: the response is closed with those, and
            // the message counts as not delivered (EXPUNGEISSUED).
            --delivered_;
        }
    }
}

std::optional<CommandResult> FetchJob::run(Session& session) {
    for (;;) {
        if (in_message_) {
            if (!continue_message(session)) return std::nullopt;
            continue;
        }
        if (full(session.output())) return std::nullopt;
        if (batch_pos_ == batch_.size()) {
            if (!load_batch(session)) return finish();
            continue;
        }
        if (beside_ && !fits_beside(batch_[batch_pos_])) return std::nullopt;  // the strand's
        if (prefetches_) feed_prefetch(session);
        start_message(session, batch_[batch_pos_++]);
    }
}

bool FetchJob::load_batch(Session& session) {
    batch_.clear();
    batch_pos_ = 0;
    feed_pos_ = 0;
    if (prefetch_) prefetch_->clear();
    seen_set_.clear();
    if (exhausted_) return false;
    store::UidSet rest;
    for (const store::UidRange& range : uids_) {
        if (range.last < next_uid_) continue;
        rest.push_back({static_cast<std::uint32_t>(std::max<std::uint64_t>(range.first, next_uid_)),
                        range.last});
    }
    if (rest.empty()) {
        exhausted_ = true;
        return false;
    }
    SelectedMailbox& selected = *session.selected();
    store::MailStore& store = session.mail()->store();
    store::FetchOptions options;
    options.limit = kBatchSize;
    if (changed_since_) {
        options.changed_since = *changed_since_;
    } else {
        // The view's messages another session expunged (RFC 2180 4.1.1).
        options.expunged_after = selected.expunge_modseq();
    }
    batch_ = store.fetch(selected.id(), store::UidSpan(rest), options);
    if (batch_.empty()) {
        exhausted_ = true;
        return false;
    }
    next_uid_ = batch_.back().uid + 1ull;
    if (batch_.size() < kBatchSize) exhausted_ = true;

    // RFC 3501 6.4.5: BODY[...] (not PEEK), RFC822 and RFC822.TEXT set \Seen,
    // never in a mailbox selected with EXAMINE (6.3.2). One transaction for
    // the batch.
    if (sets_seen_ && !selected.read_only()) {
        // RFC 3516 4.3: the FETCH fails at a message BINARY cannot decode
        // (start_message); it and those after it are not read, so not seen.
        std::uint64_t failing_uid = std::numeric_limits<std::uint64_t>::max();
        for (const store::MessageInfo& message : batch_) {
            if (!asks_binary_) break;
            if (message.expunged || !selected.sequence_of(message.uid)) continue;
            try {
                if (!binary_decodable(store.structure(message.body_id))) {
                    failing_uid = message.uid;
                    break;
                }
            } catch (const store::StoreError& error) {
                if (error.code() != store::StoreErrc::NotFound) throw;
            }
        }
        store::UidSet unseen;
        for (const store::MessageInfo& message : batch_) {
            if (message.uid >= failing_uid) break;
            if ((message.flags & store::flag::kSeen) != 0) continue;
            if (message.expunged || !selected.sequence_of(message.uid)) continue;
            if (!unseen.empty() && unseen.back().last + 1ull == message.uid) {
                unseen.back().last = message.uid;
            } else {
                unseen.push_back({message.uid, message.uid});
            }
        }
        if (!unseen.empty()) {
            store::Flags seen;
            seen.system = store::flag::kSeen;
            const store::StoreFlagsResult result =
                store.store_flags(selected.id(), store::UidSpan(unseen), store::FlagOp::Add, seen);
            seen_set_ = result.changed;
            for (std::uint32_t uid : result.changed) {
                // This FETCH reports the change itself: the sync at its end
                // must not send it again.
                selected.flags_reported(uid, result.modseq);
            }
            for (store::MessageInfo& message : batch_) {
                if (std::binary_search(seen_set_.begin(), seen_set_.end(), message.uid)) {
                    message.flags |= store::flag::kSeen;
                    message.modseq = result.modseq;
                }
            }
        }
    }
    return true;
}

void FetchJob::start_message(Session& session, const store::MessageInfo& message) {
    SelectedMailbox& selected = *session.selected();
    // Only messages of the client's view (RFC 3501 2.3.1.2).
    const std::optional<std::uint32_t> sequence = selected.sequence_of(message.uid);
    if (!sequence) return;
    store::MailStore& store = session.mail()->store();
    structure_.reset();
    body_readable_ = !message.expunged || static_cast<bool>(message.body_id);
    // An expunged message's body may be gone (RFC 2180 4.1.3: its sections
    // are then NIL): reading the structure finds out before the response
    // starts. A live message's body is there (a view's messages are pinned).
    const bool read_structure = needs_structure_ || (message.expunged && !body_items_.empty());
    if (read_structure && body_readable_) {
        try {
            structure_ = store.structure(message.body_id);
        } catch (const store::StoreError& error) {
            if (error.code() != store::StoreErrc::NotFound) throw;
            // A live message's body is missing: the database is damaged
            // (expunged bodies are pinned). Not delivered.
            if (!message.expunged) return;
            body_readable_ = false;
        }
    }
    if (read_structure && !body_readable_) {
        // What the view still knows without the body: nothing; an empty
        // message's ENVELOPE and BODYSTRUCTURE keep the response valid.
        structure_ = store::parse_message("");
    }
    // RFC 3516 4.2: a part BINARY cannot decode fails the FETCH with NO
    // [UNKNOWN-CTE], before this message's response starts.
    if (body_readable_ && asks_binary_ && !binary_decodable(*structure_)) {
        unknown_cte_ = true;
        exhausted_ = true;
        batch_pos_ = batch_.size();
        return;
    }
    message_ = message;
    objects_.reset();
    if (message.expunged) {
        selected.view_flags(message_);
        if (asks_content_) expunge_issued_ = true;
    }
    if (body_readable_ && !body_items_.empty() && !beside_) {
        body_pin_ = store.pin_body(message.body_id);
    }
    in_message_ = true;
    in_literal_ = false;
    body_pos_ = 0;
    ++delivered_;

    ResponseWriter& w = session.writer();
    w.fetch_begin(*sequence);
    bool first = true;
    const auto add = [&](Item::Kind kind) {
        if (!first) w.sp();
        first = false;
        Item item;
        item.kind = kind;
        write_head_item(session, item);
    };
    const bool seen_now =
        !message.expunged && std::binary_search(seen_set_.begin(), seen_set_.end(), message.uid);
    // RFC 7162 3.2.4: a response whose \Seen this FETCH set carries UID and
    // MODSEQ once CONDSTORE is on.
    if (seen_now && condstore_ && !asks_uid_) add(Item::Kind::Uid);
    for (const Item& item : head_items_) {
        if (!first) w.sp();
        first = false;
        write_head_item(session, item);
    }
    if (seen_now && !asks_flags_) {
        // RFC 3501 6.4.5: the flags changed, so they are included.
        add(Item::Kind::Flags);
        if (condstore_ && !asks_modseq_) add(Item::Kind::ModSeq);
    }
    // With CONDSTORE, FLAGS and MODSEQ sent here need not be repeated by
    // the sync at the end of the command (only changes it would report are
    // noted, so the list stays short).
    if (condstore_ && (asks_flags_ || seen_now) && message.modseq > selected.highestmodseq()) {
        selected.flags_reported(message.uid, message_.modseq);
    }
    item_written_ = !first;
}

void FetchJob::write_head_item(Session& session, const Item& item) {
    ResponseWriter& w = session.writer();
    switch (item.kind) {
        case Item::Kind::Uid:
            w.atom("UID").sp().number(message_.uid);
            break;
        case Item::Kind::Flags:
            w.atom("FLAGS").sp().flag_list(flag_names(
                message_.flags, session.selected()->is_recent(message_.uid), message_.keywords));
            break;
        case Item::Kind::InternalDate:
            w.atom("INTERNALDATE").sp().string(internal_date(message_));
            break;
        case Item::Kind::Size:
            w.atom("RFC822.SIZE").sp().number(message_.size);
            break;
        case Item::Kind::Envelope:
            w.atom("ENVELOPE").sp();
            write_envelope(w, structure_->envelope);
            break;
        case Item::Kind::Body:
            w.atom("BODY").sp();
            write_body(w, structure_->root, false);
            break;
        case Item::Kind::BodyStructure:
            w.atom("BODYSTRUCTURE").sp();
            write_body(w, structure_->root, true);
            break;
        case Item::Kind::ModSeq:
            // RFC 7162 3.1.4.2: "MODSEQ" SP "(" permsg-modsequence ")"
            w.atom("MODSEQ").sp().open().number(message_.modseq).close();
            break;
        case Item::Kind::EmailId:
            // fetch-emailid-resp = "EMAILID" SP "(" objectid ")" (RFC 8474 7)
            w.atom("EMAILID").sp().open().atom(objects(session, false).email_id).close();
            break;
        case Item::Kind::ThreadId:
            w.atom("THREADID").sp().open().atom(*objects(session, true).thread_id).close();
            break;
        case Item::Kind::SaveDate:
            // RFC 8514 4.2: a date-time, written in UTC (the save date is
            // the server's clock; store::MessageInfo::save_date).
            w.atom("SAVEDATE").sp().string(date_time(message_.save_date, 0));
            break;
        case Item::Kind::Preview:
            // msg-att-dynamic =/ "PREVIEW" SP nstring (RFC 8970 6)
            w.atom("PREVIEW").sp();
            if (const auto& preview = objects(session, !item.lazy).preview) {
                w.string(*preview);
            } else {
                w.nil();
            }
            break;
        case Item::Kind::Section:
            break;
    }
}

const store::MessageObjects& FetchJob::objects(Session& session, bool compute) {
    // EMAILID alone and PREVIEW (LAZY) read what is stored: a FETCH of
    // EMAILID over a mailbox the backfill has not reached parses nothing.
    // Read again, computing, when a later item of the response needs more.
    if (!objects_ || (compute && (!objects_->thread_id || !objects_->preview))) {
        if (!body_readable_) {
            // An expunged message whose body the store no longer keeps
            // (never one a view still shows: those are pinned). Nothing is
            // known about its content.
            objects_ = store::MessageObjects{"M0", "T0", std::string()};
        } else {
            objects_ = session.mail()->store().objects(message_.body_id, !compute);
        }
    }
    return *objects_;
}

bool FetchJob::continue_message(Session& session) {
    OutputBuffer& out = session.output();
    store::MailStore& store = session.mail()->store();
    for (;;) {
        if (in_literal_) {
            if (binary_) {
                if (!continue_binary(session)) return false;
                in_literal_ = false;
                ++body_pos_;
                continue;
            }
            while (literal_pos_ < literal_end_) {
                if (full(out)) return false;
                const std::uint64_t length =
                    std::min<std::uint64_t>(literal_end_ - literal_pos_, kBodyChunk);
                std::string chunk = store.read_body(message_.body_id, literal_pos_, length);
                if (chunk.size() != length) throw body_gone();
                literal_pos_ += length;
                out.append(std::move(chunk));
            }
            in_literal_ = false;
            ++body_pos_;
        }
        if (body_pos_ == body_items_.size()) {
            session.writer().fetch_end();
            in_message_ = false;
            structure_.reset();
            body_pin_ = {};
            return true;
        }
        if (full(out)) return false;
        write_section(session, body_items_[body_pos_]);
    }
}

void FetchJob::write_section(Session& session, const Item& item) {
    store::MailStore& store = session.mail()->store();
    ResponseWriter& w = session.writer();
    const store::BodyId body_id = message_.body_id;
    // A section that does not exist (a part number past the last part,
    // HEADER of a part that is not a message/rfc822, MIME of the message) is
    // an empty string, as in Dovecot.
    const std::optional<store::ByteRange> range =
        structure_ ? store::resolve_section(*structure_, item.part, item.section)
                   : std::optional<store::ByteRange>(store::ByteRange{0, message_.size});
    const auto begin_item = [&] {
        if (item_written_) w.sp();
        item_written_ = true;
        w.raw(item.name).sp();
    };
    if (!body_readable_) {
        // RFC 2180 4.1.3: NIL for what an expunged message no longer has.
        begin_item();
        if (item.binary == BinaryItem::Size) {
            w.number(0);
        } else {
            w.nil();
        }
        ++body_pos_;
        return;
    }
    if (item.binary != BinaryItem::None) {
        begin_item();
        write_binary(session, item);
        return;
    }

    if (item.section == store::SectionKind::HeaderFields) {
        std::string text;
        if (range) {
            std::string header = store.read_body(body_id, range->begin, range->size());
            if (header.size() != range->size()) throw body_gone();
            text = filter_header(header, item.fields, item.fields_not);
        }
        if (item.partial) {
            const std::size_t offset = std::min<std::size_t>(item.partial->offset, text.size());
            text = text.substr(offset, item.partial->length);
        }
        begin_item();
        w.literal(std::move(text));
        ++body_pos_;
        return;
    }

    std::uint64_t begin = range ? range->begin : 0;
    std::uint64_t end = range ? range->end : 0;
    if (item.partial) {
        // RFC 3501 6.4.5: the octets from the origin on, at most the length
        // asked; an origin past the end gives the empty string.
        const std::uint64_t offset = std::min<std::uint64_t>(item.partial->offset, end - begin);
        const std::uint64_t length =
            std::min<std::uint64_t>(item.partial->length, end - begin - offset);
        begin += offset;
        end = begin + length;
    }
    const std::uint64_t size = end - begin;
    if (size <= kBodyChunk) {
        std::string bytes = size == 0 ? std::string() : read_small_section(store, begin, size);
        if (bytes.size() != size) throw body_gone();
        begin_item();
        w.literal(std::move(bytes));
        ++body_pos_;
        return;
    }
    // Larger than a chunk: "{n}\r\n" and the first chunk now, the rest by
    // continue_message(), one chunk at a time. The first chunk is read
    // before anything is written, so a body that is gone leaves no trace.
    std::string chunk = store.read_body(body_id, begin, kBodyChunk);
    if (chunk.size() != kBodyChunk) throw body_gone();
    begin_item();
    w.raw("{" + std::to_string(size) + "}\r\n");
    session.output().append(std::move(chunk));
    in_literal_ = true;
    literal_pos_ = begin + kBodyChunk;
    literal_end_ = end;
}

std::optional<FetchJob::BinarySource> FetchJob::binary_source(const store::ParsedMessage& structure,
                                                              const Item& item) {
    BinarySource source;
    source.encoding = store::TransferEncoding::Unknown;
    // The message itself is not a body part (RFC 9051 6.4.5: leaf parts only).
    if (item.part.empty()) return source;
    const store::MimePart* part = store::find_part(structure, item.part);
    if (part == nullptr) return std::nullopt;
    if (part->is_multipart() || part->is_message()) return source;
    source.range = part->body;
    source.encoding = store::transfer_encoding(part->encoding);
    if (part->is_text()) source.line_ends = store::TransferDecoder::LineEnds::Crlf;
    return source;
}

bool FetchJob::binary_decodable(const store::ParsedMessage& structure) const {
    if (!asks_binary_) return true;
    for (const Item& item : body_items_) {
        if (item.binary == BinaryItem::None) continue;
        const std::optional<BinarySource> source = binary_source(structure, item);
        if (source && source->encoding == store::TransferEncoding::Unknown) return false;
    }
    return true;
}

void FetchJob::write_binary(Session& session, const Item& item) {
    store::MailStore& store = session.mail()->store();
    ResponseWriter& w = session.writer();
    const std::optional<BinarySource> source = binary_source(*structure_, item);
    ++body_pos_;
    if (!source) {
        // No such part: empty, as BODY[] answers it (and Dovecot BINARY).
        if (item.binary == BinaryItem::Size) {
            w.number(0);
        } else {
            w.literal(std::string());
        }
        return;
    }
    const store::ByteRange range = source->range;
    const std::uint64_t offset = item.partial ? item.partial->offset : 0;
    const std::uint64_t length =
        item.partial ? item.partial->length : std::numeric_limits<std::uint64_t>::max();
    if (item.binary == BinaryItem::Size && source->encoding == store::TransferEncoding::Identity &&
        source->line_ends == store::TransferDecoder::LineEnds::AsIs) {
        w.number(range.size());
        return;
    }
    if (range.size() <= kBodyChunk) {
        std::string raw = range.size() == 0
                              ? std::string()
                              : store.read_body(message_.body_id, range.begin, range.size());
        if (raw.size() != range.size()) throw body_gone();
        std::string decoded;
        store::TransferDecoder decoder(source->encoding, source->line_ends);
        decoder.decode(raw, decoded);
        decoder.finish(decoded);
        if (item.binary == BinaryItem::Size) {
            w.number(decoded.size());
            return;
        }
        // RFC 3501 6.4.5 partial semantics on the decoded data (RFC 3516 4.2).
        decoded.erase(0, std::min<std::uint64_t>(offset, decoded.size()));
        if (decoded.size() > length) decoded.resize(length);
        if (decoded.find('\0') != std::string::npos) {
            w.literal8(std::move(decoded));
        } else {
            w.literal(std::move(decoded));
        }
        return;
    }
    // Larger than a chunk: one decoding pass for the size (and whether the
    // returned window holds NUL), then the literal streamed by a second.
    constexpr std::uint64_t kUnbounded = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t size = 0;
    bool nul = false;
    store::TransferDecoder measure(source->encoding, source->line_ends);
    for (std::uint64_t at = range.begin; at < range.end; at += kBodyChunk) {
        const std::uint64_t n = std::min<std::uint64_t>(kBodyChunk, range.end - at);
        const std::string raw = store.read_body(message_.body_id, at, n);
        if (raw.size() != n) throw body_gone();
        std::string decoded;
        measure.decode(raw, decoded);
        if (at + n == range.end) measure.finish(decoded);
        // The part of this piece inside [offset, offset + length).
        const std::uint64_t from = std::max(size, offset);
        const std::uint64_t to = std::min(
            size + decoded.size(), length > kUnbounded - offset ? kUnbounded : offset + length);
        if (!nul && from < to &&
            std::memchr(decoded.data() + (from - size), '\0', to - from) != nullptr) {
            nul = true;
        }
        size += decoded.size();
    }
    if (item.binary == BinaryItem::Size) {
        w.number(size);
        return;
    }
    const std::uint64_t begin = std::min(offset, size);
    const std::uint64_t count = std::min(length, size - begin);
    w.raw((nul ? "~{" : "{") + std::to_string(count) + "}\r\n");
    if (count == 0) return;
    --body_pos_;  // the item ends when continue_binary() is done
    in_literal_ = true;
    binary_ = true;
    decoder_.emplace(source->encoding, source->line_ends);
    literal_pos_ = range.begin;
    literal_end_ = range.end;
    binary_skip_ = begin;
    binary_left_ = count;
}

bool FetchJob::continue_binary(Session& session) {
    OutputBuffer& out = session.output();
    store::MailStore& store = session.mail()->store();
    while (binary_left_ > 0) {
        if (full(out)) return false;
        // Shorter than the first pass found: the body is not the one measured.
        if (literal_pos_ >= literal_end_) throw body_gone();
        const std::uint64_t n = std::min<std::uint64_t>(kBodyChunk, literal_end_ - literal_pos_);
        const std::string raw = store.read_body(message_.body_id, literal_pos_, n);
        if (raw.size() != n) throw body_gone();
        literal_pos_ += n;
        std::string decoded;
        decoder_->decode(raw, decoded);
        if (literal_pos_ == literal_end_) decoder_->finish(decoded);
        if (binary_skip_ >= decoded.size()) {
            binary_skip_ -= decoded.size();
            continue;
        }
        decoded.erase(0, binary_skip_);
        binary_skip_ = 0;
        if (decoded.size() > binary_left_) decoded.resize(binary_left_);
        binary_left_ -= decoded.size();
        out.append(std::move(decoded));
    }
    binary_ = false;
    decoder_.reset();
    return true;
}

bool FetchJob::close_broken_message(Session& session) {
    bool padded = false;
    if (in_literal_ && (binary_ ? binary_left_ > 0 : literal_pos_ < literal_end_)) {
        // The announced size must be met; spaces stand in for what is missing.
        std::uint64_t left = binary_ ? binary_left_ : literal_end_ - literal_pos_;
        while (left > 0) {
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(left, kBodyChunk));
            session.output().append(std::string(n, ' '));
            left -= n;
        }
        padded = true;
    }
    in_literal_ = false;
    binary_ = false;
    decoder_.reset();
    if (!item_written_) {
        // The failure came before any item (a body section's first read):
        // msg-att holds at least one (RFC 3501 9), and UID is always true.
        session.writer().atom("UID").sp().number(message_.uid);
    }
    session.writer().fetch_end();
    in_message_ = false;
    structure_.reset();
    body_pin_ = {};
    return padded;
}

CommandResult FetchJob::finish() const {
    if (unknown_cte_) {
        // RFC 3516 4.3 (Dovecot's text).
        return CommandResult::no(Code::UnknownCte, "Unknown Content-Transfer-Encoding");
    }
    const std::string text = uid_command_ ? "UID FETCH completed" : "FETCH completed";
    // With CHANGEDSINCE fewer responses than messages is the point.
    if (expunge_issued_ || (!changed_since_ && delivered_ < expected_)) {
        // RFC 5530 EXPUNGEISSUED: the content of a message another session
        // expunged was asked for (it came from what the view keeps), or a
        // message of the view got no response at all. Dovecot's text.
        return CommandResult::ok(Code::ExpungeIssued, "Some messages were already expunged");
    }
    return CommandResult::ok(text);
}

}  // namespace imap::server
