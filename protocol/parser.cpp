// The command table and the grammar of every command except FETCH and
// SEARCH (parse_fetch.cpp, parse_search.cpp). RFC 3501 section 9 unless a
// rule names another RFC.
#include "protocol/parser.h"

#include <algorithm>
#include <array>
#include <span>

#include "protocol/framer.h"
#include "protocol/mailbox_name.h"
#include "protocol/parser_internal.h"

namespace imap {
namespace detail {

SequenceSet read_sequence_set(Reader& in) {
    in.count_argument();
    std::string_view text = in.take_while(
        [](char c) { return is_digit(c) || c == ':' || c == '*' || c == ','; }, "sequence set");
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

Flag read_flag(Reader& in) {
    // flag-extension = "\" atom; system flags are flag-extensions lexically.
    if (in.accept('\\')) return "\\" + in.atom();
    return in.atom();  // flag-keyword = atom
}

std::vector<Flag> read_flag_list(Reader& in) {
    in.expect('(', "'(' starting a flag list");
    std::vector<Flag> flags;
    if (in.accept(')')) return flags;
    for (;;) {
        flags.push_back(read_flag(in));
        if (in.accept(')')) return flags;
        in.space();
    }
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

// status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
CommandBody parse_status(Reader& in) {
    in.space();
    StatusCommand command;
    command.mailbox = read_mailbox(in);
    in.space();
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
        } else {
            parse_fail("Unknown status item " + item);
        }
        if (in.accept(')')) return command;
        in.space();
    }
}

// append = "APPEND" SP mailbox 1*append-message          (RFC 3502)
// append-message = [SP flag-list] [SP date-time] SP literal (RFC 3501)
CommandBody parse_append(Reader& in) {
    in.space();
    AppendCommand command;
    command.mailbox = read_mailbox(in);
    do {
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
        // The message may hold any octet; literal8 (RFC 3516) is how a
        // client says so, and a plain literal with NULs is stored as given.
        message.message = in.literal(/*allow_binary=*/true, /*allow_nul=*/true, &message.binary);
        command.messages.push_back(std::move(message));
    } while (!in.at_end());
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
    {"CAPABILITY", no_arguments<CapabilityCommand>},
    {"CHECK", no_arguments<CheckCommand>},
    {"CLOSE", no_arguments<CloseCommand>},
    {"COPY", [](Reader& in) { return parse_copy_like<CopyCommand>(in, false); }},
    {"CREATE", one_mailbox<CreateCommand>},
    {"DELETE", one_mailbox<DeleteCommand>},
    {"ENABLE", parse_enable},
    {"EXAMINE", one_mailbox<ExamineCommand>},
    {"EXPUNGE", no_arguments<ExpungeCommand>},
    {"FETCH", [](Reader& in) -> CommandBody { return detail::parse_fetch(in, false); }},
    {"ID", parse_id},
    {"IDLE", no_arguments<IdleCommand>},
    {"LIST", parse_list<ListCommand>},
    {"LOGIN", parse_login},
    {"LOGOUT", no_arguments<LogoutCommand>},
    {"LSUB", parse_list<LsubCommand>},
    {"MOVE", [](Reader& in) { return parse_copy_like<MoveCommand>(in, false); }},
    {"NAMESPACE", no_arguments<NamespaceCommand>},
    {"NOOP", no_arguments<NoopCommand>},
    {"RENAME", parse_rename},
    {"SEARCH", [](Reader& in) -> CommandBody { return detail::parse_search(in, false); }},
    {"SELECT", one_mailbox<SelectCommand>},
    {"STARTTLS", no_arguments<StartTlsCommand>},
    {"STATUS", parse_status},
    {"STORE", [](Reader& in) { return parse_store(in, false); }},
    {"SUBSCRIBE", one_mailbox<SubscribeCommand>},
    {"UNSELECT", no_arguments<UnselectCommand>},
    {"UNSUBSCRIBE", one_mailbox<UnsubscribeCommand>},
});

// uid = "UID" SP (copy / fetch / search / store), plus UID MOVE (RFC 6851)
// and UID EXPUNGE (RFC 4315).
constexpr std::array kUidCommands = std::to_array<CommandEntry>({
    {"COPY", [](Reader& in) { return parse_copy_like<CopyCommand>(in, true); }},
    {"EXPUNGE", parse_uid_expunge},
    {"FETCH", [](Reader& in) -> CommandBody { return detail::parse_fetch(in, true); }},
    {"MOVE", [](Reader& in) { return parse_copy_like<MoveCommand>(in, true); }},
    {"SEARCH", [](Reader& in) -> CommandBody { return detail::parse_search(in, true); }},
    {"STORE", [](Reader& in) { return parse_store(in, true); }},
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
