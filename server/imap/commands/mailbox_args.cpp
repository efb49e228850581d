#include "server/imap/commands/mailbox_args.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "protocol/mailbox_name.h"
#include "store/mailbox_names.h"

namespace imap::server {

void append_structure_attributes(std::uint32_t attributes, std::vector<std::string_view>& out) {
    namespace attr = store::list_attr;
    if (attributes & attr::kNoselect) out.push_back("\\Noselect");
    if (attributes & attr::kHasChildren) {
        out.push_back("\\HasChildren");
    } else if (attributes & attr::kHasNoChildren) {
        out.push_back("\\HasNoChildren");
    }
}

CommandResult mail_unavailable() {
    return CommandResult::no(Code::Unavailable, "Mail storage is not available");
}

namespace {

// A name or pattern from the wire as UTF-8: modified UTF-7 decoded, or the
// UTF-8 itself once the session uses UTF-8 names.
std::optional<std::string> decode_wire_name(const Session& session, std::string_view wire) {
    if (!session.utf8_mailbox_names()) return mutf7_decode(wire);
    if (!is_utf8_mailbox_name(wire)) return std::nullopt;
    return std::string(wire);
}

}  // namespace

Checked<std::string> store_mailbox_name(const Session& session, std::string_view wire_name) {
    if (session.utf8_mailbox_names()) {
        if (!is_utf8(wire_name)) {
            return CommandResult::bad("Mailbox name is not valid UTF-8 (RFC 6855 3)");
        }
        if (!is_utf8_mailbox_name(wire_name)) {
            return CommandResult::no(
                Code::Cannot, "Mailbox name holds a control or separator character (RFC 6855 3)");
        }
        return normalize_inbox(wire_name, kHierarchyDelimiter);
    }
    auto decoded = mutf7_decode(wire_name);
    if (!decoded) {
        return CommandResult::no(Code::Cannot,
                                 "Mailbox name is not valid modified UTF-7 (RFC 3501 5.1.3)");
    }
    return normalize_inbox(*decoded, kHierarchyDelimiter);
}

std::string wire_mailbox_name(const Session& session, std::string_view store_name) {
    if (session.utf8_mailbox_names()) return std::string(store_name);
    // Store names are valid UTF-8 (they came through store_mailbox_name or
    // the CLI's checks), so encoding cannot fail; fall back to the bytes.
    auto encoded = mutf7_encode(store_name);
    return encoded ? *encoded : std::string(store_name);
}

std::optional<std::string> joined_list_pattern(const Session& session, std::string_view reference,
                                               std::string_view pattern) {
    auto decoded_reference = decode_wire_name(session, reference);
    auto decoded_pattern = decode_wire_name(session, pattern);
    if (!decoded_reference || !decoded_pattern) return std::nullopt;
    return *decoded_reference + *decoded_pattern;
}

std::string_view list_root(std::string_view reference) {
    const std::size_t delimiter = reference.find(kHierarchyDelimiter);
    if (delimiter == std::string_view::npos) return {};
    return reference.substr(0, delimiter + 1);
}

namespace {

// RFC 7162 3.2.5.2: the lowest UID the VANISHED (EARLIER) of a QRESYNC
// SELECT needs to name, from the client's sequence match data. The pairs
// are walked in order; while the message with that sequence number in the
// (fresh) view has that UID, the client has heard of every expunge up to
// it. The first pair that does not match ends the walk. Pairs the client
// gave unevenly (more numbers than UIDs or the reverse) are ignored.
//
// This only narrows the answer: the store logs every expunge with its
// modseq, so without the data VANISHED is exact as well (expunged since
// the client's modseq, within its known UIDs).
std::uint32_t first_unmatched_uid(const SelectedMailbox& view, const QresyncParams& qresync) {
    if (!qresync.seq_match) return 1;
    const ResolvedSet sequences = qresync.seq_match->first.resolve(0);
    const ResolvedSet uids = qresync.seq_match->second.resolve(0);
    if (sequences.count() != uids.count()) return 1;
    std::vector<std::uint32_t> uid_list;
    uid_list.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(uids.count(), 100000)));
    uids.for_each([&](std::uint32_t uid) {
        uid_list.push_back(uid);
        return uid_list.size() < 100000;
    });
    std::uint32_t first = 1;
    std::size_t index = 0;
    sequences.for_each([&](std::uint32_t sequence) {
        if (index >= uid_list.size()) return false;
        const std::uint32_t uid = uid_list[index++];
        if (sequence > view.exists() || view.uid_at(sequence) != uid) return false;
        first = uid + 1;
        return true;
    });
    return first;
}

