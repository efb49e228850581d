#include "protocol/command_writer.h"

#include <algorithm>
#include <concepts>
#include <initializer_list>
#include <string_view>
#include <type_traits>
#include <utility>

#include "protocol/chars.h"

namespace imap {
namespace {

// Longest value written inline (atom or quoted). Longer ones go as literals,
// as common clients do, so a command line stays far below the server's
// limits::kMaxLineLength however long its strings are.
constexpr std::size_t kMaxInlineLength = 1024;

// ---- Keyword tables: one row per grammar alternative ----

template <typename Enum>
struct Keyword {
    Enum value;
    std::string_view name;
};

template <typename Enum, std::size_t N>
std::string_view keyword_of(const Keyword<Enum> (&table)[N], Enum value) {
    for (const auto& row : table) {
        if (row.value == value) return row.name;
    }
    return {};  // unreachable for valid enum values
}

// status-att (RFC 3501 9)
constexpr Keyword<StatusItem> kStatusItems[] = {
    {StatusItem::Messages, "MESSAGES"},       {StatusItem::Recent, "RECENT"},
    {StatusItem::UidNext, "UIDNEXT"},         {StatusItem::UidValidity, "UIDVALIDITY"},
    {StatusItem::Unseen, "UNSEEN"},           {StatusItem::Size, "SIZE"},
    {StatusItem::AppendLimit, "APPENDLIMIT"}, {StatusItem::HighestModSeq, "HIGHESTMODSEQ"},
    {StatusItem::MailboxId, "MAILBOXID"},     {StatusItem::Deleted, "DELETED"},
};

// fetch-att without a section (RFC 3501 9). BodySection is written apart.
constexpr Keyword<FetchItem::Kind> kFetchItems[] = {
    {FetchItem::Kind::Envelope, "ENVELOPE"},
    {FetchItem::Kind::Flags, "FLAGS"},
    {FetchItem::Kind::InternalDate, "INTERNALDATE"},
    {FetchItem::Kind::Rfc822, "RFC822"},
    {FetchItem::Kind::Rfc822Header, "RFC822.HEADER"},
    {FetchItem::Kind::Rfc822Size, "RFC822.SIZE"},
    {FetchItem::Kind::Rfc822Text, "RFC822.TEXT"},
    {FetchItem::Kind::Body, "BODY"},
    {FetchItem::Kind::BodyStructure, "BODYSTRUCTURE"},
    {FetchItem::Kind::Uid, "UID"},
    {FetchItem::Kind::ModSeq, "MODSEQ"},
    {FetchItem::Kind::EmailId, "EMAILID"},
    {FetchItem::Kind::ThreadId, "THREADID"},
    {FetchItem::Kind::SaveDate, "SAVEDATE"},
    {FetchItem::Kind::Preview, "PREVIEW"},
};

// section-msgtext / "MIME" (RFC 3501 9)
constexpr Keyword<SectionSpec::Text> kSectionTexts[] = {
    {SectionSpec::Text::Header, "HEADER"},
    {SectionSpec::Text::HeaderFields, "HEADER.FIELDS"},
    {SectionSpec::Text::HeaderFieldsNot, "HEADER.FIELDS.NOT"},
    {SectionSpec::Text::Text, "TEXT"},
    {SectionSpec::Text::Mime, "MIME"},
};

// search-key (RFC 3501 9): the key's name and what follows it. The two
// nameless alternatives, sequence-set and "(" search-key ... ")", are
// written apart.
enum class Argument { None, Text, HeaderPair, Keyword, Date, Number, Key, TwoKeys, Set, ModSeq };
// An objectid (RFC 8474 7) is all atom characters: written as Keyword.

struct SearchKeyRow {
    SearchKey::Kind kind;
    std::string_view name;
    Argument argument;
};

constexpr SearchKeyRow kSearchKeys[] = {
    {SearchKey::Kind::All, "ALL", Argument::None},
    {SearchKey::Kind::Answered, "ANSWERED", Argument::None},
    {SearchKey::Kind::Bcc, "BCC", Argument::Text},
    {SearchKey::Kind::Before, "BEFORE", Argument::Date},
    {SearchKey::Kind::Body, "BODY", Argument::Text},
    {SearchKey::Kind::Cc, "CC", Argument::Text},
    {SearchKey::Kind::Deleted, "DELETED", Argument::None},
    {SearchKey::Kind::Draft, "DRAFT", Argument::None},
    {SearchKey::Kind::EmailId, "EMAILID", Argument::Keyword},
    {SearchKey::Kind::Flagged, "FLAGGED", Argument::None},
    {SearchKey::Kind::From, "FROM", Argument::Text},
    {SearchKey::Kind::Header, "HEADER", Argument::HeaderPair},
    {SearchKey::Kind::Keyword, "KEYWORD", Argument::Keyword},
    {SearchKey::Kind::Larger, "LARGER", Argument::Number},
    {SearchKey::Kind::ModSeq, "MODSEQ", Argument::ModSeq},
    {SearchKey::Kind::New, "NEW", Argument::None},
    {SearchKey::Kind::Not, "NOT", Argument::Key},
    {SearchKey::Kind::Old, "OLD", Argument::None},
    {SearchKey::Kind::Older, "OLDER", Argument::Number},
    {SearchKey::Kind::On, "ON", Argument::Date},
    {SearchKey::Kind::Or, "OR", Argument::TwoKeys},
    {SearchKey::Kind::Recent, "RECENT", Argument::None},
    {SearchKey::Kind::SaveDateSupported, "SAVEDATESUPPORTED", Argument::None},
    {SearchKey::Kind::SavedBefore, "SAVEDBEFORE", Argument::Date},
    {SearchKey::Kind::SavedOn, "SAVEDON", Argument::Date},
    {SearchKey::Kind::SavedSince, "SAVEDSINCE", Argument::Date},
    {SearchKey::Kind::Seen, "SEEN", Argument::None},
    {SearchKey::Kind::SentBefore, "SENTBEFORE", Argument::Date},
    {SearchKey::Kind::SentOn, "SENTON", Argument::Date},
    {SearchKey::Kind::SentSince, "SENTSINCE", Argument::Date},
    {SearchKey::Kind::Since, "SINCE", Argument::Date},
    {SearchKey::Kind::Smaller, "SMALLER", Argument::Number},
    {SearchKey::Kind::Subject, "SUBJECT", Argument::Text},
    {SearchKey::Kind::Text, "TEXT", Argument::Text},
    {SearchKey::Kind::ThreadId, "THREADID", Argument::Keyword},
    {SearchKey::Kind::To, "TO", Argument::Text},
    {SearchKey::Kind::Uid, "UID", Argument::Set},
    {SearchKey::Kind::Unanswered, "UNANSWERED", Argument::None},
    {SearchKey::Kind::Undeleted, "UNDELETED", Argument::None},
    {SearchKey::Kind::Undraft, "UNDRAFT", Argument::None},
    {SearchKey::Kind::Unflagged, "UNFLAGGED", Argument::None},
    {SearchKey::Kind::Unkeyword, "UNKEYWORD", Argument::Keyword},
    {SearchKey::Kind::Unseen, "UNSEEN", Argument::None},
    {SearchKey::Kind::Younger, "YOUNGER", Argument::Number},
};

const SearchKeyRow* find_search_key(SearchKey::Kind kind) {
    auto it = std::find_if(std::begin(kSearchKeys), std::end(kSearchKeys),
                           [kind](const SearchKeyRow& row) { return row.kind == kind; });
    return it == std::end(kSearchKeys) ? nullptr : &*it;
}

// ---- Lexical forms (RFC 3501 4 and 9) ----

template <typename Pred>
bool inline_run(std::string_view value, Pred pred) {
    return !value.empty() && value.size() <= kMaxInlineLength &&
           std::all_of(value.begin(), value.end(), pred);
}

// quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR is a TEXT-CHAR (CHAR,
// %x01-7F, except CR and LF), "\" and DQUOTE escaped.
bool quotable(std::string_view value) {
    return value.size() <= kMaxInlineLength && std::all_of(value.begin(), value.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u >= 0x01 && u <= 0x7f && c != '\r' && c != '\n';
           });
}

class Writer {
  public:
    explicit Writer(LiteralStyle style) : style_(style) {}

