// The command parser against the whole RFC 3501 section 9 grammar (and the
// extensions in command.h), the command writer against the parser, and every
// client command example of RFC 3501 sections 6 and 8.
//
// Every input goes through frame_every_way() (whole, every two-way split,
// byte by byte: the framer must agree) before its frames are parsed, and
// every command that parses is written back with write_command() in both
// literal styles and parsed again to an equal Command.
//
// Test names leave out backslashes ("+FLAGS (Deleted)"): ctest runs each
// test by name and Catch's test-spec parser reads a backslash as an escape.
#include "protocol/parser.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/chars.h"
#include "protocol/command_writer.h"
#include "protocol/limits.h"
#include "support/framing.h"

using namespace std::string_literals;

using imap::AppendCommand;
using imap::AppendMessage;
using imap::AuthenticateCommand;
using imap::CapabilityCommand;
using imap::CheckCommand;
using imap::CloseCommand;
using imap::Command;
using imap::CommandBody;
using imap::CompressCommand;
using imap::CopyCommand;
using imap::CreateCommand;
using imap::Date;
using imap::DateTime;
using imap::DeleteCommand;
using imap::EnableCommand;
using imap::ExamineCommand;
using imap::ExpungeCommand;
using imap::FetchCommand;
using imap::FetchItem;
using imap::Flag;
using imap::IdCommand;
using imap::IdleCommand;
using imap::ListCommand;
using imap::ListReturnOptions;
using imap::ListSelectOptions;
using imap::LiteralStyle;
using imap::LoginCommand;
using imap::LogoutCommand;
using imap::LsubCommand;
using imap::MoveCommand;
using imap::NamespaceCommand;
using imap::NoopCommand;
using imap::ParseError;
using imap::ParseResult;
using imap::Partial;
using imap::RenameCommand;
using imap::SearchCommand;
using imap::SearchKey;
using imap::SearchReturnOptions;
using imap::Secret;
using imap::SectionSpec;
using imap::SelectCommand;
using imap::SequenceSet;
using imap::SortCommand;
using imap::SortCriterion;
using imap::StartTlsCommand;
using imap::StatusCommand;
using imap::StatusItem;
using imap::StoreCommand;
using imap::SubscribeCommand;
using imap::ThreadCommand;
using imap::UidExpungeCommand;
using imap::UnselectCommand;
using imap::UnsubscribeCommand;
using imap::write_command;
using imap::XlistCommand;
using imap::test::frame_every_way;
using imap::test::FramedEvent;

using SK = SearchKey::Kind;
using FK = FetchItem::Kind;
using ST = SectionSpec::Text;
using Mode = StoreCommand::Mode;
using imap::test::printable;

namespace Catch {
// A Command shows as the wire form the writer gives it.
template <>
struct StringMaker<Command> {
    static std::string convert(const Command& command) {
        return printable(write_command(command, LiteralStyle::NonSynchronising));
    }
};
}  // namespace Catch

namespace {

// ---- Building wire input ----

// literal = "{" number "}" CRLF *CHAR8, and its LITERAL+ form.
std::string lit(std::string_view data) {
    return "{" + std::to_string(data.size()) + "}\r\n" + std::string(data);
}
std::string lit_plus(std::string_view data) {
    return "{" + std::to_string(data.size()) + "+}\r\n" + std::string(data);
}

// ---- Building expected commands ----

Command a001(CommandBody body) {
    return Command{"A001", std::move(body)};
}

SequenceSet seq(std::string_view text) {
    std::optional<SequenceSet> set = SequenceSet::parse(text);
    REQUIRE(set.has_value());
    return *set;
}

SearchKey key(SK kind) {
    SearchKey k;
    k.kind = kind;
    return k;
}
SearchKey text_key(SK kind, std::string text, std::string text2 = {}) {
    SearchKey k = key(kind);
    k.text = std::move(text);
    k.text2 = std::move(text2);
    return k;
}
SearchKey date_key(SK kind, Date date) {
    SearchKey k = key(kind);
    k.date = date;
    return k;
}
SearchKey number_key(SK kind, std::uint32_t number) {
    SearchKey k = key(kind);
    k.number = number;
    return k;
}
SearchKey set_key(SK kind, std::string_view set) {
    SearchKey k = key(kind);
    k.set = seq(set);
    return k;
}
SearchKey not_key(SearchKey child) {
    SearchKey k = key(SK::Not);
    k.children.push_back(std::move(child));
    return k;
}
SearchKey or_key(SearchKey left, SearchKey right) {
    SearchKey k = key(SK::Or);
    k.children.push_back(std::move(left));
    k.children.push_back(std::move(right));
    return k;
}
SearchKey and_key(std::vector<SearchKey> children) {
    SearchKey k = key(SK::And);
    k.children = std::move(children);
    return k;
}
SearchCommand search(std::vector<SearchKey> keys, std::optional<std::string> charset = std::nullopt,
                     bool uid = false) {
    SearchCommand command;
    command.uid = uid;
    command.charset = std::move(charset);
    command.key = and_key(std::move(keys));
    return command;
}

FetchItem item(FK kind) {
    FetchItem i;
    i.kind = kind;
    return i;
}
FetchItem body_section(bool peek, std::vector<std::uint32_t> part, ST text = ST::None,
                       std::vector<std::string> fields = {},
                       std::optional<Partial> partial = std::nullopt) {
    FetchItem i = item(FK::BodySection);
    i.peek = peek;
    i.section.part = std::move(part);
    i.section.text = text;
    i.section.fields = std::move(fields);
    i.partial = partial;
    return i;
}
// RFC 3516: BINARY[part]<partial>, BINARY.PEEK[...], BINARY.SIZE[part].
FetchItem binary(bool peek, std::vector<std::uint32_t> part,
                 std::optional<Partial> partial = std::nullopt) {
    FetchItem i = item(FK::BinarySection);
    i.peek = peek;
    i.section.part = std::move(part);
    i.partial = partial;
    return i;
}
FetchItem binary_size(std::vector<std::uint32_t> part) {
    FetchItem i = item(FK::BinarySize);
    i.section.part = std::move(part);
    return i;
}
FetchCommand fetch(std::string_view set, std::vector<FetchItem> items, bool uid = false) {
    FetchCommand command;
    command.uid = uid;
    command.set = seq(set);
    command.items = std::move(items);
    return command;
}

StoreCommand store(std::string_view set, Mode mode, bool silent, std::vector<Flag> flags,
                   bool uid = false) {
    StoreCommand command;
    command.uid = uid;
    command.set = seq(set);
    command.mode = mode;
    command.silent = silent;
    command.flags = std::move(flags);
    return command;
}

CopyCommand copy_command(std::string_view set, std::string mailbox, bool uid = false) {
    return CopyCommand{uid, seq(set), std::move(mailbox)};
}
MoveCommand move_command(std::string_view set, std::string mailbox, bool uid = false) {
    return MoveCommand{uid, seq(set), std::move(mailbox)};
}

AppendMessage message(std::string body, std::vector<Flag> flags = {},
                      std::optional<DateTime> date = std::nullopt, bool binary = false) {
    AppendMessage m;
    m.flags = std::move(flags);
    m.internal_date = date;
    m.message = std::move(body);
    m.binary = binary;
    return m;
}

using IdFields = std::vector<std::pair<std::string, std::optional<std::string>>>;

// CONDSTORE and QRESYNC (RFC 7162).
imap::SelectParams condstore_params() {
    imap::SelectParams params;
    params.condstore = true;
    return params;
}

imap::SelectParams qresync_params(
    std::uint32_t uidvalidity, std::uint64_t modseq,
    std::optional<std::string_view> known_uids = std::nullopt,
    std::optional<std::pair<std::string_view, std::string_view>> seq_match = std::nullopt) {
    imap::QresyncParams q;
    q.uidvalidity = uidvalidity;
    q.modseq = modseq;
    if (known_uids) q.known_uids = seq(*known_uids);
    if (seq_match) q.seq_match.emplace(seq(seq_match->first), seq(seq_match->second));
    imap::SelectParams params;
    params.qresync = std::move(q);
    return params;
}

FetchCommand changed_fetch(std::string_view set, std::vector<FetchItem> items, bool uid,
                           std::uint64_t changed_since, bool vanished = false) {
    FetchCommand command = fetch(set, std::move(items), uid);
    command.changed_since = changed_since;
    command.vanished = vanished;
    return command;
}

StoreCommand conditional_store(std::string_view set, std::uint64_t unchanged_since, Mode mode,
                               bool silent, std::vector<Flag> flags, bool uid = false) {
    StoreCommand command = store(set, mode, silent, std::move(flags), uid);
    command.unchanged_since = unchanged_since;
    return command;
}

SearchKey modseq_key(std::uint64_t modseq, std::string entry = {}, std::string type = {}) {
    SearchKey k = text_key(SK::ModSeq, std::move(entry), std::move(type));
    k.modseq = modseq;
    return k;
}

// ---- Framing, parsing, round trips ----

// The frames of `wire` after checking that every way of feeding it agrees.
// Synchronising literals are accepted.
std::vector<imap::Frame> frames_of(std::string_view wire) {
    imap::test::SplitCheck check = frame_every_way(wire);
    INFO("framer disagreed: " << check.difference);
    REQUIRE(check.consistent);
    std::vector<imap::Frame> frames;
    for (FramedEvent& event : check.events) {
        if (event.kind == FramedEvent::Kind::Frame) {
            frames.push_back(std::move(event.frame));
        } else {
            REQUIRE(event.kind == FramedEvent::Kind::LiteralRequest);
        }
    }
    return frames;
}

// Frames every way and parses `wire`, which must hold exactly one command.
ParseResult parse_one(std::string_view wire) {
    std::vector<imap::Frame> frames = frames_of(wire);
    REQUIRE(frames.size() == 1);
    return imap::parse_command(std::move(frames.front()));
}

// write_command(command) parses back to `command` in both literal styles;
// non-synchronising literals are never waited for, synchronising ones
// always are; rewriting gives the same bytes.
void check_round_trip(const Command& command) {
    for (LiteralStyle style : {LiteralStyle::Synchronising, LiteralStyle::NonSynchronising}) {
        const std::string wire = write_command(command, style);
        INFO("written: " << printable(wire));
        REQUIRE(wire.ends_with("\r\n"));
        imap::test::SplitCheck check = frame_every_way(wire);
        INFO("framer disagreed: " << check.difference);
        REQUIRE(check.consistent);
        std::size_t requests = 0;
        std::vector<imap::Frame> frames;
        for (FramedEvent& event : check.events) {
            if (event.kind == FramedEvent::Kind::LiteralRequest) {
                ++requests;
            } else {
                REQUIRE(event.kind == FramedEvent::Kind::Frame);
                frames.push_back(std::move(event.frame));
            }
        }
        REQUIRE(frames.size() == 1);
        const std::size_t literals = frames.front().literals.size();
        CHECK(requests == (style == LiteralStyle::Synchronising ? literals : 0));
        ParseResult again = imap::parse_command(std::move(frames.front()));
        if (const auto* error = std::get_if<ParseError>(&again)) {
            FAIL("written command does not parse: " << error->message);
        }
        CHECK(std::get<Command>(again) == command);
        CHECK(write_command(std::get<Command>(again), style) == wire);
    }
}

// `line` (without its final CRLF) parses to `expected` and round-trips.
void check_parses(const std::string& line, const Command& expected) {
    INFO("input: " << printable(line));
    ParseResult result = parse_one(line + "\r\n");
    if (const auto* error = std::get_if<ParseError>(&result)) {
        FAIL("parse error: " << error->message);
    }
    const Command& command = std::get<Command>(result);
    CHECK(command == expected);
    check_round_trip(command);
}

struct Good {
    std::string line;  // without the final CRLF
    Command expected;
};

void check_all_parse(const std::vector<Good>& cases) {
    for (const Good& c : cases)
        check_parses(c.line, c.expected);
}

// `line` (without its final CRLF) is refused: tagged BAD when `tag` is
// given, untagged otherwise; the message mentions `mention` (any case).
void check_fails(const std::string& line, const std::optional<std::string>& tag,
                 const std::string& mention = {}) {
    INFO("input: " << printable(line));
    ParseResult result = parse_one(line + "\r\n");
    if (const auto* command = std::get_if<Command>(&result)) {
        FAIL("parsed, but should not: " << printable(write_command(*command)));
    }
    const ParseError& error = std::get<ParseError>(result);
    INFO("message: " << error.message);
    CHECK(error.tag == tag);
    CHECK(!error.message.empty());
    if (!mention.empty()) {
        CHECK_THAT(error.message, Catch::Matchers::Contains(mention, Catch::CaseSensitive::No));
    }
}

struct Bad {
    std::string line;     // without the final CRLF
    std::string mention;  // a part of the message, or empty
};

// Each line has the valid tag "A001" and gets a tagged BAD.
void check_all_fail(const std::vector<Bad>& cases) {
    for (const Bad& c : cases)
        check_fails(c.line, "A001"s, c.mention);
}

std::string repeat(std::string_view piece, std::size_t times) {
    std::string out;
    out.reserve(piece.size() * times);
    for (std::size_t i = 0; i < times; ++i)
        out += piece;
    return out;
}

}  // namespace

// =====================================================================
// The writer's wire forms
// =====================================================================

TEST_CASE("write_command: astring is an atom, else quoted, else a literal", "[writer]") {
    auto login = [](std::string user, std::string password, LiteralStyle style) {
        return write_command(
            Command{"a1", LoginCommand{std::move(user), Secret(std::move(password))}}, style);
    };
    const auto sync = LiteralStyle::Synchronising;
    const auto plus = LiteralStyle::NonSynchronising;
    // ASTRING-CHAR includes "]" (resp-specials), unlike ATOM-CHAR.
    CHECK(login("fred", "a]b", sync) == "a1 LOGIN fred a]b\r\n");
    CHECK(login("fred smith", "", sync) == "a1 LOGIN \"fred smith\" \"\"\r\n");
    // quoted-specials are escaped.
    CHECK(login("a\"b\\c", "x", sync) == "a1 LOGIN \"a\\\"b\\\\c\" x\r\n");
    // atom-specials other than quoted-specials just need the quotes.
    CHECK(login("(x)", "%*{3}", sync) == "a1 LOGIN \"(x)\" \"%*{3}\"\r\n");
    // 8-bit, CR and LF cannot be quoted (QUOTED-CHAR is 7-bit TEXT-CHAR).
    CHECK(login("caf\xc3\xa9", "x", sync) == "a1 LOGIN {5}\r\ncaf\xc3\xa9 x\r\n");
    CHECK(login("x", "a\r\nb", sync) == "a1 LOGIN x {4}\r\na\r\nb\r\n");
    CHECK(login("caf\xc3\xa9", "a\r\nb", plus) ==
          "a1 LOGIN {5+}\r\ncaf\xc3\xa9 {4+}\r\na\r\nb\r\n");
    // Long values go as literals so lines stay short.
    const std::string long_name(2000, 'x');
    CHECK(login(long_name, "x", sync) == "a1 LOGIN {2000}\r\n" + long_name + " x\r\n");
    CHECK(login("x", std::string(1024, 'y'), sync) ==
          "a1 LOGIN x " + std::string(1024, 'y') + "\r\n");
}

TEST_CASE("write_command: commands without arguments and mailbox commands", "[writer]") {
    const std::vector<std::pair<CommandBody, std::string>> cases = {
        {CapabilityCommand{}, "T CAPABILITY\r\n"},
        {NoopCommand{}, "T NOOP\r\n"},
        {LogoutCommand{}, "T LOGOUT\r\n"},
        {StartTlsCommand{}, "T STARTTLS\r\n"},
        {CheckCommand{}, "T CHECK\r\n"},
        {CloseCommand{}, "T CLOSE\r\n"},
        {ExpungeCommand{}, "T EXPUNGE\r\n"},
        {UnselectCommand{}, "T UNSELECT\r\n"},
        {IdleCommand{}, "T IDLE\r\n"},
        {NamespaceCommand{}, "T NAMESPACE\r\n"},
        {SelectCommand{"INBOX"}, "T SELECT INBOX\r\n"},
        {ExamineCommand{"a b"}, "T EXAMINE \"a b\"\r\n"},
        {CreateCommand{"owatagusiam/"}, "T CREATE owatagusiam/\r\n"},
        {DeleteCommand{""}, "T DELETE \"\"\r\n"},
        {SubscribeCommand{"#news.comp.mail.mime"}, "T SUBSCRIBE #news.comp.mail.mime\r\n"},
        {UnsubscribeCommand{"&AOk-t&AOk-"}, "T UNSUBSCRIBE &AOk-t&AOk-\r\n"},
        {RenameCommand{"INBOX", "old mail"}, "T RENAME INBOX \"old mail\"\r\n"},
        // list-mailbox keeps its wildcards bare; the reference is an astring.
        {ListCommand{"", "*"}, "T LIST \"\" *\r\n"},
        {LsubCommand{"#news.", "comp.%"}, "T LSUB #news. comp.%\r\n"},
        {ListCommand{"%", "a b%"}, "T LIST \"%\" \"a b%\"\r\n"},
        {StatusCommand{"INBOX",
                       {StatusItem::Messages, StatusItem::Recent, StatusItem::UidNext,
                        StatusItem::UidValidity, StatusItem::Unseen}},
         "T STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\r\n"},
        {UidExpungeCommand{seq("3000:3002,7")}, "T UID EXPUNGE 3000:3002,7\r\n"},
        {copy_command("2:4", "MEETING"), "T COPY 2:4 MEETING\r\n"},
        {copy_command("1:*", "a b", true), "T UID COPY 1:* \"a b\"\r\n"},
        {move_command("42:69", "foo", true), "T UID MOVE 42:69 foo\r\n"},
        {move_command("*:4", "foo"), "T MOVE *:4 foo\r\n"},
        {EnableCommand{{"CONDSTORE", "UTF8=ACCEPT"}}, "T ENABLE CONDSTORE UTF8=ACCEPT\r\n"},
        {XlistCommand{"", "*"}, "T XLIST \"\" *\r\n"},
        {StatusCommand{"a", {StatusItem::Size, StatusItem::AppendLimit}},
         "T STATUS a (SIZE APPENDLIMIT)\r\n"},
    };
    for (const auto& [body, wire] : cases) {
        CHECK(write_command(Command{"T", body}) == wire);
        check_round_trip(Command{"T", body});
    }
}

TEST_CASE("write_command: AUTHENTICATE with and without SASL-IR", "[writer]") {
    auto written = [](std::optional<Secret> response) {
        return write_command(Command{"A01", AuthenticateCommand{"PLAIN", std::move(response)}});
    };
    CHECK(written(std::nullopt) == "A01 AUTHENTICATE PLAIN\r\n");
    CHECK(written(Secret("dGVzdAB0ZXN0AHRlc3Q=")) ==
          "A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n");
    // RFC 4959: an empty initial response is "=", however it was stored.
    CHECK(written(Secret("=")) == "A01 AUTHENTICATE PLAIN =\r\n");
    CHECK(written(Secret("")) == "A01 AUTHENTICATE PLAIN =\r\n");
}

TEST_CASE("write_command: STORE modes, .SILENT and flag lists", "[writer]") {
    CHECK(write_command(Command{"T", store("1:3,5", Mode::Add, true, {"\\Seen", "\\Deleted"})}) ==
          "T STORE 1:3,5 +FLAGS.SILENT (\\Seen \\Deleted)\r\n");
    CHECK(write_command(Command{"T", store("7", Mode::Remove, false, {"$Junk"}, true)}) ==
          "T UID STORE 7 -FLAGS ($Junk)\r\n");
    // The flag-list form is the only one that can carry no flags.
    CHECK(write_command(Command{"T", store("*", Mode::Replace, false, {})}) ==
          "T STORE * FLAGS ()\r\n");
}

TEST_CASE("write_command: FETCH items, sections and partials", "[writer]") {
    CHECK(write_command(Command{"T", fetch("1", {item(FK::Flags)})}) == "T FETCH 1 FLAGS\r\n");
    CHECK(write_command(Command{
              "T", fetch("2:4",
                         {item(FK::Flags), item(FK::Uid),
                          body_section(true, {1, 2}, ST::HeaderFields, {"A", "B"}, Partial{0, 10}),
                          body_section(false, {}), body_section(false, {3}, ST::Mime),
                          body_section(false, {}, ST::HeaderFieldsNot, {"X Y", "Z"}),
                          body_section(true, {}, ST::Text), body_section(false, {1}, ST::Header)},
                         true)}) ==
          "T UID FETCH 2:4 (FLAGS UID BODY.PEEK[1.2.HEADER.FIELDS (A B)]<0.10> BODY[] "
          "BODY[3.MIME] BODY[HEADER.FIELDS.NOT (\"X Y\" Z)] BODY.PEEK[TEXT] BODY[1.HEADER])\r\n");
    CHECK(write_command(Command{
              "T", fetch("1", {item(FK::Envelope), item(FK::InternalDate), item(FK::Rfc822),
                               item(FK::Rfc822Header), item(FK::Rfc822Size), item(FK::Rfc822Text),
                               item(FK::Body), item(FK::BodyStructure)})}) ==
          "T FETCH 1 (ENVELOPE INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY "
          "BODYSTRUCTURE)\r\n");
    // RFC 3516 7.
    CHECK(write_command(
              Command{"T", fetch("1", {binary(false, {}), binary(true, {1, 2}, Partial{3, 4}),
                                       binary_size({2})})}) ==
          "T FETCH 1 (BINARY[] BINARY.PEEK[1.2]<3.4> BINARY.SIZE[2])\r\n");
    CHECK(write_command(Command{"T", CompressCommand{"DEFLATE"}}) == "T COMPRESS DEFLATE\r\n");
}

