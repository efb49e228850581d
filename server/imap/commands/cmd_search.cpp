// SEARCH and UID SEARCH (RFC 3501 6.4.4, 6.4.8): "* SEARCH" with the
// matching messages' sequence numbers (UIDs for UID SEARCH), ascending, then
// the tagged OK. Only messages in the session's view match: one that arrived
// since the last EXISTS is not reported before its EXISTS, and one expunged
// by another session whose EXPUNGE is held back (RFC 3501 7.4.1) is gone
// from the store and matches nothing.
//
// ESEARCH (RFC 4731): with RETURN (...) the answer is one "* ESEARCH" line
// instead (write_esearch below); "RETURN ()" is ALL.
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
// Message numbers past EXISTS in a sequence-set key match nothing, in
// SEARCH and UID SEARCH, ESEARCH forms and inside OR / NOT (as Dovecot;
// SelectedMailbox::resolve_search).
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/search_translate.h"
#include "server/imap/session.h"

namespace imap::server {
namespace {

// ESEARCH (RFC 4731 3.1): "* ESEARCH (TAG "a") [UID] MIN 2 MAX 9 COUNT 4
// ALL 2:4,9", the requested items in this order (Dovecot writes ALL before
// COUNT; RFC 4731 fixes no order). With no match MIN, MAX and ALL are left
// out and COUNT is 0. `numbers` is ascending.
void write_esearch(ResponseWriter& w, const std::string& tag, bool uid,
                   const SearchReturnOptions& options, const std::vector<std::uint32_t>& numbers,
                   std::optional<std::uint64_t> modseq) {
    w.begin_untagged().atom("ESEARCH").sp().open().atom("TAG").sp().string(tag).close();
    if (uid) w.sp().atom("UID");
    if (!numbers.empty()) {
        if (options.min) w.sp().atom("MIN").sp().number(numbers.front());
        if (options.max) w.sp().atom("MAX").sp().number(numbers.back());
    }
    if (options.count) w.sp().atom("COUNT").sp().number(numbers.size());
    if (options.all && !numbers.empty()) w.sp().atom("ALL").sp().raw(uid_set_string(numbers));
    // RFC 7162 3.1.10: MODSEQ when the criteria had MODSEQ and something matched.
    if (modseq) w.sp().atom("MODSEQ").sp().number(*modseq);
    w.end();
}

// True when `key` has a MODSEQ criterion anywhere (RFC 7162 3.1.5).
bool has_modseq(const SearchKey& key) {
    if (key.kind == SearchKey::Kind::ModSeq) return true;
    for (const SearchKey& child : key.children) {
        if (has_modseq(child)) return true;
    }
    return false;
}

}  // namespace

CommandResult cmd_search(Session& session, Command& command) {
    const SearchCommand& search = std::get<SearchCommand>(command.body);
    const std::string name(command_name(command.body));
    SelectedMailbox* selected = session.selected();

    if (search.charset && !search_charset_supported(*search.charset)) {
        // RFC 3501 6.4.4: a tagged NO (not BAD), with the charsets we do
        // support. (Dovecot converts many more and sends a bare BADCHARSET.)
        return CommandResult::no(ResponseCode::badcharset(kSearchCharsets), "Unsupported charset");
    }
    auto translated = translate_search(search.key, *selected);
    if (auto* error = std::get_if<SearchKeyError>(&translated)) {
        return CommandResult::bad(name + ": " + error->message);
    }

    // RFC 7162 3.1: SEARCH MODSEQ is a CONDSTORE enabling command.
    const bool modseq_criterion = has_modseq(search.key);
    if (modseq_criterion) session.enable_condstore();

    std::vector<std::uint32_t> numbers;
    store::UidSet matched;  // for the highest modseq of a MODSEQ search
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
            if (!modseq_criterion) continue;
            if (!matched.empty() && matched.back().last + 1ull == uid) {
                matched.back().last = uid;
            } else {
                matched.push_back({uid, uid});
            }
        }
    }
    // RFC 7162 3.1.5/3.1.6, RFC 4731 3.2: the highest modseq of the
    // messages returned.
    std::optional<std::uint64_t> highest;
    if (!matched.empty()) {
        const std::optional<SearchReturnOptions>& options = search.return_options;
        if (options && !options->all && !options->count) {
            // MIN and/or MAX only: the messages returned are those one or two.
            store::UidSet returned;
            if (options->min) returned.push_back({matched.front().first, matched.front().first});
            if (options->max) returned.push_back({matched.back().last, matched.back().last});
            matched = std::move(returned);
        }
        highest = 0;
        for (const store::MessageInfo& message :
             session.mail()->store().fetch(selected->id(), store::UidSpan(matched)))
            highest = std::max(*highest, message.modseq);
    }
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
    return CommandResult::ok(name + " completed");
}

}  // namespace imap::server