    Writer& raw(std::string_view text) {
        out_ += text;
        return *this;
    }
    Writer& sp() { return raw(" "); }
    Writer& number(std::uint64_t n) { return raw(std::to_string(n)); }

    // literal = "{" number ["+"] "}" CRLF *CHAR8 (RFC 3501, RFC 7888);
    // literal8 = "~{" number ["+"] "}" CRLF *OCTET (RFC 3516, RFC 4466).
    Writer& literal(std::string_view bytes, bool binary = false) {
        if (binary) out_ += '~';
        out_ += '{';
        out_ += std::to_string(bytes.size());
        if (style_ == LiteralStyle::NonSynchronising) out_ += '+';
        out_ += "}\r\n";
        out_ += bytes;
        return *this;
    }

    // string = quoted / literal
    Writer& string(std::string_view value) {
        if (!quotable(value)) return literal(value);
        out_ += '"';
        for (char c : value) {
            if (c == '"' || c == '\\') out_ += '\\';
            out_ += c;
        }
        out_ += '"';
        return *this;
    }

    // astring = 1*ASTRING-CHAR / string
    Writer& astring(std::string_view value) {
        return inline_run(value, is_astring_char) ? raw(value) : string(value);
    }

    // list-mailbox = 1*list-char / string: the wildcards stay bare.
    Writer& list_mailbox(std::string_view value) {
        return inline_run(value, is_list_char) ? raw(value) : string(value);
    }

