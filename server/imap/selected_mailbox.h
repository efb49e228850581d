// SelectedMailbox: one session's view of its selected mailbox (RFC 3501
// 2.3.1.2, docs/architecture.md "RFC semantics"): the UIDs in sequence-number order as
// this client last heard of them, the messages that are \Recent for this
// session, and the store state the view is in step with.
//
// Changes made by anyone else (another session, `imapd deliver` in another
// process) reach the client only through sync(), which the session calls at
// the end of each command, before its tagged response: EXPUNGE responses
// only where RFC 3501 7.4.1 allows them (never during FETCH, STORE or SEARCH
// by sequence number, whose numbers must stay valid for pipelined
// commands), flag changes as unsolicited FETCH, new messages as EXISTS and
// RECENT. Until then the view keeps its numbering, so sequence numbers the
// client holds keep meaning the same messages.
//
// A message another session expunged stays in the view, and readable,
// until the view applies that expunge (RFC 2180 4.1.1, docs/storage.md
// "Body retention"): the view holds a store::MailStore::ViewPin whose
// watermark is the modseq up to which it has applied expunges, so the store
// keeps those messages' bodies and last flags. FETCH answers from them;
// STORE changes only the view's copy of their flags (RFC 2180 4.2, as
// Dovecot); COPY and MOVE refuse them (RFC 2180 4.4.1, cmd_copy.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/response_writer.h"
#include "protocol/sequence_set.h"
#include "server/imap/search_contexts.h"
#include "server/imap/view_uids.h"
#include "store/mail_store.h"

namespace imap::server {

// What sync() may send.
struct SyncOptions {
    // EXPUNGE responses (false during commands that use sequence numbers).
    bool allow_expunge = true;
    // Unsolicited FETCH responses carry "UID n" (during UID commands, as
    // RFC 3501 6.4.8 has for the command's own FETCH responses).
    bool with_uid = false;
    // CONDSTORE enabled (RFC 7162 3.1, 3.2.4): unsolicited FETCH responses
    // carry "UID n" and "MODSEQ (m)".
    bool condstore = false;
    // QRESYNC enabled (RFC 7162 3.2.10.2): "* VANISHED uids" instead of
    // "* n EXPUNGE".
    bool qresync = false;
    // The search contexts' ADDTO / REMOVEFROM for flag changes and new
    // messages (RFC 5267 4.3.3) go out now; false (STORE's sync before its
    // own FETCH responses): they wait for the next sync, so they follow the
    // FETCH of the change.
    bool report_contexts = true;
};

// "* VANISHED uids" or "* VANISHED (EARLIER) uids" (RFC 7162 3.2.10) for
// `uids` (any order; nothing is written when empty).
void write_vanished(ResponseWriter& w, std::vector<std::uint32_t> uids, bool earlier);

// The flags of a FETCH FLAGS response: system flags, "\Recent" if
// `recent`, then the keywords.
std::vector<std::string> flag_names(std::uint32_t system_flags, bool recent,
                                    const std::vector<std::string>& keywords);

class SelectedMailbox {
  public:
    // Loads the view of `info`. SELECT (read_only false) claims the
    // mailbox's unclaimed messages as this session's \Recent ones (RFC 3501
    // 2.3.2: exactly one session sees each as recent); EXAMINE claims
    // nothing and sees the unclaimed ones as recent. Without `track_recent`
    // (an IMAP4rev2 session, RFC 9051 Appendix E 12: no \Recent) the view
    // claims nothing, has no \Recent message and never writes RECENT; the
    // messages stay unclaimed for a later IMAP4rev1 session.
    SelectedMailbox(store::MailStore& store, const store::MailboxInfo& info, bool read_only,
                    bool track_recent = true);

    store::MailboxId id() const { return id_; }
    bool read_only() const { return read_only_; }
    std::uint32_t uidvalidity() const { return uidvalidity_; }
    // The UIDNEXT the client may rely on (RFC 3501 2.3.1.1).
    std::uint64_t uidnext() const { return uidnext_; }
    std::uint64_t highestmodseq() const { return flags_modseq_; }
    // The HIGHESTMODSEQ the client may be told (RFC 7162 3.2): every change
    // up to it has been reported, expunges held back included.
    std::uint64_t reported_modseq() const { return std::min(flags_modseq_, expunge_modseq_); }
    // Expunges with a modseq up to this have been applied to the view; the
    // messages of the view expunged later are still shown (the ViewPin's
    // watermark; store::FetchOptions::expunged_after).
    std::uint64_t expunge_modseq() const { return expunge_modseq_; }

