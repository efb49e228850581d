// Typed client commands: one struct per command, mirroring RFC 3501 section 9
// (and the extensions named on each). The parser produces them; the command
// writer turns them back into wire form (round trips, test clients).
//
// Adding a command is a local change: a struct here, its alternative in
// CommandBody, and one row in the parser's table (parser.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "protocol/datetime.h"
#include "protocol/secret.h"
#include "protocol/sequence_set.h"

namespace imap {

// A flag as the client wrote it: "\Seen", "$Forwarded", "\*" (only where the
// grammar allows it). System flags keep their backslash.
using Flag = std::string;

// ---- Any state (RFC 3501 6.1) ----
struct CapabilityCommand {
    bool operator==(const CapabilityCommand&) const = default;
};
struct NoopCommand {
    bool operator==(const NoopCommand&) const = default;
};
struct LogoutCommand {
    bool operator==(const LogoutCommand&) const = default;
};

// ---- Not authenticated (RFC 3501 6.2) ----
struct StartTlsCommand {
    bool operator==(const StartTlsCommand&) const = default;
};
// authenticate = "AUTHENTICATE" SP auth-type [SP (base64 / "=")] (RFC 4959)
struct AuthenticateCommand {
    std::string mechanism;  // upper-cased auth-type atom
    // SASL-IR initial response, still base64 as sent; "=" (an empty initial
    // response) is kept as "=" so the server can tell it from none.
    std::optional<Secret> initial_response;
    bool operator==(const AuthenticateCommand&) const = default;
};
struct LoginCommand {
    std::string user;
    Secret password;
    bool operator==(const LoginCommand&) const = default;
};

// ---- Authenticated (RFC 3501 6.3). Mailbox names are the wire form
// (modified UTF-7) with any case of INBOX normalised to "INBOX". ----
// select-params (RFC 4466 2.1) of SELECT and EXAMINE, those of RFC 7162:
// "CONDSTORE" (3.1.8) and "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
// [SP known-uids] [SP seq-match-data] ")" (3.2.5). "*" is not allowed in the
// sets.
struct QresyncParams {
    std::uint32_t uidvalidity = 0;
    std::uint64_t modseq = 0;
    std::optional<SequenceSet> known_uids;
    // seq-match-data = "(" known-sequence-set SP known-uid-set ")"
    std::optional<std::pair<SequenceSet, SequenceSet>> seq_match;
    bool operator==(const QresyncParams&) const = default;
};
struct SelectParams {
    bool condstore = false;
    std::optional<QresyncParams> qresync;
    bool operator==(const SelectParams&) const = default;
};
struct SelectCommand {
    std::string mailbox;
    SelectParams params = {};
    bool operator==(const SelectCommand&) const = default;
};
struct ExamineCommand {
    std::string mailbox;
    SelectParams params = {};
    bool operator==(const ExamineCommand&) const = default;
};
struct CreateCommand {
    std::string mailbox;
    // RFC 6154 3 CREATE-SPECIAL-USE: SP "(" "USE" SP "(" [use-attr *(SP
    // use-attr)] ")" ")"; the attributes as sent ("\Sent"). Empty: none.
    std::vector<Flag> use = {};
    bool operator==(const CreateCommand&) const = default;
};
struct DeleteCommand {
    std::string mailbox;
    bool operator==(const DeleteCommand&) const = default;
};
struct RenameCommand {
    std::string from;
    std::string to;
    bool operator==(const RenameCommand&) const = default;
};
struct SubscribeCommand {
    std::string mailbox;
    bool operator==(const SubscribeCommand&) const = default;
};
struct UnsubscribeCommand {
    std::string mailbox;
    bool operator==(const UnsubscribeCommand&) const = default;
};
enum class StatusItem;

// RFC 5258 list-select-opts; RECURSIVEMATCH never alone (the parser
// refuses it, RFC 5258 3.1).
struct ListSelectOptions {
    bool subscribed = false;
    bool remote = false;  // accepted, no effect: there are no remote mailboxes
    bool recursive_match = false;
    bool special_use = false;  // RFC 6154 5.1
    bool operator==(const ListSelectOptions&) const = default;
};
// RFC 5258 list-return-opts, RFC 6154 SPECIAL-USE, RFC 5819 STATUS.
struct ListReturnOptions {
    bool subscribed = false;
    bool children = false;
    bool special_use = false;
    std::optional<std::vector<StatusItem>> status = std::nullopt;
    bool operator==(const ListReturnOptions&) const = default;
};

// list = "LIST" SP mailbox SP list-mailbox (RFC 3501), extended by RFC
// 5258: "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
// [SP list-return-opts]. The reference is not INBOX-normalised (it is a
// prefix, RFC 3501 6.3.8).
struct ListCommand {
    std::string reference;
    std::string pattern;                          // the (first) pattern
    std::vector<std::string> more_patterns = {};  // patt-list: the others
    bool pattern_list = false;                    // "(" ... ")" was used
    std::optional<ListSelectOptions> select = std::nullopt;
    std::optional<ListReturnOptions> returns = std::nullopt;
    // Whether any RFC 5258 syntax was used (its response rules apply).
    bool extended() const { return pattern_list || select || returns; }
    bool operator==(const ListCommand&) const = default;
};
// XLIST (the pre-SPECIAL-USE command of Gmail and Outlook): LIST's
// arguments, "* XLIST" responses with special-use and \Inbox attributes.
struct XlistCommand {
    std::string reference;
    std::string pattern;
    bool operator==(const XlistCommand&) const = default;
};
struct LsubCommand {
    std::string reference;
    std::string pattern;
    bool operator==(const LsubCommand&) const = default;
};

// RFC 3501 status-att, RFC 8438 SIZE, RFC 7889 APPENDLIMIT, RFC 8474 4.3
// MAILBOXID, RFC 9051 6.3.11 DELETED.
enum class StatusItem {
    Messages,
    Recent,
    UidNext,
    UidValidity,
    Unseen,
    Size,
    AppendLimit,
    HighestModSeq,
    MailboxId,
    Deleted
};

struct StatusCommand {
    std::string mailbox;
    std::vector<StatusItem> items;  // in the order given, duplicates kept
    bool operator==(const StatusCommand&) const = default;
};

// cat-part = text-literal / url (RFC 4469 5): "TEXT" SP literal, or "URL"
// SP astring naming a message or part of this user's (RFC 5092 IMAP URL).
// RFC 6855 4 adds cat-part =/ utf8-literal: "UTF8" SP "(" literal8 ")".
struct CatenatePart {
    bool url = false;     // URL; otherwise TEXT (or UTF8)
    std::string data;     // the literal's bytes, or the URL as given
    bool binary = false;  // TEXT sent as literal8 ~{n} (RFC 3516)
    bool utf8 = false;    // sent as "UTF8 (~{n}...)" (RFC 6855 4); binary too
    bool operator==(const CatenatePart&) const = default;
};

// append = "APPEND" SP mailbox 1*append-message (RFC 3502 MULTIAPPEND; RFC
// 3501 allows exactly one message, which is the common case).
// append-message = append-opts SP append-data (RFC 4466 2.3); append-data
// is a literal, a literal8 (RFC 3516), "CATENATE" SP "(" cat-part *(SP
// cat-part) ")" (RFC 4469 5) or utf8-literal = "UTF8" SP "(" literal8 ")"
// (RFC 6855 4: a message with UTF-8 header fields).
struct AppendMessage {
    std::vector<Flag> flags;
    std::optional<DateTime> internal_date;
    std::string message;  // the literal, possibly large; empty with CATENATE
    bool binary = false;  // sent as literal8 ~{n} (RFC 3516)
    bool utf8 = false;    // sent as "UTF8 (~{n}...)" (RFC 6855 4); binary too
    // CATENATE (RFC 4469): the parts, at most limits::kMaxCatenateParts.
    std::optional<std::vector<CatenatePart>> catenate = std::nullopt;
    bool operator==(const AppendMessage&) const = default;
};
struct AppendCommand {
    std::string mailbox;
    std::vector<AppendMessage> messages;
    bool operator==(const AppendCommand&) const = default;
};

// ---- Selected (RFC 3501 6.4) ----
struct CheckCommand {
    bool operator==(const CheckCommand&) const = default;
};
struct CloseCommand {
    bool operator==(const CloseCommand&) const = default;
};
struct ExpungeCommand {
    bool operator==(const ExpungeCommand&) const = default;
};
// UID EXPUNGE sequence-set (RFC 4315 2.1)
struct UidExpungeCommand {
    SequenceSet uids;
    bool operator==(const UidExpungeCommand&) const = default;
};

// search-key (RFC 3501 6.4.4 and 9). A tree: NOT has one child, OR two, and
// And (a parenthesised list, or the command's top-level keys) one or more.
struct SearchKey {
    enum class Kind {
        And,  // "(" search-key *(SP search-key) ")" and the top level
        All,
        Answered,
        Bcc,     // text
        Before,  // date
        Body,    // text
        Cc,      // text
        Deleted,
        Draft,
        EmailId,  // text = objectid (RFC 8474 6)
        Flagged,
        From,     // text
        Header,   // text = field name, text2 = value
        Keyword,  // text = flag keyword
        Larger,   // number
        ModSeq,   // modseq; text = entry-name, text2 = entry-type-req, or both
                  // empty (RFC 7162 3.1.5)
        New,
        Not,  // children[0]
        Old,
        Older,  // number: seconds (RFC 5032 WITHIN)
        On,     // date
        Or,     // children[0], children[1]
        Recent,
        SaveDateSupported,  // RFC 8514 4.3
        SavedBefore,        // date (RFC 8514 4.3)
        SavedOn,            // date
        SavedSince,         // date
        Seen,
        SentBefore,   // date
        SentOn,       // date
        SentSince,    // date
        SequenceSet,  // set (message sequence numbers)
        Since,        // date
        Smaller,      // number
        Subject,      // text
        Text,         // text
        ThreadId,     // text = objectid (RFC 8474 6)
        To,           // text
        Uid,          // set
        Unanswered,
        Undeleted,
        Undraft,
        Unflagged,
        Unkeyword,  // text = flag keyword
        Unseen,
        Younger,  // number: seconds (RFC 5032 WITHIN)
    };