    // nstring = string / nil. A value "NIL" is quoted by string(), so it is
    // never mistaken for nil.
    Writer& nstring(const std::optional<std::string>& value) {
        return value ? string(*value) : raw("NIL");
    }

    // flag-list = "(" [flag *(SP flag)] ")". Flags are atoms or "\" atom and
    // have no quoted form.
    Writer& flag_list(const std::vector<Flag>& flags) {
        raw("(");
        for (std::size_t i = 0; i < flags.size(); ++i) {
            if (i > 0) sp();
            raw(flags[i]);
        }
        return raw(")");
    }

    Writer& sequence_set(const SequenceSet& set) { return raw(set.to_string()); }

    std::string finish() && {
        out_ += "\r\n";
        return std::move(out_);
    }

  private:
    LiteralStyle style_;
    std::string out_;
};

// ---- FETCH ----

// section = "[" [section-spec] "]"; section-spec = section-msgtext /
// (section-part ["." section-text]); header-list = "(" header-fld-name
// *(SP header-fld-name) ")" with header-fld-name = astring.
void write_section(Writer& w, const SectionSpec& section) {
    w.raw("[");
    for (std::size_t i = 0; i < section.part.size(); ++i) {
        if (i > 0) w.raw(".");
        w.number(section.part[i]);
    }
    if (section.text != SectionSpec::Text::None) {
        if (!section.part.empty()) w.raw(".");
        w.raw(keyword_of(kSectionTexts, section.text));
        if (section.text == SectionSpec::Text::HeaderFields ||
            section.text == SectionSpec::Text::HeaderFieldsNot) {
            w.raw(" (");
            for (std::size_t i = 0; i < section.fields.size(); ++i) {
                if (i > 0) w.sp();
                w.astring(section.fields[i]);
            }
            w.raw(")");
        }
    }
    w.raw("]");
}

// "BODY" section ["<" number "." nz-number ">"] / "BODY.PEEK" section [...]
// "BINARY" [".PEEK"] section-binary [partial] / "BINARY.SIZE"
// section-binary (RFC 3516 7)
void write_fetch_item(Writer& w, const FetchItem& item) {
    using Kind = FetchItem::Kind;
    if (item.kind == Kind::BinarySection || item.kind == Kind::BinarySize) {
        w.raw(item.kind == Kind::BinarySize ? "BINARY.SIZE" : item.peek ? "BINARY.PEEK" : "BINARY");
        SectionSpec binary_section;
        binary_section.part = item.section.part;
        write_section(w, binary_section);
    } else if (item.kind != Kind::BodySection) {
        w.raw(keyword_of(kFetchItems, item.kind));
        if (item.kind == Kind::Preview && item.lazy) w.raw(" (LAZY)");  // RFC 8970 6
        return;
    } else {
        w.raw(item.peek ? "BODY.PEEK" : "BODY");
        write_section(w, item.section);
    }
    if (item.partial) {
        w.raw("<").number(item.partial->offset).raw(".").number(item.partial->length).raw(">");
    }
}

// ---- SEARCH ----

void write_search_key(Writer& w, const SearchKey& key) {
    using Kind = SearchKey::Kind;
    if (key.kind == Kind::And) {
        // "(" search-key *(SP search-key) ")"
        w.raw("(");
        for (std::size_t i = 0; i < key.children.size(); ++i) {
            if (i > 0) w.sp();
            write_search_key(w, key.children[i]);
        }
        w.raw(")");
        return;
    }
    if (key.kind == Kind::SequenceSet) {
        w.sequence_set(key.set);
        return;
    }
    const SearchKeyRow* row = find_search_key(key.kind);
    if (row == nullptr) return;  // unreachable: every other kind has a row
    w.raw(row->name);
    switch (row->argument) {
        case Argument::None:
            break;
        case Argument::Text:
            w.sp().astring(key.text);
            break;
        case Argument::HeaderPair:
            w.sp().astring(key.text).sp().astring(key.text2);
            break;
        case Argument::Keyword:  // flag-keyword = atom
            w.sp().raw(key.text);
            break;
        case Argument::Date:  // date-text is all ATOM-CHARs: no quotes needed
            w.sp().raw(format_date(key.date));
            break;
        case Argument::Number:
            w.sp().number(key.number);
            break;
        case Argument::Key:
            w.sp();
            if (!key.children.empty()) write_search_key(w, key.children[0]);
            break;
        case Argument::TwoKeys:
            for (const SearchKey& child : key.children) {
                w.sp();
                write_search_key(w, child);
            }
            break;
        case Argument::Set:
            w.sp().sequence_set(key.set);
            break;
        case Argument::ModSeq:
            // "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
            // (RFC 7162 7)
            if (!key.text.empty()) w.sp().string(key.text).sp().raw(key.text2);
            w.sp().number(key.modseq);
            break;
    }
}

// ---- Command arguments, one overload per command that has any ----

// Commands without arguments (CAPABILITY, NOOP, LOGOUT, STARTTLS, CHECK,
// CLOSE, EXPUNGE, UNSELECT, IDLE, NAMESPACE) are the empty structs; a new
// command with fields and no overload below does not compile.
template <typename T>
requires std::is_empty_v<T>
void write_arguments(Writer&, const T&) {}

// authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")] (RFC 4959).
// The initial response is already base64; an empty one is sent as "=".
void write_arguments(Writer& w, const AuthenticateCommand& c) {
    w.sp().raw(c.mechanism);
    if (c.initial_response) {
        const std::string& response = c.initial_response->reveal();
        w.sp().raw(response.empty() ? std::string_view("=") : std::string_view(response));
    }
}

// login = "LOGIN" SP userid SP password, both astrings.
void write_arguments(Writer& w, const LoginCommand& c) {
    w.sp().astring(c.user).sp().astring(c.password.reveal());
}

// "SELECT" / "EXAMINE" / "CREATE" / "DELETE" / "SUBSCRIBE" / "UNSUBSCRIBE"
// SP mailbox, where mailbox = "INBOX" / astring.
template <typename T>
concept OneMailboxCommand = std::same_as<T, DeleteCommand> || std::same_as<T, SubscribeCommand> ||
    std::same_as<T, UnsubscribeCommand>;

template <OneMailboxCommand T>
void write_arguments(Writer& w, const T& c) {
    w.sp().astring(c.mailbox);
}

// select / examine = ... SP mailbox [select-params] (RFC 4466 2.1) with RFC
// 7162's CONDSTORE and QRESYNC parameters, in that order.
void write_select_params(Writer& w, const SelectParams& p) {
    if (!p.condstore && !p.qresync) return;
    w.raw(" (");
    if (p.condstore) w.raw("CONDSTORE");
    if (p.qresync) {
        const QresyncParams& q = *p.qresync;
        if (p.condstore) w.sp();
        w.raw("QRESYNC (").number(q.uidvalidity).sp().number(q.modseq);
        if (q.known_uids) w.sp().sequence_set(*q.known_uids);
        if (q.seq_match) {
            w.raw(" (").sequence_set(q.seq_match->first).sp().sequence_set(q.seq_match->second);
            w.raw(")");
        }
        w.raw(")");
    }
    w.raw(")");
}
void write_arguments(Writer& w, const SelectCommand& c) {
    w.sp().astring(c.mailbox);
    write_select_params(w, c.params);
}
void write_arguments(Writer& w, const ExamineCommand& c) {
    w.sp().astring(c.mailbox);
    write_select_params(w, c.params);
}

void write_arguments(Writer& w, const RenameCommand& c) {
    w.sp().astring(c.from).sp().astring(c.to);
}

// create = "CREATE" SP mailbox [SP "(" "USE" SP "(" use-attrs ")" ")"]
// (RFC 4466, RFC 6154 3). An empty USE list means none and is left out.
void write_arguments(Writer& w, const CreateCommand& c) {
    w.sp().astring(c.mailbox);
    if (!c.use.empty()) w.raw(" (USE ").flag_list(c.use).raw(")");
}

void write_status_items(Writer& w, const std::vector<StatusItem>& items) {
    w.raw("(");
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) w.sp();
        w.raw(keyword_of(kStatusItems, items[i]));
    }
    w.raw(")");
}

