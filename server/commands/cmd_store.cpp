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
#include <string>
#include <vector>

#include "server/commands/handlers.h"
#include "server/commands/message_set.h"
#include "server/session.h"

namespace imap::server {

void cmd_store(Session& session, Command& command) {
    const StoreCommand& request = std::get<StoreCommand>(command.body);
    const std::string name(command_name(command.body));
    SelectedMailbox* selected = session.selected();
    ResponseWriter& w = session.writer();

    const std::optional<store::UidSet> uids =
        resolve_message_set(session, command.tag, name, request.set, request.uid);
    if (!uids) return;

    store::Flags flags;
    for (const Flag& flag : request.flags) {
        if (!flag.starts_with('\\')) {
            flags.keywords.push_back(flag);
            continue;
        }
        const std::uint32_t bit = store::system_flag_bit(flag);
        if (bit == 0) {
            session.complete(command.tag, Status::Bad, name + ": Invalid system flag " + flag);
            return;
        }
        flags.system |= bit;
    }

    if (selected->read_only()) {
        session.complete(command.tag, Status::No, Code::Cannot, "The mailbox is read-only");
        return;
    }
    if (uids->empty()) {
        // UID STORE naming no message of the view (RFC 3501 6.4.8: not an
        // error).
        session.complete(command.tag, Status::Ok, name + " completed");
        return;
    }

    store::FlagOp op = store::FlagOp::Replace;
    if (request.mode == StoreCommand::Mode::Add) op = store::FlagOp::Add;
    if (request.mode == StoreCommand::Mode::Remove) op = store::FlagOp::Remove;

    store::MailStore& store = session.mail()->store();
    const store::StoreFlagsResult result =
        store.store_flags(selected->id(), store::UidSpan(*uids), op, flags);
    for (std::uint32_t uid : result.changed)
        selected->flags_reported(uid, result.modseq);
    if (!result.changed.empty()) session.mail()->notify(selected->id());

    // What changed meanwhile, a new keyword's FLAGS first; this command's
    // own changes are left out (flags_reported). No EXPUNGE here: the
    // numbers of the FETCH responses below must stay those the client knows
    // (complete() sends them where RFC 3501 7.4.1 allows).
    selected->sync(w, SyncOptions{.allow_expunge = false, .with_uid = request.uid});

    if (!request.silent && !result.changed.empty()) {
        store::UidSet changed;
        for (std::uint32_t uid : result.changed) {
            if (!changed.empty() && changed.back().last + 1ull == uid) {
                changed.back().last = uid;
            } else {
                changed.push_back({uid, uid});
            }
        }
        for (const store::MessageInfo& message :
             store.fetch(selected->id(), store::UidSpan(changed))) {
            const auto sequence = selected->sequence_of(message.uid);
            if (!sequence) continue;
            w.fetch_begin(*sequence);
            if (request.uid) w.atom("UID").sp().number(message.uid).sp();
            w.atom("FLAGS").sp().flag_list(
                flag_names(message.flags, selected->is_recent(message.uid), message.keywords));
            w.fetch_end();
        }
    }
    session.complete(command.tag, Status::Ok, name + " completed");
}

}  // namespace imap::server
