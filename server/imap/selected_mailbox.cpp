#include "server/imap/selected_mailbox.h"

#include <algorithm>
#include <span>
#include <string_view>

#include "protocol/sequence_set.h"

namespace imap::server {

std::vector<std::string> flag_names(std::uint32_t system_flags, bool recent,
                                    const std::vector<std::string>& keywords) {
    std::vector<std::string> names = store::system_flag_names(system_flags);
    if (recent) names.emplace_back("\\Recent");
    names.insert(names.end(), keywords.begin(), keywords.end());
    return names;
}

void write_vanished(ResponseWriter& w, std::vector<std::uint32_t> uids, bool earlier) {
    if (uids.empty()) return;
    w.begin_untagged().atom("VANISHED").sp();
    if (earlier) w.atom("(EARLIER)").sp();
    w.raw(ResolvedSet::from_numbers(std::move(uids)).to_string()).end();
}

SelectedMailbox::SelectedMailbox(store::MailStore& store, const store::MailboxInfo& info,
                                 bool read_only, bool track_recent)
    : store_(store),
      id_(info.id),
      read_only_(read_only),
      track_recent_(track_recent),
      uidvalidity_(info.uidvalidity),
      uidnext_(info.uidnext),
      flags_modseq_(info.highestmodseq),
      expunge_modseq_(info.highestmodseq) {
    // The mailbox row was read before the UIDs: whatever changed in between
    // has a modseq above info.highestmodseq and is picked up by sync(). The
    // pin is registered before the UIDs are read, so no message of the view
    // can lose its body before the view applies its expunge.
    pin_ = store_.pin_view(id_, expunge_modseq_);
    uids_ = ViewUids(store_.uids(id_));
    if (!uids_.empty()) uidnext_ = std::max<std::uint64_t>(uidnext_, uids_.back() + 1ull);
    keywords_ = store_.keywords(id_);
    if (!track_recent_) {
        // No \Recent: nothing claimed, nothing recent.
    } else if (read_only_) {
        if (info.first_recent_uid < uidnext_) {
            add_recent(info.first_recent_uid, static_cast<std::uint32_t>(uidnext_ - 1));
        }
    } else if (auto claimed = store_.claim_recent(id_)) {
        add_recent(claimed->first, claimed->last);
    }
    announced_recent_ = recent_count();  // SELECT and EXAMINE send it
}

void SelectedMailbox::set_expunge_modseq(std::uint64_t modseq) {
    expunge_modseq_ = modseq;
    pin_.advance(modseq);
}

void SelectedMailbox::announce_recent(ResponseWriter& w) {
    if (!track_recent_) return;
    const std::uint32_t recent = recent_count();
    if (recent == announced_recent_) return;
    w.recent(recent);
    announced_recent_ = recent;
}

std::uint32_t SelectedMailbox::recent_count() const {
    std::uint32_t count = 0;
    for (const store::UidRange& range : recent_) {
        count += static_cast<std::uint32_t>(uids_.count_between(range.first, range.last));
    }
    return count;
}

std::optional<std::uint32_t> SelectedMailbox::sequence_of(std::uint32_t uid) const {
    const std::size_t index = uids_.lower_bound(uid);
    if (index == uids_.size() || uids_[index] != uid) return std::nullopt;
    return static_cast<std::uint32_t>(index + 1);
}

bool SelectedMailbox::is_recent(std::uint32_t uid) const {
    auto it =
        std::upper_bound(recent_.begin(), recent_.end(), uid,
                         [](std::uint32_t u, const store::UidRange& r) { return u < r.first; });
    return it != recent_.begin() && uid <= std::prev(it)->last;
}

void SelectedMailbox::add_recent(std::uint32_t first, std::uint32_t last) {
    if (first > last) return;
    if (!recent_.empty() && first <= recent_.back().last + 1ull) {
        recent_.back().last = std::max(recent_.back().last, last);
        return;
    }
    recent_.push_back({first, last});
}

store::UidSet SelectedMailbox::saved_in_view() const {
    // Runs of consecutive sequence numbers, each one range of UIDs (the
    // store holds no UID between two neighbours of the view that the view
    // does not hold).
    store::UidSet result;
    std::size_t previous = uids_.size();
    for (const store::UidRange& range : saved_result_) {
        for (std::size_t index = uids_.lower_bound(range.first);
             index < uids_.size() && uids_[index] <= range.last; ++index) {
            const std::uint32_t uid = uids_[index];
            if (!result.empty() && index == previous + 1) {
                result.back().last = uid;
            } else {
                result.push_back({uid, uid});
            }
            previous = index;
        }
    }
    return result;
}

std::optional<store::UidSet> SelectedMailbox::resolve(const SequenceSet& set, bool uid) const {
    if (set.is_last_result()) return saved_in_view();
    store::UidSet result;
    if (uid) {
        if (uids_.empty()) return result;
        const std::uint32_t last_uid = uids_.back();
        // Named: ranges() of a temporary would dangle in the range-for.
        const ResolvedSet resolved = set.resolve(last_uid);
        for (const SeqRange& range : resolved.ranges()) {
            if (range.first > last_uid) continue;
            const std::uint32_t last = std::min(range.last, last_uid);
            // Skip ranges that fall between two UIDs of the view.
            const std::size_t first = uids_.lower_bound(range.first);
            if (first == uids_.size() || uids_[first] > last) continue;
            result.push_back({uids_[first], last});
        }
        return result;
    }
    const std::uint32_t count = exists();
    for (const SeqRange& range : set.ranges()) {
        // RFC 3501 9: "*" is the largest number in use; with no message
        // there is none, and every number is past the end.
        const std::uint32_t first = range.first == 0 ? count : range.first;
        const std::uint32_t last = range.last == 0 ? count : range.last;
        if (first == 0 || last == 0 || first > count || last > count) return std::nullopt;
    }
    const ResolvedSet resolved = set.resolve(count);
    for (const SeqRange& range : resolved.ranges()) {
        // Sequence numbers are contiguous in the view, and the store holds no
        // UID between two of the view's that the view does not hold (UIDs
        // only grow), so a range of numbers is a range of UIDs.
        result.push_back({uid_at(range.first), uid_at(range.last)});
    }
    return result;
}

store::UidSet SelectedMailbox::resolve_search(const SequenceSet& set) const {
    if (set.is_last_result()) return saved_in_view();
    store::UidSet result;
    const std::uint32_t count = exists();
    if (count == 0) return result;
    const ResolvedSet resolved = set.resolve(count);
    for (const SeqRange& range : resolved.ranges()) {
        if (range.first > count) break;  // ascending: the rest is past EXISTS too
        result.push_back({uid_at(range.first), uid_at(std::min(range.last, count))});
    }
    return result;
}

std::vector<store::MessageInfo> SelectedMailbox::expunged_messages(store::UidSpan set) const {
    std::vector<store::MessageInfo> result;
    if (set.empty()) return result;
    store::FetchOptions options;
    options.expunged_after = expunge_modseq_;
    for (store::MessageInfo& message : store_.fetch(id_, set, options)) {
        if (!message.expunged || !sequence_of(message.uid)) continue;
        view_flags(message);
        result.push_back(std::move(message));
    }
    return result;
}

void SelectedMailbox::view_flags(store::MessageInfo& message) const {
    const auto copy = flag_copies_.find(message.uid);
    if (copy == flag_copies_.end()) return;
    message.flags = copy->second.system;
    message.keywords = copy->second.keywords;
}

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
        return lower(x) == lower(y);
    });
}