// Writes `names` whose flag is set as "(A B)".
void write_option_list(Writer& w, std::initializer_list<std::pair<bool, std::string_view>> names) {
    w.raw("(");
    bool first = true;
    for (const auto& [set, name] : names) {
        if (!set) continue;
        if (!first) w.sp();
        first = false;
        w.raw(name);
    }
}

// list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
//        [SP list-return-opts] (RFC 5258)
void write_arguments(Writer& w, const ListCommand& c) {
    if (c.select) {
        w.sp();
        write_option_list(w, {{c.select->subscribed, "SUBSCRIBED"},
                              {c.select->remote, "REMOTE"},
                              {c.select->recursive_match, "RECURSIVEMATCH"},
                              {c.select->special_use, "SPECIAL-USE"}});
        w.raw(")");
    }
    w.sp().astring(c.reference).sp();
    if (c.pattern_list) {
        w.raw("(").list_mailbox(c.pattern);
        for (const std::string& pattern : c.more_patterns)
            w.sp().list_mailbox(pattern);
        w.raw(")");
    } else {
        w.list_mailbox(c.pattern);
    }
    if (c.returns) {
        w.raw(" RETURN ");
        write_option_list(w, {{c.returns->subscribed, "SUBSCRIBED"},
                              {c.returns->children, "CHILDREN"},
                              {c.returns->special_use, "SPECIAL-USE"}});
        if (c.returns->status) {
            if (c.returns->subscribed || c.returns->children || c.returns->special_use) w.sp();
            w.raw("STATUS ");
            write_status_items(w, *c.returns->status);
        }
        w.raw(")");
    }
}
void write_arguments(Writer& w, const XlistCommand& c) {
    w.sp().astring(c.reference).sp().list_mailbox(c.pattern);
}
void write_arguments(Writer& w, const LsubCommand& c) {
    w.sp().astring(c.reference).sp().list_mailbox(c.pattern);
}