TEST_CASE("write_command: SEARCH key trees", "[writer]") {
    // The top-level And is the key list itself; nested Ands get parentheses.
    const Command command{
        "T",
        search({key(SK::Flagged),
                and_key({key(SK::Seen), or_key(key(SK::New), text_key(SK::Text, "a b"))}),
                not_key(set_key(SK::SequenceSet, "2:*")), date_key(SK::Since, Date{1994, 2, 1}),
                text_key(SK::Header, "Message-ID", "<x@y>"), number_key(SK::Larger, 1024),
                text_key(SK::Keyword, "$Forwarded"), set_key(SK::Uid, "1,5:*")},
               "UTF-8")};
    CHECK(write_command(command) ==
          "T SEARCH CHARSET UTF-8 FLAGGED (SEEN OR NEW TEXT \"a b\") NOT 2:* SINCE 1-Feb-1994 "
          "HEADER Message-ID <x@y> LARGER 1024 KEYWORD $Forwarded UID 1,5:*\r\n");
    check_round_trip(command);
    CHECK(write_command(Command{"T", search({text_key(SK::Text, "\xe2\x82\xac")}, "UTF-8", true)},
                        LiteralStyle::NonSynchronising) ==
          "T UID SEARCH CHARSET UTF-8 TEXT {3+}\r\n\xe2\x82\xac\r\n");
}

TEST_CASE("write_command: APPEND with MULTIAPPEND, date-time and literal8", "[writer]") {
    const Command command{
        "T", AppendCommand{"INBOX",
                           {message("hi", {"\\Seen"}, DateTime{Date{1994, 2, 7}, 22, 43, 4, -480}),
                            message("a\0b"s, {}, std::nullopt, true), message("x", {"$A", "$B"})}}};
    CHECK(write_command(command) ==
          "T APPEND INBOX (\\Seen) \" 7-Feb-1994 22:43:04 -0800\" {2}\r\nhi ~{3}\r\na\0b "
          "($A $B) {1}\r\nx\r\n"s);
    CHECK(write_command(command, LiteralStyle::NonSynchronising) ==
          "T APPEND INBOX (\\Seen) \" 7-Feb-1994 22:43:04 -0800\" {2+}\r\nhi ~{3+}\r\na\0b "
          "($A $B) {1+}\r\nx\r\n"s);
    check_round_trip(command);
}

TEST_CASE("write_command: ID with NIL values", "[writer]") {
    CHECK(write_command(Command{"T", IdCommand{}}) == "T ID NIL\r\n");
    CHECK(write_command(Command{"T", IdCommand{IdFields{}}}) == "T ID ()\r\n");
    // A value "NIL" is a string, so it is quoted; NIL itself is bare.
    CHECK(write_command(Command{
              "T", IdCommand{IdFields{{"name", "sodr"}, {"os", std::nullopt}, {"x", "NIL"}}}}) ==
          "T ID (\"name\" \"sodr\" \"os\" NIL \"x\" \"NIL\")\r\n");
}

TEST_CASE("write_command: awkward strings round-trip in every string position", "[writer]") {
    // Each needs a different form somewhere: atom, quoted with escapes,
    // quoted for atom-specials, literal for 8-bit, CR/LF, length.
    const std::vector<std::string> values = {
        "",
        "a",
        "a b",
        "\"",
        "\\",
        "a]",
        "]",
        "(x)",
        "{3}",
        "~{3}",
        "%*",
        "NIL",
        "\x7f",
        "\x01",
        "caf\xc3\xa9",
        "a\r\nb",
        "\r",
        "\n",
        "*",
        "x)",
        "[1]",
        "~",
        std::string(2000, 'x'),
    };
    for (const std::string& v : values) {
        INFO("value: " << printable(v));
        const std::vector<CommandBody> bodies = {
            LoginCommand{v, Secret(v)},
            SelectCommand{v},
            RenameCommand{v, v},
            ListCommand{v, v},
            LsubCommand{v, v},
            StatusCommand{v, {StatusItem::Unseen}},
            copy_command("1", v),
            move_command("1", v, true),
            search({text_key(SK::Text, v), text_key(SK::Header, v, v),
                    and_key({text_key(SK::Subject, v)})},
                   v),
            fetch("1", {body_section(true, {1}, ST::HeaderFields, {v, v})}),
            IdCommand{IdFields{{v, v}, {v, std::nullopt}}},
            AppendCommand{v, {message(v), message(v, {}, std::nullopt, true)}},
        };
        for (const CommandBody& body : bodies)
            check_round_trip(Command{"T", body});
    }
}

// =====================================================================
// The grammar, command by command (RFC 3501 6 and 9)
// =====================================================================

TEST_CASE("Grammar: commands without arguments, any case", "[parser]") {
    check_all_parse({
        {"A001 CAPABILITY", a001(CapabilityCommand{})},
        {"A001 capability", a001(CapabilityCommand{})},
        {"A001 NOOP", a001(NoopCommand{})},
        {"A001 NoOp", a001(NoopCommand{})},
        {"A001 LOGOUT", a001(LogoutCommand{})},
        {"A001 STARTTLS", a001(StartTlsCommand{})},
        {"A001 CHECK", a001(CheckCommand{})},
        {"A001 CLOSE", a001(CloseCommand{})},
        {"A001 EXPUNGE", a001(ExpungeCommand{})},
        {"A001 UNSELECT", a001(UnselectCommand{})},
        {"A001 IDLE", a001(IdleCommand{})},
        {"A001 NAMESPACE", a001(NamespaceCommand{})},
    });
}

TEST_CASE("Grammar: tags are 1*<ASTRING-CHAR except +>", "[parser]") {
    check_all_parse({
        {"a NOOP", Command{"a", NoopCommand{}}},
        {"A]1 NOOP", Command{"A]1", NoopCommand{}}},
        {"0 NOOP", Command{"0", NoopCommand{}}},
        {"!#$&'-./:;<=>?@^_`|~ NOOP", Command{"!#$&'-./:;<=>?@^_`|~", NoopCommand{}}},
        {std::string(imap::limits::kMaxTagLength, 't') + " NOOP",
         Command{std::string(imap::limits::kMaxTagLength, 't'), NoopCommand{}}},
    });
}

TEST_CASE("Grammar: AUTHENTICATE with and without SASL-IR", "[parser]") {
    auto auth = [](std::string mechanism, std::optional<std::string> response) {
        std::optional<Secret> secret;
        if (response) secret = Secret(*response);
        return a001(AuthenticateCommand{std::move(mechanism), std::move(secret)});
    };
    check_all_parse({
        {"A001 AUTHENTICATE PLAIN", auth("PLAIN", std::nullopt)},
        {"A001 authenticate plain", auth("PLAIN", std::nullopt)},
        {"A001 AUTHENTICATE X-OAUTH2.0", auth("X-OAUTH2.0", std::nullopt)},
        // base64 = *(4base64-char) [base64-terminal]
        {"A001 AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0", auth("PLAIN", "AGZyZWQAc2VjcmV0")},
        {"A001 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=", auth("PLAIN", "dGVzdAB0ZXN0AHRlc3Q=")},
        {"A001 AUTHENTICATE PLAIN AA==", auth("PLAIN", "AA==")},
        {"A001 AUTHENTICATE PLAIN +/9z", auth("PLAIN", "+/9z")},
        // RFC 4959: "=" is an empty initial response, kept apart from none.
        {"A001 AUTHENTICATE EXTERNAL =", auth("EXTERNAL", "=")},
    });
}

TEST_CASE("Grammar: LOGIN with atom, quoted and literal userid and password", "[parser]") {
    auto login = [](std::string user, std::string password) {
        return a001(LoginCommand{std::move(user), Secret(std::move(password))});
    };
    check_all_parse({
        {"A001 LOGIN fred secret", login("fred", "secret")},
        {"A001 login FRED Secret", login("FRED", "Secret")},
        {"A001 LOGIN \"fred\" \"secret\"", login("fred", "secret")},
        {"A001 LOGIN \"fred smith\" \"\"", login("fred smith", "")},
        {"A001 LOGIN \"a\\\"b\" \"c\\\\d\"", login("a\"b", "c\\d")},
        {"A001 LOGIN a]b pw]", login("a]b", "pw]")},
        {"A001 LOGIN " + lit("fred") + " " + lit("sec ret"), login("fred", "sec ret")},
        {"A001 LOGIN " + lit_plus("FRED FOOBAR") + " " + lit_plus("fat man"),
         login("FRED FOOBAR", "fat man")},
        {"A001 LOGIN " + lit("") + " " + lit("a\r\nb"), login("", "a\r\nb")},
        {"A001 LOGIN fred " + lit("p\xc3\xa4ss"), login("fred", "p\xc3\xa4ss")},
        {"A001 LOGIN \"fred\" " + lit_plus("x"), login("fred", "x")},
        // 8-bit in quoted strings is accepted (UTF-8 clients, reader.cpp).
        {"A001 LOGIN \"j\xc3\xb6rg\" x", login("j\xc3\xb6rg", "x")},
    });
}

TEST_CASE("Grammar: mailbox arguments as atom, quoted and literal", "[parser]") {
    check_all_parse({
        {"A001 SELECT INBOX", a001(SelectCommand{"INBOX"})},
        {"A001 SELECT \"Sent Items\"", a001(SelectCommand{"Sent Items"})},
        {"A001 select " + lit("a b"), a001(SelectCommand{"a b"})},
        {"A001 EXAMINE blurdybloop", a001(ExamineCommand{"blurdybloop"})},
        {"A001 EXAMINE \"\"", a001(ExamineCommand{""})},
        {"A001 CREATE owatagusiam/", a001(CreateCommand{"owatagusiam/"})},
        {"A001 CREATE " + lit_plus("x\"y"), a001(CreateCommand{"x\"y"})},
        {"A001 DELETE foo/bar", a001(DeleteCommand{"foo/bar"})},
        {"A001 DELETE a]", a001(DeleteCommand{"a]"})},
        {"A001 SUBSCRIBE #news.comp.mail.mime", a001(SubscribeCommand{"#news.comp.mail.mime"})},
        {"A001 UNSUBSCRIBE \"&AOk-t&AOk-\"", a001(UnsubscribeCommand{"&AOk-t&AOk-"})},
        {"A001 RENAME blurdybloop sarasoop", a001(RenameCommand{"blurdybloop", "sarasoop"})},
        {"A001 RENAME \"a b\" " + lit("c d"), a001(RenameCommand{"a b", "c d"})},
    });
}

TEST_CASE("Grammar: LIST and LSUB patterns with % and *", "[parser]") {
    check_all_parse({
        {"A001 LIST \"\" *", a001(ListCommand{"", "*"})},
        {"A001 LIST \"\" %", a001(ListCommand{"", "%"})},
        {"A001 LIST \"\" \"\"", a001(ListCommand{"", ""})},
        {"A001 LIST ~/Mail/ %", a001(ListCommand{"~/Mail/", "%"})},
        {"A001 LIST #news. comp.mail.*", a001(ListCommand{"#news.", "comp.mail.*"})},
        {"A001 LIST \"\" %/%]*", a001(ListCommand{"", "%/%]*"})},
        {"A001 LIST \"a b\" \"c %\"", a001(ListCommand{"a b", "c %"})},
        {"A001 LIST " + lit("ref") + " " + lit("*"), a001(ListCommand{"ref", "*"})},
        {"A001 list \"\" INBOX.*", a001(ListCommand{"", "INBOX.*"})},
        {"A001 LSUB \"#news.\" \"comp.mail.*\"", a001(LsubCommand{"#news.", "comp.mail.*"})},
        {"A001 LSUB \"\" %", a001(LsubCommand{"", "%"})},
        {"A001 lsub x " + lit_plus("*"), a001(LsubCommand{"x", "*"})},
    });
}

TEST_CASE("Grammar: STATUS with every status-att", "[parser]") {
    using SI = StatusItem;
    check_all_parse({
        {"A001 STATUS INBOX (MESSAGES)", a001(StatusCommand{"INBOX", {SI::Messages}})},
        {"A001 STATUS INBOX (RECENT)", a001(StatusCommand{"INBOX", {SI::Recent}})},
        {"A001 STATUS INBOX (UIDNEXT)", a001(StatusCommand{"INBOX", {SI::UidNext}})},
        {"A001 STATUS INBOX (UIDVALIDITY)", a001(StatusCommand{"INBOX", {SI::UidValidity}})},
        {"A001 STATUS INBOX (UNSEEN)", a001(StatusCommand{"INBOX", {SI::Unseen}})},
        {"A001 status \"a b\" (unseen uidnext Messages recent UidValidity)",
         a001(StatusCommand{"a b",
                            {SI::Unseen, SI::UidNext, SI::Messages, SI::Recent, SI::UidValidity}})},
        {"A001 STATUS " + lit("x") + " (MESSAGES MESSAGES)",
         a001(StatusCommand{"x", {SI::Messages, SI::Messages}})},
    });
}

// ---- LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE and
// CREATE-SPECIAL-USE (RFC 6154), STATUS=SIZE (RFC 8438), APPENDLIMIT (RFC
// 7889), ESEARCH (RFC 4731), XLIST ----

namespace {

ListCommand extended_list(std::string reference, std::vector<std::string> patterns,
                          std::optional<ListSelectOptions> select,
                          std::optional<ListReturnOptions> returns, bool pattern_list = false) {
    ListCommand command;
    command.reference = std::move(reference);
    command.pattern = patterns.front();
    command.more_patterns.assign(patterns.begin() + 1, patterns.end());
    command.pattern_list = pattern_list || patterns.size() > 1;
    command.select = select;
    command.returns = std::move(returns);
    return command;
}
ListSelectOptions select_options(bool subscribed, bool remote, bool recursive, bool special) {
    ListSelectOptions o;
    o.subscribed = subscribed;
    o.remote = remote;
    o.recursive_match = recursive;
    o.special_use = special;
    return o;
}
ListReturnOptions return_options(bool subscribed, bool children, bool special,
                                 std::optional<std::vector<StatusItem>> status = std::nullopt) {
    ListReturnOptions o;
    o.subscribed = subscribed;
    o.children = children;
    o.special_use = special;
    o.status = std::move(status);
    return o;
}
SearchCommand esearch(std::vector<SearchKey> keys, bool min, bool max, bool all, bool count,
                      bool uid = false, std::optional<std::string> charset = std::nullopt) {
    SearchCommand command = search(std::move(keys), std::move(charset), uid);
    SearchReturnOptions options;
    options.min = min;
    options.max = max;
    options.all = all;
    options.count = count;
    command.return_options = options;
    return command;
}
CreateCommand create_with_use(std::string name, std::vector<Flag> use) {
    CreateCommand command;
    command.mailbox = std::move(name);
    command.use = std::move(use);
    return command;
}

}  // namespace

TEST_CASE("Grammar: RFC 5258 LIST selection options, pattern lists and RETURN",
          "[parser][list-extended]") {
    const auto none = select_options(false, false, false, false);
    check_all_parse({
        // RFC 5258 5 examples 2 to 9.
        {"A02 LIST (SUBSCRIBED) \"\" \"*\"",
         Command{"A02", extended_list("", {"*"}, select_options(true, false, false, false),
                                      std::nullopt)}},
        {"A03 LIST () \"\" \"%\" RETURN (CHILDREN)",
         Command{"A03", extended_list("", {"%"}, none, return_options(false, true, false))}},
        {"A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)",
         Command{"A04", extended_list("", {"%"}, select_options(false, true, false, false),
                                      return_options(false, true, false))}},
        {"A05 LIST (REMOTE SUBSCRIBED) \"\" \"*\"",
         Command{"A05",
                 extended_list("", {"*"}, select_options(true, true, false, false), std::nullopt)}},
        {"A06 LIST (REMOTE) \"\" \"*\" RETURN (SUBSCRIBED)",
         Command{"A06", extended_list("", {"*"}, select_options(false, true, false, false),
                                      return_options(true, false, false))}},
        {"BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")",
         Command{"BBB",
                 extended_list("", {"INBOX", "Drafts", "Sent/%"}, std::nullopt, std::nullopt)}},
        {"C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\" RETURN (CHILDREN)",
         Command{"C04", extended_list("", {"%"}, select_options(true, false, true, false),
                                      return_options(false, true, false))}},
        {"D03 LIST (RECURSIVEMATCH SUBSCRIBED) \"\" \"*2\"",
         Command{"D03", extended_list("", {"*2"}, select_options(true, false, true, false),
                                      std::nullopt)}},
        // A one-pattern list, an empty RETURN, case, literals.
        {"A001 list \"\" (%) return ()",
         a001(extended_list("", {"%"}, std::nullopt, return_options(false, false, false), true))},
        {"A001 LIST () " + lit("") + " (" + lit("a b") + " *)",
         a001(extended_list("", {"a b", "*"}, none, std::nullopt))},
        // RFC 6154 5.1 / 5.2: SPECIAL-USE as selection and return option.
        {"t1 LIST (SPECIAL-USE) \"\" \"*\"",
         Command{"t1", extended_list("", {"*"}, select_options(false, false, false, true),
                                     std::nullopt)}},
        {"t1 LIST \"\" \"%\" RETURN (SPECIAL-USE)",
         Command{"t1", extended_list("", {"%"}, std::nullopt, return_options(false, false, true))}},
        {"A001 LIST (special-use recursivematch) \"\" *",
         a001(extended_list("", {"*"}, select_options(false, false, true, true), std::nullopt))},
        // RFC 5819 3: RETURN (STATUS (...)), with other return options too.
        {"A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))",
         Command{"A01", extended_list("", {"%"}, std::nullopt,
                                      return_options(
                                          false, false, false,
                                          std::vector{StatusItem::Messages, StatusItem::Unseen}))}},
        {"A02 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" % RETURN (STATUS (MESSAGES))",
         Command{"A02", extended_list("", {"%"}, select_options(true, false, true, false),
                                      return_options(false, false, false,
                                                     std::vector{StatusItem::Messages}))}},
        {"A001 LIST \"\" * RETURN (CHILDREN STATUS (SIZE APPENDLIMIT) SUBSCRIBED SPECIAL-USE)",
         a001(extended_list(
             "", {"*"}, std::nullopt,
             return_options(true, true, true,
                            std::vector{StatusItem::Size, StatusItem::AppendLimit})))},
        // XLIST takes LIST's RFC 3501 arguments.
        {"A001 XLIST \"\" *", a001(XlistCommand{"", "*"})},
        {"A001 xlist \"a b\" %", a001(XlistCommand{"a b", "%"})},
    });
    check_all_fail({
        // RFC 5258 3.1: RECURSIVEMATCH alone (or with REMOTE only) is BAD.
        {"A001 LIST (RECURSIVEMATCH) \"\" %", "RECURSIVEMATCH"},
        {"A001 LIST (REMOTE RECURSIVEMATCH) \"\" %", "RECURSIVEMATCH"},
        {"A001 LIST (FOO) \"\" %", "FOO"},
        {"A001 LIST \"\" % RETURN (FOO)", "FOO"},
        {"A001 LIST \"\" % RETURN (STATUS (FOO))", "FOO"},
        {"A001 LIST \"\" % RETURN (STATUS (MESSAGES) STATUS (UNSEEN))", "STATUS"},
        {"A001 LIST \"\" % RETURN CHILDREN", "("},
        {"A001 LIST \"\" % FOO (CHILDREN)", "Unexpected"},
        {"A001 LIST \"\" ()", ""},
        {"A001 LIST (SUBSCRIBED \"\" %", ""},
        {"A001 XLIST (SUBSCRIBED) \"\" %", ""},
    });
}

TEST_CASE("Grammar: RFC 6154 3 CREATE with USE", "[parser][special-use]") {
    check_all_parse({
        {"t1 CREATE MySpecial (USE (\\Drafts \\Sent))",
         Command{"t1", create_with_use("MySpecial", {"\\Drafts", "\\Sent"})}},
        {"t3 CREATE Everything (USE (\\All))",
         Command{"t3", create_with_use("Everything", {"\\All"})}},
        {"A001 create x (use (\\Junk))", a001(create_with_use("x", {"\\Junk"}))},
        // use-attr-ext: the parser takes any "\" atom, the server decides.
        {"A001 CREATE x (USE (\\Important \\Inbox))",
         a001(create_with_use("x", {"\\Important", "\\Inbox"}))},
        // An empty USE list is no special use.
        {"A001 CREATE x (USE ())", a001(CreateCommand{"x"})},
    });
    check_all_fail({
        {"A001 CREATE x (FOO (\\Sent))", "FOO"},
        {"A001 CREATE x (USE \\Sent)", "("},
        {"A001 CREATE x (USE (Sent))", "special-use"},
        {"A001 CREATE x ()", ""},
        {"A001 CREATE x (USE (\\Sent)", ""},
    });
}

TEST_CASE("Grammar: STATUS SIZE and APPENDLIMIT", "[parser][status]") {
    using SI = StatusItem;
    check_all_parse({
        {"A001 STATUS INBOX (SIZE)", a001(StatusCommand{"INBOX", {SI::Size}})},
        {"A001 STATUS INBOX (APPENDLIMIT)", a001(StatusCommand{"INBOX", {SI::AppendLimit}})},
        {"A001 status x (messages size appendlimit)",
         a001(StatusCommand{"x", {SI::Messages, SI::Size, SI::AppendLimit}})},
    });
}

