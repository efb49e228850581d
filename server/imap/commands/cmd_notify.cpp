// NOTIFY (RFC 5465): NOTIFY NONE, and NOTIFY SET [STATUS] with the event
// groups checked here before they replace the session's rules
// (Session::set_notify, notify.h):
//
// - tagged BAD (RFC 5465 5, 6.1, 8): MessageNew without MessageExpunge or
//   the reverse, FlagChange or AnnotationChange without both, more than one
//   SELECTED / SELECTED-DELAYED group, an event other than a message event
//   for SELECTED / SELECTED-DELAYED, MessageNew's fetch attributes for
//   another filter;
// - then tagged NO [BADEVENT (...)] (3.1) for an event imapd does not
//   support (AnnotationChange, MailboxMetadataChange,
//   ServerMetadataChange: no ANNOTATE or METADATA; an unknown event-ext),
//   listing every event imapd supports, as 3.1 asks.
//
// A fetch attribute that would set \Seen (BODY[...], BINARY[...], RFC822,
// RFC822.TEXT) is fetched as its PEEK form: 5.2 tells clients not to ask
// for them, and a notification must not change the mailbox behind the
// client's back (Dovecot accepts them too).
//
// SUBTREE and MAILBOXES names that do not exist (yet) are kept: 3.1 asks
// the server to ignore them, which it does until one is created (a
// MailboxName event for it says so). The tagged OK comes after the
// selected mailbox's pending updates (3.1: NOTIFY SET is an implicit NOOP,
// Session::complete) and, with STATUS, the STATUS of every watched mailbox.
#include <algorithm>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"

namespace imap::server {
namespace {

using Filter = NotifyEventGroup::Filter;
using Kind = NotifyEvent::Kind;

// RFC 5465 3.1: BADEVENT lists every event the server supports.
constexpr std::string_view kSupportedEvents =
    "(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)";

bool has(const NotifyEventGroup& group, Kind kind) {
    return std::any_of(group.events.begin(), group.events.end(),
                       [kind](const NotifyEvent& event) { return event.kind == kind; });
}

bool supported(Kind kind) {
    switch (kind) {
        case Kind::MessageNew:
        case Kind::MessageExpunge:
        case Kind::FlagChange:
        case Kind::MailboxName:
        case Kind::SubscriptionChange:
            return true;
        case Kind::AnnotationChange:
        case Kind::MailboxMetadataChange:
        case Kind::ServerMetadataChange:
        case Kind::Other:
            break;
    }
    return false;
}

bool is_message_event(Kind kind) {
    return kind == Kind::MessageNew || kind == Kind::MessageExpunge || kind == Kind::FlagChange ||
           kind == Kind::AnnotationChange;
}

// The PEEK form of an attribute that would set \Seen.
FetchItem peek(FetchItem item) {
    switch (item.kind) {
        case FetchItem::Kind::Rfc822:  // = BODY[]
            item.kind = FetchItem::Kind::BodySection;
            item.peek = true;
            break;
        case FetchItem::Kind::Rfc822Text:  // = BODY[TEXT]
            item.kind = FetchItem::Kind::BodySection;
            item.section.text = SectionSpec::Text::Text;
            item.peek = true;
            break;
        case FetchItem::Kind::BodySection:
        case FetchItem::Kind::BinarySection:
            item.peek = true;
            break;
        default:
            break;
    }
    return item;
}

}  // namespace

CommandResult cmd_notify(Session& session, Command& command) {
    const NotifyCommand& request = std::get<NotifyCommand>(command.body);
    if (session.mail() == nullptr) return mail_unavailable();
    if (request.none) {
        session.set_notify(std::nullopt, false);
        return CommandResult::ok("NOTIFY completed");
    }
    // RFC 5465 5, 6.1: the BAD cases, before any event is looked at for
    // support.
    bool selected_seen = false;
    for (const NotifyEventGroup& group : request.groups) {
        const bool selected =
            group.filter == Filter::Selected || group.filter == Filter::SelectedDelayed;
        if (selected && std::exchange(selected_seen, true)) {
            return CommandResult::bad(
                "Only one SELECTED or SELECTED-DELAYED event group is allowed (RFC 5465 6.1)");
        }
        const bool message_new = has(group, Kind::MessageNew);
        if (message_new != has(group, Kind::MessageExpunge)) {
            return CommandResult::bad(
                "MessageNew and MessageExpunge must be given together (RFC 5465 5)");
        }
        if ((has(group, Kind::FlagChange) || has(group, Kind::AnnotationChange)) && !message_new) {
            return CommandResult::bad(
                "FlagChange and AnnotationChange need MessageNew and MessageExpunge (RFC 5465 5)");
        }
        for (const NotifyEvent& event : group.events) {
            if (selected && event.kind != Kind::Other && !is_message_event(event.kind)) {
                return CommandResult::bad(
                    "SELECTED and SELECTED-DELAYED take message events only (RFC 5465 6.1)");
            }
            if (!selected && !event.fetch.empty()) {
                return CommandResult::bad(
                    "MessageNew's fetch attributes are for SELECTED or SELECTED-DELAYED only "
                    "(RFC 5465 8)");
            }
        }
    }
    for (const NotifyEventGroup& group : request.groups) {
        for (const NotifyEvent& event : group.events) {
            if (!supported(event.kind)) {
                return CommandResult::no(
                    ResponseCode::extension("BADEVENT", std::string(kSupportedEvents)),
                    "Unsupported NOTIFY event");
            }
        }
    }

    NotifyRules rules;
    for (const NotifyEventGroup& group : request.groups) {
        const bool message_new = has(group, Kind::MessageNew);
        if (group.filter == Filter::Selected || group.filter == Filter::SelectedDelayed) {
            if (!message_new) continue;  // SELECTED NONE: as if not given (3.1)
            rules.selected = group.filter == Filter::Selected ? NotifyRules::Selected::Immediate
                                                              : NotifyRules::Selected::Delayed;
            rules.selected_flags = has(group, Kind::FlagChange);
            for (const NotifyEvent& event : group.events) {
                for (const FetchItem& item : event.fetch)
                    rules.fetch.push_back(peek(item));
            }
            continue;
        }
        NotifyRules::Group watched;
        watched.filter = group.filter;
        for (const std::string& name : group.mailboxes) {
            Checked<std::string> store_name = store_mailbox_name(session, name);
            // Not valid modified UTF-7: no mailbox has that name (3.1).
            if (store_name) watched.mailboxes.push_back(std::move(*store_name));
        }
        watched.messages = message_new;
        watched.flags = has(group, Kind::FlagChange);
        watched.names = has(group, Kind::MailboxName);
        watched.subscriptions = has(group, Kind::SubscriptionChange);
        rules.groups.push_back(std::move(watched));
    }
    session.set_notify(std::move(rules), request.status);
    return CommandResult::ok("NOTIFY completed");
}

}  // namespace imap::server