    // EXISTS: messages in the view.
    std::uint32_t exists() const { return static_cast<std::uint32_t>(uids_.size()); }
    std::uint32_t recent_count() const;
    // UIDs by sequence number - 1.
    const ViewUids& uids() const { return uids_; }
    std::uint32_t uid_at(std::uint32_t sequence) const { return uids_[sequence - 1]; }
    // The sequence number of `uid`, nullopt when it is not in the view.
    std::optional<std::uint32_t> sequence_of(std::uint32_t uid) const;
    bool is_recent(std::uint32_t uid) const;
    // Keywords announced in FLAGS / PERMANENTFLAGS.
    const std::vector<std::string>& keywords() const { return keywords_; }

    // The UIDs (as ranges, ascending) a command's set names in this view.
    // Sequence numbers (RFC 3501 6.4.x): nullopt when a number is past
    // EXISTS (or the mailbox is empty), which the caller answers with BAD.
    // UIDs (6.4.8): "*" is the largest UID in the view, and UIDs the view
    // does not hold are ignored; ranges past it are cut at the view's last
    // UID, so a command never touches a message whose EXISTS the client has
    // not seen.
    // "$" (RFC 5182 2.1) names the saved result's messages still in the
    // view, for sequence numbers and UIDs alike, and is never refused.
    std::optional<store::UidSet> resolve(const SequenceSet& set, bool uid) const;
    // Message sequence numbers as a SEARCH key (RFC 3501 6.4.4): the view's
    // messages they name; numbers past EXISTS name nothing (as Dovecot
    // answers; the key is a criterion, not a reference to messages), and
    // so does "*" in an empty mailbox.
    store::UidSet resolve_search(const SequenceSet& set) const;

    // The SEARCH result variable of RFC 5182 2.1, kept as UIDs so that an
    // expunge removes its messages without renumbering anything: a message
    // the view no longer holds drops out when "$" is resolved. It lives
    // with the view, so SELECT, EXAMINE, CLOSE and UNSELECT reset it to the
    // empty set, which it is before any SEARCH ... SAVE. Its size is
    // bounded by the view's: it is a subset of it, as ranges.
    void save_result(store::UidSet uids) { saved_result_ = std::move(uids); }
    const store::UidSet& saved_result() const { return saved_result_; }

    // The searches kept up to date (RFC 5267 4.3, search_contexts.h): they
    // live with the view, so a mailbox change drops them, and every change
    // the view reports (sync(), expunged()) reaches them.
    SearchContexts& contexts() { return contexts_; }

    // The messages of `set` (UIDs of the view) that another session
    // expunged and this view still shows, ascending, their flags as this
    // session sees them (view_flags()).
    std::vector<store::MessageInfo> expunged_messages(store::UidSpan set) const;
    // Replaces the flags and keywords of an expunged message (from the
    // expunge log) by the view's copy, if a STORE of this session changed
    // it.
    void view_flags(store::MessageInfo& message) const;
    // STORE on a message another session expunged (RFC 2180 4.2; Dovecot):
    // applies the change to the view's copy of its flags only, nothing is
    // written to the store. `message` comes from expunged_messages() and is
    // updated; keywords take the mailbox's spelling when it defines them
    // (they compare without case). True when its flags changed.
    bool store_expunged(store::MessageInfo& message, store::FlagOp op, const store::Flags& flags);

    // Sends what changed in the store since the last sync (see the file
    // comment). Throws store::StoreError(NotFound) when the mailbox was
    // deleted.
    void sync(ResponseWriter& w, const SyncOptions& options);

