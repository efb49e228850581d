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
struct SelectCommand {
    std::string mailbox;
    bool operator==(const SelectCommand&) const = default;
};
struct ExamineCommand {
    std::string mailbox;
    bool operator==(const ExamineCommand&) const = default;
};
struct CreateCommand {
    std::string mailbox;
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
// list = "LIST" SP mailbox SP list-mailbox. The reference is not
// INBOX-normalised (it is a prefix, RFC 3501 6.3.8).
struct ListCommand {
    std::string reference;
    std::string pattern;
    bool operator==(const ListCommand&) const = default;
};
struct LsubCommand {
    std::string reference;
    std::string pattern;
    bool operator==(const LsubCommand&) const = default;
};

enum class StatusItem { Messages, Recent, UidNext, UidValidity, Unseen };

struct StatusCommand {
    std::string mailbox;
    std::vector<StatusItem> items;  // in the order given, duplicates kept
    bool operator==(const StatusCommand&) const = default;
};

// append = "APPEND" SP mailbox 1*append-message (RFC 3502 MULTIAPPEND; RFC
// 3501 allows exactly one message, which is the common case).
struct AppendMessage {
    std::vector<Flag> flags;
    std::optional<DateTime> internal_date;
    std::string message;  // the literal, possibly large
    bool binary = false;  // sent as literal8 ~{n} (RFC 3516)
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
        Flagged,
        From,     // text
        Header,   // text = field name, text2 = value
        Keyword,  // text = flag keyword
        Larger,   // number
        New,
        Not,  // children[0]
        Old,
        On,  // date
        Or,  // children[0], children[1]
        Recent,
        Seen,
        SentBefore,   // date
        SentOn,       // date
        SentSince,    // date
        SequenceSet,  // set (message sequence numbers)
        Since,        // date
        Smaller,      // number
        Subject,      // text
        Text,         // text
        To,           // text
        Uid,          // set
        Unanswered,
        Undeleted,
        Undraft,
        Unflagged,
        Unkeyword,  // text = flag keyword
        Unseen,
    };

    Kind kind = Kind::All;
    std::string text;  // bytes in the command's CHARSET
    std::string text2;
    std::uint32_t number = 0;
    Date date;
    imap::SequenceSet set;
    std::vector<SearchKey> children;

    bool operator==(const SearchKey&) const = default;
};

struct SearchCommand {
    bool uid = false;
    std::optional<std::string> charset;  // as given (astring), not validated
    SearchKey key;                       // Kind::And of the top-level keys
    bool operator==(const SearchCommand&) const = default;
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
    };
    Kind kind = Kind::Flags;
    bool peek = false;  // BODY.PEEK
    SectionSpec section;
    std::optional<Partial> partial;
    bool operator==(const FetchItem&) const = default;
};

struct FetchCommand {
    bool uid = false;
    SequenceSet set;
    // The macros ALL, FAST and FULL are expanded (RFC 3501 6.4.5).
    std::vector<FetchItem> items;
    bool operator==(const FetchCommand&) const = default;
};

struct StoreCommand {
    enum class Mode { Replace, Add, Remove };  // FLAGS, +FLAGS, -FLAGS
    bool uid = false;
    SequenceSet set;
    Mode mode = Mode::Replace;
    bool silent = false;
    std::vector<Flag> flags;
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
// ID (RFC 2971): "ID" SP ("(" [string SP nstring *(SP string SP nstring)] ")" / nil)
struct IdCommand {
    // nullopt for NIL. Values may be NIL.
    std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> fields;
    bool operator==(const IdCommand&) const = default;
};

using CommandBody =
    std::variant<CapabilityCommand, NoopCommand, LogoutCommand, StartTlsCommand,
                 AuthenticateCommand, LoginCommand, SelectCommand, ExamineCommand, CreateCommand,
                 DeleteCommand, RenameCommand, SubscribeCommand, UnsubscribeCommand, ListCommand,
                 LsubCommand, StatusCommand, AppendCommand, CheckCommand, CloseCommand,
                 ExpungeCommand, UidExpungeCommand, SearchCommand, FetchCommand, StoreCommand,
                 CopyCommand, MoveCommand, UnselectCommand, IdleCommand, NamespaceCommand,
                 EnableCommand, IdCommand>;

struct Command {
    std::string tag;
    CommandBody body;
    bool operator==(const Command&) const = default;
};

// The command's name as a client writes it ("UID FETCH", "LOGIN"), for logs
// and for responses like "FETCH completed".
std::string_view command_name(const CommandBody& body);

}  // namespace imap
