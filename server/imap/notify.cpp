#include "server/imap/notify.h"

#include <algorithm>
#include <utility>

#include "protocol/limits.h"
#include "server/imap/commands/mailbox_args.h"
#include "store/errors.h"

namespace imap::server {
namespace {

using Filter = NotifyEventGroup::Filter;

// RFC 5465 6.5: the mailbox itself and every mailbox below it.
bool in_subtree(std::string_view name, std::string_view root) {
    return name == root || (name.size() > root.size() && name.starts_with(root) &&
                            name[root.size()] == kHierarchyDelimiter);
}

void write_list(const Session& session, ResponseWriter& writer,
                const std::vector<std::string_view>& attributes, std::string_view name,
                std::string_view old_name = {}) {
    writer.begin_untagged().atom("LIST").sp().flag_list(attributes).sp();
    writer.string(std::string_view(&kHierarchyDelimiter, 1))
        .sp()
        .mailbox(wire_mailbox_name(session, name));
    // RFC 5465 5.4 / 10.1: OLDNAME, an mbox-list-extended-item (RFC 5258 9).
    if (!old_name.empty()) {
        writer.sp().raw("(\"OLDNAME\" (").mailbox(wire_mailbox_name(session, old_name)).raw("))");
    }
    writer.end();
}

}  // namespace

bool NotifyRules::watches_messages() const {
    return std::any_of(groups.begin(), groups.end(),
                       [](const Group& group) { return group.messages || group.flags; });
}

bool NotifyRules::watches_subscribed() const {
    return std::any_of(groups.begin(), groups.end(),
                       [](const Group& group) { return group.filter == Filter::Subscribed; });
}

Notifier::Notifier(const Session& session, NotifyRules rules, std::set<std::string> subscribed)
    : session_(session), rules_(std::move(rules)), subscribed_(std::move(subscribed)) {}

NotifyRules::Group Notifier::match(std::string_view name) const {
    NotifyRules::Group result;
    for (const NotifyRules::Group& group : rules_.groups) {
        bool applies = false;
        switch (group.filter) {
            case Filter::Selected:
            case Filter::SelectedDelayed:
                break;
            // RFC 5465 6.3: INBOXES may be PERSONAL when the server cannot
            // tell which mailboxes an MDA delivers to; LMTP's "+detail"
            // delivers to any of them (docs/lmtp.md).
            case Filter::Inboxes:
            case Filter::Personal:
                applies = true;
                break;
            case Filter::Subscribed:
                applies = subscribed_.contains(std::string(name));
                break;
            case Filter::Subtree:
                applies =
                    std::any_of(group.mailboxes.begin(), group.mailboxes.end(),
                                [&](const std::string& root) { return in_subtree(name, root); });
                break;
            case Filter::Mailboxes:
                applies = std::find(group.mailboxes.begin(), group.mailboxes.end(), name) !=
                          group.mailboxes.end();
                break;
        }
        if (!applies) continue;
        result.messages = result.messages || group.messages;
        result.flags = result.flags || group.flags;
        result.names = result.names || group.names;
        result.subscriptions = result.subscriptions || group.subscriptions;
    }
    return result;
}

void Notifier::start(store::MailStore& store, std::optional<store::MailboxId> selected,
                     ResponseWriter* write_status, bool condstore) {
    if (!rules_.watches_messages()) return;
    for (const store::ListEntry& entry : store.list_all()) {
        if ((entry.attributes & (store::list_attr::kNoselect | store::list_attr::kNonExistent)) !=
            0) {
            continue;
        }
        const NotifyRules::Group group = match(entry.name);
        if (!group.messages) continue;
        std::optional<store::MailboxInfo> info = store.find_mailbox(entry.name);
        if (!info || !info->selectable || info->id == selected) continue;
        const store::MailboxStatus status = store.status(info->id);
        known_[info->id] = {status.uidvalidity, status.uidnext, status.messages, status.unseen,
                            status.highestmodseq};
        if (write_status == nullptr) continue;
        // RFC 5465 3.1: MESSAGES, UIDNEXT and UIDVALIDITY for MessageNew,
        // HIGHESTMODSEQ for FlagChange with CONDSTORE; UNSEEN as Dovecot.
        StatusItems items;
        items.messages = status.messages;
        items.uidnext =
            static_cast<std::uint32_t>(std::min<std::uint64_t>(status.uidnext, UINT32_MAX));
        items.uidvalidity = status.uidvalidity;
        items.unseen = status.unseen;
        if (condstore) items.highestmodseq = status.highestmodseq;
        write_status->status(wire_mailbox_name(session_, entry.name), items);
    }
}

void Notifier::queued() {
    if (mailboxes_.size() + names_.size() <= limits::kMaxQueuedNotifications) return;
    overflowed_ = true;
    mailboxes_.clear();
    names_.clear();
    recheck_all_ = false;
}

void Notifier::mailbox_changed(store::MailboxId mailbox, bool own) {
    if (overflowed_) return;
    if (own) {
        own_.insert(mailbox);  // at most one per mailbox: bounded by them
        return;
    }
    mailboxes_.insert(mailbox);
    queued();
}

void Notifier::learn(store::MailStore& store, const store::MailboxInfo& info) {
    const store::MailboxStatus status = store.status(info.id);
    known_[info.id] = {status.uidvalidity, status.uidnext, status.messages, status.unseen,
                       status.highestmodseq};
}

void Notifier::name_changed(const store::NameChange& change, bool own) {
    using Kind = store::NameChange::Kind;
    if (overflowed_) return;
    if ((change.kind == Kind::Created || change.kind == Kind::Renamed) &&
        match(change.name).messages) {
        // Learnt at the next write_pending(), which this makes due: a
        // delivery by another process right after must find it known.
        to_learn_.insert(change.name);
    }
    // RFC 5465 6.4: SUBSCRIBED follows the subscription list as it changes.
    bool watched = false;
    switch (change.kind) {
        case Kind::Subscribed:
            subscribed_.insert(change.name);
            watched = match(change.name).subscriptions;
            break;
        case Kind::Unsubscribed:
            watched = match(change.name).subscriptions;
            subscribed_.erase(change.name);
            break;
        case Kind::Renamed: {
            watched = match(change.name).names || match(change.old_name).names;
            // Subscriptions follow a rename (store::MailStore::rename_mailbox).
            std::vector<std::string> moved;
            for (const std::string& name : subscribed_) {
                if (in_subtree(name, change.old_name)) moved.push_back(name);
            }
            for (const std::string& name : moved) {
                subscribed_.erase(name);
                subscribed_.insert(change.name + name.substr(change.old_name.size()));
            }
            break;
        }
        case Kind::Created:
        case Kind::Deleted:
            watched = match(change.name).names;
            break;
    }
    if (!watched || own) return;
    names_.push_back(change);
    queued();
}

void Notifier::write_pending(store::MailStore& store, ResponseWriter& writer,
                             std::optional<store::MailboxId> selected, bool condstore) {
    std::vector<store::NameChange> names = std::exchange(names_, {});
    for (const store::NameChange& change : names)
        write_name(store, writer, change);
    for (const std::string& name : std::exchange(to_learn_, {})) {
        std::optional<store::MailboxInfo> info = store.find_mailbox(name);
        // A change queued for it already is reported as a first STATUS.
        if (!info || !info->selectable || known_.contains(info->id) ||
            mailboxes_.contains(info->id)) {
            continue;
        }
        learn(store, *info);
    }
    // The session's own changes (RFC 5465 5: not reported) are learnt, unless
    // another's change to the same mailbox is to be reported with them.
    for (store::MailboxId id : std::exchange(own_, {})) {
        if (mailboxes_.contains(id) || !known_.contains(id)) continue;
        try {
            const store::MailboxInfo info = store.mailbox(id);
            if (info.selectable) learn(store, info);
        } catch (const store::StoreError& error) {
            if (error.code() != store::StoreErrc::NotFound) throw;
            known_.erase(id);
        }
    }
    if (std::exchange(recheck_all_, false)) {
        for (const auto& [id, known] : known_)
            mailboxes_.insert(id);
    }
    std::set<store::MailboxId> mailboxes = std::exchange(mailboxes_, {});
    for (store::MailboxId id : mailboxes) {
        if (id == selected) continue;  // the view's own sync reports it
        std::optional<store::MailboxInfo> info;
        try {
            info = store.mailbox(id);
        } catch (const store::StoreError& error) {
            if (error.code() != store::StoreErrc::NotFound) throw;
        }
        if (!info || !info->selectable) {
            known_.erase(id);  // deleted: MailboxName reports it
            continue;
        }
        // Every change of messages or flags moves the mailbox's modseq: one
        // row read settles a mailbox that did not change (a recheck).
        if (const auto it = known_.find(id); it != known_.end() &&
                                             it->second.highestmodseq == info->highestmodseq &&
                                             it->second.uidvalidity == info->uidvalidity) {
            continue;
        }
        write_status(store, writer, *info, condstore);
    }
}

void Notifier::write_status(store::MailStore& store, ResponseWriter& writer,
                            const store::MailboxInfo& info, bool condstore) {
    const NotifyRules::Group group = match(info.name);
    if (!group.messages) return;
    const store::MailboxStatus status = store.status(info.id);
    const Known now{status.uidvalidity, status.uidnext, status.messages, status.unseen,
                    status.highestmodseq};
    const auto it = known_.find(info.id);
    const bool fresh = it == known_.end();
    const Known before = fresh ? Known{} : it->second;
    known_[info.id] = now;
    StatusItems items;
    const auto uidnext =
        static_cast<std::uint32_t>(std::min<std::uint64_t>(status.uidnext, UINT32_MAX));
    if (fresh || now.uidvalidity != before.uidvalidity) {
        // RFC 5465 5.1: a new UIDVALIDITY is always reported.
        items.messages = status.messages;
        items.uidnext = uidnext;
        items.uidvalidity = status.uidvalidity;
        items.unseen = status.unseen;
    } else if (now.messages != before.messages || now.uidnext != before.uidnext) {
        // 5.2, 5.3: MessageNew and MessageExpunge, UIDNEXT and MESSAGES;
        // UNSEEN as Dovecot sends it.
        items.messages = status.messages;
        items.uidnext = uidnext;
        items.unseen = status.unseen;
    } else if (now.highestmodseq != before.highestmodseq && group.flags) {
        // 5.1: with CONDSTORE at least HIGHESTMODSEQ and UIDVALIDITY;
        // without it UNSEEN when the number of unseen messages changed,
        // else nothing.
        if (condstore) {
            items.uidvalidity = status.uidvalidity;
            items.unseen = status.unseen;
        } else if (now.unseen != before.unseen) {
            items.unseen = status.unseen;
        } else {
            return;
        }
    } else {
        return;
    }
    // 5.2, 5.3: HIGHESTMODSEQ whenever CONDSTORE (or QRESYNC) is enabled.
    if (condstore) items.highestmodseq = status.highestmodseq;
    writer.status(wire_mailbox_name(session_, info.name), items);
}

void Notifier::write_name(store::MailStore& store, ResponseWriter& writer,
                          const store::NameChange& change) {
    using Kind = store::NameChange::Kind;
    // Attributes as the store has them when the event is written (a name
    // created and deleted meanwhile is reported twice, as it is now).
    const std::optional<store::MailboxInfo> now = store.find_mailbox(change.name);
    std::vector<std::string_view> attributes;
    if (!now) {
        attributes.push_back("\\NonExistent");  // RFC 5465 5.4, RFC 5258
    } else if (!now->selectable) {
        attributes.push_back("\\Noselect");
    }
    if (change.kind == Kind::Subscribed) attributes.push_back("\\Subscribed");  // 5.5
    write_list(session_, writer, attributes, change.name,
               change.kind == Kind::Renamed ? change.old_name : "");
}

}  // namespace imap::server