    // This session's own changes, already told to the client by the
    // command that made them:
    // - EXPUNGE / UID EXPUNGE / MOVE: removes `uids` from the view and
    //   writes their EXPUNGE responses (RFC 3501 7.4.1), ascending with
    //   renumbering as the RFC's example does; with `vanished` (QRESYNC
    //   enabled) one "* VANISHED uids" instead (RFC 7162 3.2.10.2).
    void expunged(const std::vector<std::uint32_t>& uids, ResponseWriter& w, bool vanished = false);
    // - STORE: `uid` got `modseq`; the next sync does not report it again.
    void flags_reported(std::uint32_t uid, std::uint64_t modseq);
    // - the same for every UID of `uids`, all of which got `modseq` (one
    //   transaction's changes).
    void flags_reported(store::UidSpan uids, std::uint64_t modseq);

    // Messages a sync fetches from the store at a time: what it holds in
    // memory however many messages changed.
    static constexpr std::size_t kSyncBatch = 1024;

    // The "* FLAGS" and "* OK [PERMANENTFLAGS]" pair of SELECT (RFC 3501
    // 6.3.1), also sent again when a new keyword appears (7.2.6).
    void write_flags(ResponseWriter& w) const;
    // FLAGS and PERMANENTFLAGS again if the mailbox's keywords are not
    // those last announced (a STORE defined one without changing a
    // message's modseq, so sync() would not look).
    void refresh_keywords(ResponseWriter& w);

    // "* n FETCH ([UID u ][FLAGS (...) ][MODSEQ (m)])" for a message of the
    // view (nothing when it is not in the view): the flag update of sync(),
    // STORE and QRESYNC, with UID and MODSEQ as the options say (RFC 7162
    // 3.1.3, 3.2.4). `with_flags` false: the .SILENT form, UID/MODSEQ only.
    void write_flag_update(ResponseWriter& w, const store::MessageInfo& message, bool with_uid,
                           bool with_modseq, bool with_flags = true) const;

  private:
    // The saved result's UIDs the view holds.
    store::UidSet saved_in_view() const;
    void add_recent(std::uint32_t first, std::uint32_t last);
    void remove_from_view(const std::vector<std::uint32_t>& gone, ResponseWriter* w,
                          bool vanished = false);
    void set_expunge_modseq(std::uint64_t modseq);
    // RFC 3501 7.3.2: "* n RECENT" when expunges changed the number of
    // \Recent messages since the client last heard it (as Dovecot).
    void announce_recent(ResponseWriter& w);

    // A STORE's change to an expunged message, kept by the view only.
    struct FlagCopy {
        std::uint32_t system = 0;
        std::vector<std::string> keywords;  // sorted as store::MessageInfo's
    };

    store::MailStore& store_;
    store::MailboxId id_;
    bool read_only_;
    bool track_recent_;
    std::uint32_t uidvalidity_;
    std::uint64_t uidnext_;
    ViewUids uids_;
    std::vector<store::UidRange> recent_;  // ascending, disjoint
    std::vector<std::string> keywords_;
    // Flag changes with a modseq up to this have been reported.
    std::uint64_t flags_modseq_;
    // Expunges with a modseq up to this have been applied.
    std::uint64_t expunge_modseq_;
    // Own STORE results, not to be reported again by the next sync: the
    // UIDs that got one modseq, as ranges, so a STORE of a million
    // messages is one entry of one range and each lookup a binary search.
    struct OwnChange {
        std::uint64_t modseq = 0;
        store::UidSet uids;  // normalized
    };
    std::vector<OwnChange> own_changes_;
    // The entry of `modseq`, added empty if there is none.
    store::UidSet& own_changes_of(std::uint64_t modseq);
    bool is_own_change(std::uint32_t uid, std::uint64_t modseq) const;
    // Flags of expunged messages changed by this session's STOREs, by UID.
    std::map<std::uint32_t, FlagCopy> flag_copies_;
    SearchContexts contexts_;
    // Flag changes and new messages the contexts have not been told of yet
    // (SyncOptions::report_contexts), UIDs.
    std::vector<std::uint32_t> context_changes_;
    void report_context_changes(ResponseWriter& w);
    // RFC 5182 "$", UIDs ascending (save_result()).
    store::UidSet saved_result_;
    // The \Recent count the client was last told (SELECT, EXISTS, expunges).
    std::uint32_t announced_recent_ = 0;
    // The view's claim on the bodies of messages it still shows; its
    // watermark is expunge_modseq_.
    store::MailStore::ViewPin pin_;
};

}  // namespace imap::server