// status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
void write_arguments(Writer& w, const StatusCommand& c) {
    w.sp().astring(c.mailbox).sp();
    write_status_items(w, c.items);
}

// append = "APPEND" SP mailbox 1*append-message (RFC 3502)
// append-message = [SP flag-list] [SP date-time] SP (literal / literal8)
// append-message = [SP flag-list] [SP date-time] SP append-data (RFC 4466
// 2.3); append-data = literal / literal8 / CATENATE (RFC 4469 5).
void write_append_message(Writer& w, const AppendMessage& message) {
    // An empty flag list means the same as none; leave it out.
    if (!message.flags.empty()) w.sp().flag_list(message.flags);
    // date-time is always DQUOTEd.
    if (message.internal_date) {
        w.raw(" \"").raw(format_date_time(*message.internal_date)).raw("\"");
    }
    if (!message.catenate) {
        // utf8-literal = "UTF8" SP "(" literal8 ")" (RFC 6855 4)
        if (message.utf8) {
            w.raw(" UTF8 (").literal(message.message, true).raw(")");
        } else {
            w.sp().literal(message.message, message.binary);
        }
        return;
    }
    w.raw(" CATENATE (");
    for (std::size_t i = 0; i < message.catenate->size(); ++i) {
        const CatenatePart& part = (*message.catenate)[i];
        if (i > 0) w.sp();
        if (part.url) {
            w.raw("URL ").astring(part.data);
        } else if (part.utf8) {
            w.raw("UTF8 (").literal(part.data, true).raw(")");
        } else {
            w.raw("TEXT ").literal(part.data, part.binary);
        }
    }
    w.raw(")");
}

