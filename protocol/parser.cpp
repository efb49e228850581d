// The command table and the grammar of every command except FETCH and
// SEARCH (parse_fetch.cpp, parse_search.cpp). RFC 3501 section 9 unless a
// rule names another RFC.
#include "protocol/parser.h"

#include <algorithm>
#include <array>
#include <span>

#include "protocol/framer.h"
#include "protocol/limits.h"
#include "protocol/mailbox_name.h"
#include "protocol/parser_internal.h"

namespace imap {
namespace detail {

SequenceSet read_sequence_set(Reader& in) {
    in.count_argument();
    std::string_view text = in.take_while(
        [](char c) { return is_digit(c) || c == ':' || c == '*' || c == ',' || c == '$'; },
        "sequence set");
    std::optional<SequenceSet> set = SequenceSet::parse(text);
    if (!set) parse_fail("Invalid sequence set \"" + std::string(text.substr(0, 40)) + "\"");
    return std::move(*set);
}

Date read_date(Reader& in) {
    std::string text = in.peek() == '"' ? in.quoted() : in.atom();
    std::optional<Date> date = parse_date(text);
    if (!date) parse_fail("Invalid date \"" + text.substr(0, 40) + "\" (expected e.g. 1-Feb-1994)");
    return *date;
}

// A backslash followed by an atom. Appended rather than written as
// backslash-literal + atom: g++ 12 at -O2 reports a known false -Wrestrict in
// the inlined insert of operator+(const char*, std::string&&), screens of it
// in every Release build.
std::string backslash_atom(Reader& in) {
    std::string name = "\\";
    name += in.atom();
    return name;
}

Flag read_flag(Reader& in) {
    // flag-extension = "\" atom; system flags are flag-extensions lexically.
    if (in.accept('\\')) return backslash_atom(in);
    return in.atom();  // flag-keyword = atom
}

// Lenient about spaces inside the parentheses: after "(", before ")" and
// between flags any run of SP is accepted, as Dovecot does. Dovecot's own
// IMAP client (imapc: doveadm import/backup, the usual migration tool)
// writes "( $Label1 Work)" and "(\Seen )". Everything else stays strict: a
// flag is still an atom or "\" atom, and two flags need a space between.
std::vector<Flag> read_flag_list(Reader& in) {
    in.expect('(', "'(' starting a flag list");
    std::vector<Flag> flags;
    bool separated = true;  // "(" may be followed by a flag at once
    in.accept_spaces();
    while (!in.accept(')')) {
        if (!separated) in.space();  // fails: "\Seen\Flagged" or a missing ")"
        flags.push_back(read_flag(in));
        separated = in.accept_spaces();
    }
    return flags;
}

std::string read_mailbox(Reader& in) {
    return normalize_inbox(in.astring(), '/');
}

}  // namespace detail

namespace {

using detail::read_flag;
using detail::read_flag_list;
using detail::read_mailbox;
using detail::read_sequence_set;

template <typename T>
CommandBody no_arguments(Reader&) {
    return T{};
}

template <typename T>
CommandBody one_mailbox(Reader& in) {
    in.space();
    return T{read_mailbox(in)};
}

// A sequence-set in which "*" is not allowed (RFC 7162 7: known-uids,
// known-sequence-set, known-uid-set).
SequenceSet read_set_without_star(Reader& in) {
    SequenceSet set = read_sequence_set(in);
    if (set.uses_star()) parse_fail("\"*\" is not allowed in QRESYNC sets (RFC 7162 7)");
    // SELECT resets the saved result (RFC 5182 2.1): "$" would name nothing.
    if (set.is_last_result()) parse_fail("\"$\" is not allowed in QRESYNC sets (RFC 5182 2.1)");
    return set;
}

// select = "SELECT" SP mailbox [select-params]          (RFC 4466 2.1)
// select-params = SP "(" select-param *(SP select-param) ")"
// select-param = "CONDSTORE" /                          (RFC 7162 7)
//     "QRESYNC" SP "(" uidvalidity SP mod-sequence-value [SP known-uids]
//     [SP seq-match-data] ")"
// seq-match-data = "(" known-sequence-set SP known-uid-set ")"
// Each parameter at most once; any other is an error (RFC 4466 2.1).
SelectParams read_select_params(Reader& in) {
    SelectParams params;
    in.expect('(', "'(' starting the select parameters");
    in.enter_group();
    for (;;) {
        const std::string name = in.keyword();
        if (name == "CONDSTORE" && !params.condstore) {
            params.condstore = true;
        } else if (name == "QRESYNC" && !params.qresync) {
            QresyncParams qresync;
            in.space();
            in.expect('(', "'(' starting the QRESYNC parameters");
            in.enter_group();
            qresync.uidvalidity = in.nz_number();
            in.space();
            qresync.modseq = in.number64();
            if (qresync.modseq == 0) parse_fail("QRESYNC mod-sequence-value must be positive");
            bool more = !in.accept(')');
            if (more) {
                in.space();
                if (in.peek() != '(') {
                    qresync.known_uids = read_set_without_star(in);
                    more = !in.accept(')');
                    if (more) in.space();
                }
            }
            if (more) {
                in.expect('(', "'(' starting the sequence match data");
                in.enter_group();
                SequenceSet sequences = read_set_without_star(in);
                in.space();
                SequenceSet uids = read_set_without_star(in);
                in.expect(')', "')' closing the sequence match data");
                in.leave_group();
                qresync.seq_match.emplace(std::move(sequences), std::move(uids));
                in.expect(')', "')' closing the QRESYNC parameters");
            }
            in.leave_group();
            params.qresync = std::move(qresync);
        } else if (name == "CONDSTORE" || name == "QRESYNC") {
            parse_fail("Duplicate select parameter " + name);
        } else {
            parse_fail("Unknown select parameter " + name.substr(0, 40));
        }
        if (in.accept(')')) break;
        in.space();
    }
    in.leave_group();
    return params;
}

template <typename T>
CommandBody parse_select(Reader& in) {
    in.space();
    T command;
    command.mailbox = read_mailbox(in);
    if (in.rest_of_line().starts_with(" (")) {
        in.space();
        command.params = read_select_params(in);
    }
    return command;
}

// authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")] (RFC 4959)
CommandBody parse_authenticate(Reader& in) {
    in.space();
    AuthenticateCommand command;
    command.mechanism = in.keyword();
    if (in.at_end()) return command;
    in.space();
    if (in.accept('=')) {
        command.initial_response = Secret("=");
        return command;
    }
    auto base64_char = [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '+' ||
               c == '/';
    };
    std::string response(in.take_while(base64_char, "base64 initial response"));
    // base64-terminal = (2base64-char "==") / (3base64-char "=")
    std::size_t padding = 0;
    while (padding < 2 && in.accept('='))
        ++padding;
    if ((response.size() + padding) % 4 != 0) parse_fail("Invalid base64 initial response");
    response.append(padding, '=');
    command.initial_response = Secret(std::move(response));
    return command;
}

// login = "LOGIN" SP userid SP password
CommandBody parse_login(Reader& in) {
    in.space();
    LoginCommand command;
    command.user = in.astring();
    in.space();
    command.password = Secret(in.astring());
    return command;
}

CommandBody parse_rename(Reader& in) {
    in.space();
    RenameCommand command;
    command.from = read_mailbox(in);
    in.space();
    command.to = read_mailbox(in);
    return command;
}

template <typename T>
CommandBody parse_list(Reader& in) {
    in.space();
    T command;
    command.reference = in.astring();
    in.space();
    command.pattern = in.list_mailbox();
    return command;
}

// "(" status-att *(SP status-att) ")", for STATUS and LIST-STATUS (RFC
// 5819). RFC 8438 SIZE and RFC 7889 APPENDLIMIT are status-atts too.
std::vector<StatusItem> read_status_items(Reader& in) {
    StatusCommand command;
    in.expect('(', "'(' starting the status items");
    for (;;) {
        std::string item = in.keyword();
        if (item == "MESSAGES") {
            command.items.push_back(StatusItem::Messages);
        } else if (item == "RECENT") {
            command.items.push_back(StatusItem::Recent);
        } else if (item == "UIDNEXT") {
            command.items.push_back(StatusItem::UidNext);
        } else if (item == "UIDVALIDITY") {
            command.items.push_back(StatusItem::UidValidity);
        } else if (item == "UNSEEN") {
            command.items.push_back(StatusItem::Unseen);
        } else if (item == "SIZE") {
            command.items.push_back(StatusItem::Size);
        } else if (item == "APPENDLIMIT") {
            command.items.push_back(StatusItem::AppendLimit);
        } else if (item == "HIGHESTMODSEQ") {  // RFC 7162 3.1.7
            command.items.push_back(StatusItem::HighestModSeq);
        } else if (item == "MAILBOXID") {  // RFC 8474 4.3
            command.items.push_back(StatusItem::MailboxId);
        } else if (item == "DELETED") {  // RFC 9051 6.3.11
            command.items.push_back(StatusItem::Deleted);
        } else {
            parse_fail("Unknown status item " + item);
        }
        if (in.accept(')')) return command.items;
        in.space();
    }
}

// status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
CommandBody parse_status(Reader& in) {
    in.space();
    StatusCommand command;
    command.mailbox = read_mailbox(in);
    in.space();
    command.items = read_status_items(in);
    return command;
}

// create = "CREATE" SP mailbox [create-params]             (RFC 4466)
// create-params = SP "(" create-param *(SP create-param) ")"
// create-param =/ "USE" SP "(" [use-attr *(SP use-attr)] ")" (RFC 6154)
// use-attr = "\All" / ... / use-attr-ext; use-attr-ext = "\" atom
CommandBody parse_create(Reader& in) {
    in.space();
    CreateCommand command;
    command.mailbox = read_mailbox(in);
    if (in.at_end()) return command;
    in.space();
    in.expect('(', "'(' starting the CREATE parameters");
    for (;;) {
        std::string param = in.keyword();
        if (param != "USE") parse_fail("Unknown CREATE parameter " + param.substr(0, 40));
        in.space();
        in.expect('(', "'(' starting the USE attributes");
        if (!in.accept(')')) {
            for (;;) {
                in.expect('\\', "a special-use attribute (\\Sent...)");
                command.use.push_back(detail::backslash_atom(in));
                if (in.accept(')')) break;
                in.space();
            }
        }
        if (in.accept(')')) return command;
        in.space();
    }
}

// list-select-opts = "(" [list-select-opt *(SP list-select-opt)] ")"
// (RFC 5258; RFC 6154 adds SPECIAL-USE)
ListSelectOptions read_list_select_options(Reader& in) {
    in.expect('(', "'(' starting the LIST selection options");
    ListSelectOptions options;
    if (!in.accept(')')) {
        for (;;) {
            std::string option = in.keyword();
            if (option == "SUBSCRIBED") {
                options.subscribed = true;
            } else if (option == "REMOTE") {
                options.remote = true;
            } else if (option == "RECURSIVEMATCH") {
                options.recursive_match = true;
            } else if (option == "SPECIAL-USE") {
                options.special_use = true;
            } else {
                parse_fail("Unknown LIST selection option " + option.substr(0, 40));
            }
            if (in.accept(')')) break;
            in.space();
        }
    }
    // RFC 5258 3.1: "The server MUST return BAD tagged response in such case."
    if (options.recursive_match && !options.subscribed && !options.special_use) {
        parse_fail("RECURSIVEMATCH needs another selection option besides REMOTE");
    }
    return options;
}

// list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
// (RFC 5258; STATUS from RFC 5819, SPECIAL-USE from RFC 6154)
ListReturnOptions read_list_return_options(Reader& in) {
    in.expect('(', "'(' starting the LIST return options");
    ListReturnOptions options;
    if (in.accept(')')) return options;
    for (;;) {
        std::string option = in.keyword();
        if (option == "SUBSCRIBED") {
            options.subscribed = true;
        } else if (option == "CHILDREN") {
            options.children = true;
        } else if (option == "SPECIAL-USE") {
            options.special_use = true;
        } else if (option == "STATUS" && !options.status) {
            in.space();
            options.status = read_status_items(in);
        } else {
            parse_fail("Unknown LIST return option " + option.substr(0, 40));
        }
        if (in.accept(')')) return options;
        in.space();
    }
}

// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
//        [SP list-return-opts]                              (RFC 5258)
// mbox-or-pat = list-mailbox / patt-list
// patt-list = "(" list-mailbox *(SP list-mailbox) ")"
CommandBody parse_list_extended(Reader& in) {
    in.space();
    ListCommand command;
    if (in.peek() == '(') {
        command.select = read_list_select_options(in);
        in.space();
    }
    command.reference = in.astring();
    in.space();
    if (in.accept('(')) {
        command.pattern_list = true;
        command.pattern = in.list_mailbox();
        while (!in.accept(')')) {
            in.space();
            command.more_patterns.push_back(in.list_mailbox());
        }
    } else {
        command.pattern = in.list_mailbox();
    }
    if (in.at_end()) return command;
    in.space();
    if (!in.accept_keyword("RETURN")) {
        in.expect_end();  // "Unexpected ..." for anything but RETURN
        parse_fail("Unexpected SP at end of command");
    }
    in.space();
    command.returns = read_list_return_options(in);
    return command;
}

// utf8-literal = "UTF8" SP "(" literal8 ")" (RFC 6855 4), after "UTF8":
// the message (or part) with UTF-8 header fields. literal8 only, as the
// grammar says: "UTF8 ({n}" is a syntax error.
std::string read_utf8_literal(Reader& in) {
    in.expect('(', "'(' after UTF8 (RFC 6855 4)");
    if (in.peek() != '~') parse_fail("UTF8 data takes a literal8 ~{n} (RFC 6855 4)");
    std::string data = in.literal(/*allow_binary=*/true, /*allow_nul=*/true);
    in.expect(')', "')' closing the UTF8 data");
    return data;
}

// cat-part = text-literal / url / utf8-literal; text-literal = "TEXT" SP
// literal; url = "URL" SP astring (RFC 4469 5, RFC 6855 4). TEXT takes a
// literal8 as APPEND does.
std::vector<CatenatePart> read_catenate_parts(Reader& in) {
    in.expect('(', "'(' starting the CATENATE parts");
    if (in.peek() == ')') parse_fail("Empty CATENATE list (RFC 4469 5: at least one part)");
    in.enter_group();
    std::vector<CatenatePart> parts;
    for (;;) {
        if (parts.size() == limits::kMaxCatenateParts) {
            parse_fail("Too many CATENATE parts (at most " +
                       std::to_string(limits::kMaxCatenateParts) + ")");
        }
        in.count_argument();
        CatenatePart part;
        const std::string kind = in.keyword();
        in.space();
        if (kind == "TEXT") {
            part.data = in.literal(/*allow_binary=*/true, /*allow_nul=*/true, &part.binary);
        } else if (kind == "URL") {
            part.url = true;
            part.data = in.astring();
        } else if (kind == "UTF8") {
            part.utf8 = part.binary = true;
            part.data = read_utf8_literal(in);
        } else {
            parse_fail("Expected TEXT, URL or UTF8 in CATENATE, not " + kind.substr(0, 40));
        }
        parts.push_back(std::move(part));
        if (in.accept(')')) break;
        in.space();
    }
    in.leave_group();
    return parts;
}

// append-message = [SP flag-list] [SP date-time] SP append-data (RFC 3501,
// RFC 4466 2.3); append-data = literal / literal8 / CATENATE (RFC 4469).
AppendMessage read_append_message(Reader& in) {
    in.space();
    AppendMessage message;
    if (in.peek() == '(') {
        message.flags = read_flag_list(in);
        in.space();
    }
    if (in.peek() == '"') {
        std::string text = in.quoted();
        std::optional<DateTime> date = parse_date_time(text);
        if (!date) {
            parse_fail("Invalid date-time \"" + text.substr(0, 40) +
                       "\" (expected e.g. \"17-Jul-1996 02:44:25 -0700\")");
        }
        message.internal_date = *date;
        in.space();
    }
    if (in.accept_keyword("CATENATE")) {
        in.space();
        message.catenate = read_catenate_parts(in);
        return message;
    }
    if (in.accept_keyword("UTF8")) {
        in.space();
        message.utf8 = message.binary = true;
        message.message = read_utf8_literal(in);
        return message;
    }
    // The message may hold any octet; literal8 (RFC 3516) is how a
    // client says so, and a plain literal with NULs is stored as given.
    message.message = in.literal(/*allow_binary=*/true, /*allow_nul=*/true, &message.binary);
    return message;
}

// append = "APPEND" SP mailbox 1*append-message          (RFC 3502)
CommandBody parse_append(Reader& in) {
    in.space();
    AppendCommand command;
    command.mailbox = read_mailbox(in);
    do {
        command.messages.push_back(read_append_message(in));
    } while (!in.at_end());
    return command;
}

// replace = "REPLACE" SP seq-number SP mailbox append-message (RFC 8508 5),
// uid =/ "UID" SP replace: one message, never a range, a list or "$".
CommandBody parse_replace(Reader& in, bool uid) {
    in.space();
    ReplaceCommand command;
    command.uid = uid;
    command.set = read_sequence_set(in);
    const std::vector<SeqRange>& ranges = command.set.ranges();
    if (ranges.size() != 1 || ranges.front().first != ranges.front().last) {
        parse_fail(std::string("Expected one message ") + (uid ? "UID" : "sequence number") +
                   " (RFC 8508 5)");
    }
    in.space();
    command.mailbox = read_mailbox(in);
    command.message = read_append_message(in);
    return command;
}

// store = "STORE" SP sequence-set SP store-att-flags
// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
//                   (flag-list / (flag *(SP flag)))
CommandBody parse_store(Reader& in, bool uid) {
    in.space();
    StoreCommand command;
    command.uid = uid;
    command.set = read_sequence_set(in);
    in.space();
    if (in.accept('(')) {
        // store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"
        // (RFC 4466 2.5); the only one known is UNCHANGEDSINCE SP
        // mod-sequence-valzer (RFC 7162 3.1.3), at most once.
        in.enter_group();
        for (;;) {
            const std::string name = in.keyword();
            if (name != "UNCHANGEDSINCE") {
                parse_fail("Unknown STORE modifier " + name.substr(0, 40));
            }
            if (command.unchanged_since) parse_fail("Duplicate STORE modifier UNCHANGEDSINCE");
            in.space();
            command.unchanged_since = in.number64();
            if (in.accept(')')) break;
            in.space();
        }
        in.leave_group();
        in.space();
    }
    if (in.accept('+')) {
        command.mode = StoreCommand::Mode::Add;
    } else if (in.accept('-')) {
        command.mode = StoreCommand::Mode::Remove;
    }
    std::string item = in.keyword();
    if (item == "FLAGS.SILENT") {
        command.silent = true;
    } else if (item != "FLAGS") {
        parse_fail("Unknown STORE data item " + item + " (expected [+|-]FLAGS[.SILENT])");
    }
    in.space();
    if (in.peek() == '(') {
        command.flags = read_flag_list(in);
    } else {
        command.flags.push_back(read_flag(in));
        while (!in.at_end()) {
            in.space();
            command.flags.push_back(read_flag(in));
        }
    }
    return command;
}

template <typename T>
CommandBody parse_copy_like(Reader& in, bool uid) {
    in.space();
    T command;
    command.uid = uid;
    command.set = read_sequence_set(in);
    in.space();
    command.mailbox = read_mailbox(in);
    return command;
}

// ENABLE (RFC 5161): "ENABLE" 1*(SP capability)
CommandBody parse_enable(Reader& in) {
    EnableCommand command;
    do {
        in.space();
        command.capabilities.push_back(in.keyword());
    } while (!in.at_end());
    return command;
}

// COMPRESS (RFC 4978 5): "COMPRESS" SP algorithm, algorithm an atom.
CommandBody parse_compress(Reader& in) {
    in.space();
    return CompressCommand{in.keyword()};
}

// ID (RFC 2971): "ID" SP id-params-list
// id-params-list = "(" #(string SP nstring) ")" / nil
CommandBody parse_id(Reader& in) {
    in.space();
    IdCommand command;
    if (in.accept_keyword("NIL")) return command;
    in.expect('(', "'(' or NIL");
    in.enter_group();
    command.fields.emplace();
    while (!in.accept(')')) {
        if (!command.fields->empty()) in.space();
        std::string field = in.string();
        in.space();
        command.fields->emplace_back(std::move(field), in.nstring());
    }
    in.leave_group();
    return command;
}

// CANCELUPDATE (RFC 5267 5): "CANCELUPDATE" 1*(SP quoted), not astring.
// Each tag counts as an argument (limits::kMaxArguments bounds how many).
CommandBody parse_cancelupdate(Reader& in) {
    CancelUpdateCommand command;
    do {
        in.space();
        command.tags.push_back(in.quoted());
    } while (!in.at_end());
    return command;
}

// NOTIFY (RFC 5465 8):
//   one-or-more-mailbox = mailbox / many-mailboxes
//   many-mailboxes = "(" mailbox *(SP mailbox) ")"
std::vector<std::string> read_one_or_more_mailbox(Reader& in) {
    std::vector<std::string> mailboxes;
    if (!in.accept('(')) {
        mailboxes.push_back(read_mailbox(in));
        return mailboxes;
    }
    in.enter_group();
    for (;;) {
        mailboxes.push_back(read_mailbox(in));
        if (in.accept(')')) break;
        in.space();
    }
    in.leave_group();
    return mailboxes;
}

// event = message-event / mailbox-event / user-event / event-ext
// message-event = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) /
//     "MessageExpunge" / "FlagChange" / "AnnotationChange"
// mailbox-event = "MailboxName" / "SubscriptionChange" / "MailboxMetadataChange"
// user-event = "ServerMetadataChange"; event-ext = atom
NotifyEvent read_notify_event(Reader& in) {
    using Kind = NotifyEvent::Kind;
    static constexpr std::array kNames = std::to_array<std::pair<std::string_view, Kind>>({
        {"MESSAGENEW", Kind::MessageNew},
        {"MESSAGEEXPUNGE", Kind::MessageExpunge},
        {"FLAGCHANGE", Kind::FlagChange},
        {"ANNOTATIONCHANGE", Kind::AnnotationChange},
        {"MAILBOXNAME", Kind::MailboxName},
        {"SUBSCRIPTIONCHANGE", Kind::SubscriptionChange},
        {"MAILBOXMETADATACHANGE", Kind::MailboxMetadataChange},
        {"SERVERMETADATACHANGE", Kind::ServerMetadataChange},
    });
    NotifyEvent event;
    in.count_argument();
    const std::string name = in.keyword();
    const auto* known = std::find_if(kNames.begin(), kNames.end(),
                                     [&](const auto& entry) { return entry.first == name; });
    if (known == kNames.end()) {
        event.kind = Kind::Other;
        event.other = name;
        return event;
    }
    event.kind = known->second;
    // The attributes' "(" follows MessageNew's SP; another event follows
    // an SP as an atom, never "(".
    if (event.kind == Kind::MessageNew && in.rest_of_line().starts_with(" (")) {
        in.space();
        in.expect('(', "'(' starting MessageNew's fetch attributes");
        in.enter_group();
        for (;;) {
            event.fetch.push_back(detail::read_fetch_att_in_list(in));
            if (in.accept(')')) break;
            in.space();
        }
        in.leave_group();
    }
    return event;
}

// event-group = "(" filter-mailboxes SP events ")"
// filter-mailboxes = "selected" / "selected-delayed" / "inboxes" /
//     "personal" / "subscribed" / ("subtree" SP one-or-more-mailbox) /
//     ("mailboxes" SP one-or-more-mailbox)
// events = ("(" event *(SP event) ")") / "NONE"
NotifyEventGroup read_notify_event_group(Reader& in) {
    using Filter = NotifyEventGroup::Filter;
    NotifyEventGroup group;
    in.expect('(', "'(' starting an event group");
    in.enter_group();
    const std::string filter = in.keyword();
    if (filter == "SELECTED") {
        group.filter = Filter::Selected;
    } else if (filter == "SELECTED-DELAYED") {
        group.filter = Filter::SelectedDelayed;
    } else if (filter == "INBOXES") {
        group.filter = Filter::Inboxes;
    } else if (filter == "PERSONAL") {
        group.filter = Filter::Personal;
    } else if (filter == "SUBSCRIBED") {
        group.filter = Filter::Subscribed;
    } else if (filter == "SUBTREE" || filter == "MAILBOXES") {
        group.filter = filter == "SUBTREE" ? Filter::Subtree : Filter::Mailboxes;
        in.space();
        group.mailboxes = read_one_or_more_mailbox(in);
    } else {
        parse_fail("Unknown NOTIFY mailbox filter " + filter.substr(0, 40));
    }
    in.space();
    if (!in.accept_keyword("NONE")) {
        in.expect('(', "'(' starting the events, or NONE");
        in.enter_group();
        for (;;) {
            group.events.push_back(read_notify_event(in));
            if (in.accept(')')) break;
            in.space();
        }
        in.leave_group();
    }
    in.expect(')', "')' ending the event group");
    in.leave_group();
    return group;
}

// notify = "NOTIFY" SP (notify-set / notify-none)          (RFC 5465 8)
// notify-set = "SET" [SP "STATUS"] SP event-groups; notify-none = "NONE"
// event-groups = event-group *(SP event-group)
CommandBody parse_notify(Reader& in) {
    in.space();
    NotifyCommand command;
    const std::string verb = in.keyword();
    if (verb == "NONE") {
        command.none = true;
        return command;
    }
    if (verb != "SET") parse_fail("Expected SET or NONE");
    in.space();
    if (in.accept_keyword("STATUS")) {
        command.status = true;
        in.space();
    }
    for (;;) {
        command.groups.push_back(read_notify_event_group(in));
        if (in.at_end()) return command;
        in.space();
    }
}

CommandBody parse_uid_expunge(Reader& in) {
    in.space();
    return UidExpungeCommand{read_sequence_set(in)};
}

using ParseFunction = CommandBody (*)(Reader&);

struct CommandEntry {
    std::string_view name;
    ParseFunction parse;
};

// Commands that take no UID prefix. Sorted by name for binary search.
constexpr std::array kCommands = std::to_array<CommandEntry>({
    {"APPEND", parse_append},
    {"AUTHENTICATE", parse_authenticate},
    {"CANCELUPDATE", parse_cancelupdate},
    {"CAPABILITY", no_arguments<CapabilityCommand>},
    {"CHECK", no_arguments<CheckCommand>},
    {"CLOSE", no_arguments<CloseCommand>},
    {"COMPRESS", parse_compress},
    {"COPY", [](Reader& in) { return parse_copy_like<CopyCommand>(in, false); }},
    {"CREATE", parse_create},
    {"DELETE", one_mailbox<DeleteCommand>},
    {"ENABLE", parse_enable},
    {"EXAMINE", parse_select<ExamineCommand>},
    {"EXPUNGE", no_arguments<ExpungeCommand>},
    {"FETCH", [](Reader& in) -> CommandBody { return detail::parse_fetch(in, false); }},
    {"ID", parse_id},
    {"IDLE", no_arguments<IdleCommand>},
    {"LIST", parse_list_extended},
    {"LOGIN", parse_login},
    {"LOGOUT", no_arguments<LogoutCommand>},
    {"LSUB", parse_list<LsubCommand>},
    {"MOVE", [](Reader& in) { return parse_copy_like<MoveCommand>(in, false); }},
    {"NAMESPACE", no_arguments<NamespaceCommand>},
    {"NOOP", no_arguments<NoopCommand>},
    {"NOTIFY", parse_notify},
    {"RENAME", parse_rename},
    {"REPLACE", [](Reader& in) { return parse_replace(in, false); }},
    {"SEARCH", [](Reader& in) -> CommandBody { return detail::parse_search(in, false); }},
    {"SELECT", parse_select<SelectCommand>},
    {"SORT", [](Reader& in) -> CommandBody { return detail::parse_sort(in, false); }},
    {"STARTTLS", no_arguments<StartTlsCommand>},
    {"STATUS", parse_status},
    {"STORE", [](Reader& in) { return parse_store(in, false); }},
    {"SUBSCRIBE", one_mailbox<SubscribeCommand>},
    {"THREAD", [](Reader& in) -> CommandBody { return detail::parse_thread(in, false); }},
    {"UNSELECT", no_arguments<UnselectCommand>},
    {"UNSUBSCRIBE", one_mailbox<UnsubscribeCommand>},
    {"XLIST", parse_list<XlistCommand>},
});

// uid = "UID" SP (copy / fetch / search / store), plus UID MOVE (RFC 6851),
// UID EXPUNGE (RFC 4315), UID SORT and UID THREAD (RFC 5256).
constexpr std::array kUidCommands = std::to_array<CommandEntry>({
    {"COPY", [](Reader& in) { return parse_copy_like<CopyCommand>(in, true); }},
    {"EXPUNGE", parse_uid_expunge},
    {"FETCH", [](Reader& in) -> CommandBody { return detail::parse_fetch(in, true); }},
    {"MOVE", [](Reader& in) { return parse_copy_like<MoveCommand>(in, true); }},
    {"REPLACE", [](Reader& in) { return parse_replace(in, true); }},
    {"SEARCH", [](Reader& in) -> CommandBody { return detail::parse_search(in, true); }},
    {"SORT", [](Reader& in) -> CommandBody { return detail::parse_sort(in, true); }},
    {"STORE", [](Reader& in) { return parse_store(in, true); }},
    {"THREAD", [](Reader& in) -> CommandBody { return detail::parse_thread(in, true); }},
});

constexpr bool sorted_by_name(std::span<const CommandEntry> table) {
    return std::is_sorted(
        table.begin(), table.end(),
        [](const CommandEntry& a, const CommandEntry& b) { return a.name < b.name; });
}
static_assert(sorted_by_name(kCommands) && sorted_by_name(kUidCommands),
              "command tables are binary-searched: keep them sorted");

const CommandEntry* find_command(std::span<const CommandEntry> table, std::string_view name) {
    auto it =
        std::lower_bound(table.begin(), table.end(), name,
                         [](const CommandEntry& e, std::string_view n) { return e.name < n; });
    return (it != table.end() && it->name == name) ? &*it : nullptr;
}

// Reads "tag SP name [SP subname]" and finds the command's entry.
const CommandEntry* read_command_name(Reader& in, std::string& name) {
    name = in.keyword();
    if (name != "UID") return find_command(kCommands, name);
    in.space();
    std::string sub = in.keyword();
    name += " " + sub;
    return find_command(kUidCommands, sub);
}

}  // namespace

ParseResult parse_command(Frame frame) {
    std::optional<std::string> tag;
    std::string name;
    try {
        tag = frame.lines.empty() ? std::nullopt : tag_of_line(frame.lines.front());
        if (!tag) return ParseError{std::nullopt, "Invalid tag"};
        Reader in(frame);
        in.take_while(is_tag_char, "tag");
        if (in.at_end()) return ParseError{tag, "Missing command"};
        in.space();
        const CommandEntry* entry = read_command_name(in, name);
        if (entry == nullptr) return ParseError{tag, "Unknown command " + name.substr(0, 40)};
        CommandBody body = entry->parse(in);
        in.expect_end();
        return Command{std::move(*tag), std::move(body)};
    } catch (const ParseFailure& failure) {
        std::string message = name.empty() ? failure.message : name + ": " + failure.message;
        return ParseError{std::move(tag), std::move(message)};
    }
}

std::string peek_command_name(const Frame& partial) {
    if (partial.lines.empty()) return {};
    Frame first_line{{partial.lines.front()}, {}};
    try {
        Reader in(first_line);
        std::string_view tag_text = in.take_while(is_tag_char, "tag");
        if (!is_valid_tag(tag_text)) return {};
        in.space();
        std::string name;
        return read_command_name(in, name) ? name : std::string();
    } catch (const ParseFailure&) {
        return {};
    }
}

bool is_known_command(std::string_view name) {
    if (name.starts_with("UID ")) return find_command(kUidCommands, name.substr(4)) != nullptr;
    return find_command(kCommands, name) != nullptr;
}

}  // namespace imap