TEST_CASE("Grammar: RFC 4731 SEARCH RETURN options", "[parser][esearch]") {
    check_all_parse({
        // RFC 4731 3.1 examples.
        {"A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
         Command{"A282", esearch({key(SK::Flagged), date_key(SK::Since, Date{1994, 2, 1}),
                                  not_key(text_key(SK::From, "Smith"))},
                                 true, false, false, true)}},
        {"A283 SEARCH RETURN () FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
         Command{"A283", esearch({key(SK::Flagged), date_key(SK::Since, Date{1994, 2, 1}),
                                  not_key(text_key(SK::From, "Smith"))},
                                 false, false, true, false)}},
        {"A284 SEARCH RETURN (MIN) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
         Command{"A284", esearch({key(SK::Flagged), date_key(SK::Since, Date{1994, 2, 1}),
                                  not_key(text_key(SK::From, "Smith"))},
                                 true, false, false, false)}},
        {"A285 UID SEARCH RETURN (MIN MAX) 1:5000",
         Command{"A285",
                 esearch({set_key(SK::SequenceSet, "1:5000")}, true, true, false, false, true)}},
        {"A286 SEARCH RETURN (COUNT) UNDELETED",
         Command{"A286", esearch({key(SK::Undeleted)}, false, false, false, true)}},
        {"A001 search return (all max min count) charset UTF-8 ALL",
         a001(esearch({key(SK::All)}, true, true, true, true, false, "UTF-8"))},
        // RETURN is not a search key: it is only an option right after SEARCH.
        {"A001 UID SEARCH RETURN (ALL) RECENT",
         a001(esearch({key(SK::Recent)}, false, false, true, false, true))},
    });
    check_all_fail({
        {"A001 SEARCH RETURN (FOO) ALL", "FOO"},
        {"A001 SEARCH RETURN ALL", "("},
        {"A001 SEARCH RETURN (MIN)", ""},
        {"A001 SEARCH ALL RETURN (MIN)", ""},
    });
}

namespace {
SearchCommand with_options(SearchCommand command, SearchReturnOptions options) {
    command.return_options = options;
    return command;
}
}  // namespace

TEST_CASE("Grammar: RFC 5182 SAVE and $, RFC 9394 PARTIAL", "[parser][esearch][searchres]") {
    SearchReturnOptions save;
    save.save = true;
    SearchReturnOptions save_min_max = save;
    save_min_max.min = save_min_max.max = true;
    SearchReturnOptions partial_first;
    partial_first.partial = imap::PartialRange{1, 100, false};
    SearchReturnOptions partial_last = partial_first;
    partial_last.partial = imap::PartialRange{1, 100, true};
    partial_last.count = partial_last.save = true;
    SearchReturnOptions reversed;
    reversed.partial = imap::PartialRange{500, 400, false};
    const SearchKey saved = set_key(SK::SequenceSet, "$");
    check_all_parse({
        // RFC 5182 2.2 examples 1, 3, 4.
        {"A282 SEARCH RETURN (SAVE) FLAGGED",
         Command{"A282", with_options(search({key(SK::Flagged)}), save)}},
        {"A301 UID SEARCH UID $ SMALLER 4096",
         Command{"A301", search({set_key(SK::Uid, "$"), number_key(SK::Smaller, 4096)},
                                std::nullopt, true)}},
        {"A301 UID SEARCH $ SMALLER 4096",
         Command{"A301", search({saved, number_key(SK::Smaller, 4096)}, std::nullopt, true)}},
        {"P283 SEARCH (OR $ 1,3000:3021) TEXT x",
         Command{"P283", search({and_key({or_key(saved, set_key(SK::SequenceSet, "1,3000:3021"))}),
                                 text_key(SK::Text, "x")})}},
        {"C285 SEARCH RETURN (MAX SAVE MIN) ALL",
         Command{"C285", with_options(search({key(SK::All)}), save_min_max)}},
        // RFC 9394 3.1 examples.
        {"A03 UID SEARCH RETURN (PARTIAL 1:100) UNDELETED",
         Command{"A03",
                 with_options(search({key(SK::Undeleted)}, std::nullopt, true), partial_first)}},
        {"A01 UID SEARCH RETURN (count save partial -1:-100) UNDELETED",
         Command{"A01",
                 with_options(search({key(SK::Undeleted)}, std::nullopt, true), partial_last)}},
        {"A02 SEARCH RETURN (PARTIAL 500:400) ALL",
         Command{"A02", with_options(search({key(SK::All)}), reversed)}},
    });
    // "$" in every command that takes a sequence-set (RFC 5182 4).
    for (const std::string line :
         {"t STORE $ +FLAGS (\\Seen)", "t UID STORE $ FLAGS ()", "t COPY $ a", "t UID COPY $ a",
          "t MOVE $ a", "A283 FETCH $ (UID INTERNALDATE FLAGS RFC822.HEADER)", "t UID MOVE $ a",
          "t UID EXPUNGE $", "t UID FETCH $ FLAGS", "t SORT (DATE) UTF-8 $",
          "t UID THREAD REFS UTF-8 NOT $"}) {
        INFO(line);
        ParseResult result = parse_one(line + "\r\n");
        REQUIRE(std::holds_alternative<Command>(result));
        check_round_trip(std::get<Command>(result));
    }
    check_all_fail({
        // "$" is a sequence-set of its own: no list, no range.
        {"A001 FETCH $,1 FLAGS", "Invalid sequence set"},
        {"A001 FETCH 1:$ FLAGS", "Invalid sequence set"},
        {"A001 SEARCH $$", "Invalid sequence set"},
        // SELECT empties "$": QRESYNC's sets may not use it.
        {"A001 SELECT INBOX (QRESYNC (1 2 $))", "not allowed"},
        {"A001 SEARCH RETURN (PARTIAL 0:10) ALL", "start at 1"},
        {"A001 SEARCH RETURN (PARTIAL -1:10) ALL", "'-'"},
        {"A001 SEARCH RETURN (PARTIAL 1:-10) ALL", "Expected number"},
        {"A001 SEARCH RETURN (PARTIAL 1) ALL", "':'"},
        {"A001 SEARCH RETURN (ALL PARTIAL 1:2) ALL", "cannot be combined"},
        {"A001 SEARCH RETURN (PARTIAL 1:2 ALL) ALL", "cannot be combined"},
        {"A001 SEARCH RETURN (PARTIAL 1:2 PARTIAL 1:2) ALL", "twice"},
    });
}

TEST_CASE("Grammar: APPEND with and without flags and date-time", "[parser]") {
    const DateTime date{Date{1996, 7, 17}, 2, 44, 25, -420};
    const DateTime early{Date{1994, 2, 7}, 22, 43, 4, -480};
    auto append = [](std::string mailbox, std::vector<AppendMessage> messages) {
        return a001(AppendCommand{std::move(mailbox), std::move(messages)});
    };
    check_all_parse({
        {"A001 APPEND INBOX " + lit("hello"), append("INBOX", {message("hello")})},
        {"A001 APPEND INBOX (\\Seen) " + lit("x"), append("INBOX", {message("x", {"\\Seen"})})},
        {"A001 APPEND INBOX () " + lit("x"), append("INBOX", {message("x")})},
        {"A001 APPEND INBOX (\\Seen \\Flagged \\Answered \\Deleted \\Draft $Label1 \\Ext) " +
             lit("x"),
         append("INBOX", {message("x", {"\\Seen", "\\Flagged", "\\Answered", "\\Deleted", "\\Draft",
                                        "$Label1", "\\Ext"})})},
        {"A001 APPEND INBOX \"17-Jul-1996 02:44:25 -0700\" " + lit("x"),
         append("INBOX", {message("x", {}, date)})},
        {"A001 APPEND Drafts (\\Draft) \"17-Jul-1996 02:44:25 -0700\" " + lit_plus("x"),
         append("Drafts", {message("x", {"\\Draft"}, date)})},
        // date-day-fixed: SP DIGIT, and a bare digit some clients send.
        {"A001 APPEND INBOX \" 7-Feb-1994 22:43:04 -0800\" " + lit("x"),
         append("INBOX", {message("x", {}, early)})},
        {"A001 APPEND INBOX \"7-Feb-1994 22:43:04 -0800\" " + lit("x"),
         append("INBOX", {message("x", {}, early)})},
        {"A001 APPEND \"a b\" " + lit(""), append("a b", {message("")})},
        // Any octet in a message: NUL in a plain literal is stored as given.
        {"A001 APPEND INBOX " + lit("a\0b\r\n"s), append("INBOX", {message("a\0b\r\n"s)})},
        // RFC 3516 literal8, synchronising and not.
        {"A001 APPEND INBOX ~{3}\r\na\0b"s, append("INBOX", {message("a\0b"s, {}, {}, true)})},
        {"A001 APPEND INBOX (\\Seen) ~{2+}\r\n\xff\0"s,
         append("INBOX", {message("\xff\0"s, {"\\Seen"}, {}, true)})},
        // RFC 3502 MULTIAPPEND.
        {"A001 APPEND INBOX " + lit("one") + " (\\Seen) " + lit_plus("two") +
             " \"17-Jul-1996 02:44:25 -0700\" ~{5}\r\nthree () " + lit("four"),
         append("INBOX", {message("one"), message("two", {"\\Seen"}),
                          message("three", {}, date, true), message("four")})},
    });
}

// RFC 3501 9 has one SP between flags and none inside the parentheses;
// Dovecot accepts any run of SP there, and its imapc (doveadm import and
// backup) sends "( $Label1 Work)" and "(\Seen )". Checked against Dovecot
// 2.3: leading, trailing, doubled and only spaces are accepted, quoted
// flags, nested lists, TAB and flags without a space between are not.
TEST_CASE("Flag lists: extra spaces inside the parentheses, as Dovecot's imapc sends them",
          "[parser][lenient]") {
    auto append = [](std::vector<Flag> flags) {
        return a001(AppendCommand{"INBOX", {message("x", std::move(flags))}});
    };
    check_all_parse({
        {"A001 APPEND INBOX ( $Label1 Work) " + lit("x"), append({"$Label1", "Work"})},
        {"A001 APPEND INBOX (\\Seen ) " + lit("x"), append({"\\Seen"})},
        {"A001 APPEND INBOX (\\Seen  \\Flagged) " + lit("x"), append({"\\Seen", "\\Flagged"})},
        {"A001 APPEND INBOX (   \\Seen   $X   ) " + lit("x"), append({"\\Seen", "$X"})},
        {"A001 APPEND INBOX ( ) " + lit("x"), append({})},
        {"A001 APPEND INBOX (  ) " + lit("x"), append({})},
        // MULTIAPPEND: each message's list, and with a date-time after it.
        {"A001 APPEND INBOX (\\Seen ) " + lit_plus("one") + " ( $X) " +
             "\"17-Jul-1996 02:44:25 -0700\" " + lit("two"),
         a001(AppendCommand{
             "INBOX",
             {message("one", {"\\Seen"}),
              message("two", {"$X"}, DateTime{Date{1996, 7, 17}, 2, 44, 25, -420})}})},
        {"A001 STORE 1 FLAGS ( $Label1 Work)",
         a001(store("1", Mode::Replace, false, {"$Label1", "Work"}))},
        {"A001 STORE 1 +FLAGS (\\Seen )", a001(store("1", Mode::Add, false, {"\\Seen"}))},
        {"A001 STORE 1 -FLAGS.SILENT (\\Seen  \\Deleted)",
         a001(store("1", Mode::Remove, true, {"\\Seen", "\\Deleted"}))},
        {"A001 UID STORE 1:* FLAGS ( )", a001(store("1:*", Mode::Replace, false, {}, true))},
        {"A001 STORE 1 (UNCHANGEDSINCE 5) +FLAGS ( $X )",
         a001(conditional_store("1", 5, Mode::Add, false, {"$X"}))},
    });
    // Still refused: what is no flag list, however it is spaced.
    check_all_fail({
        {"A001 STORE 1 FLAGS (\\Seen\\Flagged)", "Expected SP"},
        {"A001 STORE 1 FLAGS ( \\Seen", "Expected SP"},
        {"A001 STORE 1 FLAGS ( \\Seen ", "Expected atom"},
        {"A001 STORE 1 FLAGS (  ", "Expected atom"},
        {"A001 STORE 1 FLAGS (\\Seen\t\\Draft)", "Expected SP"},
        {"A001 STORE 1 FLAGS (\t\\Seen)", "Expected atom"},
        {"A001 STORE 1 FLAGS ( \"$Label1\" )", "Expected atom"},
        {"A001 STORE 1 FLAGS ( (\\Seen) )", "Expected atom"},
        {"A001 STORE 1 FLAGS ( \\ Seen)", "Expected atom"},
        {"A001 STORE 1 FLAGS ( \\* )", "Expected atom"},
        {"A001 STORE 1 FLAGS (\\Seen ) ", "Unexpected"},
        {"A001 APPEND INBOX ( $X ) " + lit("x") + " ", "Expected"},
        {"A001 APPEND INBOX ( \"$Label1\" Work) " + lit("x"), "Expected atom"},
        {"A001 APPEND INBOX (\\Seen ]) " + lit("x"), "Expected atom"},
        {"A001 APPEND INBOX ( \\Seen " + lit("x"), "Expected atom"},
    });
    // Outside the parentheses the grammar's single SP still holds.
    check_all_fail({
        {"A001 STORE 1 FLAGS  (\\Seen)", "second SP"},
        {"A001 STORE 1 FLAGS \\Seen  \\Deleted", "second SP"},
        {"A001 APPEND INBOX  (\\Seen) " + lit("x"), "second SP"},
        {"A001 APPEND INBOX (\\Seen)  " + lit("x"), "second SP"},
    });
}

TEST_CASE("Grammar: UID EXPUNGE, COPY, MOVE and their UID forms", "[parser]") {
    check_all_parse({
        {"A001 UID EXPUNGE 3000:3002", a001(UidExpungeCommand{seq("3000:3002")})},
        {"A001 uid expunge 1,3:*", a001(UidExpungeCommand{seq("1,3:*")})},
        {"A001 COPY 2:4 MEETING", a001(copy_command("2:4", "MEETING"))},
        {"A001 COPY * \"a b\"", a001(copy_command("*", "a b"))},
        {"A001 COPY 1:2,4 " + lit("x"), a001(copy_command("1:2,4", "x"))},
        {"A001 UID COPY 305:310 meeting", a001(copy_command("305:310", "meeting", true))},
        {"A001 MOVE 1 foo", a001(move_command("1", "foo"))},
        {"A001 UID MOVE 42:69 foo", a001(move_command("42:69", "foo", true))},
        {"A001 uid move *:4 " + lit_plus("bar"), a001(move_command("*:4", "bar", true))},
    });
}

TEST_CASE("Grammar: sequence sets as RFC 3501 9 writes them", "[parser]") {
    for (const char* set : {"1", "*", "2:4", "4:2", "1:*", "*:4", "*:*", "2,4:7,9,12:*",
                            "4294967295", "1:4294967295", "3,3,1"}) {
        check_parses("A001 FETCH "s + set + " UID", a001(fetch(set, {item(FK::Uid)})));
    }
}

TEST_CASE("Grammar: ENABLE and ID", "[parser]") {
    check_all_parse({
        {"A001 ENABLE CONDSTORE", a001(EnableCommand{{"CONDSTORE"}})},
        {"A001 enable condstore X-GOOD-IDEA utf8=accept",
         a001(EnableCommand{{"CONDSTORE", "X-GOOD-IDEA", "UTF8=ACCEPT"}})},
        {"A001 ID NIL", a001(IdCommand{})},
        {"A001 id nil", a001(IdCommand{})},
        {"A001 ID ()", a001(IdCommand{IdFields{}})},
        {"A001 ID (\"name\" \"sodr\")", a001(IdCommand{IdFields{{"name", "sodr"}}})},
        {"A001 ID (\"name\" NIL \"os\" nil \"x\" \"NIL\")",
         a001(IdCommand{IdFields{{"name", std::nullopt}, {"os", std::nullopt}, {"x", "NIL"}}})},
        {"A001 ID (" + lit("name") + " " + lit_plus("a\r\nb") + ")",
         a001(IdCommand{IdFields{{"name", "a\r\nb"}}})},
    });
}

TEST_CASE("Grammar: RFC 4978 5 COMPRESS SP algorithm", "[parser][compress]") {
    check_all_parse({
        {"A001 COMPRESS DEFLATE", a001(CompressCommand{"DEFLATE"})},
        {"A001 compress deflate", a001(CompressCommand{"DEFLATE"})},
        // Any atom parses; the handler refuses what it does not know.
        {"A001 COMPRESS X-LZ4", a001(CompressCommand{"X-LZ4"})},
    });
    check_all_fail({
        {"A001 COMPRESS", "COMPRESS"},
        {"A001 COMPRESS \"DEFLATE\"", "atom"},
        {"A001 COMPRESS DEFLATE DEFLATE", ""},
    });
}

TEST_CASE("Grammar: RFC 3516 7 BINARY, BINARY.PEEK and BINARY.SIZE with section-binary",
          "[parser][binary]") {
    check_all_parse({
        {"A001 FETCH 1 BINARY[]", a001(fetch("1", {binary(false, {})}))},
        {"A001 FETCH 1 BINARY[1]", a001(fetch("1", {binary(false, {1})}))},
        {"A001 FETCH 1 binary.peek[1.2.3]", a001(fetch("1", {binary(true, {1, 2, 3})}))},
        {"A001 FETCH 1 BINARY[2]<0.1024>",
         a001(fetch("1", {binary(false, {2}, Partial{0, 1024})}))},
        {"A001 FETCH 1 BINARY.PEEK[]<7.1>", a001(fetch("1", {binary(true, {}, Partial{7, 1})}))},
        {"A001 FETCH 1 BINARY.SIZE[]", a001(fetch("1", {binary_size({})}))},
        {"A001 UID FETCH 1:* (UID BINARY.SIZE[4.1] BINARY.PEEK[4.1] FLAGS)",
         a001(fetch("1:*",
                    {item(FK::Uid), binary_size({4, 1}), binary(true, {4, 1}), item(FK::Flags)},
                    true))},
    });
    check_all_fail({
        // section-binary is a section-part only: no HEADER, TEXT or MIME.
        {"A001 FETCH 1 BINARY[HEADER]", ""},
        {"A001 FETCH 1 BINARY[1.MIME]", ""},
        {"A001 FETCH 1 BINARY[0]", ""},
        {"A001 FETCH 1 BINARY", "["},
        // BINARY.SIZE takes no partial.
        {"A001 FETCH 1 BINARY.SIZE[1]<0.10>", ""},
        {"A001 FETCH 1 BINARY[1]<0.0>", ""},
    });
}

TEST_CASE("Grammar: STORE FLAGS, +FLAGS, -FLAGS, .SILENT, flag-list and bare flags", "[parser]") {
    check_all_parse({
        {"A001 STORE 1 FLAGS (\\Seen)", a001(store("1", Mode::Replace, false, {"\\Seen"}))},
        {"A001 STORE 1 FLAGS ()", a001(store("1", Mode::Replace, false, {}))},
        {"A001 STORE 1 FLAGS.SILENT (\\Seen $X)",
         a001(store("1", Mode::Replace, true, {"\\Seen", "$X"}))},
        {"A001 STORE 2:4 +FLAGS (\\Deleted)", a001(store("2:4", Mode::Add, false, {"\\Deleted"}))},
        {"A001 STORE 2:4 +FLAGS.SILENT (\\Deleted \\Seen)",
         a001(store("2:4", Mode::Add, true, {"\\Deleted", "\\Seen"}))},
        {"A001 STORE * -FLAGS (\\Flagged)", a001(store("*", Mode::Remove, false, {"\\Flagged"}))},
        {"A001 STORE * -FLAGS.SILENT ()", a001(store("*", Mode::Remove, true, {}))},
        // flag *(SP flag), without parentheses.
        {"A001 STORE 1 FLAGS \\Seen", a001(store("1", Mode::Replace, false, {"\\Seen"}))},
        {"A001 STORE 1 +FLAGS \\Seen \\Answered Junk",
         a001(store("1", Mode::Add, false, {"\\Seen", "\\Answered", "Junk"}))},
        {"A001 STORE 1 -FLAGS.SILENT $Forwarded",
         a001(store("1", Mode::Remove, true, {"$Forwarded"}))},
        {"A001 store 12 +flags.silent \\deleted",
         Command{"A001", store("12", Mode::Add, true, {"\\deleted"})}},
        {"A001 UID STORE 1:* FLAGS.SILENT (\\Draft)",
         a001(store("1:*", Mode::Replace, true, {"\\Draft"}, true))},
        {"A001 UID STORE 5 +FLAGS \\Seen", a001(store("5", Mode::Add, false, {"\\Seen"}, true))},
    });
}

