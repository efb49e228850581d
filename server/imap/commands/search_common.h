// What SEARCH, SORT and THREAD share (RFC 3501 6.4.4, RFC 5256, RFC 4731,
// RFC 5267, RFC 7162 3.1.5-3.1.10): the charset check, the criteria
// restricted to the session's view, the view's numbers of the store's UIDs,
// CONDSTORE's highest modseq and the ESEARCH response.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/command.h"
#include "protocol/response_writer.h"
#include "server/imap/command_result.h"
#include "server/imap/session.h"
#include "store/search.h"

namespace imap::server {

// The criteria `key` (in `charset`, nullopt: the default) as the store's,
// limited to the UIDs of the selected mailbox's view; or the answer: NO
// [BADCHARSET] for a charset SEARCH does not accept, BAD for keys that
// cannot be evaluated. A MODSEQ criterion enables CONDSTORE (RFC 7162 3.1).
// nullopt in the value: the view is empty, nothing can match.
Checked<std::optional<store::SearchKey>> view_search_key(Session& session,
                                                         std::string_view command_name,
                                                         const std::optional<std::string>& charset,
                                                         const SearchKey& key);

// True when `key` has a MODSEQ criterion anywhere (RFC 7162 3.1.5).
bool has_modseq(const SearchKey& key);

// The store's `uids` (in the result's order) as the response numbers:
// sequence numbers, or the UIDs themselves for a UID command. A UID the view
// does not hold (arrived since its last EXISTS) is left out; `kept`, when
// given, gets the UIDs that stay.
std::vector<std::uint32_t> view_numbers(const SelectedMailbox& view,
                                        const std::vector<std::uint32_t>& uids, bool uid,
                                        std::vector<std::uint32_t>* kept = nullptr);

// The half-open index range [first, second) of the results `range` names
// among `count` (RFC 9394 3.1: 1 is the first result, -1 the last; 500:400
// is 400:500; indexes past the results are left out, so it may be empty).
std::pair<std::size_t, std::size_t> partial_slice(const PartialRange& range, std::size_t count);

// The messages a SEARCH or SORT with `options` returns, of `matches` (in
// the result's order), which SAVE keeps (RFC 5182 2.4, RFC 9394 3.2) and
// whose highest modseq it reports (RFC 4731 3.2, RFC 7162 3.1.5): with ALL
// or COUNT (or no return item) all of them; else those of PARTIAL and the
// MIN and/or MAX message.
std::vector<std::uint32_t> returned_messages(const SearchReturnOptions& options,
                                             const std::vector<std::uint32_t>& matches);

// RFC 5182 2.1: "$" becomes the UIDs returned_messages() names of `uids`
// (the matches in the view), when `options` has SAVE.
void save_result(Session& session, const std::optional<SearchReturnOptions>& options,
                 const std::vector<std::uint32_t>& uids);

// RFC 5182 2.1: a SEARCH ... SAVE (or SORT) refused with NO empties "$"
// (a BAD leaves it); passes `refusal` on.
CommandResult refuse_search(Session& session, const std::optional<SearchReturnOptions>& options,
                            CommandResult refusal);

// view_search_key() for a command with return options (SEARCH, SORT):
// a refusal passes through refuse_search(), and once the key is accepted a
// SAVE empties "$" first, so a later failure (a store error: NO) leaves it
// empty (RFC 5182 2.1).
Checked<std::optional<store::SearchKey>> saving_search_key(
    Session& session, std::string_view command_name, const std::optional<std::string>& charset,
    const SearchKey& key, const std::optional<SearchReturnOptions>& options);

// RFC 7162 3.1.5/3.1.6, RFC 4731 3.2: the highest modseq of the messages
// returned (returned_messages()) of `uids` (the matches, in the result's
// order). nullopt when `uids` is empty.
std::optional<std::uint64_t> highest_modseq(Session& session,
                                            const std::vector<std::uint32_t>& uids,
                                            const std::optional<SearchReturnOptions>& options);

// RFC 5267 4.3: a searching command with UPDATE whose tag names an active
// context is refused with BAD and has no effect. The refusal, or nullopt.
std::optional<CommandResult> refuse_tag_reuse(Session& session, const std::string& tag,
                                              const std::optional<SearchReturnOptions>& options);

// RFC 5267 4.3, 4.3.1: after the command's ESEARCH response, keeps the
// search up to date when `options` has UPDATE: `key` (its message sets
// fixed now), `criteria` for SORT (empty for SEARCH), `results` the
// matching UIDs of the view in the requested order. With
// limits::kMaxSearchUpdateContexts active, "* NO [NOUPDATE "tag"]" instead.
void keep_up_to_date(Session& session, const std::string& tag, bool uid,
                     const std::optional<SearchReturnOptions>& options, const SearchKey& key,
                     std::vector<store::SortCriterion> criteria, bool sorted,
                     std::vector<std::uint32_t> results);

// ESEARCH (RFC 4731 3.1, RFC 5267 3.1 for SORT): "* ESEARCH (TAG "a") [UID]
// MIN 2 MAX 9 COUNT 4 ALL 2:4,9", or PARTIAL (1:10 2:4,9) in ALL's place
// (RFC 9394 4: the range as requested, then the results it names or NIL),
// the requested items in this order
// (Dovecot writes ALL before COUNT; RFC 4731 fixes no order). MIN and MAX
// are the first and last of `numbers`, which are in the result's order
// (ascending for SEARCH, sort order for SORT); ALL keeps that order, an
// ascending run written as a range (RFC 5267 3.2: never "12:10"). With no
// match MIN, MAX and ALL are left out and COUNT is 0; MODSEQ when given
// (RFC 7162 3.1.10). SAVE alone returns no item: nothing is written
// (RFC 5182 2.2 example 1); UPDATE without a result option writes the
// line with the correlator only (RFC 5267 4.3; as Dovecot).
void write_esearch(ResponseWriter& w, const std::string& tag, bool uid,
                   const SearchReturnOptions& options, const std::vector<std::uint32_t>& numbers,
                   std::optional<std::uint64_t> modseq);

}  // namespace imap::server
