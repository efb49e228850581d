// LIST (RFC 3501 6.3.8): the mailbox names matching the reference and the
// pattern, with their attributes (RFC 3501 7.2.2, RFC 3348 for the
// children), the delimiter "/" and each name in modified UTF-7.
//
//   LIST "" ""        -> * LIST (\Noselect) "/" ""      (the delimiter)
//   LIST "foo/bar" "" -> * LIST (\Noselect) "/" foo/   (the reference's root)
//   LIST "" "*"       -> every name; "%" stops at the delimiter
//
// Attributes of the RFC 3501 form, in this order: \Noselect for a
// placeholder level, \HasChildren or \HasNoChildren, then for selectable
// mailboxes \Marked (messages arrived that no SELECT has claimed yet) or
// \Unmarked, then the RFC 6154 special-use
// attributes (\Archive \Drafts \Junk \Sent \Trash...; RFC 6154 2 puts them
// in every LIST response, as Dovecot does). Dovecot sends neither \Marked
// nor \Unmarked by default; RFC 3501 7.2.2 allows both (and 6.3.8 only asks
// that they be cheap, which they are: one comparison per mailbox).
// A pattern or reference that is not valid modified UTF-7 matches nothing
// (OK without LIST responses), as in Dovecot.
//
// LIST-EXTENDED (RFC 5258), as soon as selection options, a pattern list or
// RETURN options are given. Attributes are then only what was asked for,
// as in Dovecot: \NonExistent (a subscribed name or a level with no
// mailbox) or \Noselect (a placeholder level), \Subscribed (SUBSCRIBED
// selection or return option), \HasChildren / \HasNoChildren (CHILDREN),
// the special-use attributes (SPECIAL-USE selection or return option);
// never \Marked / \Unmarked.
//   - Selection: SUBSCRIBED lists subscribed names, existing or not;
//     SPECIAL-USE (RFC 6154 5.1) only mailboxes with a special use; REMOTE
//     changes nothing (there are no remote mailboxes); RECURSIVEMATCH (with
//     SUBSCRIBED; the parser refuses it alone) also lists a matching name
//     whose descendant meets the criteria without being listed itself, with
//     ("CHILDINFO" ("SUBSCRIBED")) (RFC 5258 3.5: redundant CHILDINFO is
//     suppressed). With SPECIAL-USE but not SUBSCRIBED it is accepted and
//     has no effect (RFC 5258 grammar wants a base option; Dovecot does the
//     same).
//   - Several patterns: a name is listed once if any of them matches.
//   - RETURN (STATUS (...)) (RFC 5819): "* STATUS" after the LIST of each
//     selectable mailbox that meets the criteria; none for \Noselect,
//     \NonExistent and CHILDINFO-only names.
//   - An empty pattern lists the root as in RFC 3501 only when it is the
//     only pattern and no selection option is given; otherwise it matches
//     nothing (Dovecot lists nothing for it in the extended form).
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "server/imap/commands/handlers.h"
#include "server/imap/commands/mailbox_args.h"
#include "store/mailbox_names.h"

