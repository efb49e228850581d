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
#include <algorithm>
#include <string>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/session.h"

namespace imap::server {
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
    const store::StoreFlagsResult result = store.store_flags(selected->id(), store::UidSpan(*uids),
                                                             op, flags, request.unchanged_since);
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

    // The messages this command reports: those it changed and those that
    // failed the UNCHANGEDSINCE test (RFC 7162 3.1.3: "It is RECOMMENDED
    // that the server avoids the need for the client to [poll] by sending an
    // unsolicited FETCH response", Example 10; Dovecot sends none).
    std::vector<std::uint32_t> reported = result.changed;
    reported.insert(reported.end(), result.modified.begin(), result.modified.end());
    std::sort(reported.begin(), reported.end());
    store::UidSet reported_set;
    for (std::uint32_t uid : reported) {
        if (!reported_set.empty() && reported_set.back().last + 1ull == uid) {
            reported_set.back().last = uid;
        } else {
            reported_set.push_back({uid, uid});
        }
    }
    std::vector<store::MessageInfo> messages;
    if (!reported_set.empty()) messages = store.fetch(selected->id(), store::UidSpan(reported_set));
    // Not to be reported again by the sync below; only changes it would
    // report are noted (a failed message may be long known).
    for (const store::MessageInfo& message : messages) {
        if (message.modseq > selected->highestmodseq()) {
            selected->flags_reported(message.uid, message.modseq);
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
    if (!copies.empty()) {
        messages.insert(messages.end(), copies.begin(), copies.end());
        std::sort(
            messages.begin(), messages.end(),
            [](const store::MessageInfo& a, const store::MessageInfo& b) { return a.uid < b.uid; });
    }

    // RFC 7162 3.1.3 and 3.2.4: with CONDSTORE on, every FETCH carries UID
    // and MODSEQ, and .SILENT still reports the new MODSEQ (RFC 7162
    // Examples 3 and 14, as Dovecot does).
    const bool with_uid = request.uid || condstore;
    for (const store::MessageInfo& message : messages) {
        const bool failed =
            std::binary_search(result.modified.begin(), result.modified.end(), message.uid);
        if (failed) {
            selected->write_flag_update(w, message, with_uid, true);
        } else if (!request.silent) {
            selected->write_flag_update(w, message, with_uid, condstore);
        } else if (condstore && !message.expunged) {
            selected->write_flag_update(w, message, with_uid, true, /*with_flags=*/false);
        }
    }
    // RFC 7162 3.1.1 and 3.1.3 Example 11: with CONDSTORE on, an expunged
    // message makes the STORE a NO; MODIFIED, if any, still names the
    // failed ones.
    const bool refused = condstore && !expunged.empty();
    const std::string refusal = "Some of the requested messages no longer exist";
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
        return CommandResult::done(refused ? Status::No : Status::Ok,
                                   ResponseCode::modified(uid_set_string(failed)),
                                   refused ? refusal : "Conditional " + name + " failed");
    }
    if (refused) {
        return CommandResult::no(Code::ExpungeIssued, refusal);
    }
    return CommandResult::ok(name + " completed");
}

}  // namespace imap::server