TEST_CASE("Grammar: every fetch-att and the ALL, FAST and FULL macros", "[parser]") {
    const std::vector<FetchItem> fast = {item(FK::Flags), item(FK::InternalDate),
                                         item(FK::Rfc822Size)};
    std::vector<FetchItem> all = fast;
    all.push_back(item(FK::Envelope));
    std::vector<FetchItem> full = all;
    full.push_back(item(FK::Body));
    check_all_parse({
        {"A001 FETCH 1 ALL", a001(fetch("1", all))},
        {"A001 FETCH 1 fast", a001(fetch("1", fast))},
        {"A001 FETCH 1 Full", a001(fetch("1", full))},
        {"A001 FETCH 1 ENVELOPE", a001(fetch("1", {item(FK::Envelope)}))},
        {"A001 FETCH 1 FLAGS", a001(fetch("1", {item(FK::Flags)}))},
        {"A001 FETCH 1 INTERNALDATE", a001(fetch("1", {item(FK::InternalDate)}))},
        {"A001 FETCH 1 RFC822", a001(fetch("1", {item(FK::Rfc822)}))},
        {"A001 FETCH 1 RFC822.HEADER", a001(fetch("1", {item(FK::Rfc822Header)}))},
        {"A001 FETCH 1 RFC822.SIZE", a001(fetch("1", {item(FK::Rfc822Size)}))},
        {"A001 FETCH 1 RFC822.TEXT", a001(fetch("1", {item(FK::Rfc822Text)}))},
        {"A001 FETCH 1 BODY", a001(fetch("1", {item(FK::Body)}))},
        {"A001 FETCH 1 BODYSTRUCTURE", a001(fetch("1", {item(FK::BodyStructure)}))},
        {"A001 FETCH 1 UID", a001(fetch("1", {item(FK::Uid)}))},
        {"A001 FETCH 1 BODY[]", a001(fetch("1", {body_section(false, {})}))},
        {"A001 FETCH 1 BODY.PEEK[]", a001(fetch("1", {body_section(true, {})}))},
        {"A001 FETCH 1 (FLAGS)", a001(fetch("1", {item(FK::Flags)}))},
        {"A001 fetch 1:* (envelope flags internaldate rfc822 rfc822.header rfc822.size "
         "rfc822.text body bodystructure uid body[] body.peek[text])",
         a001(fetch("1:*",
                    {item(FK::Envelope), item(FK::Flags), item(FK::InternalDate), item(FK::Rfc822),
                     item(FK::Rfc822Header), item(FK::Rfc822Size), item(FK::Rfc822Text),
                     item(FK::Body), item(FK::BodyStructure), item(FK::Uid),
                     body_section(false, {}), body_section(true, {}, ST::Text)}))},
        {"A001 FETCH 1 (UID UID)", a001(fetch("1", {item(FK::Uid), item(FK::Uid)}))},
        {"A001 UID FETCH 4827313:4828442 FLAGS",
         a001(fetch("4827313:4828442", {item(FK::Flags)}, true))},
        {"A001 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER])",
         a001(fetch("1:*", {item(FK::Flags), body_section(true, {}, ST::Header)}, true))},
        {"A001 UID FETCH 1 FAST", a001(fetch("1", fast, true))},
        // The partial's offset is a number (leading zeros allowed), its
        // length an nz-number (none allowed, see the error tests).
        {"A001 FETCH 1 BODY[]<007.1>",
         a001(fetch("1", {body_section(false, {}, ST::None, {}, Partial{7, 1})}))},
    });
}

TEST_CASE("Grammar: every section-spec form, with and without PEEK and partial", "[parser]") {
    struct Section {
        std::string text;  // between "[" and "]"
        std::vector<std::uint32_t> part;
        ST kind;
        std::vector<std::string> fields;
    };
    const std::vector<Section> sections = {
        {"", {}, ST::None, {}},
        {"HEADER", {}, ST::Header, {}},
        {"header", {}, ST::Header, {}},
        {"HEADER.FIELDS (DATE FROM)", {}, ST::HeaderFields, {"DATE", "FROM"}},
        {"HEADER.FIELDS (Subject)", {}, ST::HeaderFields, {"Subject"}},
        {"header.fields.not (Received \"X-Spam Score\" a])",
         {},
         ST::HeaderFieldsNot,
         {"Received", "X-Spam Score", "a]"}},
        {"HEADER.FIELDS (" + lit("Subject") + " To)", {}, ST::HeaderFields, {"Subject", "To"}},
        {"TEXT", {}, ST::Text, {}},
        {"1", {1}, ST::None, {}},
        {"1.2.3", {1, 2, 3}, ST::None, {}},
        {"4294967295", {4294967295u}, ST::None, {}},
        {"1.MIME", {1}, ST::Mime, {}},
        {"4.2.2.mime", {4, 2, 2}, ST::Mime, {}},
        {"1.HEADER", {1}, ST::Header, {}},
        {"3.1.TEXT", {3, 1}, ST::Text, {}},
        {"2.HEADER.FIELDS (To Cc)", {2}, ST::HeaderFields, {"To", "Cc"}},
        {"2.10.HEADER.FIELDS.NOT (To)", {2, 10}, ST::HeaderFieldsNot, {"To"}},
    };
    const std::vector<std::pair<std::string, std::optional<Partial>>> partials = {
        {"", std::nullopt},
        {"<0.1024>", Partial{0, 1024}},
        {"<10.1>", Partial{10, 1}},
        {"<4294967295.4294967295>", Partial{4294967295u, 4294967295u}},
    };
    for (const Section& s : sections) {
        for (const auto& [partial_text, partial] : partials) {
            for (bool peek : {false, true}) {
                const std::string att =
                    (peek ? "BODY.PEEK[" : "BODY[") + s.text + "]" + partial_text;
                const FetchItem expected = body_section(peek, s.part, s.kind, s.fields, partial);
                check_parses("A001 FETCH 1 " + att, a001(fetch("1", {expected})));
                check_parses("A001 UID FETCH 1 (UID " + att + " FLAGS)",
                             a001(fetch("1", {item(FK::Uid), expected, item(FK::Flags)}, true)));
            }
        }
    }
}

TEST_CASE("Grammar: every search-key", "[parser]") {
    const std::vector<std::pair<std::string, SearchKey>> keys = {
        {"ALL", key(SK::All)},
        {"ANSWERED", key(SK::Answered)},
        {"BCC foo", text_key(SK::Bcc, "foo")},
        {"BEFORE 1-Feb-1994", date_key(SK::Before, Date{1994, 2, 1})},
        {"BODY \"hello world\"", text_key(SK::Body, "hello world")},
        {"CC " + lit("a\r\nb"), text_key(SK::Cc, "a\r\nb")},
        {"DELETED", key(SK::Deleted)},
        {"DRAFT", key(SK::Draft)},
        {"EMAILID M6d99ac3275bb4e", text_key(SK::EmailId, "M6d99ac3275bb4e")},  // RFC 8474 6
        {"FLAGGED", key(SK::Flagged)},
        {"FROM Smith", text_key(SK::From, "Smith")},
        {"HEADER Message-ID \"<x@y>\"", text_key(SK::Header, "Message-ID", "<x@y>")},
        {"HEADER " + lit("X-A") + " \"\"", text_key(SK::Header, "X-A", "")},
        {"KEYWORD $Forwarded", text_key(SK::Keyword, "$Forwarded")},
        {"LARGER 1024", number_key(SK::Larger, 1024)},
        {"MODSEQ 917162500", modseq_key(917162500)},
        {"NEW", key(SK::New)},
        {"NOT SEEN", not_key(key(SK::Seen))},
        {"OLD", key(SK::Old)},
        {"OLDER 86400", number_key(SK::Older, 86400)},  // RFC 5032 3
        {"ON \"3-Mar-2003\"", date_key(SK::On, Date{2003, 3, 3})},
        {"OR SEEN FLAGGED", or_key(key(SK::Seen), key(SK::Flagged))},
        {"RECENT", key(SK::Recent)},
        {"SAVEDATESUPPORTED", key(SK::SaveDateSupported)},  // RFC 8514 4.3
        {"SAVEDBEFORE 1-Jan-2015", date_key(SK::SavedBefore, Date{2015, 1, 1})},
        {"SAVEDON 28-Dec-2014", date_key(SK::SavedOn, Date{2014, 12, 28})},
        {"SAVEDSINCE \"28-Dec-2014\"", date_key(SK::SavedSince, Date{2014, 12, 28})},
        {"SEEN", key(SK::Seen)},
        {"SENTBEFORE 01-Jan-2000", date_key(SK::SentBefore, Date{2000, 1, 1})},
        {"SENTON 31-Dec-1999", date_key(SK::SentOn, Date{1999, 12, 31})},
        {"SENTSINCE 29-Feb-2000", date_key(SK::SentSince, Date{2000, 2, 29})},
        {"SINCE 1-feb-1994", date_key(SK::Since, Date{1994, 2, 1})},
        {"SMALLER 0", number_key(SK::Smaller, 0)},
        {"SUBJECT \"\"", text_key(SK::Subject, "")},
        {"TEXT a]b", text_key(SK::Text, "a]b")},
        {"THREADID T64b478a75b7ea9", text_key(SK::ThreadId, "T64b478a75b7ea9")},
        {"TO " + lit_plus("x y"), text_key(SK::To, "x y")},
        {"UID 1:*", set_key(SK::Uid, "1:*")},
        {"UNANSWERED", key(SK::Unanswered)},
        {"UNDELETED", key(SK::Undeleted)},
        {"UNDRAFT", key(SK::Undraft)},
        {"UNFLAGGED", key(SK::Unflagged)},
        {"UNKEYWORD Junk", text_key(SK::Unkeyword, "Junk")},
        {"UNSEEN", key(SK::Unseen)},
        {"YOUNGER 259200", number_key(SK::Younger, 259200)},  // RFC 5032 4
        {"2,4:7,9,12:*", set_key(SK::SequenceSet, "2,4:7,9,12:*")},
        {"*", set_key(SK::SequenceSet, "*")},
        {"(SEEN)", and_key({key(SK::Seen)})},
        {"(SEEN UNDELETED FROM x)",
         and_key({key(SK::Seen), key(SK::Undeleted), text_key(SK::From, "x")})},
    };
    std::set<SK> kinds;
    for (const auto& [text, expected] : keys) {
        kinds.insert(expected.kind);
        check_parses("A001 SEARCH " + text, a001(search({expected})));
        // The key name in lower case (arguments are values: kept), inside a
        // group, between other keys, with UID.
        std::string lower = text;
        for (std::size_t i = 0; i < lower.size() && lower[i] != ' '; ++i) {
            if (lower[i] >= 'A' && lower[i] <= 'Z')
                lower[i] = static_cast<char>(lower[i] - 'A' + 'a');
        }
        INFO("lower-case: " << lower);
        check_parses("A001 uid search all " + lower + " seen",
                     a001(search({key(SK::All), expected, key(SK::Seen)}, std::nullopt, true)));
        check_parses("A001 SEARCH (" + text + ") NOT (" + text + ")",
                     a001(search({and_key({expected}), not_key(and_key({expected}))})));
    }
    // Every SearchKey::Kind has a row above (they are numbered from And to Younger).
    CHECK(kinds.size() == static_cast<std::size_t>(SK::Younger) + 1);
}

TEST_CASE("Grammar: SEARCH CHARSET and nested key trees", "[parser]") {
    check_all_parse({
        {"A001 SEARCH CHARSET UTF-8 TEXT x", a001(search({text_key(SK::Text, "x")}, "UTF-8"))},
        // number = 1*DIGIT; date-day = 1*2DIGIT: leading zeros are fine here.
        {"A001 SEARCH LARGER 0010 SMALLER 00 ON 01-Feb-1994",
         a001(search({number_key(SK::Larger, 10), number_key(SK::Smaller, 0),
                      date_key(SK::On, Date{1994, 2, 1})}))},
        {"A001 SEARCH charset \"us-ascii\" ALL", a001(search({key(SK::All)}, "us-ascii"))},
        {"A001 SEARCH CHARSET " + lit("UTF-8") + " SUBJECT " + lit("\xe2\x82\xac"),
         a001(search({text_key(SK::Subject, "\xe2\x82\xac")}, "UTF-8"))},
        {"A001 UID SEARCH CHARSET UTF-8 UID 1:*",
         a001(search({set_key(SK::Uid, "1:*")}, "UTF-8", true))},
        {"A001 SEARCH OR (FROM a TO b) NOT (SEEN OR DELETED DRAFT)",
         a001(search({or_key(
             and_key({text_key(SK::From, "a"), text_key(SK::To, "b")}),
             not_key(and_key({key(SK::Seen), or_key(key(SK::Deleted), key(SK::Draft))})))}))},
        {"A001 SEARCH NOT NOT OR OR SEEN NEW OLD ((ALL))",
         a001(search({not_key(not_key(or_key(or_key(key(SK::Seen), key(SK::New)), key(SK::Old)))),
                      and_key({and_key({key(SK::All)})})}))},
        // 8-bit in a quoted search string is accepted (reader.cpp).
        {"A001 SEARCH CHARSET UTF-8 BODY \"caf\xc3\xa9\"",
         a001(search({text_key(SK::Body, "caf\xc3\xa9")}, "UTF-8"))},
    });
}

TEST_CASE("Grammar: every CommandBody alternative and UID form has a parse", "[parser]") {
    const std::vector<std::string> lines = {
        "t CAPABILITY",
        "t NOOP",
        "t LOGOUT",
        "t STARTTLS",
        "t AUTHENTICATE PLAIN",
        "t LOGIN a b",
        "t SELECT a",
        "t EXAMINE a",
        "t CREATE a",
        "t DELETE a",
        "t RENAME a b",
        "t SUBSCRIBE a",
        "t UNSUBSCRIBE a",
        "t LIST a b",
        "t LSUB a b",
        "t XLIST a b",
        "t STATUS a (UNSEEN)",
        "t APPEND a {1}\r\nx",
        "t CHECK",
        "t CLOSE",
        "t EXPUNGE",
        "t UID EXPUNGE 1",
        "t SEARCH ALL",
        "t UID SEARCH ALL",
        "t FETCH 1 UID",
        "t UID FETCH 1 UID",
        "t STORE 1 FLAGS ()",
        "t UID STORE 1 FLAGS ()",
        "t COPY 1 a",
        "t UID COPY 1 a",
        "t MOVE 1 a",
        "t UID MOVE 1 a",
        "t UNSELECT",
        "t IDLE",
        "t NAMESPACE",
        "t ENABLE X",
        "t ID NIL",
        "t COMPRESS DEFLATE",
        "t SORT (DATE) UTF-8 ALL",
        "t UID SORT (DATE) UTF-8 ALL",
        "t THREAD REFERENCES UTF-8 ALL",
        "t UID THREAD REFERENCES UTF-8 ALL",
        "t REPLACE 1 a {1}\r\nx",
        "t UID REPLACE 1 a {1}\r\nx",
        "t CANCELUPDATE \"a\"",
        "t NOTIFY NONE",
    };
    std::set<std::size_t> alternatives;
    std::set<std::string> names;
    for (const std::string& line : lines) {
        INFO(line);
        ParseResult result = parse_one(line + "\r\n");
        REQUIRE(std::holds_alternative<Command>(result));
        const Command& command = std::get<Command>(result);
        alternatives.insert(command.body.index());
        names.insert(std::string(imap::command_name(command.body)));
        CHECK(imap::is_known_command(imap::command_name(command.body)));
        check_round_trip(command);
    }
    CHECK(alternatives.size() == std::variant_size_v<CommandBody>);
    CHECK(names.size() == lines.size());
}

TEST_CASE("peek_command_name reads the name of a command still arriving", "[parser]") {
    auto peek = [](std::string first_line) {
        return imap::peek_command_name(imap::Frame{{std::move(first_line)}, {}});
    };
    CHECK(peek("A001 LOGIN {5}") == "LOGIN");
    CHECK(peek("A001 append INBOX {5}") == "APPEND");
    CHECK(peek("A001 uid fetch 1 (BODY[HEADER.FIELDS {4}") == "UID FETCH");
    CHECK(peek("A001 XPIG-LATIN {4}").empty());
    CHECK(peek("+ LOGIN {5}").empty());
    CHECK(peek("A001").empty());
    CHECK(imap::peek_command_name(imap::Frame{}).empty());
    CHECK(imap::is_known_command("UID MOVE"));
    CHECK_FALSE(imap::is_known_command("UID LOGIN"));
    CHECK_FALSE(imap::is_known_command("login"));  // names are upper-cased first
}

// =====================================================================
// INBOX is case-insensitive in mailbox arguments (RFC 3501 5.1 and 9)
// =====================================================================

TEST_CASE("RFC 3501 5.1: any case of INBOX in a mailbox argument is INBOX", "[parser][inbox]") {
    for (const std::string spelling : {"inbox", "InBoX", "\"iNbOx\"", "INBOX", "{5}\r\ninbox"}) {
        INFO(spelling);
        check_all_parse({
            {"A001 SELECT " + spelling, a001(SelectCommand{"INBOX"})},
            {"A001 EXAMINE " + spelling, a001(ExamineCommand{"INBOX"})},
            {"A001 CREATE " + spelling, a001(CreateCommand{"INBOX"})},
            {"A001 DELETE " + spelling, a001(DeleteCommand{"INBOX"})},
            {"A001 SUBSCRIBE " + spelling, a001(SubscribeCommand{"INBOX"})},
            {"A001 UNSUBSCRIBE " + spelling, a001(UnsubscribeCommand{"INBOX"})},
            {"A001 RENAME " + spelling + " " + spelling, a001(RenameCommand{"INBOX", "INBOX"})},
            {"A001 STATUS " + spelling + " (UNSEEN)",
             a001(StatusCommand{"INBOX", {StatusItem::Unseen}})},
            {"A001 APPEND " + spelling + " " + lit("x"),
             a001(AppendCommand{"INBOX", {message("x")}})},
            {"A001 COPY 1 " + spelling, a001(copy_command("1", "INBOX"))},
            {"A001 UID MOVE 1 " + spelling, a001(move_command("1", "INBOX", true))},
        });
    }
    // Children of INBOX too; names that only start with INBOX are left alone.
    check_all_parse({
        {"A001 SELECT inbox/Sub", a001(SelectCommand{"INBOX/Sub"})},
        {"A001 SELECT Inbox/a/inbox", a001(SelectCommand{"INBOX/a/inbox"})},
        {"A001 SELECT inboxes", a001(SelectCommand{"inboxes"})},
        {"A001 SELECT inbox.sub", a001(SelectCommand{"inbox.sub"})},
        {"A001 SELECT \"inbox \"", a001(SelectCommand{"inbox "})},
        {"A001 SELECT Sent/inbox", a001(SelectCommand{"Sent/inbox"})},
    });
    // The LIST reference and pattern are not mailbox names: kept as sent.
    check_all_parse({
        {"A001 LIST inbox *", a001(ListCommand{"inbox", "*"})},
        {"A001 LIST \"\" inbox", a001(ListCommand{"", "inbox"})},
        {"A001 LSUB Inbox/ %", a001(LsubCommand{"Inbox/", "%"})},
    });
}

// =====================================================================
// RFC 3501 section 6 examples, every "C:" line
// =====================================================================