void write_arguments(Writer& w, const AppendCommand& c) {
    w.sp().astring(c.mailbox);
    for (const AppendMessage& message : c.messages)
        write_append_message(w, message);
}

// replace = "REPLACE" SP seq-number SP mailbox append-message (RFC 8508 5)
void write_arguments(Writer& w, const ReplaceCommand& c) {
    w.sp().sequence_set(c.set).sp().astring(c.mailbox);
    write_append_message(w, c.message);
}

void write_arguments(Writer& w, const UidExpungeCommand& c) {
    w.sp().sequence_set(c.uids);
}

// modifier-partial = "PARTIAL" SP partial-range (RFC 9394 4)
void write_partial(Writer& w, const PartialRange& range) {
    const std::string minus = range.from_end ? "-" : "";
    w.raw("PARTIAL " + minus + std::to_string(range.first) + ":" + minus +
          std::to_string(range.last));
}

// search-return-opts (RFC 4731, RFC 5267 3, RFC 5182 SAVE); ALL stands for "RETURN ()" too.
void write_return_options(Writer& w, const SearchReturnOptions& options) {
    w.raw(" RETURN ");
    write_option_list(w, {{options.min, "MIN"},
                          {options.max, "MAX"},
                          {options.all, "ALL"},
                          {options.count, "COUNT"},
                          {options.save, "SAVE"},
                          {options.context, "CONTEXT"},
                          {options.update, "UPDATE"}});
    if (options.partial) {
        if (options.min || options.max || options.all || options.count || options.save ||
            options.context || options.update) {
            w.sp();
        }
        write_partial(w, *options.partial);
    }
    w.raw(")");
}

