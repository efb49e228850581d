#include "server/imap/search_contexts.h"

#include <algorithm>
#include <ctime>
#include <span>
#include <unordered_map>
#include <utility>
#include <variant>

#include "protocol/limits.h"
#include "server/imap/commands/message_set.h"
#include "server/imap/search_translate.h"
#include "server/imap/selected_mailbox.h"

namespace imap::server {
namespace {

// One pair of an ADDTO / REMOVEFROM (RFC 5267 5): a context position and
// the results (UIDs, in the requested order) inserted or removed there.
struct Run {
    std::size_t position = 0;
    std::vector<std::uint32_t> uids;
};

// The UIDs of `uids` as the context's numbers: sequence numbers in `view`,
// or the UIDs themselves.
std::vector<std::uint32_t> numbers_of(const SearchContexts::Context& context,
                                      const SelectedMailbox& view,
                                      const std::vector<std::uint32_t>& uids) {
    if (context.uid) return uids;
    std::vector<std::uint32_t> numbers;
    numbers.reserve(uids.size());
    for (std::uint32_t uid : uids) {
        if (const auto sequence = view.sequence_of(uid)) numbers.push_back(*sequence);
    }
    return numbers;
}

void write_runs(ResponseWriter& w, std::string_view name, const SearchContexts::Context& context,
                const SelectedMailbox& view, const std::vector<Run>& runs) {
    if (runs.empty()) return;
    // ret-data-addto = "ADDTO" SP "(" context-position SP sequence-set
    //                  *(SP context-position SP sequence-set) ")"
    w.sp().atom(name).sp().open();
    bool first = true;
    for (const Run& run : runs) {
        if (!first) w.sp();
        first = false;
        w.number(run.position).sp().raw(uid_set_string(numbers_of(context, view, run.uids)));
    }
    w.close();
}

// "* ESEARCH (TAG "t") [UID] REMOVEFROM (...) ADDTO (...)": removals first,
// their positions in the result before them; additions' positions in the
// result after them (4.3.2: processed in the order they appear).
void write_update(ResponseWriter& w, const SearchContexts::Context& context,
                  const SelectedMailbox& view, const std::vector<Run>& removed,
                  const std::vector<Run>& added) {
    if (removed.empty() && added.empty()) return;
    w.begin_untagged().atom("ESEARCH").sp().open().atom("TAG").sp().string(context.tag).close();
    if (context.uid) w.sp().atom("UID");
    write_runs(w, "REMOVEFROM", context, view, removed);
    write_runs(w, "ADDTO", context, view, added);
    w.end();
}

// Removes from `results` the UIDs `gone` (sorted ascending) names; returns
// the runs removed: for SEARCH one pair at position 0 in mailbox order
// (4.3.4: the RECOMMENDED form), for SORT each run of neighbours with its
// position at the time it is removed (earlier runs already gone).
std::vector<Run> remove_results(SearchContexts::Context& context,
                                const std::vector<std::uint32_t>& gone) {
    std::vector<Run> runs;
    std::vector<std::uint32_t> kept;
    kept.reserve(context.results.size());
    std::size_t removed = 0;
    bool in_run = false;
    for (std::size_t i = 0; i < context.results.size(); ++i) {
        const std::uint32_t uid = context.results[i];
        if (!std::binary_search(gone.begin(), gone.end(), uid)) {
            kept.push_back(uid);
            in_run = false;
            continue;
        }
        if (!context.sorted) {
            if (runs.empty()) runs.push_back({0, {}});
            runs.front().uids.push_back(uid);
        } else {
            if (!in_run) runs.push_back({i + 1 - removed, {}});
            runs.back().uids.push_back(uid);
            in_run = true;
        }
        ++removed;
    }
    if (removed > 0) context.results = std::move(kept);
    return runs;
}

// Adds `added` (ascending, none in the result yet) to a SEARCH context's
// result: one pair at position 0, mailbox order (4.3.3).
std::vector<Run> add_in_mailbox_order(SearchContexts::Context& context,
                                      const std::vector<std::uint32_t>& added) {
    std::vector<std::uint32_t> merged;
    merged.reserve(context.results.size() + added.size());
    std::merge(context.results.begin(), context.results.end(), added.begin(), added.end(),
               std::back_inserter(merged));
    context.results = std::move(merged);
    return {Run{0, added}};
}

// Adds `added` (none in the result yet) to a SORT context's result at their
// places in sort order: the store sorts the result and them again (the
// ties in UID order make it a total order), and each run of new neighbours
// is inserted at its position in the new result, left to right (4.3.3).
// A message of the result the store no longer has (expunged, its EXPUNGE
// not yet sent) keeps its place among its neighbours.
std::vector<Run> add_in_sort_order(SearchContexts::Context& context,
                                   const std::vector<std::uint32_t>& added, store::MailStore& store,
                                   store::MailboxId mailbox) {
    std::vector<std::uint32_t> all = context.results;
    all.insert(all.end(), added.begin(), added.end());
    std::sort(all.begin(), all.end());
    const std::vector<std::uint32_t> order =
        store.sort(mailbox, store::SearchKey::uid_set(uid_ranges(all)), context.criteria);
    std::unordered_map<std::uint32_t, std::size_t> rank;
    rank.reserve(order.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        rank.emplace(order[i], i);
    // The added messages the store still has, in sort order.
    std::vector<std::uint32_t> incoming;
    for (std::uint32_t uid : order) {
        if (std::binary_search(added.begin(), added.end(), uid)) incoming.push_back(uid);
    }
    std::vector<std::uint32_t> merged;
    merged.reserve(context.results.size() + incoming.size());
    std::vector<Run> runs;
    std::size_t next = 0;
    auto insert_before = [&](std::size_t limit) {
        bool in_run = false;
        while (next < incoming.size() && rank.at(incoming[next]) < limit) {
            if (!in_run) runs.push_back({merged.size() + 1, {}});
            runs.back().uids.push_back(incoming[next]);
            merged.push_back(incoming[next]);
            ++next;
            in_run = true;
        }
    };
    for (std::uint32_t uid : context.results) {
        const auto it = rank.find(uid);
        if (it != rank.end()) insert_before(it->second);
        merged.push_back(uid);
    }
    insert_before(order.size());
    context.results = std::move(merged);
    return runs;
}

}  // namespace

bool SearchContexts::has(std::string_view tag) const {
    return std::any_of(contexts_.begin(), contexts_.end(),
                       [&](const Context& context) { return context.tag == tag; });
}

bool SearchContexts::full() const {
    return contexts_.size() >= limits::kMaxSearchUpdateContexts;
}

void SearchContexts::add(Context context) {
    contexts_.push_back(std::move(context));
}

bool SearchContexts::cancel(std::string_view tag) {
    const auto it = std::find_if(contexts_.begin(), contexts_.end(),
                                 [&](const Context& context) { return context.tag == tag; });
    if (it == contexts_.end()) return false;
    contexts_.erase(it);
    return true;
}

void SearchContexts::expunged(const std::vector<std::uint32_t>& gone, const SelectedMailbox& view,
                              ResponseWriter& w) {
    if (gone.empty()) return;
    for (Context& context : contexts_) {
        // Numbers before the removal: the view still holds `gone`.
        const std::vector<Run> removed = remove_results(context, gone);
        write_update(w, context, view, removed, {});
    }
}

void SearchContexts::changed(const std::vector<std::uint32_t>& changed, const SelectedMailbox& view,
                             store::MailStore& store, ResponseWriter& w) {
    if (changed.empty() || contexts_.empty()) return;
    const store::SearchKey changed_key = store::SearchKey::uid_set(uid_ranges(changed));
    const std::int64_t now = std::time(nullptr);
    for (auto it = contexts_.begin(); it != contexts_.end();) {
        Context& context = *it;
        std::vector<std::uint32_t> matching;
        try {
            // Translated again each time: RECENT, NEW and OLD follow the
            // view's \Recent messages, OLDER and YOUNGER the clock.
            auto translated = translate_search(context.key, view, now);
            auto* key = std::get_if<store::SearchKey>(&translated);
            if (key != nullptr) {
                std::vector<store::SearchKey> keys;
                keys.push_back(changed_key);  // first: the store scans only its UID range
                keys.push_back(std::move(*key));
                matching = store.search(view.id(), store::SearchKey::all_of(std::move(keys)));
            }
        } catch (const store::StoreError& error) {
            if (error.code() != store::StoreErrc::OverLimit) throw;
            write_noupdate(w, context.tag, "Search too costly to keep up to date");
            it = contexts_.erase(it);
            continue;
        }
        // Membership by binary search: a SEARCH result is ascending, a
        // SORT result is looked up in an ascending copy.
        std::vector<std::uint32_t> ascending_copy;
        const std::vector<std::uint32_t>* ascending = &context.results;
        if (context.sorted) {
            ascending_copy = context.results;
            std::sort(ascending_copy.begin(), ascending_copy.end());
            ascending = &ascending_copy;
        }
        auto in_result = [ascending](std::uint32_t uid) {
            return std::binary_search(ascending->begin(), ascending->end(), uid);
        };
        // Messages of the result that changed and no longer match, and
        // matching ones the result lacks.
        std::vector<std::uint32_t> gone;
        for (std::uint32_t uid : changed) {
            if (!std::binary_search(matching.begin(), matching.end(), uid) && in_result(uid))
                gone.push_back(uid);
        }
        std::vector<std::uint32_t> added;
        for (std::uint32_t uid : matching) {
            if (!in_result(uid)) added.push_back(uid);
        }
        std::vector<Run> removed;
        if (!gone.empty()) removed = remove_results(context, gone);
        std::vector<Run> inserted;
        if (!added.empty()) {
            inserted = context.sorted ? add_in_sort_order(context, added, store, view.id())
                                      : add_in_mailbox_order(context, added);
        }
        write_update(w, context, view, removed, inserted);
        ++it;
    }
}

namespace {

void freeze_in_place(SearchKey& key, const SelectedMailbox& view) {
    using Kind = SearchKey::Kind;
    if (key.kind == Kind::SequenceSet || key.kind == Kind::Uid) {
        const store::UidSet uids = key.kind == Kind::SequenceSet
                                       ? view.resolve_search(key.set)
                                       : view.resolve(key.set, true).value_or(store::UidSet{});
        std::vector<SeqRange> ranges;
        ranges.reserve(uids.size());
        for (const store::UidRange& range : uids)
            ranges.push_back({range.first, range.last});
        key.kind = Kind::Uid;
        key.set = SequenceSet(std::move(ranges));
        return;
    }
    for (SearchKey& child : key.children)
        freeze_in_place(child, view);
}

}  // namespace

SearchKey freeze_message_sets(const SearchKey& key, const SelectedMailbox& view) {
    SearchKey frozen = key;
    freeze_in_place(frozen, view);
    return frozen;
}

store::UidSet uid_ranges(std::vector<std::uint32_t> uids) {
    std::sort(uids.begin(), uids.end());
    return store::uid_set_of(uids);
}

void write_noupdate(ResponseWriter& w, std::string_view tag, std::string_view text) {
    // resp-text-code =/ "NOUPDATE" SP quoted (RFC 5267 5); a tag holds no
    // '"' or '\' (they are not ATOM-CHARs, RFC 3501 9).
    w.untagged(Status::No, ResponseCode::extension("NOUPDATE", "\"" + std::string(tag) + "\""),
               text);
}

}  // namespace imap::server
