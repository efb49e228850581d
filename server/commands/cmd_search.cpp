// SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8): "* SEARCH" with the
// matching messages' sequence numbers (UIDs for UID SEARCH), ascending, then
// the tagged OK. Only messages in the session's view match: one that arrived
// since the last EXISTS is not reported before its EXISTS, and one expunged
// by another session whose EXPUNGE is held back (RFC 3501 7.4.1) is gone
// from the store and matches nothing.
#include <string>
#include <variant>
#include <vector>

#include "server/commands/handlers.h"
#include "server/search_translate.h"
#include "server/session.h"

namespace imap::server {

void cmd_search(Session& session, Command& command) {
    const SearchCommand& search = std::get<SearchCommand>(command.body);
    const std::string name(command_name(command.body));
    SelectedMailbox* selected = session.selected();

    if (search.charset && !search_charset_supported(*search.charset)) {
        // RFC 3501 6.4.4: a tagged NO (not BAD), with the charsets we do
        // support. (Dovecot converts many more and sends a bare BADCHARSET.)
        session.complete(command.tag, Status::No, ResponseCode::badcharset(kSearchCharsets),
                         "Unsupported charset");
        return;
    }
    auto translated = translate_search(search.key, *selected);
    if (auto* error = std::get_if<SearchKeyError>(&translated)) {
        session.complete(command.tag, Status::Bad, name + ": " + error->message);
        return;
    }

    std::vector<std::uint32_t> numbers;
    const std::vector<std::uint32_t>& view = selected->uids();
    if (!view.empty()) {
        std::vector<store::SearchKey> keys;
        keys.push_back(store::SearchKey::uid_set({{view.front(), view.back()}}));
        keys.push_back(std::move(std::get<store::SearchKey>(translated)));
        const std::vector<std::uint32_t> uids = session.mail()->store().search(
            selected->id(), store::SearchKey::all_of(std::move(keys)));
        numbers.reserve(uids.size());
        for (std::uint32_t uid : uids) {
            const auto sequence = selected->sequence_of(uid);
            if (!sequence) continue;
            numbers.push_back(search.uid ? uid : *sequence);
        }
    }
    session.writer().search(numbers);
    session.complete(command.tag, Status::Ok, name + " completed");
}

}  // namespace imap::server
