// SORT and UID SORT (RFC 5256 3 BASE.6.4.SORT, RFC 5957 SORT=DISPLAY):
// "* SORT" with the matching messages' numbers in the order of the sort
// criteria, ties in mailbox order, then the tagged OK. The search part is
// SEARCH's (cmd_search.cpp): the same keys, charsets and view. The order
// is the store's (MailStore::sort: one ORDER BY over the stored sort keys).
//
// ESORT (RFC 5267 3): with RETURN (...) the answer is one "* ESEARCH" line
// whose MIN and MAX are the first and last message in sort order and whose
// ALL keeps the sort order; PARTIAL (RFC 9394, RFC 5267 4.4) counts in sort
// order. SAVE (RFC 5182) keeps the messages returned as "$", as SEARCH
// does (cmd_search.cpp).
//
// CONTEXT=SORT (RFC 5267 4): RETURN (UPDATE) keeps the sorted result up to
// date with ADDTO / REMOVEFROM at non-zero positions in sort order
// (search_contexts.h).
//
// CONDSTORE (RFC 7162 3.1.9, 3.1.10): with a MODSEQ criterion a non-empty
// result ends with "(MODSEQ m)", or carries "MODSEQ m" in ESEARCH, m the
// highest modseq of the messages returned.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/search_common.h"
#include "server/imap/session.h"

namespace imap::server {
namespace {

store::SortCriterion to_store(const SortCriterion& criterion) {
    using From = SortCriterion::Key;
    using To = store::SortCriterion::Key;
    To key = To::Arrival;
    switch (criterion.key) {
        case From::Arrival:
            key = To::Arrival;
            break;
        case From::Cc:
            key = To::Cc;
            break;
        case From::Date:
            key = To::Date;
            break;
        case From::From:
            key = To::From;
            break;
        case From::Size:
            key = To::Size;
            break;
        case From::Subject:
            key = To::Subject;
            break;
        case From::To:
            key = To::To;
            break;
        case From::DisplayFrom:
            key = To::DisplayFrom;
            break;
        case From::DisplayTo:
            key = To::DisplayTo;
            break;
    }
    return {key, criterion.reverse};
}

}  // namespace

CommandResult cmd_sort(Session& session, Command& command) {
    const SortCommand& sort = std::get<SortCommand>(command.body);
    const std::string name(command_name(command.body));
    if (auto refused = refuse_tag_reuse(session, command.tag, sort.return_options))
        return std::move(*refused);
    auto key = saving_search_key(session, name, sort.charset, sort.key, sort.return_options);
    if (!key) return key.refusal();

    std::vector<std::uint32_t> numbers;
    std::vector<std::uint32_t> uids;  // the matches in the view, sorted
    std::vector<store::SortCriterion> criteria;
    for (const SortCriterion& criterion : sort.criteria)
        criteria.push_back(to_store(criterion));
    if (*key) {
        numbers =
            view_numbers(*session.selected(),
                         session.mail()->store().sort(session.selected()->id(), **key, criteria),
                         sort.uid, &uids);
    }
    save_result(session, sort.return_options, uids);
    std::optional<std::uint64_t> highest;
    if (has_modseq(sort.key)) highest = highest_modseq(session, uids, sort.return_options);
    if (sort.return_options) {
        write_esearch(session.writer(), command.tag, sort.uid, *sort.return_options, numbers,
                      highest);
    } else {
        // sort-data = "SORT" *(SP nz-number) [SP search-sort-mod-seq]
        // (RFC 5256 5, RFC 7162 7)
        ResponseWriter& w = session.writer();
        w.begin_untagged().atom("SORT");
        for (std::uint32_t number : numbers)
            w.sp().number(number);
        if (highest) w.sp().open().atom("MODSEQ").sp().number(*highest).close();
        w.end();
    }
    keep_up_to_date(session, command.tag, sort.uid, sort.return_options, sort.key,
                    std::move(criteria), true, std::move(uids));
    return CommandResult::ok(name + " completed");
}

}  // namespace imap::server
