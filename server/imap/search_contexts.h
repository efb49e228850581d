// SearchContexts: the searches a session asked to keep up to date (RFC 5267
// 4.3, CONTEXT=SEARCH and CONTEXT=SORT: SEARCH / UID SEARCH / SORT / UID SORT
// RETURN (UPDATE ...)), and the "* ESEARCH (TAG "t") ADDTO (...)" /
// "REMOVEFROM (...)" responses that keep the client's copy of each result in
// step while the mailbox stays selected.
//
// They live with the selected mailbox's view (SelectedMailbox owns them),
// so SELECT, EXAMINE, CLOSE and UNSELECT drop them (4.3: "Updates will cease
// when the mailbox is no longer selected"). The view reports every change
// it tells the client of, wherever it came from (this session, another
// one, `imapd deliver`, LMTP: docs/architecture.md "Search contexts"):
// - expunged(): before the EXPUNGE / VANISHED responses (4.3.4: a
//   REMOVEFROM of sequence numbers MUST come before the EXPUNGE);
// - changed(): after the FETCH and EXISTS responses of the flag changes
//   and new messages (4.3.3: an ADDTO of new messages MUST come after
//   their EXISTS).
//
// Cost (docs/architecture.md "Search contexts"): a change is evaluated
// against each context's criteria for the changed messages only, one store
// query over their UIDs per context; the result is kept as UIDs in the
// requested order, so an expunge costs no query. A SORT context that gains
// messages sorts its whole result again (one store query) to find their
// positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/command.h"
#include "protocol/response_writer.h"
#include "store/mail_store.h"
#include "store/search.h"

namespace imap::server {

class SelectedMailbox;

class SearchContexts {
  public:
    struct Context {
        std::string tag;   // the searching command's (the search correlator)
        bool uid = false;  // UID SEARCH / UID SORT: updates carry UIDs
        // SORT: non-zero positions in sort order (4.3.3); SEARCH: position
        // 0 and mailbox order.
        bool sorted = false;
        std::vector<store::SortCriterion> criteria;
        // The criteria with their message sets fixed to UIDs at the time of
        // the command (freeze_message_sets(): 4.3, "any message sequence
        // numbers used in the search program are evaluated at the time the
        // command is received").
        SearchKey key;
        // The matching messages of the view, as UIDs in the requested order
        // (ascending for SEARCH).
        std::vector<std::uint32_t> results;
    };

    bool empty() const { return contexts_.empty(); }
    const std::vector<Context>& all() const { return contexts_; }
    std::size_t size() const { return contexts_.size(); }
    // A context with this tag is active (4.3: reusing it is BAD).
    bool has(std::string_view tag) const;
    // limits::kMaxSearchUpdateContexts are active: a new one is refused
    // with NOUPDATE (4.3.1).
    bool full() const;
    void add(Context context);
    // CANCELUPDATE (4.3.5): false when no context has `tag`.
    bool cancel(std::string_view tag);

    // `gone` (ascending UIDs, about to leave `view`, which still holds
    // them): writes a REMOVEFROM for every context holding any of them and
    // drops them from its result.
    void expunged(const std::vector<std::uint32_t>& gone, const SelectedMailbox& view,
                  ResponseWriter& w);
    // `changed` (ascending UIDs of `view`: flags changed or newly arrived,
    // in the view already): evaluates each context's criteria on them in
    // `store` and writes the ADDTO / REMOVEFROM that brings its result in
    // step. A context the store cannot evaluate any more (a limit) is
    // dropped with "* NO [NOUPDATE "tag"]".
    void changed(const std::vector<std::uint32_t>& changed, const SelectedMailbox& view,
                 store::MailStore& store, ResponseWriter& w);

  private:
    std::vector<Context> contexts_;
};

// `key` with its message sets (sequence numbers, UIDs, "$") replaced by
// the UIDs they name in `view` now, as UID keys (RFC 5267 4.3).
SearchKey freeze_message_sets(const SearchKey& key, const SelectedMailbox& view);

// `uids` (any order, repeats allowed) as ascending ranges.
store::UidSet uid_ranges(std::vector<std::uint32_t> uids);

// "* NO [NOUPDATE "tag"] text" (RFC 5267 4.3.1).
void write_noupdate(ResponseWriter& w, std::string_view tag, std::string_view text);

}  // namespace imap::server
