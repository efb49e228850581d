// STORE and UID STORE (RFC 3501 6.4.6, 6.4.8): FLAGS, +FLAGS, -FLAGS and
// their .SILENT forms.
//
// As Dovecot does, the untagged FETCH (FLAGS ...) goes out only for the
// messages whose flags really changed ("Normally, STORE will return the
// updated value"; an unchanged message has nothing new to report), with
// \Recent when it is recent for this session, and "UID n" first in UID
// STORE's responses (RFC 3501 6.4.8; Dovecot's order). When the STORE
// defines a new keyword, "* FLAGS" and PERMANENTFLAGS (RFC 3501 7.2.6) come
// before those FETCH responses, as in Dovecot, so the client knows the
// keyword before it sees it on a message.
//
// Flags: system flags are case-insensitive; \Recent cannot be stored (RFC
// 3501 2.3.2, 6.4.6) and neither can an unknown system flag or "\*": BAD, as
// Dovecot answers ("Invalid system flag"). Keywords are checked by the store
// (NO [CANNOT] for an invalid one, NO [LIMIT] past the store's limits).
//
// In a mailbox selected with EXAMINE nothing may change (RFC 3501 6.3.2):
// NO [CANNOT], as EXPUNGE answers. Dovecot answers "OK Store ignored with
// read-only mailbox", which leaves the client believing the flags were set.
//
// CONDSTORE (RFC 7162 3.1.3): UNCHANGEDSINCE n changes only the messages
// whose modseq is at most n (the store checks and changes in one
// transaction); the others are left alone and listed in "OK [MODIFIED set]"
// (sequence numbers, or UIDs for UID STORE), each also reported with an
// untagged FETCH of its current FLAGS and MODSEQ. One mod-sequence per
// message, so +FLAGS/-FLAGS can fail on another flag's change (the 3.1.12
// refinement is not done). A message that passes but whose flags already
// were as asked keeps its modseq and gets no FETCH, as in Dovecot.
//
// A message of the view that another session expunged (its EXPUNGE held
// back, RFC 3501 7.4.1) is still the client's message until the view
// applies the expunge (RFC 2180 4.1.1, docs/storage.md "Body retention").
// Without CONDSTORE, STORE changes the view's copy of its flags, nothing is
// written to the store, the FETCH (FLAGS ...) shows the copy (not with
// .SILENT) and the answer is a plain OK, as Dovecot answers: the message
// being still readable (4.1.1), storing into the view's copy keeps FETCH
// and STORE consistent. With CONDSTORE on, every flag change must come with
// a new mod-sequence (RFC 7162 3.1.1), which a message that no longer
// exists in the store cannot get (reporting its last one again would tell
// the client that nothing changed): such a message is left alone, the live
// ones are stored and reported as usual, and the answer is
// "NO [EXPUNGEISSUED]" (RFC 2180 4.2.3, RFC 5530). The same holds with
// UNCHANGEDSINCE (RFC 7162 3.1.3 Example 11), where "NO [MODIFIED set]"
// names the messages that failed the test, if any: a conditional change
// promises a durable state. (Dovecot applies both to its view with a
// made-up mod-sequence and answers OK.)
//
// The FETCH responses are written in steps (CommandResult::steps), a batch
// of messages read from the store at a time, pausing whenever the output
// reaches Session::kOutputHighWater: STORE 1:* on a million messages holds
// one batch and the changed UIDs (as ranges), not a million responses.
// Each response shows the message's flags when it is written; a change
// another session made in between is then the one reported, with its own
// modseq (RFC 7162 3.2.4 asks for the current value).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/session.h"

namespace imap::server {

namespace {

// The untagged FETCH responses of one STORE, then its tagged result.
class StoreReport {
  public:
    // Messages read from the store at a time.
    static constexpr std::size_t kBatchSize = 256;

    struct Form {
        bool with_uid = false;  // UID STORE, or CONDSTORE on
        bool silent = false;
        bool condstore = false;
    };

    StoreReport(store::UidSet reported, std::vector<std::uint32_t> failed,
                std::vector<store::MessageInfo> copies, Form form, CommandResult outcome)
        : reported_(std::move(reported)),
          windows_(reported_),
          failed_(std::move(failed)),
          copies_(std::move(copies)),
          form_(form),
          outcome_(std::move(outcome)) {}

