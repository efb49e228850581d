// NOTIFY (RFC 5465): what a session asked to hear of, and the events for
// mailboxes other than the selected one, queued until they can be written.
//
// The selected mailbox's events are the view's own sync
// (SelectedMailbox::sync, run by the Session when its rules allow); this
// holds everything else: `* STATUS` for the message events of watched
// mailboxes (5.1-5.3) and `* LIST` for MailboxName and SubscriptionChange
// (5.4, 5.5). Changes come from the user's change feed (UserMail, one
// mailbox id or one name change at a time, never a scan of the user's
// mailboxes), and, for other processes' commits that do not reach the feed
// (`imapd deliver`), from one pass over the watched mailboxes' rows
// (changed_elsewhere()).
//
// Queued events are coalesced: one STATUS per mailbox, however many changes
// it had before it could be written; name changes are kept in order. Past
// limits::kMaxQueuedNotifications queued events the queue is dropped and
// overflowed() is true: the session then writes `* OK
// [NOTIFICATIONOVERFLOW]` and behaves as after NOTIFY NONE (5.8).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/command.h"
#include "protocol/response_writer.h"
#include "store/mail_store.h"

namespace imap::server {
class Session;
}

namespace imap::server {

// A NOTIFY SET command's event groups, checked (cmd_notify.cpp).
struct NotifyRules {
    // The selected mailbox (6.1): no message events, immediate ones
    // (SELECTED), or expunges held for a command that allows them
    // (SELECTED-DELAYED).
    enum class Selected { None, Immediate, Delayed };
    Selected selected = Selected::None;
    bool selected_flags = false;  // FlagChange for the selected mailbox
    // MessageNew's fetch attributes for the selected mailbox (5.2).
    std::vector<FetchItem> fetch;

    // A group for other mailboxes (6.2-6.6).
    struct Group {
        NotifyEventGroup::Filter filter = NotifyEventGroup::Filter::Personal;
        std::vector<std::string> mailboxes;  // SUBTREE, MAILBOXES: store names
        bool messages = false;               // MessageNew and MessageExpunge
        bool flags = false;                  // FlagChange
        bool names = false;                  // MailboxName
        bool subscriptions = false;          // SubscriptionChange
    };
    std::vector<Group> groups;

    // Some group watches messages, names or subscriptions of other mailboxes.
    bool watches_messages() const;
    bool watches_subscribed() const;
};

class Notifier {
  public:
    // The store's state the watched mailboxes' STATUS is compared with.
    struct Known {
        std::uint32_t uidvalidity = 0;
        std::uint64_t uidnext = 0;
        std::uint32_t messages = 0;
        std::uint32_t unseen = 0;
        std::uint64_t highestmodseq = 0;
    };

    // `subscribed`: the user's subscriptions now, when a SUBSCRIBED group
    // needs them (kept up to date from the name changes after).
    // `session`: whose wire form mailbox names take (modified UTF-7, or
    // UTF-8 once it enabled UTF8=ACCEPT or IMAP4rev2); it owns the
    // Notifier.
    Notifier(const Session& session, NotifyRules rules, std::set<std::string> subscribed);

    const NotifyRules& rules() const { return rules_; }

    // The group flags that apply to mailbox `name` (the union over every
    // group matching it).
    NotifyRules::Group match(std::string_view name) const;

    // NOTIFY SET: remembers the state of every watched mailbox but
    // `selected`, and with `write_status` (SET STATUS, 3.1) writes its
    // STATUS. One pass over the user's mailboxes, once.
    void start(store::MailStore& store, std::optional<store::MailboxId> selected,
               ResponseWriter* write_status, bool condstore);

    // From the change feed. Other sessions' and processes' changes only:
    // the caller leaves out the session's own (RFC 5465 5).
    // `own`: the session's own change, not written, but learnt, so that a
    // later look at the mailbox does not report it.
    void mailbox_changed(store::MailboxId mailbox, bool own = false);
    // `own`: the session's own change: nothing is written, but the
    // subscriptions SUBSCRIBED follows and the mailboxes watched change
    // all the same.
    void name_changed(const store::NameChange& change, bool own = false);
    // Another process committed (changes not in the feed): every watched
    // mailbox is looked at again at the next write_pending().
    void changed_elsewhere() { recheck_all_ = true; }

    bool pending() const {
        return !mailboxes_.empty() || !names_.empty() || !to_learn_.empty() || !own_.empty() ||
               recheck_all_;
    }
    bool overflowed() const { return overflowed_; }

    // Writes what is queued. `selected`: the selected mailbox, whose
    // message events are not written here. `condstore`: RFC 7162 enabled
    // (HIGHESTMODSEQ in STATUS).
    void write_pending(store::MailStore& store, ResponseWriter& writer,
                       std::optional<store::MailboxId> selected, bool condstore);

  private:
    const Session& session_;
    void queued();
    void write_status(store::MailStore& store, ResponseWriter& writer,
                      const store::MailboxInfo& info, bool condstore);
    void write_name(store::MailStore& store, ResponseWriter& writer,
                    const store::NameChange& change);

    NotifyRules rules_;
    std::set<std::string> subscribed_;
    std::map<store::MailboxId, Known> known_;
    std::set<store::MailboxId> mailboxes_;  // queued STATUS
    std::vector<store::NameChange> names_;  // queued LIST
    // Watched mailboxes created or renamed since start(): their state is
    // learnt at the next write_pending(), so that another process's
    // delivery to them is seen (changed_elsewhere).
    std::set<std::string> to_learn_;
    std::set<store::MailboxId> own_;  // changed by the session itself
    void learn(store::MailStore& store, const store::MailboxInfo& info);
    bool recheck_all_ = false;
    bool overflowed_ = false;
};

}  // namespace imap::server