// search = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key). The
// top-level And is the key list itself, so it has no parentheses.
void write_arguments(Writer& w, const SearchCommand& c) {
    if (c.return_options) write_return_options(w, *c.return_options);
    if (c.charset) w.raw(" CHARSET ").astring(*c.charset);
    if (c.key.kind != SearchKey::Kind::And) {
        write_search_key(w.sp(), c.key);
        return;
    }
    for (const SearchKey& key : c.key.children)
        write_search_key(w.sp(), key);
}

// sort = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP
// search-criteria (RFC 5256 5, RFC 5267 3).
void write_arguments(Writer& w, const SortCommand& c) {
    using Key = SortCriterion::Key;
    if (c.return_options) write_return_options(w, *c.return_options);
    w.raw(" (");
    for (std::size_t i = 0; i < c.criteria.size(); ++i) {
        if (i > 0) w.sp();
        if (c.criteria[i].reverse) w.raw("REVERSE ");
        switch (c.criteria[i].key) {
            case Key::Arrival:
                w.raw("ARRIVAL");
                break;
            case Key::Cc:
                w.raw("CC");
                break;
            case Key::Date:
                w.raw("DATE");
                break;
            case Key::From:
                w.raw("FROM");
                break;
            case Key::Size:
                w.raw("SIZE");
                break;
            case Key::Subject:
                w.raw("SUBJECT");
                break;
            case Key::To:
                w.raw("TO");
                break;
            case Key::DisplayFrom:
                w.raw("DISPLAYFROM");
                break;
            case Key::DisplayTo:
                w.raw("DISPLAYTO");
                break;
        }
    }
    w.raw(") ").astring(c.charset);
    for (const SearchKey& key : c.key.children)
        write_search_key(w.sp(), key);
}

// thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria (RFC 5256 5)
void write_arguments(Writer& w, const ThreadCommand& c) {
    w.sp().raw(c.algorithm).sp().astring(c.charset);
    for (const SearchKey& key : c.key.children)
        write_search_key(w.sp(), key);
}

// fetch = "FETCH" SP sequence-set SP (fetch-att / "(" fetch-att *(SP fetch-att)
// ")"). Macros were expanded by the parser; their items are written out.
void write_arguments(Writer& w, const FetchCommand& c) {
    w.sp().sequence_set(c.set).sp();
    if (c.items.size() == 1) {
        write_fetch_item(w, c.items.front());
    } else {
        w.raw("(");
        for (std::size_t i = 0; i < c.items.size(); ++i) {
            if (i > 0) w.sp();
            write_fetch_item(w, c.items[i]);
        }
        w.raw(")");
    }
    // fetch-modifiers (RFC 4466 2.4; RFC 7162 3.1.4.1, 3.2.6; RFC 9394 3.3)
    if (!c.changed_since && !c.partial) return;
    w.raw(" (");
    if (c.changed_since) {
        w.raw("CHANGEDSINCE ").number(*c.changed_since);
        if (c.vanished) w.raw(" VANISHED");
        if (c.partial) w.sp();
    }
    if (c.partial) write_partial(w, *c.partial);
    w.raw(")");
}

// store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / ...).
// The flag-list form is used: it is the only one that can carry no flags.
void write_arguments(Writer& w, const StoreCommand& c) {
    w.sp().sequence_set(c.set).sp();
    // store-modifiers (RFC 4466 2.5; RFC 7162 3.1.3)
    if (c.unchanged_since) w.raw("(UNCHANGEDSINCE ").number(*c.unchanged_since).raw(") ");
    if (c.mode == StoreCommand::Mode::Add) w.raw("+");
    if (c.mode == StoreCommand::Mode::Remove) w.raw("-");
    w.raw(c.silent ? "FLAGS.SILENT" : "FLAGS").sp().flag_list(c.flags);
}

// copy = "COPY" SP sequence-set SP mailbox; MOVE likewise (RFC 6851).
void write_arguments(Writer& w, const CopyCommand& c) {
    w.sp().sequence_set(c.set).sp().astring(c.mailbox);
}
void write_arguments(Writer& w, const MoveCommand& c) {
    w.sp().sequence_set(c.set).sp().astring(c.mailbox);
}