    std::optional<CommandResult> step(Session& session) {
        SelectedMailbox& selected = *session.selected();
        ResponseWriter& w = session.writer();
        for (;;) {
            if (batch_pos_ == batch_.size()) {
                if (windows_.done()) break;
                batch_ = session.mail()->store().fetch(selected.id(), windows_.next(kBatchSize));
                batch_pos_ = 0;
                continue;
            }
            if (session.output().size() >= Session::kOutputHighWater) return std::nullopt;
            const store::MessageInfo& message = batch_[batch_pos_++];
            write_copies_before(selected, w, message.uid);
            report(selected, w, message);
        }
        write_copies_before(selected, w, UINT32_MAX);
        batch_ = {};
        return std::move(outcome_);
    }

  private:
    void report(SelectedMailbox& selected, ResponseWriter& w, const store::MessageInfo& message) {
        // Changed again by another session since this STORE: reported here
        // with its new modseq, so not by the next sync as well.
        if (message.modseq > selected.highestmodseq()) {
            selected.flags_reported(message.uid, message.modseq);
        }
        const bool failed = std::binary_search(failed_.begin(), failed_.end(), message.uid);
        if (failed) {
            selected.write_flag_update(w, message, form_.with_uid, true);
        } else if (!form_.silent) {
            selected.write_flag_update(w, message, form_.with_uid, form_.condstore);
        } else if (form_.condstore) {
            selected.write_flag_update(w, message, form_.with_uid, true, /*with_flags=*/false);
        }
    }

    // The view's copies of expunged messages this STORE changed (never
    // with CONDSTORE), in UID order among the others.
    void write_copies_before(const SelectedMailbox& selected, ResponseWriter& w,
                             std::uint32_t uid) {
        while (next_copy_ < copies_.size() && copies_[next_copy_].uid < uid) {
            if (!form_.silent) {
                selected.write_flag_update(w, copies_[next_copy_], form_.with_uid, false);
            }
            ++next_copy_;
        }
    }

