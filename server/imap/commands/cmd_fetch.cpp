// FETCH and UID FETCH (RFC 3501 6.4.5, 6.4.8, 7.4.2). The set is resolved in
// the session's view here; the responses are written by a FetchJob
// (server/imap/fetch_job.h) in steps, so a FETCH of many or large messages never
// buffers more than about Session::kOutputHighWater.
//
// A message sequence number past EXISTS (or any number in an empty
// mailbox) is a tagged BAD (RFC 3501 9, seq-number: "the server should
// respond with a tagged BAD"), with Dovecot's text. UIDs outside the view
// are ignored (RFC 3501 6.4.8): UID FETCH of none of them is a plain OK.
//
// RFC 7162: the MODSEQ item and CHANGEDSINCE enable CONDSTORE (3.1).
// UID FETCH ... (CHANGEDSINCE n VANISHED) needs QRESYNC enabled (else BAD,
// 3.2.6) and first sends "* VANISHED (EARLIER)" with the UIDs of the set
// expunged with a modseq above n. For that set "*" is UIDNEXT - 1 rather
// than the view's last UID, so messages expunged at the end of the mailbox
// are reported too (VANISHED (EARLIER) may name UIDs the client never saw),
// and a UID still in the view (its expunge not reported yet) is left to the
// plain VANISHED of the sync at the end of the command.
//
// RFC 9394 3.3: UID FETCH ... (PARTIAL range) answers for the messages of
// the set at those positions only, counted over the view's messages the set
// names, in ascending UID order (-1 is the highest UID). With CHANGEDSINCE
// the range is taken first and CHANGEDSINCE filters it (3.4). A range past
// the end names no message: a plain OK. The parser refuses PARTIAL in FETCH
// (the section extends UID FETCH only), twice, and a bad range (BAD).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/commands/search_common.h"
#include "server/imap/fetch_job.h"
#include "server/imap/session.h"

namespace imap::server {

namespace {

// The UIDs of the view's messages in `set` at the positions `range` names
// (RFC 9394 3.3), as ranges.
store::UidSet partial_of_view(const SelectedMailbox& view, const store::UidSet& set,
                              const PartialRange& range) {
    std::vector<std::uint32_t> named;
    const ViewUids& in_view = view.uids();
    for (const store::UidRange& uids : set) {
        auto first = std::lower_bound(in_view.begin(), in_view.end(), uids.first);
        auto last = std::upper_bound(first, in_view.end(), uids.last);
        named.insert(named.end(), first, last);
    }
    const auto [begin, end] = partial_slice(range, named.size());
    return store::uid_set_of(std::span(named).subspan(begin, end - begin));
}

}  // namespace

CommandResult cmd_fetch(Session& session, Command& command) {
    const FetchCommand& request = std::get<FetchCommand>(command.body);
    SelectedMailbox* selected = session.selected();
    if (request.vanished && !session.qresync_enabled()) {
        return CommandResult::bad("UID FETCH: VANISHED needs QRESYNC enabled (RFC 7162 3.2.6)");
    }
    Checked<store::UidSet> uids =
        resolve_message_set(session, command_name(command.body), request.set, request.uid);
    if (!uids) return uids.refusal();
    if (request.partial) *uids = partial_of_view(*selected, *uids, *request.partial);
    const bool asks_modseq =
        std::any_of(request.items.begin(), request.items.end(),
                    [](const FetchItem& item) { return item.kind == FetchItem::Kind::ModSeq; });
    if (asks_modseq || request.changed_since) session.enable_condstore();
    if (request.vanished) {
        const auto last = static_cast<std::uint32_t>(std::min<std::uint64_t>(
            selected->uidnext() - 1, std::numeric_limits<std::uint32_t>::max()));
        // "$" (RFC 5182): the saved UIDs, those expunged since included.
        std::vector<SeqRange> saved;
        for (const store::UidRange& range : selected->saved_result())
            saved.push_back({range.first, range.last});
        const ResolvedSet asked = request.set.is_last_result() ? ResolvedSet(std::move(saved))
                                                               : request.set.resolve(last);
        std::vector<std::uint32_t> gone;
        for (std::uint32_t uid :
             session.mail()->store().expunged_since(selected->id(), *request.changed_since)) {
            // One still in the view has its EXPUNGE held back: the sync at
            // the end of this command reports it as a plain VANISHED.
            if (asked.contains(uid) && !selected->sequence_of(uid)) gone.push_back(uid);
        }
        // RFC 7162 3.2.6: before any FETCH response.
        write_vanished(session.writer(), std::move(gone), true);
    }
    auto job = std::make_shared<FetchJob>(request, *uids, *selected, session.condstore_enabled());
    return CommandResult::steps([job](Session& s) { return job->step(s); });
}

}  // namespace imap::server