    Kind kind = Kind::All;
    std::string text;  // bytes in the command's CHARSET
    std::string text2;
    std::uint32_t number = 0;
    std::uint64_t modseq = 0;  // ModSeq: mod-sequence-valzer
    Date date;
    imap::SequenceSet set;
    std::vector<SearchKey> children;

    bool operator==(const SearchKey&) const = default;
};

// partial-range (RFC 9394 4): "first:last" counts the results from the
// first (1 is the first), "-first:-last" from the last (-1 is the last).
// Kept as written: 500:400 is 400:500, but the answer repeats the request.
struct PartialRange {
    std::uint32_t first = 1;  // nz-number
    std::uint32_t last = 1;   // nz-number
    bool from_end = false;    // the "-" form
    bool operator==(const PartialRange&) const = default;
};

// ESEARCH (RFC 4731) search-return-opt: MIN, MAX, ALL, COUNT; SAVE (RFC
// 5182 2.4); PARTIAL (RFC 9394 3.1, never with ALL). "RETURN ()" means ALL
// (RFC 4731 3.1), so the parser sets `all` for it; "RETURN (SAVE)" alone
// returns nothing. CONTEXT and UPDATE (RFC 5267 4.2, 4.3) return nothing
// either: CONTEXT is a hint, UPDATE asks for ADDTO / REMOVEFROM later.
struct SearchReturnOptions {
    bool min = false;
    bool max = false;
    bool all = false;
    bool count = false;
    bool save = false;
    bool context = false;
    bool update = false;
    std::optional<PartialRange> partial = std::nullopt;
    bool operator==(const SearchReturnOptions&) const = default;
};

struct SearchCommand {
    bool uid = false;
    // RFC 4731: SEARCH RETURN (...) answers with "* ESEARCH"; nullopt for
    // a plain SEARCH.
    std::optional<SearchReturnOptions> return_options = std::nullopt;
    std::optional<std::string> charset;  // as given (astring), not validated
    SearchKey key;                       // Kind::And of the top-level keys
    bool operator==(const SearchCommand&) const = default;
};

// sort-criterion = ["REVERSE" SP] sort-key (RFC 5256 5), with RFC 5957's
// DISPLAYFROM and DISPLAYTO.
struct SortCriterion {
    enum class Key { Arrival, Cc, Date, From, Size, Subject, To, DisplayFrom, DisplayTo };
    Key key = Key::Arrival;
    bool reverse = false;
    bool operator==(const SortCriterion&) const = default;
};

// sort = ["UID" SP] "SORT" [search-return-opts] SP sort-criteria SP
// search-criteria (RFC 5256 5; RETURN is RFC 5267 3 ESORT).
struct SortCommand {
    bool uid = false;
    std::optional<SearchReturnOptions> return_options = std::nullopt;
    std::vector<SortCriterion> criteria;  // at least one
    std::string charset;                  // mandatory here, as given
    SearchKey key;                        // Kind::And of the search keys
    bool operator==(const SortCommand&) const = default;
};

// thread = ["UID" SP] "THREAD" SP thread-alg SP search-criteria (RFC 5256 5)
struct ThreadCommand {
    bool uid = false;
    std::string algorithm;  // the thread-alg atom, upper-cased
    std::string charset;
    SearchKey key;
    bool operator==(const ThreadCommand&) const = default;
};

// section = "[" [section-spec] "]" (RFC 3501 6.4.5, 9)
struct SectionSpec {
    enum class Text {
        None,             // the whole part: BODY[] or BODY[1.2]
        Header,           // HEADER
        HeaderFields,     // HEADER.FIELDS (fields)
        HeaderFieldsNot,  // HEADER.FIELDS.NOT (fields)
        Text,             // TEXT
        Mime,             // MIME (only after a part number)
    };
    std::vector<std::uint32_t> part;  // 1.2.3 -> {1, 2, 3}; empty = top level
    Text text = Text::None;
    std::vector<std::string> fields;  // header field names as sent
    bool operator==(const SectionSpec&) const = default;
};

// "<" number "." nz-number ">"
struct Partial {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
    bool operator==(const Partial&) const = default;
};

struct FetchItem {
    enum class Kind {
        Envelope,
        Flags,
        InternalDate,
        Rfc822,        // = BODY[] (sets \Seen)
        Rfc822Header,  // = BODY.PEEK[HEADER]
        Rfc822Size,
        Rfc822Text,  // = BODY[TEXT] (sets \Seen)
        Body,        // BODY without a section: the non-extensible BODYSTRUCTURE
        BodyStructure,
        Uid,
        BodySection,  // BODY[section]<partial> or BODY.PEEK[...]
        ModSeq,       // RFC 7162 3.1.4.2
        // RFC 3516 4.2: BINARY[section-part]<partial> or BINARY.PEEK[...],
        // and BINARY.SIZE[section-part]; section-binary = "[" [section-part]
        // "]", so only section.part is used.
        BinarySection,
        BinarySize,
        EmailId,   // RFC 8474 5.3
        ThreadId,  // RFC 8474 5.3
        SaveDate,  // RFC 8514 4.2
        Preview,   // RFC 8970 3.1; `lazy` for PREVIEW (LAZY)
    };
    Kind kind = Kind::Flags;
    bool peek = false;  // BODY.PEEK, BINARY.PEEK
    bool lazy = false;  // PREVIEW (LAZY) (RFC 8970 4.1)
    SectionSpec section;
    std::optional<Partial> partial;
    bool operator==(const FetchItem&) const = default;
};

struct FetchCommand {
    bool uid = false;
    SequenceSet set;
    // The macros ALL, FAST and FULL are expanded (RFC 3501 6.4.5).
    std::vector<FetchItem> items;
    // fetch-modifiers (RFC 4466 2.4): CHANGEDSINCE (RFC 7162 3.1.4.1) and,
    // with UID FETCH and CHANGEDSINCE only, VANISHED (3.2.6).
    std::optional<std::uint64_t> changed_since = std::nullopt;
    bool vanished = false;
    // UID FETCH only: PARTIAL (RFC 9394 3.3), the messages of the set (in
    // the view, ascending UIDs) at these positions; applied before
    // CHANGEDSINCE filters them (3.4).
    std::optional<PartialRange> partial = std::nullopt;
    bool operator==(const FetchCommand&) const = default;
};

struct StoreCommand {
    enum class Mode { Replace, Add, Remove };  // FLAGS, +FLAGS, -FLAGS
    bool uid = false;
    SequenceSet set;
    Mode mode = Mode::Replace;
    bool silent = false;
    std::vector<Flag> flags;
    // store-modifiers (RFC 4466 2.5): UNCHANGEDSINCE (RFC 7162 3.1.3).
    std::optional<std::uint64_t> unchanged_since = std::nullopt;
    bool operator==(const StoreCommand&) const = default;
};

struct CopyCommand {
    bool uid = false;
    SequenceSet set;
    std::string mailbox;
    bool operator==(const CopyCommand&) const = default;
};

// MOVE (RFC 6851): "MOVE" SP sequence-set SP mailbox, and UID MOVE.
struct MoveCommand {
    bool uid = false;
    SequenceSet set;
    std::string mailbox;
    bool operator==(const MoveCommand&) const = default;
};

// REPLACE (RFC 8508 5): "REPLACE" SP seq-number SP mailbox append-message,
// and UID REPLACE with a UID: the one message `set` names (nz-number or "*").
struct ReplaceCommand {
    bool uid = false;
    SequenceSet set;
    std::string mailbox;
    AppendMessage message;
    bool operator==(const ReplaceCommand&) const = default;
};

// ---- Small extensions ----
// UNSELECT (RFC 3691)
struct UnselectCommand {
    bool operator==(const UnselectCommand&) const = default;
};
// IDLE (RFC 2177); the DONE line is read raw by the server.
struct IdleCommand {
    bool operator==(const IdleCommand&) const = default;
};
// NAMESPACE (RFC 2342)
struct NamespaceCommand {
    bool operator==(const NamespaceCommand&) const = default;
};
// ENABLE (RFC 5161): "ENABLE" 1*(SP capability)
struct EnableCommand {
    std::vector<std::string> capabilities;  // upper-cased
    bool operator==(const EnableCommand&) const = default;
};
// COMPRESS (RFC 4978 5): "COMPRESS" SP algorithm. The parser takes any
// atom, upper-cased; the handler answers BAD for one it does not know.
struct CompressCommand {
    std::string algorithm;
    bool operator==(const CompressCommand&) const = default;
};
// ID (RFC 2971): "ID" SP ("(" [string SP nstring *(SP string SP nstring)] ")" / nil)
struct IdCommand {
    // nullopt for NIL. Values may be NIL.
    std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> fields;
    bool operator==(const IdCommand&) const = default;
};

// CANCELUPDATE (RFC 5267 4.3.5, 5): "CANCELUPDATE" 1*(SP quoted), the
// tags of searching commands that asked for UPDATE.
struct CancelUpdateCommand {
    std::vector<std::string> tags;
    bool operator==(const CancelUpdateCommand&) const = default;
};

// NOTIFY (RFC 5465 8):
//   notify = "NOTIFY" SP (notify-set / notify-none)
//   notify-set = "SET" [SP "STATUS"] SP event-groups
//   event-group = "(" filter-mailboxes SP events ")"
//   events = ( "(" event *(SP event) ")" ) / "NONE"
// The parser checks the grammar only; which combinations are allowed (RFC
// 5465 5, 6.1) is the handler's answer (cmd_notify.cpp).
struct NotifyEvent {
    enum class Kind {
        MessageNew,
        MessageExpunge,
        FlagChange,
        AnnotationChange,
        MailboxName,
        SubscriptionChange,
        MailboxMetadataChange,
        ServerMetadataChange,
        Other,  // event-ext: an atom not defined by RFC 5465
    };
    Kind kind = Kind::MessageNew;
    std::string other;  // Other: the atom as sent
    // MessageNew only: "(" fetch-att *(SP fetch-att) ")"; empty when absent.
    std::vector<FetchItem> fetch;
    bool operator==(const NotifyEvent&) const = default;
};
// The event's name as RFC 5465 8 spells it ("MessageNew"); empty for Other.
std::string_view notify_event_name(NotifyEvent::Kind kind);

struct NotifyEventGroup {
    enum class Filter {
        Selected,
        SelectedDelayed,
        Inboxes,
        Personal,
        Subscribed,
        Subtree,
        Mailboxes
    };
    Filter filter = Filter::Selected;
    // SUBTREE and MAILBOXES: one-or-more-mailbox, INBOX normalised.
    std::vector<std::string> mailboxes;
    // Empty for "NONE".
    std::vector<NotifyEvent> events;
    bool operator==(const NotifyEventGroup&) const = default;
};
struct NotifyCommand {
    bool none = false;    // NOTIFY NONE; otherwise NOTIFY SET
    bool status = false;  // SET STATUS
    std::vector<NotifyEventGroup> groups;
    bool operator==(const NotifyCommand&) const = default;
};

using CommandBody =
    std::variant<CapabilityCommand, NoopCommand, LogoutCommand, StartTlsCommand,
                 AuthenticateCommand, LoginCommand, SelectCommand, ExamineCommand, CreateCommand,
                 DeleteCommand, RenameCommand, SubscribeCommand, UnsubscribeCommand, ListCommand,
                 LsubCommand, XlistCommand, StatusCommand, AppendCommand, CheckCommand,
                 CloseCommand, ExpungeCommand, UidExpungeCommand, SearchCommand, FetchCommand,
                 StoreCommand, CopyCommand, MoveCommand, UnselectCommand, IdleCommand,
                 NamespaceCommand, EnableCommand, IdCommand, CompressCommand, SortCommand,
                 ThreadCommand, ReplaceCommand, CancelUpdateCommand, NotifyCommand>;

struct Command {
    std::string tag;
    CommandBody body;
    bool operator==(const Command&) const = default;
};

// The command's name as a client writes it ("UID FETCH", "LOGIN"), for logs
// and for responses like "FETCH completed".
std::string_view command_name(const CommandBody& body);

}  // namespace imap