    const store::UidSet reported_;  // changed and failed UIDs
    store::UidWindows windows_;     // over reported_
    std::vector<store::MessageInfo> batch_;
    std::size_t batch_pos_ = 0;
    const std::vector<std::uint32_t> failed_;  // RFC 7162 MODIFIED, ascending
    const std::vector<store::MessageInfo> copies_;
    std::size_t next_copy_ = 0;
    const Form form_;
    CommandResult outcome_;
};

}  // namespace

CommandResult cmd_store(Session& session, Command& command) {
    const StoreCommand& request = std::get<StoreCommand>(command.body);
    const std::string name(command_name(command.body));
    SelectedMailbox* selected = session.selected();
    ResponseWriter& w = session.writer();

    Checked<store::UidSet> uids = resolve_message_set(session, name, request.set, request.uid);
    if (!uids) return uids.refusal();

    store::Flags flags;
    for (const Flag& flag : request.flags) {
        if (!flag.starts_with('\\')) {
            flags.keywords.push_back(flag);
            continue;
        }
        const std::uint32_t bit = store::system_flag_bit(flag);
        if (bit == 0) {
            return CommandResult::bad(name + ": Invalid system flag " + flag);
        }
        flags.system |= bit;
    }

    if (selected->read_only()) {
        return CommandResult::no(Code::Cannot, "The mailbox is read-only");
    }
    if (uids->empty()) {
        // UID STORE naming no message of the view (RFC 3501 6.4.8: not an
        // error).
        return CommandResult::ok(name + " completed");
    }

    store::FlagOp op = store::FlagOp::Replace;
    if (request.mode == StoreCommand::Mode::Add) op = store::FlagOp::Add;
    if (request.mode == StoreCommand::Mode::Remove) op = store::FlagOp::Remove;

    // RFC 7162 3.1: UNCHANGEDSINCE is a CONDSTORE enabling command.
    if (request.unchanged_since) session.enable_condstore();
    const bool condstore = session.condstore_enabled();

    store::MailStore& store = session.mail()->store();
    std::vector<store::MessageInfo> expunged = selected->expunged_messages(*uids);
    // Also defines a new keyword, which the view's copies may use.
    store::StoreFlagsResult result = store.store_flags(selected->id(), store::UidSpan(*uids), op,
                                                       flags, request.unchanged_since);
    // Every message this STORE changed got result.modseq: reported below,
    // so not by the sync.
    store::UidSet changed = store::uid_set_of(result.changed);
    result.changed = {};
    selected->flags_reported(changed, result.modseq);
    // RFC 7162 3.1.3 Example 10: a message that failed UNCHANGEDSINCE gets
    // a FETCH of its current flags and modseq ("It is RECOMMENDED that the
    // server avoids the need for the client to [poll]"; Dovecot sends
    // none), in UID order with the others: not from the sync.
    for (std::size_t i = 0; i < result.modified.size(); ++i) {
        if (result.modified_modseq[i] > selected->highestmodseq()) {
            selected->flags_reported(result.modified[i], result.modified_modseq[i]);
        }
    }
    std::vector<store::MessageInfo> copies;  // expunged messages whose view copy changed
    if (!condstore && !expunged.empty()) {
        for (store::MessageInfo& message : expunged) {
            if (!selected->store_expunged(message, op, flags)) continue;
            // Not to be reported again by the sync below.
            if (message.modseq > selected->highestmodseq()) {
                selected->flags_reported(message.uid, message.modseq);
            }
            copies.push_back(std::move(message));
        }
    }

    // What changed meanwhile, a new keyword's FLAGS first; this command's
    // own changes are left out (flags_reported). No EXPUNGE here: the
    // numbers of the FETCH responses below must stay those the client knows
    // (the Session sends them before the tagged line, RFC 3501 7.4.1).
    selected->sync(w, SyncOptions{.allow_expunge = false,
                                  .with_uid = request.uid,
                                  .condstore = condstore,
                                  .qresync = session.qresync_enabled(),
                                  .report_contexts = false});
    // A keyword this STORE defined for the view's copies of expunged
    // messages changed no modseq, so the sync did not look.
    if (!copies.empty() && !flags.keywords.empty()) selected->refresh_keywords(w);

    // How the command ends, decided now: the view's numbers do not change
    // while it reports.
    // RFC 7162 3.1.1 and 3.1.3 Example 11: with CONDSTORE on, an expunged
    // message makes the STORE a NO; MODIFIED, if any, still names the
    // failed ones.
    const bool refused = condstore && !expunged.empty();
    const std::string refusal = "Some of the requested messages no longer exist";
    CommandResult outcome = CommandResult::ok(name + " completed");
    if (!result.modified.empty()) {
        // MODIFIED: sequence numbers for STORE, UIDs for UID STORE.
        std::vector<std::uint32_t> failed;
        for (std::uint32_t uid : result.modified) {
            if (request.uid) {
                failed.push_back(uid);
            } else if (auto sequence = selected->sequence_of(uid)) {
                failed.push_back(*sequence);
            }
        }
        std::sort(failed.begin(), failed.end());
        outcome = CommandResult::done(refused ? Status::No : Status::Ok,
                                      ResponseCode::modified(uid_set_string(failed)),
                                      refused ? refusal : "Conditional " + name + " failed");
    } else if (refused) {
        outcome = CommandResult::no(Code::ExpungeIssued, refusal);
    }

    // The messages this command reports: those it changed and those that
    // failed the UNCHANGEDSINCE test.
    store::UidSet reported = std::move(changed);
    for (std::uint32_t uid : result.modified)
        reported.push_back({uid, uid});
    if (!result.modified.empty()) reported = store::normalize(reported);
    // RFC 7162 3.1.3 and 3.2.4: with CONDSTORE on, every FETCH carries UID
    // and MODSEQ, and .SILENT still reports the new MODSEQ (RFC 7162
    // Examples 3 and 14, as Dovecot does).
    const StoreReport::Form form{
        .with_uid = request.uid || condstore, .silent = request.silent, .condstore = condstore};
    auto report = std::make_shared<StoreReport>(std::move(reported), std::move(result.modified),
                                                std::move(copies), form, std::move(outcome));
    return CommandResult::steps([report](Session& s) { return report->step(s); });
}

}  // namespace imap::server