// RFC 7162 3.2.5.1: after SELECT's usual responses, what changed since the
// client's modseq among its known UIDs: "* VANISHED (EARLIER)" for the
// expunged ones, then "* n FETCH (UID u FLAGS (...) MODSEQ (m))" for those
// whose flags changed. Nothing when the UIDVALIDITY differs.
void qresync_select(Session& session, store::MailStore& store, const SelectedMailbox& view,
                    const QresyncParams& qresync) {
    if (qresync.uidvalidity != view.uidvalidity()) return;
    // Without known-uids: 1:<UIDNEXT - 1>, nothing for a fresh mailbox.
    ResolvedSet known;
    if (qresync.known_uids) {
        known = qresync.known_uids->resolve(0);
    } else if (view.uidnext() > 1) {
        const auto last = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(view.uidnext() - 1, std::numeric_limits<std::uint32_t>::max()));
        known = ResolvedSet({SeqRange{1, last}});
    }
    if (known.empty()) return;

    const std::uint32_t first_uid = first_unmatched_uid(view, qresync);
    std::vector<std::uint32_t> vanished;
    for (std::uint32_t uid : store.expunged_since(view.id(), qresync.modseq)) {
        if (uid >= first_uid && known.contains(uid)) vanished.push_back(uid);
    }
    ResponseWriter& w = session.writer();
    write_vanished(w, std::move(vanished), true);

    if (view.uids().empty()) return;
    store::UidSet ranges;
    for (const SeqRange& range : known.ranges()) {
        if (range.first > view.uids().back()) break;
        ranges.push_back({range.first, std::min(range.last, view.uids().back())});
    }
    store::FetchOptions changed;
    changed.changed_since = qresync.modseq;
    for (const store::MessageInfo& message : store.fetch(view.id(), ranges, changed))
        view.write_flag_update(w, message, true, true);
}

// RFC 9051 6.3.2: "The server MUST return a LIST response with the mailbox
// name. The list of mailbox attributes MUST be accurate": those of a plain
// LIST of the name, \Marked and \Unmarked aside (they are optional, RFC
// 9051 7.3.1, and say nothing a client selecting the mailbox needs).
void write_own_list(Session& session, store::MailStore& store, const std::string& name) {
    std::vector<std::string_view> attributes;
    // The name as a pattern: a "%" or "*" in it may match more, the exact
    // name is the one written.
    for (const store::ListEntry& entry : store.list(name)) {
        if (entry.name != name) continue;
        append_structure_attributes(entry.attributes, attributes);
        append_special_use(entry.attributes, attributes);
        break;
    }
    session.writer().list(attributes, kHierarchyDelimiter, wire_mailbox_name(session, name));
}

}  // namespace