bool has_keyword(const std::vector<std::string>& keywords, std::string_view name) {
    return std::any_of(keywords.begin(), keywords.end(),
                       [&](const std::string& k) { return iequals(k, name); });
}

}  // namespace

bool SelectedMailbox::store_expunged(store::MessageInfo& message, store::FlagOp op,
                                     const store::Flags& flags) {
    const std::uint32_t system = flags.system;
    std::vector<std::string> keywords;
    if (!flags.keywords.empty()) {
        const std::vector<std::string> defined = store_.keywords(id_);
        for (const std::string& keyword : flags.keywords) {
            const auto it = std::find_if(defined.begin(), defined.end(),
                                         [&](const std::string& d) { return iequals(d, keyword); });
            keywords.push_back(it != defined.end() ? *it : keyword);
        }
    }
    std::uint32_t new_flags = message.flags;
    std::vector<std::string> new_keywords;
    switch (op) {
        case store::FlagOp::Add:
            new_flags |= system;
            new_keywords = message.keywords;
            for (const std::string& k : keywords) {
                if (!has_keyword(new_keywords, k)) new_keywords.push_back(k);
            }
            break;
        case store::FlagOp::Remove:
            new_flags &= ~system;
            for (const std::string& k : message.keywords) {
                if (!has_keyword(keywords, k)) new_keywords.push_back(k);
            }
            break;
        case store::FlagOp::Replace:
            new_flags = system;
            for (const std::string& k : keywords) {
                if (!has_keyword(new_keywords, k)) new_keywords.push_back(k);
            }
            break;
    }
    std::sort(new_keywords.begin(), new_keywords.end());
    if (new_flags == message.flags && new_keywords == message.keywords) return false;
    message.flags = new_flags;
    message.keywords = new_keywords;
    flag_copies_[message.uid] = FlagCopy{new_flags, std::move(new_keywords)};
    return true;
}