TEST_CASE("RFC 3501 6.1.1 example: abcd CAPABILITY", "[rfc3501][example]") {
    check_parses("abcd CAPABILITY", Command{"abcd", CapabilityCommand{}});
}
TEST_CASE("RFC 3501 6.1.1 example: efgh STARTTLS", "[rfc3501][example]") {
    check_parses("efgh STARTTLS", Command{"efgh", StartTlsCommand{}});
}
TEST_CASE("RFC 3501 6.1.1 example: ijkl CAPABILITY", "[rfc3501][example]") {
    check_parses("ijkl CAPABILITY", Command{"ijkl", CapabilityCommand{}});
}
TEST_CASE("RFC 3501 6.1.2 example: a002 NOOP", "[rfc3501][example]") {
    check_parses("a002 NOOP", Command{"a002", NoopCommand{}});
}
TEST_CASE("RFC 3501 6.1.2 example: a047 NOOP", "[rfc3501][example]") {
    check_parses("a047 NOOP", Command{"a047", NoopCommand{}});
}
TEST_CASE("RFC 3501 6.1.3 example: A023 LOGOUT", "[rfc3501][example]") {
    check_parses("A023 LOGOUT", Command{"A023", LogoutCommand{}});
}
TEST_CASE("RFC 3501 6.2.1 example: a001 CAPABILITY", "[rfc3501][example]") {
    check_parses("a001 CAPABILITY", Command{"a001", CapabilityCommand{}});
}
TEST_CASE("RFC 3501 6.2.1 example: a002 STARTTLS", "[rfc3501][example]") {
    check_parses("a002 STARTTLS", Command{"a002", StartTlsCommand{}});
}
TEST_CASE("RFC 3501 6.2.1 example: a003 CAPABILITY", "[rfc3501][example]") {
    check_parses("a003 CAPABILITY", Command{"a003", CapabilityCommand{}});
}
TEST_CASE("RFC 3501 6.2.1 example: a004 LOGIN joe password", "[rfc3501][example]") {
    check_parses("a004 LOGIN joe password",
                 Command{"a004", LoginCommand{"joe", Secret("password")}});
}
TEST_CASE("RFC 3501 6.2.2 example: A001 AUTHENTICATE GSSAPI", "[rfc3501][example]") {
    // The base64 lines that follow are SASL continuation lines read raw by
    // the server (Framer::expect_raw_line), not commands.
    check_parses("A001 AUTHENTICATE GSSAPI",
                 Command{"A001", AuthenticateCommand{"GSSAPI", std::nullopt}});
}
TEST_CASE("RFC 3501 6.2.3 example: a001 LOGIN SMITH SESAME", "[rfc3501][example]") {
    check_parses("a001 LOGIN SMITH SESAME",
                 Command{"a001", LoginCommand{"SMITH", Secret("SESAME")}});
}
TEST_CASE("RFC 3501 6.3.1 example: A142 SELECT INBOX", "[rfc3501][example]") {
    check_parses("A142 SELECT INBOX", Command{"A142", SelectCommand{"INBOX"}});
}
TEST_CASE("RFC 3501 6.3.2 example: A932 EXAMINE blurdybloop", "[rfc3501][example]") {
    check_parses("A932 EXAMINE blurdybloop", Command{"A932", ExamineCommand{"blurdybloop"}});
}
TEST_CASE("RFC 3501 6.3.3 example: A003 CREATE owatagusiam/", "[rfc3501][example]") {
    check_parses("A003 CREATE owatagusiam/", Command{"A003", CreateCommand{"owatagusiam/"}});
}
TEST_CASE("RFC 3501 6.3.3 example: A004 CREATE owatagusiam/blurdybloop", "[rfc3501][example]") {
    check_parses("A004 CREATE owatagusiam/blurdybloop",
                 Command{"A004", CreateCommand{"owatagusiam/blurdybloop"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A682 LIST \"\" *", "[rfc3501][example]") {
    check_parses("A682 LIST \"\" *", Command{"A682", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A683 DELETE blurdybloop", "[rfc3501][example]") {
    check_parses("A683 DELETE blurdybloop", Command{"A683", DeleteCommand{"blurdybloop"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A684 DELETE foo", "[rfc3501][example]") {
    check_parses("A684 DELETE foo", Command{"A684", DeleteCommand{"foo"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A685 DELETE foo/bar", "[rfc3501][example]") {
    check_parses("A685 DELETE foo/bar", Command{"A685", DeleteCommand{"foo/bar"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A686 LIST \"\" *", "[rfc3501][example]") {
    check_parses("A686 LIST \"\" *", Command{"A686", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A687 DELETE foo", "[rfc3501][example]") {
    check_parses("A687 DELETE foo", Command{"A687", DeleteCommand{"foo"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A82 LIST \"\" *", "[rfc3501][example]") {
    check_parses("A82 LIST \"\" *", Command{"A82", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A83 DELETE blurdybloop", "[rfc3501][example]") {
    check_parses("A83 DELETE blurdybloop", Command{"A83", DeleteCommand{"blurdybloop"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A84 DELETE foo", "[rfc3501][example]") {
    check_parses("A84 DELETE foo", Command{"A84", DeleteCommand{"foo"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A85 LIST \"\" *", "[rfc3501][example]") {
    check_parses("A85 LIST \"\" *", Command{"A85", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.4 example: A86 LIST \"\" %", "[rfc3501][example]") {
    check_parses("A86 LIST \"\" %", Command{"A86", ListCommand{"", "%"}});
}
TEST_CASE("RFC 3501 6.3.5 example: A682 LIST \"\" *", "[rfc3501][example]") {
    check_parses("A682 LIST \"\" *", Command{"A682", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.5 example: A683 RENAME blurdybloop sarasoop", "[rfc3501][example]") {
    check_parses("A683 RENAME blurdybloop sarasoop",
                 Command{"A683", RenameCommand{"blurdybloop", "sarasoop"}});
}
TEST_CASE("RFC 3501 6.3.5 example: A684 RENAME foo zowie", "[rfc3501][example]") {
    check_parses("A684 RENAME foo zowie", Command{"A684", RenameCommand{"foo", "zowie"}});
}
TEST_CASE("RFC 3501 6.3.5 example: A685 LIST \"\" *", "[rfc3501][example]") {
    check_parses("A685 LIST \"\" *", Command{"A685", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.5 example: Z432 LIST \"\" *", "[rfc3501][example]") {
    check_parses("Z432 LIST \"\" *", Command{"Z432", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.5 example: Z433 RENAME INBOX old-mail", "[rfc3501][example]") {
    check_parses("Z433 RENAME INBOX old-mail", Command{"Z433", RenameCommand{"INBOX", "old-mail"}});
}
TEST_CASE("RFC 3501 6.3.5 example: Z434 LIST \"\" *", "[rfc3501][example]") {
    check_parses("Z434 LIST \"\" *", Command{"Z434", ListCommand{"", "*"}});
}
TEST_CASE("RFC 3501 6.3.6 example: A002 SUBSCRIBE #news.comp.mail.mime", "[rfc3501][example]") {
    check_parses("A002 SUBSCRIBE #news.comp.mail.mime",
                 Command{"A002", SubscribeCommand{"#news.comp.mail.mime"}});
}
TEST_CASE("RFC 3501 6.3.7 example: A002 UNSUBSCRIBE #news.comp.mail.mime", "[rfc3501][example]") {
    check_parses("A002 UNSUBSCRIBE #news.comp.mail.mime",
                 Command{"A002", UnsubscribeCommand{"#news.comp.mail.mime"}});
}
TEST_CASE("RFC 3501 6.3.8 example: A101 LIST \"\" \"\"", "[rfc3501][example]") {
    check_parses("A101 LIST \"\" \"\"", Command{"A101", ListCommand{"", ""}});
}
TEST_CASE("RFC 3501 6.3.8 example: A102 LIST #news.comp.mail.misc \"\"", "[rfc3501][example]") {
    check_parses("A102 LIST #news.comp.mail.misc \"\"",
                 Command{"A102", ListCommand{"#news.comp.mail.misc", ""}});
}
TEST_CASE("RFC 3501 6.3.8 example: A103 LIST /usr/staff/jones \"\"", "[rfc3501][example]") {
    check_parses("A103 LIST /usr/staff/jones \"\"",
                 Command{"A103", ListCommand{"/usr/staff/jones", ""}});
}
TEST_CASE("RFC 3501 6.3.8 example: A202 LIST ~/Mail/ %", "[rfc3501][example]") {
    check_parses("A202 LIST ~/Mail/ %", Command{"A202", ListCommand{"~/Mail/", "%"}});
}
TEST_CASE("RFC 3501 6.3.9 example: A002 LSUB \"#news.\" \"comp.mail.*\"", "[rfc3501][example]") {
    check_parses("A002 LSUB \"#news.\" \"comp.mail.*\"",
                 Command{"A002", LsubCommand{"#news.", "comp.mail.*"}});
}
TEST_CASE("RFC 3501 6.3.9 example: A003 LSUB \"#news.\" \"comp.%\"", "[rfc3501][example]") {
    check_parses("A003 LSUB \"#news.\" \"comp.%\"",
                 Command{"A003", LsubCommand{"#news.", "comp.%"}});
}
TEST_CASE("RFC 3501 6.3.10 example: A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
          "[rfc3501][example]") {
    check_parses(
        "A042 STATUS blurdybloop (UIDNEXT MESSAGES)",
        Command{"A042", StatusCommand{"blurdybloop", {StatusItem::UidNext, StatusItem::Messages}}});
}
TEST_CASE("RFC 3501 6.3.11 example: A003 APPEND saved-messages (Seen) {310}",
          "[rfc3501][example]") {
    // The literal is the ten "C:" lines that follow, each ending in CRLF;
    // the empty last "C:" line is the command's own CRLF.
    const std::string body =
        "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
        "From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
        "Subject: afternoon meeting\r\n"
        "To: mooch@owatagu.siam.edu\r\n"
        "Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        "\r\n"
        "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    REQUIRE(body.size() == 310);
    check_parses("A003 APPEND saved-messages (\\Seen) {310}\r\n" + body,
                 Command{"A003", AppendCommand{"saved-messages", {message(body, {"\\Seen"})}}});
}
TEST_CASE("RFC 3501 6.4.1 example: FXXZ CHECK", "[rfc3501][example]") {
    check_parses("FXXZ CHECK", Command{"FXXZ", CheckCommand{}});
}
TEST_CASE("RFC 3501 6.4.2 example: A341 CLOSE", "[rfc3501][example]") {
    check_parses("A341 CLOSE", Command{"A341", CloseCommand{}});
}
TEST_CASE("RFC 3501 6.4.3 example: A202 EXPUNGE", "[rfc3501][example]") {
    check_parses("A202 EXPUNGE", Command{"A202", ExpungeCommand{}});
}
TEST_CASE("RFC 3501 6.4.4 example: A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
          "[rfc3501][example]") {
    check_parses("A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"",
                 Command{"A282", search({key(SK::Flagged), date_key(SK::Since, Date{1994, 2, 1}),
                                         not_key(text_key(SK::From, "Smith"))})});
}
TEST_CASE("RFC 3501 6.4.4 example: A283 SEARCH TEXT \"string not in mailbox\"",
          "[rfc3501][example]") {
    check_parses("A283 SEARCH TEXT \"string not in mailbox\"",
                 Command{"A283", search({text_key(SK::Text, "string not in mailbox")})});
}
TEST_CASE("RFC 3501 6.4.4 example: A284 SEARCH CHARSET UTF-8 TEXT {6}", "[rfc3501][example]") {
    // "XXXXXX" stands for 6 octets of UTF-8; here they are real ones.
    check_parses("A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX",
                 Command{"A284", search({text_key(SK::Text, "XXXXXX")}, "UTF-8")});
    check_parses("A284 SEARCH CHARSET UTF-8 TEXT {6}\r\n\xe2\x82\xac\xc3\xa9\x21",
                 Command{"A284", search({text_key(SK::Text, "\xe2\x82\xac\xc3\xa9!")}, "UTF-8")});
}
TEST_CASE("RFC 3501 6.4.5 example: FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
          "[rfc3501][example]") {
    check_parses(
        "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])",
        Command{"A654", fetch("2:4", {item(FK::Flags), body_section(false, {}, ST::HeaderFields,
                                                                    {"DATE", "FROM"})})});
}
TEST_CASE("RFC 3501 6.4.6 example: A003 STORE 2:4 +FLAGS (Deleted)", "[rfc3501][example]") {
    check_parses("A003 STORE 2:4 +FLAGS (\\Deleted)",
                 Command{"A003", store("2:4", Mode::Add, false, {"\\Deleted"})});
}
TEST_CASE("RFC 3501 6.4.7 example: A003 COPY 2:4 MEETING", "[rfc3501][example]") {
    check_parses("A003 COPY 2:4 MEETING", Command{"A003", copy_command("2:4", "MEETING")});
}
TEST_CASE("RFC 3501 6.4.8 example: A999 UID FETCH 4827313:4828442 FLAGS", "[rfc3501][example]") {
    check_parses("A999 UID FETCH 4827313:4828442 FLAGS",
                 Command{"A999", fetch("4827313:4828442", {item(FK::Flags)}, true)});
}
TEST_CASE("RFC 3501 6.5.1 example: a441 CAPABILITY", "[rfc3501][example]") {
    check_parses("a441 CAPABILITY", Command{"a441", CapabilityCommand{}});
}
TEST_CASE("RFC 3501 6.5.1 example: A442 XPIG-LATIN", "[rfc3501][example]") {
    // x-command: we implement none, so it is an unknown command (tagged BAD).
    check_fails("A442 XPIG-LATIN", "A442"s, "Unknown command XPIG-LATIN");
}

// ---- RFC 3501 section 8, the sample connection (lower-case as written) ----

TEST_CASE("RFC 3501 8 example: a001 login mrc secret", "[rfc3501][example]") {
    check_parses("a001 login mrc secret", Command{"a001", LoginCommand{"mrc", Secret("secret")}});
}
TEST_CASE("RFC 3501 8 example: a002 select inbox", "[rfc3501][example]") {
    check_parses("a002 select inbox", Command{"a002", SelectCommand{"INBOX"}});
}
TEST_CASE("RFC 3501 8 example: a003 fetch 12 full", "[rfc3501][example]") {
    check_parses(
        "a003 fetch 12 full",
        Command{"a003", fetch("12", {item(FK::Flags), item(FK::InternalDate), item(FK::Rfc822Size),
                                     item(FK::Envelope), item(FK::Body)})});
}
TEST_CASE("RFC 3501 8 example: a004 fetch 12 body[header]", "[rfc3501][example]") {
    check_parses("a004 fetch 12 body[header]",
                 Command{"a004", fetch("12", {body_section(false, {}, ST::Header)})});
}
TEST_CASE("RFC 3501 8 example: a005 store 12 +flags deleted", "[rfc3501][example]") {
    check_parses("a005 store 12 +flags \\deleted",
                 Command{"a005", store("12", Mode::Add, false, {"\\deleted"})});
}
TEST_CASE("RFC 3501 8 example: a006 logout", "[rfc3501][example]") {
    check_parses("a006 logout", Command{"a006", LogoutCommand{}});
}

// ---- Examples of the extensions ----

TEST_CASE("RFC 4959 examples: AUTHENTICATE with SASL-IR", "[example]") {
    check_parses("A01 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=",
                 Command{"A01", AuthenticateCommand{"PLAIN", Secret("dGVzdAB0ZXN0AHRlc3Q=")}});
    check_parses("A01 AUTHENTICATE PLAIN", Command{"A01", AuthenticateCommand{"PLAIN", {}}});
    check_parses("A01 AUTHENTICATE EXTERNAL =",
                 Command{"A01", AuthenticateCommand{"EXTERNAL", Secret("=")}});
    check_parses("A01 AUTHENTICATE EXTERNAL", Command{"A01", AuthenticateCommand{"EXTERNAL", {}}});
}
TEST_CASE("RFC 7888 example: LOGIN with non-synchronising literals", "[example]") {
    check_parses("A001 LOGIN {11+}\r\nFRED FOOBAR {7+}\r\nfat man",
                 Command{"A001", LoginCommand{"FRED FOOBAR", Secret("fat man")}});
    check_parses("A001 LOGIN \"FRED FOOBAR\" \"fat man\"",
                 Command{"A001", LoginCommand{"FRED FOOBAR", Secret("fat man")}});
}
TEST_CASE("RFC 2971 examples: ID", "[example]") {
    check_parses(
        "a023 ID (\"name\" \"sodr\" \"version\" \"19.34\" \"vendor\" "
        "\"Pink Floyd Music Limited\")",
        Command{"a023", IdCommand{IdFields{{"name", "sodr"},
                                           {"version", "19.34"},
                                           {"vendor", "Pink Floyd Music Limited"}}}});
    check_parses("a042 ID NIL", Command{"a042", IdCommand{}});
}
TEST_CASE("RFC 3691, 5161, 6851, 4315 examples: UNSELECT, ENABLE, MOVE, UID EXPUNGE", "[example]") {
    check_parses("A341 UNSELECT", Command{"A341", UnselectCommand{}});
    check_parses("t2 ENABLE CONDSTORE X-GOOD-IDEA",
                 Command{"t2", EnableCommand{{"CONDSTORE", "X-GOOD-IDEA"}}});
    check_parses("a1 ENABLE CONDSTORE", Command{"a1", EnableCommand{{"CONDSTORE"}}});
    check_parses("a UID MOVE 42:69 foo", Command{"a", move_command("42:69", "foo", true)});
    check_parses("A003 UID EXPUNGE 3000:3002",
                 Command{"A003", UidExpungeCommand{seq("3000:3002")}});
    check_parses("A005 UID COPY 305:310 meeting",
                 Command{"A005", copy_command("305:310", "meeting", true)});
}
TEST_CASE("RFC 3502 example: MULTIAPPEND of two messages", "[example]") {
    const std::string first =
        "Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)\r\n"
        "From: Fred Foobar <foobar@Blurdybloop.example.COM>\r\n"
        "Subject: afternoon meeting\r\n"
        "To: mooch@owatagu.example.net\r\n"
        "Message-Id: <B27397-0100000@Blurdybloop.example.COM>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        "\r\n"
        "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    const std::string second =
        "Date: Mon, 7 Feb 1994 22:43:04 -0800 (PST)\r\n"
        "From: Joe Mooch <mooch@OWaTaGu.example.net>\r\n"
        "Subject: Re: afternoon meeting\r\n"
        "To: foobar@blurdybloop.example.com\r\n"
        "Message-Id: <a0434793874930@OWaTaGu.example.net>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
        "\r\n"
        "3:30 is fine with me.\r\n";
    REQUIRE(first.size() == 329);
    REQUIRE(second.size() == 295);
    // The first literal ends with CRLF and the next line continues the
    // command: in the RFC it shows as "C:  (\Seen) ..." after that CRLF.
    check_parses(
        "A003 APPEND saved-messages (\\Seen) {329}\r\n" + first +
            " (\\Seen) \" 7-Feb-1994 22:43:04 -0800\" {295}\r\n" + second,
        Command{"A003", AppendCommand{"saved-messages",
                                      {message(first, {"\\Seen"}),
                                       message(second, {"\\Seen"},
                                               DateTime{Date{1994, 2, 7}, 22, 43, 4, -480})}}});
}

// =====================================================================
// Malformed input
// =====================================================================

TEST_CASE("Invalid tags get an untagged BAD", "[parser][error]") {
    for (const std::string line : {
             "+ NOOP",  // "+" is excluded from tag
             "* NOOP",  // list-wildcards are not ASTRING-CHARs
             "A+B NOOP",   "A*1 NOOP",  "A%1 NOOP",   "A(1 NOOP",  "A)1 NOOP",
             "A\"1 NOOP",  "A\\1 NOOP", "A{1 NOOP",   "{1} NOOP",  "A{ NOOP",
             " NOOP",  // empty tag
             "  NOOP",     "A\tB NOOP", "A\x01 NOOP", "\x7f NOOP", "\xc3\xa9 NOOP",
             "A001\tNOOP",  // TAB is no SP, so it is part of the tag
             "+",          "*",
         }) {
        check_fails(line, std::nullopt, "tag");
    }
    // Longer than limits::kMaxTagLength.
    check_fails(std::string(imap::limits::kMaxTagLength + 1, 't') + " NOOP", std::nullopt, "tag");
}

TEST_CASE("Unknown commands and missing command names", "[parser][error]") {
    check_all_fail({
        {"A001", "Missing command"},
        {"A001 ", "Expected atom"},
        {"A001 FOO", "Unknown command FOO"},
        {"A001 foo bar", "Unknown command FOO"},
        {"A001 NOOPX", "Unknown command NOOPX"},
        {"A001 LOG IN", "Unknown command LOG"},
        {"A001 XPIG-LATIN ow-nay", "Unknown command XPIG-LATIN"},
        {"A001 UID", "Expected SP"},
        {"A001 UID NOOP", "Unknown command UID NOOP"},
        {"A001 UID LOGIN a b", "Unknown command UID LOGIN"},
        {"A001 UID UID FETCH 1 UID", "Unknown command UID UID"},
        {"A001 \"NOOP\"", "Expected atom"},
        {"A001 (NOOP)", "Expected atom"},
        {"A001 NOOP(", "Unexpected"},
        {"A001 " + lit("NOOP"), "Expected atom"},
    });
}

TEST_CASE("Double, leading, trailing and missing spaces", "[parser][error]") {
    check_all_fail({
        {"A001  NOOP", "second SP"},
        {"A001 LOGIN  fred pw", "second SP"},
        {"A001 LOGIN fred  pw", "second SP"},
        {"A001 FETCH  1 FLAGS", "second SP"},
        {"A001 FETCH 1  FLAGS", "second SP"},
        {"A001 FETCH 1 (FLAGS  UID)", "second SP"},
        {"A001 SEARCH  ALL", "second SP"},
        {"A001 SEARCH ALL  SEEN", "second SP"},
        {"A001 STORE 1 FLAGS  \\Seen", "second SP"},
        {"A001 UID  FETCH 1 FLAGS", "second SP"},
        {"A001 ID (\"a\"  \"b\")", "second SP"},
        {"A001 NOOP ", "Unexpected"},
        {"A001 SELECT INBOX ", "Unexpected"},
        {"A001 FETCH 1 FLAGS ", "Unexpected"},
        {"A001 SEARCH ALL ", "Expected"},
        {"A001 STORE 1 FLAGS \\Seen ", "Expected atom"},
        {"A001 FETCH 1 ( FLAGS)", "Expected fetch attribute"},
        {"A001 FETCH 1 (FLAGS )", "Expected fetch attribute"},
        {"A001 STATUS INBOX ( UNSEEN)", "Expected atom"},
        {"A001 LOGIN\tfred pw", "Expected SP"},
        {"A001 SEARCH(SEEN)", "Expected SP"},
        {"A001 FETCH 1(FLAGS)", "Expected SP"},
    });
}

TEST_CASE("Missing arguments", "[parser][error]") {
    check_all_fail({
        {"A001 AUTHENTICATE", "Expected SP"},
        {"A001 LOGIN", "Expected SP"},
        {"A001 LOGIN fred", "Expected SP"},
        {"A001 SELECT", "Expected SP"},
        {"A001 EXAMINE", "Expected SP"},
        {"A001 CREATE", "Expected SP"},
        {"A001 DELETE", "Expected SP"},
        {"A001 SUBSCRIBE", "Expected SP"},
        {"A001 UNSUBSCRIBE", "Expected SP"},
        {"A001 RENAME a", "Expected SP"},
        {"A001 LIST", "Expected SP"},
        {"A001 LIST \"\"", "Expected SP"},
        {"A001 LSUB a", "Expected SP"},
        {"A001 STATUS INBOX", "Expected SP"},
        {"A001 STATUS INBOX ()", "Expected atom"},
        {"A001 APPEND", "Expected SP"},
        {"A001 APPEND INBOX", "Expected SP"},
        {"A001 APPEND INBOX (\\Seen)", "Expected SP"},
        {"A001 APPEND INBOX \"17-Jul-1996 02:44:25 -0700\"", "Expected SP"},
        {"A001 APPEND INBOX " + lit("x") + " ", "Expected literal"},
        {"A001 UID EXPUNGE", "Expected SP"},
        {"A001 SEARCH", "Expected SP"},
        {"A001 SEARCH CHARSET", "Expected SP"},
        {"A001 SEARCH CHARSET UTF-8", "Expected SP"},
        {"A001 SEARCH NOT", "Expected SP"},
        {"A001 SEARCH OR SEEN", "Expected SP"},
        {"A001 SEARCH HEADER Subject", "Expected SP"},
        {"A001 SEARCH FROM", "Expected SP"},
        {"A001 SEARCH SINCE", "Expected SP"},
        {"A001 SEARCH LARGER", "Expected SP"},
        {"A001 SEARCH UID", "Expected SP"},
        {"A001 SEARCH KEYWORD", "Expected SP"},
        {"A001 FETCH", "Expected SP"},
        {"A001 FETCH 1", "Expected SP"},
        {"A001 UID FETCH 1", "Expected SP"},
        {"A001 STORE 1", "Expected SP"},
        {"A001 STORE 1 FLAGS", "Expected SP"},
        {"A001 STORE 1 +FLAGS.SILENT", "Expected SP"},
        {"A001 COPY 1", "Expected SP"},
        {"A001 MOVE 1", "Expected SP"},
        {"A001 UID COPY", "Expected SP"},
        {"A001 ENABLE", "Expected SP"},
        {"A001 ID", "Expected SP"},
    });
}

TEST_CASE("Extra arguments", "[parser][error]") {
    check_all_fail({
        {"A001 NOOP x", "Unexpected \" x\""},
        {"A001 CAPABILITY ALL", "Unexpected"},
        {"A001 LOGOUT now", "Unexpected"},
        {"A001 STARTTLS x", "Unexpected"},
        {"A001 CHECK x", "Unexpected"},
        {"A001 CLOSE x", "Unexpected"},
        {"A001 EXPUNGE 1", "Unexpected"},
        {"A001 UNSELECT x", "Unexpected"},
        {"A001 IDLE x", "Unexpected"},
        {"A001 NAMESPACE x", "Unexpected"},
        {"A001 SELECT INBOX extra", "Unexpected"},
        // A select-param that is not RFC 7162's (CONDSTORE now parses).
        {"A001 SELECT INBOX (XCONDSTORE)", "Unknown select parameter"},
        {"A001 SELECT INBOX (CONDSTORE) x", "Unexpected"},
        {"A001 LOGIN a b c", "Unexpected"},
        {"A001 RENAME a b c", "Unexpected"},
        {"A001 LIST a b c", "Unexpected"},
        {"A001 STATUS INBOX (MESSAGES) x", "Unexpected"},
        {"A001 FETCH 1 FLAGS UID", "Unexpected"},
        {"A001 FETCH 1 ALL FLAGS", "Unexpected"},
        {"A001 FETCH 1 (FLAGS) UID", "Unexpected"},
        {"A001 COPY 1 a b", "Unexpected"},
        {"A001 UID EXPUNGE 1 2", "Unexpected"},
        {"A001 AUTHENTICATE PLAIN AAAA AAAA", "Unexpected"},
        {"A001 AUTHENTICATE PLAIN =x", "Unexpected"},
        {"A001 ID NIL NIL", "Unexpected"},
        {"A001 ID () ()", "Unexpected"},
        {"A001 STORE 1 FLAGS (\\Seen) \\Deleted", "Unexpected"},
        {"A001 SEARCH SEEN)", "Expected SP"},
        {"A001 NOOP " + lit("x"), "Unexpected"},
    });
}

TEST_CASE("Bad tokens: strings, literals and astrings", "[parser][error]") {
    check_all_fail({
        {"A001 LOGIN fred \"pw", "Unterminated quoted string"},
        {"A001 LOGIN \"fred pw", "Unterminated quoted string"},
        {"A001 LOGIN fred \"pw\\\"", "Unterminated quoted string"},
        {"A001 LOGIN fred \"pw\\", "Unterminated quoted string"},
        {"A001 LOGIN fred \"p\\w\"", "Invalid escape"},
        {"A001 LOGIN fred \"p\\n\"", "Invalid escape"},
        {"A001 LOGIN fred \"\\x41\"", "Invalid escape"},
        {"A001 LOGIN fred \"p\rw\"", "Invalid character in quoted string"},
        {"A001 LOGIN fred \"p\0w\""s, "Invalid character in quoted string"},
        {"A001 LOGIN fred pw\"x\"", "Unexpected"},
        {"A001 LOGIN (fred) pw", "Expected astring"},
        {"A001 LOGIN fred %", "Expected astring"},
        {"A001 LOGIN fred p\x01w", "Unexpected"},
        {"A001 LOGIN fred p\rw", "Unexpected"},
        {"A001 LOGIN \xc3\xa9 x", "Expected astring"},
        // A literal is only one when its announcement ends the line.
        {"A001 LOGIN {3} fred", "not at the end of the line"},
        {"A001 LOGIN fred {3", "'}'"},
        {"A001 LOGIN fred {}", "literal size"},
        {"A001 LOGIN fred {-1}", "literal size"},
        // CHAR8 excludes NUL: only APPEND takes it (and literal8).
        {"A001 LOGIN " + lit("a\0b"s) + " pw", "NUL"},
        {"A001 LOGIN fred " + lit_plus("\0"s), "NUL"},
        {"A001 SELECT " + lit("\0"s), "NUL"},
        {"A001 SEARCH TEXT " + lit("a\0"s), "NUL"},
        {"A001 ID (\"a\" " + lit("\0"s) + ")", "NUL"},
        {"A001 LIST \"\" " + lit("\0*"s), "NUL"},
        // literal8 is only for APPEND messages (RFC 3516).
        {"A001 LOGIN ~{3}\r\nabc pw", "Expected SP"},
        {"A001 SEARCH TEXT ~{1}\r\na", "Expected SP"},
        {"A001 SELECT \"INBOX", "Unterminated quoted string"},
        {"A001 SELECT INBOX)", "Unexpected"},
        {"A001 SELECT (INBOX)", "Expected astring"},
        {"A001 SELECT %", "Expected astring"},
        {"A001 SELECT *", "Expected astring"},
        {"A001 LIST * x", "Expected astring"},
        // "(x)" is an RFC 5258 patt-list; "()" is not.
        {"A001 LIST \"\" ()", "Expected mailbox pattern"},
        {"A001 LIST \"\" \"x", "Unterminated quoted string"},
        {"A001 ENABLE \"CONDSTORE\"", "Expected atom"},
        {"A001 ENABLE (CONDSTORE)", "Expected atom"},
        {"A001 ID x", "'(' or NIL"},
        {"A001 ID (\"a\")", "Expected SP"},
        {"A001 ID (a \"b\")", "Expected string"},
        {"A001 ID (\"a\" b)", "Expected string or NIL"},
        {"A001 ID (\"a\" \"b\"", "Expected SP"},
        {"A001 ID (\"a\" \"b\" )", "Expected string"},
        {"A001 ID ( \"a\" \"b\")", "Expected string"},
        {"A001 ID (\"a\" NILX)", "Expected string or NIL"},
    });
}

TEST_CASE("Bad tokens: AUTHENTICATE, STATUS, STORE and flags", "[parser][error]") {
    check_all_fail({
        {"A001 AUTHENTICATE \"PLAIN\"", "Expected atom"},
        {"A001 AUTHENTICATE PLAIN ", "Expected base64"},
        {"A001 AUTHENTICATE PLAIN AAA", "Invalid base64"},
        {"A001 AUTHENTICATE PLAIN AAAAA", "Invalid base64"},
        {"A001 AUTHENTICATE PLAIN AAAA=", "Invalid base64"},
        {"A001 AUTHENTICATE PLAIN A===", "Invalid base64"},
        {"A001 AUTHENTICATE PLAIN ==", "Unexpected"},
        {"A001 AUTHENTICATE PLAIN dGVz*", "Unexpected"},
        {"A001 AUTHENTICATE PLAIN dG-z", "Invalid base64"},
        {"A001 AUTHENTICATE PLAIN " + lit("AAAA"), "Expected base64"},
        {"A001 STATUS INBOX (FOO)", "Unknown status item FOO"},
        {"A001 STATUS INBOX (MESSAGES FOO)", "Unknown status item FOO"},
        {"A001 STATUS INBOX MESSAGES", "'(' starting the status items"},
        {"A001 STATUS INBOX (MESSAGES", "Expected SP"},
        {"A001 STATUS INBOX (\"MESSAGES\")", "Expected atom"},
        {"A001 STORE 1 FLAG (\\Seen)", "Unknown STORE data item FLAG"},
        {"A001 STORE 1 +FLAGS.LOUD (\\Seen)", "Unknown STORE data item FLAGS.LOUD"},
        {"A001 STORE 1 *FLAGS (\\Seen)", "Expected atom"},
        {"A001 STORE 1 + FLAGS (\\Seen)", "Expected atom"},
        {"A001 STORE 1 +-FLAGS (\\Seen)", "Unknown STORE data item -FLAGS"},
        {"A001 STORE 1 FLAGS.SILENT.SILENT ()", "Unknown STORE data item"},
        {"A001 STORE 1 \"FLAGS\" ()", "Expected atom"},
        // "\*" is flag-perm (PERMANENTFLAGS), never a flag a client sends.
        {"A001 STORE 1 FLAGS (\\*)", "Expected atom"},
        {"A001 STORE 1 +FLAGS \\*", "Expected atom"},
        {"A001 APPEND INBOX (\\*) " + lit("x"), "Expected atom"},
        {"A001 STORE 1 FLAGS (\\)", "Expected atom"},
        {"A001 STORE 1 FLAGS (\\\\Seen)", "Expected atom"},
        {"A001 STORE 1 FLAGS (\\Seen", "Expected SP"},
        {"A001 STORE 1 FLAGS (\"Seen\")", "Expected atom"},
        {"A001 STORE 1 FLAGS ((\\Seen))", "Expected atom"},
        {"A001 STORE 1 FLAGS \\Seen]", "Expected SP"},
        {"A001 STORE 1 FLAGS %", "Expected atom"},
        {"A001 STORE 1 FLAGS \\Se%en", "Expected SP"},
        {"A001 APPEND INBOX \\Seen " + lit("x"), "Expected literal"},
        {"A001 APPEND INBOX (\\Seen) (\\Seen) " + lit("x"), "Expected literal"},
        {"A001 APPEND INBOX \"x\"", "Invalid date-time"},
        {"A001 APPEND INBOX \"message\" " + lit("x"), "Invalid date-time"},
        {"A001 APPEND INBOX {1}\r\nx{1}\r\ny", "Expected SP"},
        {"A001 APPEND INBOX \"17-Jul-1996 02:44:25 -0700\" (\\Seen) " + lit("x"),
         "Expected literal"},
    });
}

TEST_CASE("0 and other malformed sequence sets", "[parser][error]") {
    for (const std::string set :
         {"0", "0:5", "5:0", "1,0", "0:*", "*:0", "01", "1:02", "4294967296", "1:4294967296", "1,",
          ",1", "1,,2", "1:", ":1", "1:2:3", "**", "1*", "*1"}) {
        check_fails("A001 FETCH " + set + " FLAGS", "A001"s, "Invalid sequence set");
        check_fails("A001 UID COPY " + set + " INBOX", "A001"s, "Invalid sequence set");
        // A search-key starting with "," or ":" is read as a key name.
        const bool looks_like_set = imap::is_digit(set[0]) || set[0] == '*';
        check_fails("A001 SEARCH " + set, "A001"s,
                    looks_like_set ? "Invalid sequence set" : "Unknown search key");
        check_fails("A001 SEARCH UID " + set, "A001"s, "Invalid sequence set");
    }
    check_all_fail({
        {"A001 FETCH -1 FLAGS", "Expected sequence set"},
        {"A001 FETCH a FLAGS", "Expected sequence set"},
        {"A001 FETCH \"1\" FLAGS", "Expected sequence set"},
        {"A001 STORE 0 FLAGS ()", "Invalid sequence set"},
        {"A001 MOVE 0 a", "Invalid sequence set"},
        {"A001 UID EXPUNGE 0", "Invalid sequence set"},
        {"A001 UID EXPUNGE 1:0", "Invalid sequence set"},
        {"A001 FETCH 1 :2 FLAGS", "Expected fetch attribute"},
    });
}

TEST_CASE("Bad dates and date-times", "[parser][error]") {
    for (const std::string date :
         {"32-Jan-2000", "0-Jan-2000", "30-Feb-2001", "29-Feb-1900", "31-Apr-2000", "1-Foo-2000",
          "1-February-2000", "1-Feb-94", "1-Feb-19940", "001-Feb-1994", "1 Feb 1994", "1-Feb-1994-",
          "2000-01-01", "Feb-1-1994", "\"1-Feb-1994 \""}) {
        check_fails("A001 SEARCH SINCE " + date, "A001"s, "Invalid date");
    }
    check_all_fail({
        {"A001 SEARCH BEFORE \"1-Feb-1994", "Unterminated quoted string"},
        {"A001 SEARCH ON " + lit("1-Feb-1994"), "Expected atom"},
        {"A001 SEARCH SENTON (1-Feb-1994)", "Expected atom"},
        {"A001 SEARCH SENTSINCE 1-Feb-1994)", "Expected SP"},
    });
    for (const std::string date_time : {
             "17-Jul-1996 25:44:25 -0700",   // hour
             "17-Jul-1996 02:60:25 -0700",   // minute
             "17-Jul-1996 02:44:61 -0700",   // second
             "17-Jul-1996 02:44:25 -0760",   // zone minutes
             "17-Jul-1996 02:44:25 0700",    // zone sign
             "17-Jul-1996 02:44:25",         // no zone
             "17-Jul-1996",                  // no time
             "17-Jul-96 02:44:25 -0700",     // two-digit year
             "32-Jul-1996 02:44:25 -0700",   // day
             "17-Jux-1996 02:44:25 -0700",   // month
             "17-Jul-1996  02:44:25 -0700",  // two spaces
             "17-Jul-1996 2:44:25 -0700",    // time is 2DIGIT
             "",
         }) {
        check_fails("A001 APPEND INBOX \"" + date_time + "\" " + lit("x"), "A001"s,
                    "Invalid date-time");
    }
    // date-time must be quoted.
    check_fails("A001 APPEND INBOX 17-Jul-1996 " + lit("x"), "A001"s, "Expected literal");
}

TEST_CASE("Bad FETCH attributes, sections and partials", "[parser][error]") {
    check_all_fail({
        {"A001 FETCH 1 FOO", "Unknown fetch attribute FOO"},
        {"A001 FETCH 1 (FLAGS FOO)", "Unknown fetch attribute FOO"},
        {"A001 FETCH 1 RFC822.FOO", "Unknown fetch attribute RFC822.FOO"},
        {"A001 FETCH 1 BODY.STRUCTURE", "Unknown fetch attribute"},
        {"A001 FETCH 1 \"FLAGS\"", "Expected fetch attribute"},
        {"A001 FETCH 1 ()", "Expected fetch attribute"},
        {"A001 FETCH 1 (FLAGS", "Expected SP"},
        {"A001 FETCH 1 FLAGS)", "Unexpected"},
        {"A001 FETCH 1 ((FLAGS))", "Expected fetch attribute"},
        {"A001 FETCH 1 (ALL)", "macro"},
        {"A001 FETCH 1 (FLAGS FAST)", "macro"},
        {"A001 FETCH 1 (FULL)", "macro"},
        {"A001 FETCH 1 BODY.PEEK", "Expected '['"},
        {"A001 FETCH 1 BODY.PEEK FLAGS", "Expected '['"},
        {"A001 FETCH 1 BODY [TEXT]", "Unexpected"},
        {"A001 FETCH 1 BODYSTRUCTURE[]", "Unexpected"},
        {"A001 FETCH 1 RFC822[]", "Unexpected"},
        {"A001 FETCH 1 BODY[", "section text"},
        {"A001 FETCH 1 BODY[TEXT", "']' closing the section"},
        {"A001 FETCH 1 BODY[TEXT)", "']' closing the section"},
        {"A001 FETCH 1 BODY[FOO]", "Unknown section FOO"},
        {"A001 FETCH 1 BODY[HEADER.FOO]", "Unknown section HEADER.FOO"},
        {"A001 FETCH 1 BODY[TEXT.MIME]", "Unknown section"},
        {"A001 FETCH 1 BODY[1.FOO]", "Unknown section FOO"},
        // MIME only after a part number (section-text, not section-msgtext).
        {"A001 FETCH 1 BODY[MIME]", "MIME is only valid after a part number"},
        {"A001 FETCH 1 BODY.PEEK[mime]", "MIME is only valid after a part number"},
        {"A001 FETCH 1 BODY[0]", "non-zero"},
        {"A001 FETCH 1 BODY[1.0]", "non-zero"},
        {"A001 FETCH 1 BODY[01]", "non-zero"},
        {"A001 FETCH 1 BODY[1.02.MIME]", "non-zero"},
        {"A001 FETCH 1 BODY[4294967296]", "too large"},
        {"A001 FETCH 1 BODY[1.]", "section text"},
        {"A001 FETCH 1 BODY[.1]", "Unknown section ."},
        {"A001 FETCH 1 BODY[1..2]", "Unknown section ."},
        {"A001 FETCH 1 BODY[1 TEXT]", "']' closing the section"},
        {"A001 FETCH 1 BODY[HEADER.FIELDS]", "Expected SP"},
        {"A001 FETCH 1 BODY[HEADER.FIELDS.NOT]", "Expected SP"},
        {"A001 FETCH 1 BODY[HEADER.FIELDS DATE]", "'(' starting the header field list"},
        {"A001 FETCH 1 BODY[HEADER.FIELDS ()]", "Expected astring"},
        {"A001 FETCH 1 BODY[HEADER.FIELDS (DATE]", "Expected SP"},
        {"A001 FETCH 1 BODY[HEADER.FIELDS (DATE )]", "Expected astring"},
        {"A001 FETCH 1 BODY[HEADER.FIELDS (DATE)", "']' closing the section"},
        {"A001 FETCH 1 BODY[HEADER (DATE)]", "']' closing the section"},
        {"A001 FETCH 1 BODY[1.HEADER.FIELDS.NOT (%)]", "Expected astring"},
        // "<" number "." nz-number ">"
        {"A001 FETCH 1 BODY[]<0.0>", "non-zero"},
        {"A001 FETCH 1 BODY[]<5.0>", "non-zero"},
        {"A001 FETCH 1 BODY[]<0.01>", "non-zero"},
        {"A001 FETCH 1 BODY[]<0>", "'.' in the partial range"},
        {"A001 FETCH 1 BODY[]<0.10", "'>' closing the partial range"},
        {"A001 FETCH 1 BODY[]<.10>", "Expected number"},
        {"A001 FETCH 1 BODY[]<0.>", "Expected number"},
        {"A001 FETCH 1 BODY[]<-1.10>", "Expected number"},
        {"A001 FETCH 1 BODY[]<0.4294967296>", "too large"},
        {"A001 FETCH 1 BODY[]<4294967296.1>", "too large"},
        {"A001 FETCH 1 BODY[]<0.10><0.10>", "Unexpected"},
        {"A001 FETCH 1 BODY[] <0.10>", "Unexpected"},
    });
}

// flag-keyword = atom (RFC 3501 9). emailjs-imap-client sends
// KEYWORD "$Label1"; a quoted or literal keyword is accepted when its value
// is an atom, and refused otherwise.
TEST_CASE("SEARCH KEYWORD and UNKEYWORD take a quoted or literal keyword that is an atom",
          "[parser][lenient]") {
    for (const std::string& form : {"\"$Label1\""s, lit("$Label1"), lit_plus("$Label1")}) {
        check_parses("A001 UID SEARCH KEYWORD " + form,
                     a001(search({text_key(SK::Keyword, "$Label1")}, std::nullopt, true)));
        check_parses("A001 SEARCH NOT UNKEYWORD " + form + " SEEN",
                     a001(search({not_key(text_key(SK::Unkeyword, "$Label1")), key(SK::Seen)})));
    }
    check_parses(
        "A001 SEARCH OR KEYWORD \"$Forwarded\" KEYWORD \"Junk\"",
        a001(search({or_key(text_key(SK::Keyword, "$Forwarded"), text_key(SK::Keyword, "Junk"))})));
    check_all_fail({
        {"A001 SEARCH KEYWORD \"\"", "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"$Label 1\"", "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"\\\\Seen\"", "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"a(b\"", "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"a]b\"", "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"a%b\"", "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"a*b\"", "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"a{b\"", "Invalid keyword"},
        {"A001 SEARCH UNKEYWORD \"\xc3\x84\"", "Invalid keyword"},
        {"A001 SEARCH UNKEYWORD " + lit("a\r\nb"), "Invalid keyword"},
        {"A001 SEARCH UNKEYWORD " + lit("\x01"), "Invalid keyword"},
        {"A001 SEARCH KEYWORD \"x", "Unterminated quoted string"},
    });
}

TEST_CASE("Bad SEARCH keys", "[parser][error]") {
    check_all_fail({
        {"A001 SEARCH FOO", "Unknown search key FOO"},
        {"A001 SEARCH SEEN FOO", "Unknown search key FOO"},
        {"A001 SEARCH \"SEEN\"", "Expected atom"},
        {"A001 SEARCH " + lit("SEEN"), "Expected atom"},
        {"A001 SEARCH ()", "Expected atom"},
        {"A001 SEARCH (SEEN", "Expected SP"},
        {"A001 SEARCH (SEEN))", "Expected SP"},
        {"A001 SEARCH KEYWORD \\Seen", "Expected atom"},
        {"A001 SEARCH UNKEYWORD (x)", "Expected atom"},
        {"A001 SEARCH LARGER x", "Expected number"},
        {"A001 SEARCH LARGER -1", "Expected number"},
        {"A001 SEARCH SMALLER 4294967296", "too large"},
        {"A001 SEARCH SMALLER 99999999999999999999", "too large"},
        {"A001 SEARCH FROM (x)", "Expected astring"},
        {"A001 SEARCH HEADER (x) y", "Expected astring"},
        {"A001 SEARCH NOT (", "Expected atom"},
        {"A001 SEARCH OR SEEN )", "Expected atom"},
        {"A001 SEARCH CHARSET (UTF-8) ALL", "Expected astring"},
        {"A001 SEARCH UID *,", "Invalid sequence set"},
        {"A001 SEARCH ALL NIL", "Unknown search key NIL"},
        {"A001 SEARCH CHARSET UTF-8 CHARSET UTF-8 ALL", "Unknown search key CHARSET"},
        // RFC 5032 3: ("OLDER" / "YOUNGER") SP nz-number.
        {"A001 SEARCH OLDER 0", "OLDER needs a number of seconds > 0"},
        {"A001 SEARCH YOUNGER 0", "YOUNGER needs a number of seconds > 0"},
        {"A001 SEARCH YOUNGER", "Expected SP"},
        {"A001 SEARCH OLDER -5", "Expected number"},
        {"A001 SEARCH YOUNGER 4294967296", "too large"},
    });
}

TEST_CASE("Nesting deeper than limits::kMaxNestingDepth is refused", "[parser][error][limits]") {
    constexpr std::size_t depth = imap::limits::kMaxNestingDepth;
    // Every search key is a level (the innermost one too): depth - 1 NOTs
    // around ALL make exactly kMaxNestingDepth levels.
    SearchKey nested = key(SK::All);
    for (std::size_t i = 0; i + 1 < depth; ++i)
        nested = not_key(std::move(nested));
    check_parses("A001 SEARCH " + repeat("NOT ", depth - 1) + "ALL", a001(search({nested})));
    check_fails("A001 SEARCH " + repeat("NOT ", depth) + "ALL", "A001"s, "Too deeply nested");

    // Parenthesised groups and right-nested OR chains count the same way.
    check_fails("A001 SEARCH " + repeat("(", depth) + "ALL" + repeat(")", depth), "A001"s,
                "Too deeply nested");
    check_fails("A001 SEARCH " + repeat("OR SEEN ", depth) + "ALL", "A001"s, "Too deeply nested");
    // The limit is not cumulative: many shallow groups side by side are fine.
    ParseResult wide = parse_one("A001 SEARCH " + repeat("(NOT SEEN) ", 2 * depth) + "ALL\r\n");
    REQUIRE(std::holds_alternative<Command>(wide));
    check_round_trip(std::get<Command>(wide));
}

TEST_CASE("More than limits::kMaxArguments arguments are refused", "[parser][error][limits]") {
    constexpr std::size_t many = imap::limits::kMaxArguments;
    // Flags, search keys and fetch items each count; the command name too.
    check_fails("A001 STORE 1 FLAGS (" + repeat("a ", many) + "a)", "A001"s, "Too many arguments");
    check_fails("A001 SEARCH" + repeat(" 1", many), "A001"s, "Too many arguments");
    check_fails("A001 FETCH 1 (" + repeat("UID ", many) + "UID)", "A001"s, "Too many arguments");
    // Half as many is fine.
    std::vector<SearchKey> keys(many / 2, set_key(SK::SequenceSet, "1"));
    check_parses("A001 SEARCH" + repeat(" 1", many / 2), a001(search(keys)));
}

// =====================================================================
// CONDSTORE and QRESYNC (RFC 7162) with the RFC 4466 modifier grammar
// =====================================================================

TEST_CASE("Grammar: SELECT and EXAMINE with CONDSTORE and QRESYNC select-params",
          "[parser][condstore]") {
    imap::SelectParams both = qresync_params(67890007, 90060115194045000, "41:211,214:541");
    both.condstore = true;
    check_all_parse({
        {"A001 SELECT INBOX (CONDSTORE)", a001(SelectCommand{"INBOX", condstore_params()})},
        {"A001 examine inbox (condstore)", a001(ExamineCommand{"INBOX", condstore_params()})},
        {"A001 SELECT \"a b\" (QRESYNC (1 2))", a001(SelectCommand{"a b", qresync_params(1, 2)})},
        {"A001 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))",
         a001(SelectCommand{"INBOX",
                            qresync_params(67890007, 90060115194045000, "41:211,214:541")})},
        {"A001 EXAMINE INBOX (QRESYNC (7 9 1:29997 (5000,7500,9990:9999 15000,22500,29970:29979)))",
         a001(ExamineCommand{"INBOX", qresync_params(7, 9, "1:29997",
                                                     std::pair{"5000,7500,9990:9999",
                                                               "15000,22500,29970:29979"})})},
        // seq-match-data without known-uids is allowed by the grammar.
        {"A001 SELECT INBOX (QRESYNC (7 9 (1:2 4:5)))",
         a001(SelectCommand{"INBOX", qresync_params(7, 9, std::nullopt, std::pair{"1:2", "4:5"})})},
        {"A001 SELECT INBOX (CONDSTORE QRESYNC (67890007 90060115194045000 41:211,214:541))",
         a001(SelectCommand{"INBOX", both})},
        {"A001 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541) CONDSTORE)",
         a001(SelectCommand{"INBOX", both})},
        // The largest mod-sequence-value (RFC 7162 7: 63 bits).
        {"A001 SELECT INBOX (QRESYNC (1 9223372036854775807))",
         a001(SelectCommand{"INBOX", qresync_params(1, 9223372036854775807ull)})},
        {"A001 SELECT " + lit("box") + " (CONDSTORE)",
         a001(SelectCommand{"box", condstore_params()})},
    });
}

TEST_CASE("Grammar: FETCH MODSEQ item and the CHANGEDSINCE and VANISHED modifiers",
          "[parser][condstore]") {
    check_all_parse({
        {"A001 FETCH 1:3 (MODSEQ)", a001(fetch("1:3", {item(FK::ModSeq)}))},
        {"A001 FETCH 1 modseq", a001(fetch("1", {item(FK::ModSeq)}))},
        {"A001 FETCH 1:* (FLAGS MODSEQ) (CHANGEDSINCE 12345)",
         a001(changed_fetch("1:*", {item(FK::Flags), item(FK::ModSeq)}, false, 12345))},
        {"A001 FETCH 1 FLAGS (changedsince 0)",
         a001(changed_fetch("1", {item(FK::Flags)}, false, 0))},
        {"A001 FETCH 1 FAST (CHANGEDSINCE 7)",
         a001(changed_fetch("1", {item(FK::Flags), item(FK::InternalDate), item(FK::Rfc822Size)},
                            false, 7))},
        {"A001 FETCH 1 BODY.PEEK[] (CHANGEDSINCE 7)",
         a001(changed_fetch("1", {body_section(true, {})}, false, 7))},
        {"A001 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
         a001(changed_fetch("1:*", {item(FK::Flags)}, true, 12345))},
        {"A001 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
         a001(changed_fetch("300:500", {item(FK::Flags)}, true, 12345, true))},
        {"A001 UID FETCH 300:500 FLAGS (VANISHED CHANGEDSINCE 12345)",
         a001(changed_fetch("300:500", {item(FK::Flags)}, true, 12345, true))},
    });
}

FetchCommand partial_fetch(std::string_view set, std::vector<FetchItem> items,
                           imap::PartialRange range,
                           std::optional<std::uint64_t> changed_since = std::nullopt) {
    FetchCommand command = fetch(set, std::move(items), true);
    command.partial = range;
    command.changed_since = changed_since;
    return command;
}

TEST_CASE("Grammar: RFC 9394 3.3 and 3.4 UID FETCH with the PARTIAL modifier",
          "[parser][partial][rfc9394]") {
    check_all_parse({
        // The RFC's examples (3.3, 3.4), the modifiers in either order.
        {"10 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-3)",
         Command{"10", partial_fetch("25900:26600", {item(FK::Uid), item(FK::Flags)},
                                     imap::PartialRange{1, 3, true})}},
        {"11 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL 1:5)",
         Command{"11", partial_fetch("25900:26600", {item(FK::Uid), item(FK::Flags)},
                                     imap::PartialRange{1, 5, false})}},
        {"101 UID FETCH 25900:26600 (UID FLAGS) (PARTIAL -1:-30 CHANGEDSINCE 98305)",
         Command{"101", partial_fetch("25900:26600", {item(FK::Uid), item(FK::Flags)},
                                      imap::PartialRange{1, 30, true}, 98305)}},
        {"101 UID FETCH 25900:26600 (UID FLAGS) (CHANGEDSINCE 98305 PARTIAL -1:-30)",
         Command{"101", partial_fetch("25900:26600", {item(FK::Uid), item(FK::Flags)},
                                      imap::PartialRange{1, 30, true}, 98305)}},
        // Kept as written: 500:400 is 400:500 (RFC 9394 4).
        {"A001 UID FETCH 1:* FLAGS (partial 500:400)",
         a001(partial_fetch("1:*", {item(FK::Flags)}, imap::PartialRange{500, 400, false}))},
        {"A001 UID FETCH 1:* FLAGS (PARTIAL -4294967295:-1)",
         a001(partial_fetch("1:*", {item(FK::Flags)}, imap::PartialRange{4294967295u, 1, true}))},
    });
    FetchCommand all = partial_fetch("1:*", {item(FK::Flags)}, imap::PartialRange{1, 2, false}, 5);
    all.vanished = true;
    check_parses("A001 UID FETCH 1:* FLAGS (PARTIAL 1:2 VANISHED CHANGEDSINCE 5)", a001(all));
}

TEST_CASE("Grammar errors: RFC 9394 4 PARTIAL in UID FETCH", "[parser][error][partial][rfc9394]") {
    check_all_fail({
        // RFC 9394 3.3 extends UID FETCH only.
        {"A001 FETCH 1:* (FLAGS) (PARTIAL 1:5)", "only valid in UID FETCH"},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 1:5 PARTIAL 1:5)",
         "Duplicate FETCH modifier PARTIAL"},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 1:5 CHANGEDSINCE 1 PARTIAL -1:-2)", "Duplicate"},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 0:5)", "nz-number"},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL -0:-5)", "nz-number"},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL -1:5)", "both ends or neither"},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 1:-5)", ""},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 1:*)", ""},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 5)", "':'"},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL)", ""},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 1:4294967296)", ""},
        {"A001 UID FETCH 1:* (FLAGS) (PARTIAL 1,2)", ""},
    });
}

imap::CatenatePart text_part(std::string data, bool binary = false) {
    return imap::CatenatePart{false, std::move(data), binary};
}
imap::CatenatePart url_part(std::string url) {
    return imap::CatenatePart{true, std::move(url), false};
}
AppendMessage catenated(std::vector<imap::CatenatePart> parts, std::vector<Flag> flags = {}) {
    AppendMessage m;
    m.flags = std::move(flags);
    m.catenate = std::move(parts);
    return m;
}
imap::ReplaceCommand replace(std::string_view set, std::string mailbox, AppendMessage m,
                             bool uid = false) {
    return imap::ReplaceCommand{uid, seq(set), std::move(mailbox), std::move(m)};
}

TEST_CASE("Grammar: RFC 8508 5 REPLACE and UID REPLACE, the RFC's examples",
          "[parser][replace][rfc8508]") {
    const std::string body = "Date: Thu, 1 Jan 2015 00:05:00 -0500 (EST)\r\n\r\nhi\r\n";
    check_all_parse({
        {"A003 REPLACE 4 Drafts (\\Seen \\Draft) " + lit(body),
         Command{"A003", replace("4", "Drafts", message(body, {"\\Seen", "\\Draft"}))}},
        {"A004 UID REPLACE 2000 Drafts (\\Seen \\Draft) " + lit(body),
         Command{"A004", replace("2000", "Drafts", message(body, {"\\Seen", "\\Draft"}), true)}},
        // RFC 8508 4.2: with CATENATE.
        {"A011 UID REPLACE 3002 Drafts CATENATE (TEXT " + lit("To: Mitzy\r\n") +
             " URL \"/Drafts/;UID=3002\")",
         Command{"A011",
                 replace("3002", "Drafts",
                         catenated({text_part("To: Mitzy\r\n"), url_part("/Drafts/;UID=3002")}),
                         true)}},
        {"A001 replace * inbox \"17-Jul-1996 02:44:25 -0700\" ~{2+}\r\na\0"s,
         a001(replace("*", "INBOX",
                      message("a\0"s, {}, DateTime{Date{1996, 7, 17}, 2, 44, 25, -420}, true)))},
    });
}

TEST_CASE("Grammar: RFC 4469 5 APPEND with CATENATE, the RFC's examples",
          "[parser][catenate][rfc4469]") {
    const std::string boundary = "\r\n--------------030308070208000400050907\r\n";
    check_all_parse({
        // Appendix A, example 1.
        {"A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL "
         "\"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER\" TEXT " +
             lit(boundary) +
             " URL \"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME\" URL "
             "\"/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1\" TEXT " +
             lit(boundary) + " URL \"/Drafts;UIDVALIDITY=385759045/;UID=30\")",
         Command{"A003",
                 AppendCommand{
                     "Drafts",
                     {catenated(
                         {url_part("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER"),
                          text_part(boundary),
                          url_part("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1.MIME"),
                          url_part("/Drafts;UIDVALIDITY=385759045/;UID=20/;section=1"),
                          text_part(boundary), url_part("/Drafts;UIDVALIDITY=385759045/;UID=30")},
                         {"\\Seen", "\\Draft", "$MDNSent"})}}}},
        // MULTIAPPEND with CATENATE and a plain message; URL as an atom,
        // TEXT as a literal8; keywords in any case.
        {"A001 APPEND INBOX catenate (url /INBOX/;UID=1 text ~{1}\r\n\0) "s + lit("x"),
         a001(AppendCommand{
             "INBOX",
             {catenated({url_part("/INBOX/;UID=1"), text_part("\0"s, true)}), message("x")}})},
    });
}

TEST_CASE("Grammar errors: REPLACE and CATENATE", "[parser][error][replace][catenate]") {
    check_all_fail({
        {"A001 REPLACE 1:2 INBOX {1}\r\nx", "Expected one message sequence number"},
        {"A001 UID REPLACE 1,2 INBOX {1}\r\nx", "Expected one message UID"},
        {"A001 REPLACE $ INBOX {1}\r\nx", "Expected one message"},
        {"A001 REPLACE 0 INBOX {1}\r\nx", ""},
        {"A001 REPLACE 1 INBOX", ""},
        {"A001 REPLACE 1 {1}\r\nx", ""},
        {"A001 REPLACE 1 INBOX {1}\r\nx {1}\r\ny", ""},
        {"A001 APPEND INBOX CATENATE ()", "Empty CATENATE list"},
        {"A001 APPEND INBOX CATENATE (FOO x)", "Expected TEXT, URL or UTF8 in CATENATE, not FOO"},
        {"A001 APPEND INBOX CATENATE (TEXT \"x\")", ""},
        {"A001 APPEND INBOX CATENATE (URL)", ""},
        {"A001 APPEND INBOX CATENATE (URL x", ""},
        {"A001 APPEND INBOX CATENATE (URL x  URL y)", ""},
        {"A001 APPEND INBOX CATENATE URL x", ""},
    });
    std::string many = "A001 APPEND INBOX CATENATE (URL x";
    for (std::size_t i = 1; i <= imap::limits::kMaxCatenateParts; ++i)
        many += " URL x";
    check_fails(many + ")", "A001"s, "Too many CATENATE parts (at most 1000)");
}

AppendMessage utf8_message(std::string body, std::vector<Flag> flags = {}) {
    AppendMessage m = message(std::move(body), std::move(flags), std::nullopt, true);
    m.utf8 = true;
    return m;
}

TEST_CASE("Grammar: RFC 6855 4 APPEND UTF8 data extension, also as a cat-part",
          "[parser][utf8][rfc6855]") {
    const std::string header =
        "Subject: Gr\xC3\xBC\xC3\x9F"
        "e\r\n\r\nx\r\n";
    imap::CatenatePart utf8_part{false, header, true, true};
    check_all_parse({
        {"A001 APPEND INBOX UTF8 (~{" + std::to_string(header.size()) + "+}\r\n" + header + ")",
         a001(AppendCommand{"INBOX", {utf8_message(header)}})},
        // Flags and date first, keyword in any case, MULTIAPPEND after it.
        {"A001 APPEND INBOX (\\Seen) utf8 (~{" + std::to_string(header.size()) + "}\r\n" + header +
             ") " + lit("x"),
         a001(AppendCommand{"INBOX", {utf8_message(header, {"\\Seen"}), message("x")}})},
        {"A001 APPEND INBOX CATENATE (UTF8 (~{" + std::to_string(header.size()) + "+}\r\n" +
             header + ") URL /INBOX/;UID=1)",
         a001(AppendCommand{"INBOX", {catenated({utf8_part, url_part("/INBOX/;UID=1")})}})},
    });
}

TEST_CASE("Grammar errors: RFC 6855 4 UTF8 data takes a literal8 in parentheses",
          "[parser][error][utf8][rfc6855]") {
    check_all_fail({
        {"A001 APPEND INBOX UTF8 ({1+}\r\nx)", "UTF8 data takes a literal8"},
        {"A001 APPEND INBOX UTF8 ~{1+}\r\nx", "'(' after UTF8"},
        {"A001 APPEND INBOX UTF8 (~{1+}\r\nx", "')' closing the UTF8 data"},
        {"A001 APPEND INBOX UTF8(~{1+}\r\nx)", ""},
        {"A001 APPEND INBOX CATENATE (UTF8 {1+}\r\nx)", ""},
    });
}

TEST_CASE("Grammar: RFC 9051 6.3.11 STATUS DELETED", "[parser][rev2]") {
    check_all_parse({
        {"A001 STATUS INBOX (DELETED MESSAGES)",
         a001(StatusCommand{"INBOX", {StatusItem::Deleted, StatusItem::Messages}})},
    });
}

TEST_CASE("Grammar: STORE with the UNCHANGEDSINCE modifier", "[parser][condstore]") {
    check_all_parse({
        {"A001 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)",
         a001(conditional_store("6,4,8", 12121230045, Mode::Add, true, {"\\Deleted"}, true))},
        {"A001 STORE * (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted $Processed)",
         a001(conditional_store("*", 12121230045, Mode::Add, true, {"\\Deleted", "$Processed"}))},
        {"A001 STORE 12 (unchangedsince 0) +FLAGS.SILENT $MDNSent",
         a001(conditional_store("12", 0, Mode::Add, true, {"$MDNSent"}))},
        {"A001 STORE 1 (UNCHANGEDSINCE 5) FLAGS ()",
         a001(conditional_store("1", 5, Mode::Replace, false, {}))},
        {"A001 STORE 1:7 (UNCHANGEDSINCE 320172338) -FLAGS \\Seen \\Flagged",
         a001(conditional_store("1:7", 320172338, Mode::Remove, false, {"\\Seen", "\\Flagged"}))},
    });
}

TEST_CASE("Grammar: SEARCH MODSEQ with and without entry-name and entry-type",
          "[parser][condstore]") {
    check_all_parse({
        {"A001 SEARCH MODSEQ 620162338", a001(search({modseq_key(620162338)}))},
        {"A001 SEARCH modseq 0", a001(search({modseq_key(0)}))},
        {"A001 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
         a001(search({modseq_key(620162338, "/flags/\\draft", "all")}))},
        {"A001 UID SEARCH MODSEQ \"/flags/$MDNSent\" PRIV 5 UNSEEN",
         a001(search({modseq_key(5, "/flags/$MDNSent", "PRIV"), key(SK::Unseen)}, std::nullopt,
                     true))},
        {"A001 SEARCH OR NOT MODSEQ 720162338 LARGER 50000",
         a001(search({or_key(not_key(modseq_key(720162338)), number_key(SK::Larger, 50000))}))},
        {"A001 SEARCH (MODSEQ \"/flags/\\\\seen\" shared 1)",
         a001(search({and_key({modseq_key(1, "/flags/\\seen", "shared")})}))},
    });
}

// RFC 8474 7: status-att =/ "MAILBOXID"; fetch-att =/ "EMAILID" /
// "THREADID"; search-key =/ "EMAILID" SP objectid / "THREADID" SP objectid.
// RFC 8514 5: fetch-att =/ "SAVEDATE". RFC 8970 6: fetch-att =/ "PREVIEW"
// [SP "(" preview-mod *(SP preview-mod) ")"].
TEST_CASE("Grammar: OBJECTID, SAVEDATE and PREVIEW items", "[parser][objectid]") {
    FetchItem lazy = item(FK::Preview);
    lazy.lazy = true;
    FetchCommand modified = fetch("1", {item(FK::Preview)});
    modified.changed_since = 5;
    check_all_parse({
        {"6 status foo (mailboxid)", Command{"6", StatusCommand{"foo", {StatusItem::MailboxId}}}},
        {"A001 STATUS INBOX (MESSAGES MAILBOXID)",
         a001(StatusCommand{"INBOX", {StatusItem::Messages, StatusItem::MailboxId}})},
        {"22 fetch 1:* (emailid threadid)",
         Command{"22", fetch("1:*", {item(FK::EmailId), item(FK::ThreadId)})}},
        {"A101 FETCH 998 (SAVEDATE)", Command{"A101", fetch("998", {item(FK::SaveDate)})}},
        {"A001 FETCH 1 SAVEDATE", a001(fetch("1", {item(FK::SaveDate)}))},
        {"A1 FETCH 1 (PREVIEW)", Command{"A1", fetch("1", {item(FK::Preview)})}},
        {"A001 FETCH 1 PREVIEW", a001(fetch("1", {item(FK::Preview)}))},
        {"B1 FETCH 1:4 (ENVELOPE PREVIEW (LAZY))",
         Command{"B1", fetch("1:4", {item(FK::Envelope), lazy})}},
        {"A001 FETCH 1 PREVIEW (lazy LAZY)", a001(fetch("1", {lazy}))},
        {"A001 FETCH 1 PREVIEW (LAZY)", a001(fetch("1", {lazy}))},
        {"A001 FETCH 1 (PREVIEW (LAZY) UID)", a001(fetch("1", {lazy, item(FK::Uid)}))},
        {"C3 FETCH $ (UID PREVIEW (LAZY))", Command{"C3", fetch("$", {item(FK::Uid), lazy})}},
        // fetch-modifiers after a lone PREVIEW (RFC 4466 2.4), not preview-mods.
        {"A001 FETCH 1 PREVIEW (CHANGEDSINCE 5)", a001(modified)},
        {"A001 SEARCH EMAILID \"M1\"", a001(search({text_key(SK::EmailId, "M1")}))},
        {"A001 SEARCH THREADID " + std::string(255, 'T'),
         a001(search({text_key(SK::ThreadId, std::string(255, 'T'))}))},
    });
    check_all_fail({
        {"A001 STATUS INBOX (MAILBOXID X)", "Unknown status item"},
        {"A001 FETCH 1 (PREVIEW ())", "Expected atom"},
        {"A001 FETCH 1 (PREVIEW (FUZZY))", "Unknown PREVIEW modifier FUZZY"},
        {"A001 FETCH 1 PREVIEW (FUZZY)", "Unknown FETCH modifier FUZZY"},
        {"A001 FETCH 1 (PREVIEW (LAZY)", ""},
        {"A001 FETCH 1 PREVIEW (LAZY FUZZY)", "Unknown PREVIEW modifier FUZZY"},
        {"A001 SEARCH EMAILID", "Expected SP"},
        {"A001 SEARCH EMAILID M.1", "Invalid objectid"},
        {"A001 SEARCH EMAILID \"\"", "Invalid objectid"},
        {"A001 SEARCH THREADID " + std::string(256, 'T'), "Invalid objectid"},
        {"A001 SEARCH THREADID \"T 1\"", "Invalid objectid"},
        {"A001 SEARCH SAVEDON", "Expected SP"},
        {"A001 SEARCH SAVEDBEFORE 2015-01-01", ""},
    });
}

TEST_CASE("Grammar: STATUS HIGHESTMODSEQ", "[parser][condstore]") {
    check_all_parse({
        {"A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)",
         Command{"A042", StatusCommand{"blurdybloop",
                                       {StatusItem::UidNext, StatusItem::Messages,
                                        StatusItem::HighestModSeq}}}},
        {"A001 STATUS INBOX (highestmodseq)",
         a001(StatusCommand{"INBOX", {StatusItem::HighestModSeq}})},
    });
}

TEST_CASE("Grammar errors: CONDSTORE and QRESYNC modifiers and parameters",
          "[parser][error][condstore]") {
    check_all_fail({
        {"A001 SELECT INBOX ()", ""},
        {"A001 SELECT INBOX (FOO)", "Unknown select parameter"},
        {"A001 SELECT INBOX (CONDSTORE CONDSTORE)", "Duplicate"},
        {"A001 SELECT INBOX (CONDSTORE", ""},
        {"A001 SELECT INBOX CONDSTORE", ""},
        {"A001 SELECT INBOX (QRESYNC)", ""},
        {"A001 SELECT INBOX (QRESYNC ())", ""},
        {"A001 SELECT INBOX (QRESYNC (1))", ""},
        {"A001 SELECT INBOX (QRESYNC (0 1))", ""},
        {"A001 SELECT INBOX (QRESYNC (1 0))", "positive"},
        {"A001 SELECT INBOX (QRESYNC (1 2 1:*))", "not allowed"},
        {"A001 SELECT INBOX (QRESYNC (1 2 1:5 (1:*  1:5)))", ""},
        {"A001 SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:*)))", "not allowed"},
        {"A001 SELECT INBOX (QRESYNC (1 2 1:5 (1:2)))", ""},
        {"A001 SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:4) 7))", ""},
        {"A001 SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))", "Duplicate"},
        {"A001 SELECT INBOX (QRESYNC (1 9223372036854775808))", "too large"},
        {"A001 EXAMINE INBOX (CONDSTORE) x", ""},
        {"A001 FETCH 1 (FLAGS) (VANISHED CHANGEDSINCE 1)", "only valid in UID FETCH"},
        {"A001 UID FETCH 1 (FLAGS) (VANISHED)", "without CHANGEDSINCE"},
        {"A001 UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)", "Duplicate"},
        {"A001 UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED VANISHED)", "Duplicate"},
        {"A001 FETCH 1 (FLAGS) (CHANGEDSINCE)", ""},
        {"A001 FETCH 1 (FLAGS) (CHANGEDSINCE x)", ""},
        {"A001 FETCH 1 (FLAGS) (FOO 1)", "Unknown FETCH modifier"},
        {"A001 FETCH 1 (FLAGS) ()", ""},
        {"A001 FETCH 1 (FLAGS) (CHANGEDSINCE 1", ""},
        {"A001 STORE 1 (UNCHANGEDSINCE 1) ", ""},
        {"A001 STORE 1 (UNCHANGEDSINCE) +FLAGS x", ""},
        {"A001 STORE 1 (FOO 1) +FLAGS x", "Unknown STORE modifier"},
        {"A001 STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) +FLAGS x", "Duplicate"},
        {"A001 STORE 1 +FLAGS x (UNCHANGEDSINCE 1)", ""},
        {"A001 SEARCH MODSEQ", ""},
        {"A001 SEARCH MODSEQ x", ""},
        {"A001 SEARCH MODSEQ \"/flags/x\" 5", ""},
        {"A001 SEARCH MODSEQ \"/flags/x\" some 5", "entry type"},
        {"A001 SEARCH MODSEQ \"/flags/x\" all", ""},
        {"A001 STATUS INBOX (HIGHESTMODSEQ FOO)", "Unknown status item"},
    });
}

TEST_CASE("RFC 7162 examples: every client command of the CONDSTORE and QRESYNC sections",
          "[rfc7162][example]") {
    const std::vector<std::string> lines = {
        "A142 SELECT INBOX",
        "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)",
        "a104 STORE * (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted $Processed)",
        "c101 STORE 50 (UNCHANGEDSINCE 12121230045) -FLAGS.SILENT (\\Deleted)",
        "d105 STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)",
        "a102 STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)",
        "a106 STORE 100:150 (UNCHANGEDSINCE 212030000000) +FLAGS.SILENT ($Processed)",
        "B001 STORE 1:7 (UNCHANGEDSINCE 320172338) +FLAGS (\\SEEN)",
        "e105 STORE 7,3:9 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)",
        "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)",
        "a FETCH 1:3 (MODSEQ)",
        "a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338",
        "t SEARCH OR NOT MODSEQ 720162338 LARGER 50000",
        "A042 STATUS blurdybloop (UIDNEXT MESSAGES HIGHESTMODSEQ)",
        "A142 SELECT INBOX (CONDSTORE)",
        "A02 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
        "A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))",
        "A04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997))",
        "B04 SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 "
        "15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
        "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
        "s101 UID SEARCH 300:500",
        "A01 ENABLE QRESYNC",
    };
    for (const std::string& line : lines) {
        INFO(line);
        ParseResult result = parse_one(line + "\r\n");
        if (const auto* error = std::get_if<ParseError>(&result)) FAIL(error->message);
        check_round_trip(std::get<Command>(result));
    }
}

// ---- SORT and THREAD (RFC 5256 5, RFC 5957, RFC 5267 3) ----

namespace {

SortCommand sort_command(std::vector<SortCriterion> criteria, std::string charset,
                         std::vector<SearchKey> keys, bool uid = false,
                         std::optional<SearchReturnOptions> returns = std::nullopt) {
    SortCommand c;
    c.uid = uid;
    c.return_options = returns;
    c.criteria = std::move(criteria);
    c.charset = std::move(charset);
    c.key.kind = SK::And;
    c.key.children = std::move(keys);
    return c;
}

ThreadCommand thread_command(std::string algorithm, std::string charset,
                             std::vector<SearchKey> keys, bool uid = false) {
    ThreadCommand c;
    c.uid = uid;
    c.algorithm = std::move(algorithm);
    c.charset = std::move(charset);
    c.key.kind = SK::And;
    c.key.children = std::move(keys);
    return c;
}

using SortKey = SortCriterion::Key;

}  // namespace

TEST_CASE("Grammar: RFC 5256 SORT and THREAD, RFC 5957 DISPLAYFROM/DISPLAYTO, RFC 5267 ESORT",
          "[parser][sort]") {
    check_all_parse({
        // RFC 5256 3 examples.
        {"A282 SORT (SUBJECT) UTF-8 SINCE 1-Feb-1994",
         Command{"A282", sort_command({{SortKey::Subject}}, "UTF-8",
                                      {date_key(SK::Since, Date{1994, 2, 1})})}},
        {"A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
         Command{"A283", sort_command({{SortKey::Subject}, {SortKey::Date, true}}, "UTF-8",
                                      {key(SK::All)})}},
        {"A284 SORT (SUBJECT) US-ASCII TEXT \"not in mailbox\"",
         Command{"A284", sort_command({{SortKey::Subject}}, "US-ASCII",
                                      {text_key(SK::Text, "not in mailbox")})}},
        {"A001 uid sort (arrival cc date from size to displayfrom reverse displayto) \"utf-8\" "
         "seen 1:5",
         a001(sort_command({{SortKey::Arrival},
                            {SortKey::Cc},
                            {SortKey::Date},
                            {SortKey::From},
                            {SortKey::Size},
                            {SortKey::To},
                            {SortKey::DisplayFrom},
                            {SortKey::DisplayTo, true}},
                           "utf-8", {key(SK::Seen), set_key(SK::SequenceSet, "1:5")}, true))},
        // RFC 5267 3.3 example.
        {"E01 UID SORT RETURN () (REVERSE DATE) UTF-8 UNDELETED UNKEYWORD $Junk",
         Command{"E01", sort_command({{SortKey::Date, true}}, "UTF-8",
                                     {key(SK::Undeleted), text_key(SK::Unkeyword, "$Junk")}, true,
                                     SearchReturnOptions{false, false, true, false})}},
        {"A001 SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL",
         a001(sort_command({{SortKey::Date}}, "UTF-8", {key(SK::All)}, false,
                           SearchReturnOptions{true, true, false, true}))},
        // RFC 5256 3 THREAD examples; any atom parses as an algorithm.
        {"A283 THREAD ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000",
         Command{"A283", thread_command("ORDEREDSUBJECT", "UTF-8",
                                        {date_key(SK::Since, Date{2000, 3, 5})})}},
        {"A284 THREAD ORDEREDSUBJECT US-ASCII TEXT \"gewp\"",
         Command{"A284",
                 thread_command("ORDEREDSUBJECT", "US-ASCII", {text_key(SK::Text, "gewp")})}},
        {"A001 uid thread references UTF-8 ALL",
         a001(thread_command("REFERENCES", "UTF-8", {key(SK::All)}, true))},
        {"A001 THREAD refs UTF-8 NOT 1",
         a001(thread_command("REFS", "UTF-8", {not_key(set_key(SK::SequenceSet, "1"))}))},
        {"A001 THREAD X-OTHER UTF-8 ALL", a001(thread_command("X-OTHER", "UTF-8", {key(SK::All)}))},
    });
    check_all_fail({
        {"A001 SORT DATE UTF-8 ALL", "("},       // criteria are a list
        {"A001 SORT () UTF-8 ALL", ""},          // at least one criterion
        {"A001 SORT (NAME) UTF-8 ALL", "NAME"},  // unknown key
        {"A001 SORT (REVERSE) UTF-8 ALL", ""},   // REVERSE needs a key
        {"A001 SORT (DATE) ALL", ""},            // the charset is mandatory
        {"A001 SORT (DATE) UTF-8", ""},          // and a search key
        {"A001 THREAD UTF-8 ALL", ""},           // the algorithm is missing
        {"A001 THREAD REFERENCES UTF-8", ""},
    });
}

TEST_CASE("Grammar: RFC 5267 5 CONTEXT, UPDATE and CANCELUPDATE", "[parser][context][rfc5267]") {
    SearchReturnOptions context_count;
    context_count.context = context_count.count = true;
    SearchReturnOptions update_count;
    update_count.update = update_count.count = true;
    SearchReturnOptions update;
    update.update = true;
    // RETURN (CONTEXT) alone asks for what RETURN () does: ALL (4.2).
    SearchReturnOptions context_only;
    context_only.context = context_only.all = true;
    SearchReturnOptions update_partial;
    update_partial.update = true;
    update_partial.partial = imap::PartialRange{23500, 24000, false};
    using imap::CancelUpdateCommand;
    check_all_parse({
        // 4.2, 4.3, 4.3.1, 4.4 examples (the SORT ones with the criteria and
        // charset their lines lack), 4.3.5.
        {"A01 SEARCH RETURN (CONTEXT COUNT) UNDELETED UNKEYWORD $Junk",
         Command{"A01", with_options(search({key(SK::Undeleted), text_key(SK::Unkeyword, "$Junk")}),
                                     context_count)}},
        {"B01 UID SEARCH RETURN (UPDATE COUNT) DELETED KEYWORD $Junk",
         Command{"B01", with_options(search({key(SK::Deleted), text_key(SK::Keyword, "$Junk")},
                                            std::nullopt, true),
                                     update_count)}},
        {"B01 SORT RETURN (UPDATE) (DATE) UTF-8 FLAGGED",
         Command{"B01", sort_command({{SortKey::Date, false}}, "UTF-8", {key(SK::Flagged)}, false,
                                     update)}},
        {"B02 UID SORT RETURN (UPDATE COUNT) (DATE) UTF-8 KEYWORD $Junk",
         Command{"B02", sort_command({{SortKey::Date, false}}, "UTF-8",
                                     {text_key(SK::Keyword, "$Junk")}, true, update_count)}},
        {"A02 UID SEARCH RETURN (UPDATE PARTIAL 23500:24000) UNDELETED",
         Command{"A02",
                 with_options(search({key(SK::Undeleted)}, std::nullopt, true), update_partial)}},
        {"A00 SEARCH RETURN (context) ALL",
         Command{"A00", with_options(search({key(SK::All)}), context_only)}},
        {"B04 CANCELUPDATE \"B01\"", Command{"B04", CancelUpdateCommand{{"B01"}}}},
        {"B04 canCELupdate \"B01\" \"x y\" \"\"",
         Command{"B04", CancelUpdateCommand{{"B01", "x y", ""}}}},
    });
    check_all_fail({
        // 1*(SP quoted): not an atom, not a literal, at least one.
        {"A001 CANCELUPDATE B01", "quoted"},
        {"A001 CANCELUPDATE", ""},
        {"A001 CANCELUPDATE \"B01\" B02", "quoted"},
        {"A001 UID CANCELUPDATE \"B01\"", ""},
        {"A001 SEARCH RETURN (UPDATES) ALL", "UPDATES"},
    });
    CHECK(write_command(Command{"T", CancelUpdateCommand{{"a", "b"}}}) ==
          "T CANCELUPDATE \"a\" \"b\"\r\n");
}

namespace {

using imap::NotifyCommand;
using imap::NotifyEvent;
using imap::NotifyEventGroup;
using NotifyKind = imap::NotifyEvent::Kind;
using NotifyFilter = imap::NotifyEventGroup::Filter;

NotifyEvent event(NotifyKind kind, std::vector<FetchItem> fetch = {}) {
    return NotifyEvent{kind, {}, std::move(fetch)};
}

NotifyEventGroup group(NotifyFilter filter, std::vector<NotifyEvent> events,
                       std::vector<std::string> mailboxes = {}) {
    return NotifyEventGroup{filter, std::move(mailboxes), std::move(events)};
}

NotifyCommand notify_set(std::vector<NotifyEventGroup> groups, bool status = false) {
    return NotifyCommand{false, status, std::move(groups)};
}

FetchItem header_fields(std::vector<std::string> fields) {
    FetchItem item;
    item.kind = FetchItem::Kind::BodySection;
    item.peek = true;
    item.section.text = imap::SectionSpec::Text::HeaderFields;
    item.section.fields = std::move(fields);
    return item;
}

FetchItem simple_item(FetchItem::Kind kind) {
    FetchItem item;
    item.kind = kind;
    return item;
}

}  // namespace

TEST_CASE("Grammar: RFC 5465 8 NOTIFY SET and NOTIFY NONE", "[parser][notify][rfc5465]") {
    const NotifyEvent message_new = event(NotifyKind::MessageNew);
    const NotifyEvent message_expunge = event(NotifyKind::MessageExpunge);
    check_all_parse({
        {"a NOTIFY NONE", Command{"a", NotifyCommand{true, false, {}}}},
        {"a notify none", Command{"a", NotifyCommand{true, false, {}}}},
        // RFC 5465 3.1's example e (its b writes "(subtree Lists
        // MessageNew)", which the ABNF does not allow: events is a list or
        // NONE; see the failures below).
        {"e notify set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) "
         "MessageExpunge)) (subtree Lists (MessageNew)) (mailboxes misc (MessageNew))",
         Command{"e", notify_set({group(NotifyFilter::Selected,
                                        {event(NotifyKind::MessageNew,
                                               {simple_item(FetchItem::Kind::Uid),
                                                header_fields({"from", "to", "subject"})}),
                                         message_expunge}),
                                  group(NotifyFilter::Subtree, {message_new}, {"Lists"}),
                                  group(NotifyFilter::Mailboxes, {message_new}, {"misc"})})}},
        // 6: the two examples.
        {"a notify set (mailboxes INBOX (Messagenew messageExpunge)) (personal "
         "(SubscriptionChange))",
         Command{
             "a",
             notify_set({group(NotifyFilter::Mailboxes, {message_new, message_expunge}, {"INBOX"}),
                         group(NotifyFilter::Personal, {event(NotifyKind::SubscriptionChange)})})}},
        {"a notify set (selected (Messagenew (uid flags) messageExpunge)) (personal (MessageNew "
         "FlagChange MessageExpunge))",
         Command{"a",
                 notify_set(
                     {group(NotifyFilter::Selected,
                            {event(NotifyKind::MessageNew, {simple_item(FetchItem::Kind::Uid),
                                                            simple_item(FetchItem::Kind::Flags)}),
                             message_expunge}),
                      group(NotifyFilter::Personal,
                            {message_new, event(NotifyKind::FlagChange), message_expunge})})}},
        // Every filter, STATUS, NONE as the events, a list of mailboxes
        // (INBOX normalised), every event name, an event-ext atom.
        {"a NOTIFY SET STATUS (SELECTED-DELAYED NONE) (INBOXES (MailboxName)) (SUBSCRIBED "
         "(MailboxMetadataChange ServerMetadataChange)) (SUBTREE (inbox \"a b\") "
         "(AnnotationChange)) (MAILBOXES (x y) (X-Future))",
         Command{
             "a",
             notify_set({group(NotifyFilter::SelectedDelayed, {}),
                         group(NotifyFilter::Inboxes, {event(NotifyKind::MailboxName)}),
                         group(NotifyFilter::Subscribed, {event(NotifyKind::MailboxMetadataChange),
                                                          event(NotifyKind::ServerMetadataChange)}),
                         group(NotifyFilter::Subtree, {event(NotifyKind::AnnotationChange)},
                               {"INBOX", "a b"}),
                         group(NotifyFilter::Mailboxes,
                               {NotifyEvent{NotifyKind::Other, "X-FUTURE", {}}}, {"x", "y"})},
                        true)}},
    });
    check_all_fail({
        {"A001 NOTIFY", ""},
        {"A001 NOTIFY ALL", "SET or NONE"},
        {"A001 NOTIFY SET", ""},
        {"A001 NOTIFY SET STATUS", ""},
        {"A001 NOTIFY NONE (selected (MessageNew))", ""},
        // RFC 5465 3.1's example b: the events of a group are a list.
        {"A001 notify set (subtree Lists MessageNew)", "NONE"},
        {"A001 NOTIFY SET (elsewhere (MessageNew MessageExpunge))", "filter"},
        {"A001 NOTIFY SET (selected)", ""},
        {"A001 NOTIFY SET (selected ())", ""},
        {"A001 NOTIFY SET (subtree (MessageNew))", ""},
        {"A001 NOTIFY SET (mailboxes () (MessageNew))", ""},
        {"A001 NOTIFY SET (selected (MessageNew ()))", ""},
        {"A001 NOTIFY SET (selected (MessageNew (BOGUS)))", "BOGUS"},
        {"A001 NOTIFY SET (selected (MessageNew MessageExpunge)", ""},
        {"A001 NOTIFY SET (selected (MessageNew MessageExpunge))(personal NONE)", ""},
    });
    CHECK(write_command(Command{"T", notify_set({group(NotifyFilter::Subtree,
                                                       {message_new, message_expunge}, {"Lists"})},
                                                true)}) ==
          "T NOTIFY SET STATUS (SUBTREE Lists (MessageNew MessageExpunge))\r\n");
    CHECK(write_command(Command{"T", NotifyCommand{true, false, {}}}) == "T NOTIFY NONE\r\n");
}