CommandResult select_mailbox(Session& session, std::string_view wire_name, bool read_only,
                             const SelectParams& params) {
    // RFC 7162 3.2.5: QRESYNC only after "ENABLE QRESYNC"; a BAD leaves
    // the session as it was (the command is not run).
    if (params.qresync && !session.qresync_enabled()) {
        return CommandResult::bad("QRESYNC is not enabled (ENABLE QRESYNC first)");
    }
    // RFC 3501 6.3.1: a SELECT while a mailbox is selected deselects it
    // first; if the new SELECT fails, no mailbox is selected. RFC 7162
    // 3.2.11: "* OK [CLOSED]" marks where the old mailbox's responses end
    // (we advertise CONDSTORE, so always, as Dovecot does).
    if (session.selected() != nullptr) {
        session.deselect();
        session.writer().untagged(Status::Ok, ResponseCode::extension("CLOSED"),
                                  "Previous mailbox closed.");
    }
    // RFC 7162 3.1.8: a CONDSTORE enabling command; QRESYNC implies it.
    if (params.condstore || params.qresync) session.enable_condstore();
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    auto name = store_mailbox_name(session, wire_name);
    if (!name) return name.refusal();
    store::MailStore& store = mail->store();
    const store::MailboxInfo info = store.open_mailbox(*name);
    const bool rev2 = session.imap4rev2_enabled();
    auto view = std::make_unique<SelectedMailbox>(store, info, read_only, /*track_recent=*/!rev2);

    ResponseWriter& w = session.writer();
    view->write_flags(w);
    w.exists(view->exists());
    // RFC 9051 6.3.2: no RECENT, but the mailbox's LIST response.
    if (rev2) {
        write_own_list(session, store, *name);
    } else {
        w.recent(view->recent_count());
    }
    // RFC 9051 Appendix E 11: [UNSEEN] is deprecated in IMAP4rev2 (not in
    // its grammar); its clients get STATUS UNSEEN or SEARCH instead.
    if (auto unseen = rev2 ? std::nullopt : store.first_unseen_uid(info.id)) {
        if (auto sequence = view->sequence_of(*unseen)) {
            w.untagged(Status::Ok, ResponseCode::unseen(*sequence), "First unseen.");
        }
    }
    w.untagged(Status::Ok, ResponseCode::uidvalidity(view->uidvalidity()), "UIDs valid");
    w.untagged(Status::Ok, ResponseCode(Code::UidNext, std::to_string(view->uidnext())),
               "Predicted next UID");
    // RFC 7162 3.1.2.1 (NOMODSEQ never applies: every mailbox has modseqs).
    if (session.condstore_enabled()) {
        w.untagged(Status::Ok, ResponseCode::highestmodseq(view->reported_modseq()), "Highest");
    }
    // RFC 8474 4.2: every successful SELECT and EXAMINE, with the text of
    // the RFC's example.
    w.untagged(Status::Ok, ResponseCode::mailboxid(info.object_id), "Ok");
    if (params.qresync) qresync_select(session, store, *view, *params.qresync);
    session.select(std::move(view));
    return CommandResult::ok(read_only ? Code::ReadOnly : Code::ReadWrite,
                             read_only ? "EXAMINE completed" : "SELECT completed");
}

namespace {

struct SpecialUse {
    std::uint32_t bit;
    std::string_view attribute;
};
constexpr SpecialUse kSpecialUses[] = {
    {store::list_attr::kAll, "\\All"},       {store::list_attr::kArchive, "\\Archive"},
    {store::list_attr::kDrafts, "\\Drafts"}, {store::list_attr::kFlagged, "\\Flagged"},
    {store::list_attr::kJunk, "\\Junk"},     {store::list_attr::kSent, "\\Sent"},
    {store::list_attr::kTrash, "\\Trash"},
};

}  // namespace

void append_special_use(std::uint32_t attributes, std::vector<std::string_view>& out) {
    for (const SpecialUse& use : kSpecialUses) {
        if (attributes & use.bit) out.push_back(use.attribute);
    }
}

std::uint32_t special_use_bit(std::string_view attribute) {
    for (const SpecialUse& use : kSpecialUses) {
        if (store::equal_ignoring_ascii_case(attribute, use.attribute)) return use.bit;
    }
    return 0;
}

}  // namespace imap::server