void SelectedMailbox::remove_from_view(const std::vector<std::uint32_t>& gone, ResponseWriter* w,
                                       bool vanished) {
    if (gone.empty() || uids_.empty()) return;
    // RFC 5267 4.3.4: REMOVEFROM before the EXPUNGE, while its numbers hold.
    if (w) contexts_.expunged(gone, *this, *w);
    std::vector<std::uint32_t> removed_uids;
    // `gone` is ascending: the view names each removed message by its
    // position before any removal, in ascending order.
    std::uint32_t removed = 0;
    uids_.erase(gone, [&](std::size_t index, std::uint32_t uid) {
        // RFC 3501 7.4.1: each EXPUNGE renumbers the messages after it.
        // VANISHED names only messages of the view (RFC 7162 3.2.10.2).
        if (w && vanished) removed_uids.push_back(uid);
        if (w && !vanished) w->expunge(static_cast<std::uint32_t>(index + 1 - removed));
        ++removed;
        flag_copies_.erase(uid);
    });
    if (w && vanished) write_vanished(*w, std::move(removed_uids), false);
}

void SelectedMailbox::expunged(const std::vector<std::uint32_t>& uids, ResponseWriter& w,
                               bool vanished) {
    remove_from_view(uids, &w, vanished);
}

void SelectedMailbox::write_flag_update(ResponseWriter& w, const store::MessageInfo& message,
                                        bool with_uid, bool with_modseq, bool with_flags) const {
    const auto sequence = sequence_of(message.uid);
    if (!sequence) return;
    w.fetch_begin(*sequence);
    bool first = true;
    if (with_uid) {
        w.atom("UID").sp().number(message.uid);
        first = false;
    }
    if (with_flags) {
        if (!first) w.sp();
        w.atom("FLAGS").sp().flag_list(
            flag_names(message.flags, is_recent(message.uid), message.keywords));
        first = false;
    }
    if (with_modseq) {
        if (!first) w.sp();
        w.atom("MODSEQ").sp().open().number(message.modseq).close();
    }
    w.fetch_end();
}

store::UidSet& SelectedMailbox::own_changes_of(std::uint64_t modseq) {
    auto entry = std::find_if(own_changes_.rbegin(), own_changes_.rend(),
                              [modseq](const OwnChange& own) { return own.modseq == modseq; });
    if (entry != own_changes_.rend()) return entry->uids;
    return own_changes_.emplace_back(OwnChange{modseq, {}}).uids;
}

void SelectedMailbox::flags_reported(std::uint32_t uid, std::uint64_t modseq) {
    store::UidSet& set = own_changes_of(modseq);
    // The usual case, a FETCH's messages in ascending order, extends the set
    // at its end without normalizing it again for each message.
    if (set.empty() || uid > set.back().last) {
        if (!set.empty() && set.back().last + 1ull == uid) {
            set.back().last = uid;
        } else {
            set.push_back({uid, uid});
        }
        return;
    }
    const store::UidRange one{uid, uid};
    flags_reported(std::span(&one, 1), modseq);
}

void SelectedMailbox::flags_reported(store::UidSpan uids, std::uint64_t modseq) {
    if (uids.empty()) return;
    store::UidSet& set = own_changes_of(modseq);
    set.insert(set.end(), uids.begin(), uids.end());
    set = store::normalize(set);
}

bool SelectedMailbox::is_own_change(std::uint32_t uid, std::uint64_t modseq) const {
    for (const OwnChange& own : own_changes_) {
        if (own.modseq == modseq && store::contains(own.uids, uid)) return true;
    }
    return false;
}

void SelectedMailbox::write_flags(ResponseWriter& w) const {
    std::vector<std::string> flags = store::system_flag_names(store::flag::kAll);
    flags.insert(flags.end(), keywords_.begin(), keywords_.end());
    w.flags(flags);
    if (read_only_) {
        // RFC 3501 6.3.2: nothing can be changed in an EXAMINEd mailbox.
        w.untagged(Status::Ok, ResponseCode::permanent_flags({}), "Read-only mailbox.");
        return;
    }
    // "\*": clients may create new keywords (RFC 3501 7.1 PERMANENTFLAGS).
    flags.emplace_back("\\*");
    w.untagged(Status::Ok, ResponseCode::permanent_flags(flags), "Flags permitted.");
}

void SelectedMailbox::refresh_keywords(ResponseWriter& w) {
    std::vector<std::string> keywords = store_.keywords(id_);
    if (keywords == keywords_) return;
    keywords_ = std::move(keywords);
    write_flags(w);
}