namespace imap::server {
namespace {

namespace attr = store::list_attr;

void list_basic(Session& session, UserMail& mail, const ListCommand& list) {
    ResponseWriter& w = session.writer();
    auto pattern = joined_list_pattern(session, list.reference, list.pattern);
    if (!pattern) return;
    std::vector<std::string_view> attributes;
    for (const store::ListEntry& entry : mail.store().list(*pattern)) {
        attributes.clear();
        append_structure_attributes(entry.attributes, attributes);
        if (entry.attributes & attr::kMarked) {
            attributes.push_back("\\Marked");
        } else if (entry.attributes & attr::kUnmarked) {
            attributes.push_back("\\Unmarked");
        }
        append_special_use(entry.attributes, attributes);
        w.list(attributes, kHierarchyDelimiter, wire_mailbox_name(session, entry.name));
    }
}

struct Node {
    std::uint32_t attributes = 0;
    bool exists = false;  // a mailbox row (a \Noselect placeholder included)
};

void list_extended(Session& session, UserMail& mail, const ListCommand& list) {
    const ListSelectOptions select = list.select.value_or(ListSelectOptions{});
    const ListReturnOptions returns = list.returns.value_or(ListReturnOptions{});
    const bool recursive = select.recursive_match && select.subscribed;

    std::vector<std::string> patterns;
    for (std::size_t i = 0; i <= list.more_patterns.size(); ++i) {
        const std::string& p = i == 0 ? list.pattern : list.more_patterns[i - 1];
        if (p.empty()) continue;
        if (auto joined = joined_list_pattern(session, list.reference, p)) {
            patterns.push_back(std::move(*joined));
        }
    }
    // One matcher for the whole list (none: nothing matches); a list past
    // store::limits::kMaxListPatternBytes is NO [LIMIT].
    const store::MailboxPattern pattern_list(patterns);
    auto matched = [&](std::string_view name) { return pattern_list.matches(name); };

    std::map<std::string, Node, std::less<>> nodes;
    std::set<std::string, std::less<>> parents;  // names with an existing inferior
    for (store::ListEntry& entry : mail.store().list_all()) {
        const bool exists = (entry.attributes & attr::kNonExistent) == 0;
        if (exists) {
            for (auto p = store::parent_mailbox_name(entry.name); p;
                 p = store::parent_mailbox_name(*p)) {
                parents.emplace(*p);
            }
        }
        nodes.emplace(std::move(entry.name), Node{entry.attributes, exists});
    }
    auto meets = [&](const Node& node) {
        if (select.subscribed) {
            if ((node.attributes & attr::kSubscribed) == 0) return false;
        } else if (!node.exists) {
            return false;
        }
        return !select.special_use || (node.attributes & attr::kSpecialUseMask) != 0;
    };

    // RFC 5258 3.5: levels above a name that meets the criteria but is not
    // listed itself get CHILDINFO.
    std::set<std::string, std::less<>> childinfo;
    if (recursive) {
        for (const auto& [name, node] : nodes) {
            if (!meets(node) || matched(name)) continue;
            for (auto p = store::parent_mailbox_name(name); p; p = store::parent_mailbox_name(*p)) {
                childinfo.emplace(*p);
            }
        }
        for (const std::string& name : childinfo)
            nodes.try_emplace(name, Node{attr::kNonExistent, false});
    }

    ResponseWriter& w = session.writer();
    std::vector<std::string_view> attributes;
    for (const auto& [name, node] : nodes) {
        if (!matched(name)) continue;
        const bool meets_criteria = meets(node);
        const bool has_childinfo = childinfo.count(name) != 0;
        if (!meets_criteria && !has_childinfo) continue;
        attributes.clear();
        if (!node.exists) {
            attributes.push_back("\\NonExistent");
        } else if (node.attributes & attr::kNoselect) {
            attributes.push_back("\\Noselect");
        }
        if ((select.subscribed || returns.subscribed) && (node.attributes & attr::kSubscribed)) {
            attributes.push_back("\\Subscribed");
        }
        if (returns.children) {
            attributes.push_back(parents.count(name) ? "\\HasChildren" : "\\HasNoChildren");
        }
        if (select.special_use || returns.special_use) {
            append_special_use(node.attributes, attributes);
        }
        const std::string wire_name = wire_mailbox_name(session, name);
        w.begin_untagged().atom("LIST").sp().flag_list(attributes).sp();
        w.string(std::string_view(&kHierarchyDelimiter, 1)).sp().mailbox(wire_name);
        // mbox-list-extended (RFC 5258 6), written as its examples do.
        if (has_childinfo) w.sp().raw("(\"CHILDINFO\" (\"SUBSCRIBED\"))");
        w.end();
        if (returns.status && meets_criteria && node.exists &&
            (node.attributes & attr::kNoselect) == 0) {
            // RFC 5819 2: a mailbox that cannot be opened after all (deleted
            // meanwhile by another process) gets no STATUS.
            if (auto info = mail.store().find_mailbox(name); info && info->selectable) {
                w.status(wire_name, status_items(session, *info, *returns.status));
            }
        }
    }
}

}  // namespace

CommandResult cmd_list(Session& session, Command& command) {
    UserMail* mail = session.mail();
    if (mail == nullptr) return mail_unavailable();
    const auto& list = std::get<ListCommand>(command.body);
    const bool root_only = list.pattern.empty() && list.more_patterns.empty() &&
                           (!list.select || *list.select == ListSelectOptions{});
    if (root_only) {
        session.writer().list({"\\Noselect"}, kHierarchyDelimiter, list_root(list.reference));
    } else if (list.extended()) {
        list_extended(session, *mail, list);
    } else {
        list_basic(session, *mail, list);
    }
    return CommandResult::ok("LIST completed");
}

}  // namespace imap::server
