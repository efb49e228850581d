// SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8): "* SEARCH" with the
// matching messages' sequence numbers (UIDs for UID SEARCH), ascending, then
// the tagged OK. Only messages in the session's view match: one that arrived
// since the last EXISTS is not reported before its EXISTS, and one expunged
// by another session whose EXPUNGE is held back (RFC 3501 7.4.1) is gone
// from the store and matches nothing.
//
// ESEARCH (RFC 4731): with RETURN (...) the answer is one "* ESEARCH" line
// instead (write_esearch below); "RETURN ()" is ALL. PARTIAL m:n (RFC 9394
// 3.1) returns the m-th to n-th match in mailbox order, -m:-n counted from
// the last.
//
// SEARCHRES (RFC 5182): RETURN (SAVE ...) keeps the matches as the
// selected view's "$" (SelectedMailbox::save_result; with MIN, MAX or
// PARTIAL but neither ALL nor COUNT only the messages those return, RFC
// 5182 2.4, RFC 9394 3.2). SAVE alone writes no ESEARCH line. A SAVE that
// ends NO leaves "$" empty, one that ends BAD leaves it alone (2.1).
// Pipelined commands that use "$" run after it: the session runs
// commands one at a time, in the order received (RFC 5182 2.3).
//
// CONDSTORE (RFC 7162 3.1.5, 3.1.6, 3.1.10): MODSEQ n matches messages whose
// modseq is n or more (one modseq per message: entry-name and entry-type are
// ignored, as the RFC requires then); with such a criterion a non-empty
// result ends with "(MODSEQ m)", m the highest modseq of the messages
// returned. In ESEARCH ("MODSEQ m", RFC 4731 3.2) the messages returned are
// those the result options name: MIN alone -> the MIN message's modseq, MAX
// alone -> the MAX message's, MIN and MAX -> the higher of the two, and with
// ALL or COUNT every matching message's.
//
// CONTEXT=SEARCH (RFC 5267 4): RETURN (UPDATE) keeps the search up to date
// (search_contexts.h: ADDTO / REMOVEFROM as the mailbox changes); the tag
// of an active one is refused with BAD "Tag reuse". CONTEXT is a hint and
// changes nothing.
//
// RFC 6855 3: once the client enabled UTF8=ACCEPT a SEARCH with CHARSET is
// "BAD" (the strings are UTF-8 now; the labels would conflict). SORT and
// THREAD keep their mandatory charset.
//
// IMAP4rev2 (RFC 9051 6.4.4, Appendix E 4): once enabled, every SEARCH is
// answered with "* ESEARCH", a SEARCH without RETURN as RETURN (ALL).
//
// Message numbers past EXISTS in a sequence-set key match nothing, in
// SEARCH and UID SEARCH, ESEARCH forms and inside OR / NOT (as Dovecot;
// SelectedMailbox::resolve_search).
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/search_common.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_search(Session& session, Command& command) {
    SearchCommand& search = std::get<SearchCommand>(command.body);
    const std::string name(command_name(command.body));
    if (search.charset && session.utf8_accept_enabled()) {
        return CommandResult::bad("SEARCH takes no CHARSET after ENABLE UTF8=ACCEPT (RFC 6855 3)");
    }
    if (session.imap4rev2_enabled() && !search.return_options) {
        search.return_options = SearchReturnOptions{};
        search.return_options->all = true;
    }
    if (auto refused = refuse_tag_reuse(session, command.tag, search.return_options))
        return std::move(*refused);
    auto key = saving_search_key(session, name, search.charset, search.key, search.return_options);
    if (!key) return key.refusal();

    std::vector<std::uint32_t> numbers;
    std::vector<std::uint32_t> uids;  // the matches in the view
    if (*key) {
        numbers = view_numbers(*session.selected(),
                               session.mail()->store().search(session.selected()->id(), **key),
                               search.uid, &uids);
    }
    save_result(session, search.return_options, uids);
    std::optional<std::uint64_t> highest;
    if (has_modseq(search.key)) highest = highest_modseq(session, uids, search.return_options);
    if (search.return_options) {
        write_esearch(session.writer(), command.tag, search.uid, *search.return_options, numbers,
                      highest);
    } else if (highest) {
        // "* SEARCH 2 5 6 (MODSEQ 917162500)" (RFC 7162 3.1.6)
        ResponseWriter& w = session.writer();
        w.begin_untagged().atom("SEARCH");
        for (std::uint32_t number : numbers)
            w.sp().number(number);
        w.sp().open().atom("MODSEQ").sp().number(*highest).close().end();
    } else {
        session.writer().search(numbers);
    }
    keep_up_to_date(session, command.tag, search.uid, search.return_options, search.key, {}, false,
                    std::move(uids));
    return CommandResult::ok(name + " completed");
}

}  // namespace imap::server
