#include "server/imap/commands/search_common.h"

#include <algorithm>
#include <ctime>
#include <span>
#include <variant>

#include "server/imap/commands/message_set.h"
#include "server/imap/search_translate.h"

namespace imap::server {

Checked<std::optional<store::SearchKey>> view_search_key(Session& session,
                                                         std::string_view command_name,
                                                         const std::optional<std::string>& charset,
                                                         const SearchKey& key) {
    if (charset && !search_charset_supported(*charset)) {
        // RFC 3501 6.4.4, RFC 5256 3: a tagged NO (not BAD), with the
        // charsets we do support. (Dovecot converts many more and sends a
        // bare BADCHARSET.)
        return CommandResult::no(ResponseCode::badcharset(kSearchCharsets), "Unsupported charset");
    }
    const SelectedMailbox& selected = *session.selected();
    auto translated = translate_search(key, selected, std::time(nullptr));
    if (auto* error = std::get_if<SearchKeyError>(&translated)) {
        return CommandResult::bad(std::string(command_name) + ": " + error->message);
    }
    // RFC 7162 3.1: a MODSEQ criterion is a CONDSTORE enabling command.
    if (has_modseq(key)) session.enable_condstore();
    const ViewUids& view = selected.uids();
    if (view.empty()) return std::optional<store::SearchKey>();
    std::vector<store::SearchKey> keys;
    keys.push_back(store::SearchKey::uid_set({{view.front(), view.back()}}));
    keys.push_back(std::move(std::get<store::SearchKey>(translated)));
    return std::optional<store::SearchKey>(store::SearchKey::all_of(std::move(keys)));
}

bool has_modseq(const SearchKey& key) {
    if (key.kind == SearchKey::Kind::ModSeq) return true;
    return std::any_of(key.children.begin(), key.children.end(),
                       [](const SearchKey& child) { return has_modseq(child); });
}

std::vector<std::uint32_t> view_numbers(const SelectedMailbox& view,
                                        const std::vector<std::uint32_t>& uids, bool uid,
                                        std::vector<std::uint32_t>* kept) {
    std::vector<std::uint32_t> numbers;
    numbers.reserve(uids.size());
    for (std::uint32_t each : uids) {
        const auto sequence = view.sequence_of(each);
        if (!sequence) continue;
        numbers.push_back(uid ? each : *sequence);
        if (kept) kept->push_back(each);
    }
    return numbers;
}

std::pair<std::size_t, std::size_t> partial_slice(const PartialRange& range, std::size_t count) {
    const std::size_t low = std::min(range.first, range.last);
    const std::size_t high = std::max(range.first, range.last);
    if (low > count) return {count, count};
    if (!range.from_end) return {low - 1, std::min(high, count)};
    // -low is the low-th result from the end, -high reaches further back.
    return {high >= count ? 0 : count - high, count - (low - 1)};
}

std::vector<std::uint32_t> returned_messages(const SearchReturnOptions& options,
                                             const std::vector<std::uint32_t>& matches) {
    const bool some = options.min || options.max || options.partial;
    if (options.all || options.count || !some || matches.empty()) return matches;
    std::vector<std::uint32_t> returned;
    if (options.partial) {
        const auto [first, last] = partial_slice(*options.partial, matches.size());
        returned.assign(matches.begin() + static_cast<std::ptrdiff_t>(first),
                        matches.begin() + static_cast<std::ptrdiff_t>(last));
    }
    if (options.min) returned.push_back(matches.front());
    if (options.max) returned.push_back(matches.back());
    return returned;
}

void save_result(Session& session, const std::optional<SearchReturnOptions>& options,
                 const std::vector<std::uint32_t>& uids) {
    if (!options || !options->save) return;
    session.selected()->save_result(uid_ranges(returned_messages(*options, uids)));
}

CommandResult refuse_search(Session& session, const std::optional<SearchReturnOptions>& options,
                            CommandResult refusal) {
    const auto* tagged = std::get_if<outcome::Tagged>(&refusal.outcome());
    if (options && options->save && tagged != nullptr && tagged->status == Status::No) {
        session.selected()->save_result({});
    }
    return refusal;
}

Checked<std::optional<store::SearchKey>> saving_search_key(
    Session& session, std::string_view command_name, const std::optional<std::string>& charset,
    const SearchKey& key, const std::optional<SearchReturnOptions>& options) {
    auto store_key = view_search_key(session, command_name, charset, key);
    if (!store_key) return refuse_search(session, options, store_key.refusal());
    if (options && options->save) session.selected()->save_result({});
    return store_key;
}

std::optional<std::uint64_t> highest_modseq(Session& session,
                                            const std::vector<std::uint32_t>& uids,
                                            const std::optional<SearchReturnOptions>& options) {
    if (uids.empty()) return std::nullopt;
    const store::UidSet set = uid_ranges(options ? returned_messages(*options, uids) : uids);
    std::uint64_t highest = 0;
    const SelectedMailbox& selected = *session.selected();
    for (const store::MessageInfo& message :
         session.mail()->store().fetch(selected.id(), store::UidSpan(set)))
        highest = std::max(highest, message.modseq);
    return highest;
}

std::optional<CommandResult> refuse_tag_reuse(Session& session, const std::string& tag,
                                              const std::optional<SearchReturnOptions>& options) {
    if (!options || !options->update || !session.selected()->contexts().has(tag)) {
        return std::nullopt;
    }
    return CommandResult::bad("Tag reuse");
}

void keep_up_to_date(Session& session, const std::string& tag, bool uid,
                     const std::optional<SearchReturnOptions>& options, const SearchKey& key,
                     std::vector<store::SortCriterion> criteria, bool sorted,
                     std::vector<std::uint32_t> results) {
    if (!options || !options->update) return;
    SelectedMailbox& view = *session.selected();
    if (view.contexts().full()) {
        write_noupdate(session.writer(), tag, "Too many contexts");
        return;
    }
    SearchContexts::Context context;
    context.tag = tag;
    context.uid = uid;
    context.sorted = sorted;
    context.criteria = std::move(criteria);
    context.key = freeze_message_sets(key, view);
    context.results = std::move(results);
    view.contexts().add(std::move(context));
}

void write_esearch(ResponseWriter& w, const std::string& tag, bool uid,
                   const SearchReturnOptions& options, const std::vector<std::uint32_t>& numbers,
                   std::optional<std::uint64_t> modseq) {
    if (!options.min && !options.max && !options.all && !options.count && !options.partial &&
        !options.update) {
        return;
    }
    w.begin_untagged().atom("ESEARCH").sp().open().atom("TAG").sp().string(tag).close();
    if (uid) w.sp().atom("UID");
    if (!numbers.empty()) {
        if (options.min) w.sp().atom("MIN").sp().number(numbers.front());
        if (options.max) w.sp().atom("MAX").sp().number(numbers.back());
    }
    if (options.count) w.sp().atom("COUNT").sp().number(numbers.size());
    if (options.all && !numbers.empty()) w.sp().atom("ALL").sp().raw(uid_set_string(numbers));
    if (options.partial) {
        // ret-data-partial = "PARTIAL" SP "(" partial-range SP
        // partial-results ")"; partial-results = sequence-set / "NIL".
        const PartialRange& range = *options.partial;
        const std::string minus = range.from_end ? "-" : "";
        w.sp().atom("PARTIAL").sp().open().raw(minus + std::to_string(range.first) + ":" + minus +
                                               std::to_string(range.last));
        const auto [first, last] = partial_slice(range, numbers.size());
        if (first == last) {
            w.sp().raw("NIL");
        } else {
            w.sp().raw(uid_set_string(
                std::span<const std::uint32_t>(numbers).subspan(first, last - first)));
        }
        w.close();
    }
    if (modseq) w.sp().atom("MODSEQ").sp().number(*modseq);
    w.end();
}

}  // namespace imap::server