void SelectedMailbox::sync(ResponseWriter& w, const SyncOptions& options) {
    const store::MailboxInfo info = store_.mailbox(id_);
    const bool expunges_due = options.allow_expunge && info.highestmodseq > expunge_modseq_;
    const bool flags_due = info.highestmodseq > flags_modseq_;
    if (!expunges_due && !flags_due) {
        announce_recent(w);  // after this session's own EXPUNGE
        if (options.report_contexts) report_context_changes(w);
        return;
    }

    if (!options.allow_expunge && info.highestmodseq > expunge_modseq_) {
        // No EXPUNGE may be sent now. When none is pending for a message of
        // the view, the expunges are in step anyway, and reported_modseq()
        // (RFC 7162 3.2: HIGHESTMODSEQ below any held-back expunge) need
        // not lag behind.
        const std::vector<std::uint32_t> gone = store_.expunged_since(id_, expunge_modseq_);
        const bool pending = std::any_of(gone.begin(), gone.end(),
                                         [this](std::uint32_t uid) { return uids_.contains(uid); });
        if (!pending) set_expunge_modseq(info.highestmodseq);
    }

    if (expunges_due) {
        remove_from_view(store_.expunged_since(id_, expunge_modseq_), &w, options.qresync);
        set_expunge_modseq(info.highestmodseq);
    }

    if (flags_due) {
        std::vector<std::string> keywords = store_.keywords(id_);
        if (keywords != keywords_) {
            // RFC 3501 7.2.6: FLAGS again when the defined flags change.
            keywords_ = std::move(keywords);
            write_flags(w);
        }
        // Messages whose flags changed or that arrived go to the search
        // contexts (RFC 5267 4.3), this session's STOREs included.
        if (!uids_.empty()) {
            // Which messages changed, from the modseq indexes alone; this
            // session's own changes are left out before any row is read, so
            // the sync after a STORE of a million messages reads none. A
            // message expunged with its EXPUNGE held back is still in the
            // view: a flag change made before the expunge is reported too,
            // as Dovecot does (its last flags are in the expunge log).
            std::vector<std::uint32_t> to_report;
            store_.changed_messages(id_, uids_.back(), flags_modseq_, expunge_modseq_,
                                    [&](std::uint32_t uid, std::uint64_t modseq, bool expunged) {
                                        // One whose EXPUNGE is held back leaves the contexts
                                        // with it.
                                        if (!contexts_.empty() && !expunged)
                                            context_changes_.push_back(uid);
                                        if (!is_own_change(uid, modseq)) to_report.push_back(uid);
                                    });
            const store::UidSet rest = uid_ranges(std::move(to_report));
            // Their rows in batches, ascending: RFC 3501 7.4.2, an
            // unsolicited FETCH with the new flags; RFC 7162 3.2.4: with UID
            // and MODSEQ once CONDSTORE is on.
            store::FetchOptions current;
            current.expunged_after = expunge_modseq_;
            for (store::UidWindows windows(rest); !windows.done();) {
                const store::UidSet batch = windows.next(kSyncBatch);
                for (store::MessageInfo& message : store_.fetch(id_, batch, current)) {
                    if (message.expunged) view_flags(message);
                    write_flag_update(w, message, options.with_uid || options.condstore,
                                      options.condstore);
                }
            }
        }
        own_changes_.clear();
        flags_modseq_ = info.highestmodseq;

        // New messages: their UIDs are above every UID in the view.
        const std::uint32_t from = uids_.empty() ? 1 : uids_.back() + 1;
        std::vector<std::uint32_t> arrived = store_.uids(id_, from);
        if (!arrived.empty()) {
            if (!track_recent_) {
                // RFC 9051: no \Recent, nothing claimed.
            } else if (read_only_) {
                add_recent(std::max(info.first_recent_uid, arrived.front()), arrived.back());
            } else if (auto claimed = store_.claim_recent(id_)) {
                add_recent(claimed->first, claimed->last);
            }
            uids_.append(arrived);
            uidnext_ = std::max<std::uint64_t>(uidnext_, uids_.back() + 1ull);
            // RFC 3501 7.3.1 and 7.3.2 (RFC 9051 7.4.1: EXISTS only).
            w.exists(exists());
            if (track_recent_) w.recent(recent_count());
            announced_recent_ = recent_count();
            if (!contexts_.empty())
                context_changes_.insert(context_changes_.end(), arrived.begin(), arrived.end());
        }
        uidnext_ = std::max(uidnext_, info.uidnext);
    }
    announce_recent(w);
    // RFC 5267 4.3.3: after the FETCH and EXISTS responses.
    if (options.report_contexts) report_context_changes(w);
}

void SelectedMailbox::report_context_changes(ResponseWriter& w) {
    if (context_changes_.empty()) return;
    std::vector<std::uint32_t> changed = std::move(context_changes_);
    context_changes_.clear();
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    // An expunge applied since (this session's EXPUNGE) took it out already.
    std::erase_if(changed, [this](std::uint32_t uid) { return !sequence_of(uid); });
    contexts_.changed(changed, *this, store_, w);
}

}  // namespace imap::server