// ENABLE (RFC 5161): "ENABLE" 1*(SP capability), capabilities being atoms.
void write_arguments(Writer& w, const EnableCommand& c) {
    for (const std::string& capability : c.capabilities)
        w.sp().raw(capability);
}

// COMPRESS (RFC 4978 5): "COMPRESS" SP algorithm.
void write_arguments(Writer& w, const CompressCommand& c) {
    w.sp().raw(c.algorithm);
}

// CANCELUPDATE (RFC 5267 5): "CANCELUPDATE" 1*(SP quoted).
void write_arguments(Writer& w, const CancelUpdateCommand& c) {
    for (const std::string& tag : c.tags)
        w.sp().string(tag);
}

// NOTIFY (RFC 5465 8). One mailbox of SUBTREE/MAILBOXES is written bare,
// several as a list; event names in the RFC's spelling.
void write_arguments(Writer& w, const NotifyCommand& c) {
    using Filter = NotifyEventGroup::Filter;
    using Kind = NotifyEvent::Kind;
    if (c.none) {
        w.raw(" NONE");
        return;
    }
    w.raw(c.status ? " SET STATUS" : " SET");
    for (const NotifyEventGroup& group : c.groups) {
        w.raw(" (");
        switch (group.filter) {
            case Filter::Selected:
                w.raw("SELECTED");
                break;
            case Filter::SelectedDelayed:
                w.raw("SELECTED-DELAYED");
                break;
            case Filter::Inboxes:
                w.raw("INBOXES");
                break;
            case Filter::Personal:
                w.raw("PERSONAL");
                break;
            case Filter::Subscribed:
                w.raw("SUBSCRIBED");
                break;
            case Filter::Subtree:
                w.raw("SUBTREE");
                break;
            case Filter::Mailboxes:
                w.raw("MAILBOXES");
                break;
        }
        if (group.filter == Filter::Subtree || group.filter == Filter::Mailboxes) {
            w.sp();
            if (group.mailboxes.size() == 1) {
                w.astring(group.mailboxes.front());
            } else {
                w.raw("(");
                for (std::size_t i = 0; i < group.mailboxes.size(); ++i) {
                    if (i > 0) w.sp();
                    w.astring(group.mailboxes[i]);
                }
                w.raw(")");
            }
        }
        if (group.events.empty()) {
            w.raw(" NONE)");
            continue;
        }
        w.raw(" (");
        for (std::size_t i = 0; i < group.events.size(); ++i) {
            const NotifyEvent& event = group.events[i];
            if (i > 0) w.sp();
            w.raw(event.kind == Kind::Other ? std::string_view(event.other)
                                            : notify_event_name(event.kind));
            if (event.fetch.empty()) continue;
            w.raw(" (");
            for (std::size_t j = 0; j < event.fetch.size(); ++j) {
                if (j > 0) w.sp();
                write_fetch_item(w, event.fetch[j]);
            }
            w.raw(")");
        }
        w.raw("))");
    }
}

// ID (RFC 2971): "ID" SP ("(" #(string SP nstring) ")" / nil)
void write_arguments(Writer& w, const IdCommand& c) {
    if (!c.fields) {
        w.raw(" NIL");
        return;
    }
    w.raw(" (");
    for (std::size_t i = 0; i < c.fields->size(); ++i) {
        if (i > 0) w.sp();
        w.string((*c.fields)[i].first).sp().nstring((*c.fields)[i].second);
    }
    w.raw(")");
}

}  // namespace

std::string write_command(const Command& command, LiteralStyle style) {
    // command = tag SP command-name [arguments] CRLF; the name, "UID " prefix
    // included, comes from the same table as the server's log names.
    Writer w(style);
    w.raw(command.tag).sp().raw(command_name(command.body));
    std::visit([&w](const auto& body) { write_arguments(w, body); }, command.body);
    return std::move(w).finish();
}

}  // namespace imap
