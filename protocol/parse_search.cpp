// search = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)  (RFC 3501 9)
#include <algorithm>
#include <array>
#include <span>

#include "protocol/parser_internal.h"

namespace imap::detail {
namespace {

using Kind = SearchKey::Kind;

// What follows a search key's name.
enum class Argument {
    None,
    Text,
    HeaderPair,
    Keyword,
    DateArg,
    Number,
    Interval,  // nz-number (RFC 5032 3: OLDER / YOUNGER)
    Key,
    TwoKeys,
    UidSet,
    ModSeq,
    ObjectId  // RFC 8474 7
};

struct KeyEntry {
    std::string_view name;
    Kind kind;
    Argument argument;
};

// RFC 3501 6.4.4, sorted by name for binary search.
constexpr std::array kSearchKeys = std::to_array<KeyEntry>({
    {"ALL", Kind::All, Argument::None},
    {"ANSWERED", Kind::Answered, Argument::None},
    {"BCC", Kind::Bcc, Argument::Text},
    {"BEFORE", Kind::Before, Argument::DateArg},
    {"BODY", Kind::Body, Argument::Text},
    {"CC", Kind::Cc, Argument::Text},
    {"DELETED", Kind::Deleted, Argument::None},
    {"DRAFT", Kind::Draft, Argument::None},
    {"EMAILID", Kind::EmailId, Argument::ObjectId},  // RFC 8474 6
    {"FLAGGED", Kind::Flagged, Argument::None},
    {"FROM", Kind::From, Argument::Text},
    {"HEADER", Kind::Header, Argument::HeaderPair},
    {"KEYWORD", Kind::Keyword, Argument::Keyword},
    {"LARGER", Kind::Larger, Argument::Number},
    {"MODSEQ", Kind::ModSeq, Argument::ModSeq},  // RFC 7162 3.1.5
    {"NEW", Kind::New, Argument::None},
    {"NOT", Kind::Not, Argument::Key},
    {"OLD", Kind::Old, Argument::None},
    {"OLDER", Kind::Older, Argument::Interval},  // RFC 5032 3
    {"ON", Kind::On, Argument::DateArg},
    {"OR", Kind::Or, Argument::TwoKeys},
    {"RECENT", Kind::Recent, Argument::None},
    {"SAVEDATESUPPORTED", Kind::SaveDateSupported, Argument::None},  // RFC 8514 4.3
    {"SAVEDBEFORE", Kind::SavedBefore, Argument::DateArg},
    {"SAVEDON", Kind::SavedOn, Argument::DateArg},
    {"SAVEDSINCE", Kind::SavedSince, Argument::DateArg},
    {"SEEN", Kind::Seen, Argument::None},
    {"SENTBEFORE", Kind::SentBefore, Argument::DateArg},
    {"SENTON", Kind::SentOn, Argument::DateArg},
    {"SENTSINCE", Kind::SentSince, Argument::DateArg},
    {"SINCE", Kind::Since, Argument::DateArg},
    {"SMALLER", Kind::Smaller, Argument::Number},
    {"SUBJECT", Kind::Subject, Argument::Text},
    {"TEXT", Kind::Text, Argument::Text},
    {"THREADID", Kind::ThreadId, Argument::ObjectId},  // RFC 8474 6
    {"TO", Kind::To, Argument::Text},
    {"UID", Kind::Uid, Argument::UidSet},
    {"UNANSWERED", Kind::Unanswered, Argument::None},
    {"UNDELETED", Kind::Undeleted, Argument::None},
    {"UNDRAFT", Kind::Undraft, Argument::None},
    {"UNFLAGGED", Kind::Unflagged, Argument::None},
    {"UNKEYWORD", Kind::Unkeyword, Argument::Keyword},
    {"UNSEEN", Kind::Unseen, Argument::None},
    {"YOUNGER", Kind::Younger, Argument::Interval},  // RFC 5032 3
});

static_assert(std::is_sorted(kSearchKeys.begin(), kSearchKeys.end(),
                             [](const KeyEntry& a, const KeyEntry& b) { return a.name < b.name; }),
              "kSearchKeys is binary-searched: keep it sorted");

const KeyEntry* find_key(std::string_view name) {
    auto it = std::lower_bound(kSearchKeys.begin(), kSearchKeys.end(), name,
                               [](const KeyEntry& e, std::string_view n) { return e.name < n; });
    return (it != kSearchKeys.end() && it->name == name) ? &*it : nullptr;
}

// Depth is counted for NOT, OR and groups alike: each recurses, and an
// unbounded chain would exhaust the stack.
class DepthGuard {
  public:
    explicit DepthGuard(Reader& in) : in_(in) { in_.enter_group(); }
    ~DepthGuard() { in_.leave_group(); }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

  private:
    Reader& in_;
};

SearchKey read_key(Reader& in);

// flag-keyword = atom (RFC 3501 9), after KEYWORD and UNKEYWORD. A quoted
// string or literal is accepted when its value is itself an atom:
// emailjs-imap-client sends KEYWORD "$Label1", and Dovecot answers it. A
// value that is no atom could never name a keyword a client set (STORE
// and APPEND take only atoms), so it stays a BAD.
std::string read_search_keyword(Reader& in) {
    if (in.peek() != '"' && in.peek() != '{') return in.atom();
    std::string keyword = in.string();
    if (keyword.empty() || !std::all_of(keyword.begin(), keyword.end(), is_atom_char)) {
        parse_fail("Invalid keyword \"" + keyword.substr(0, 40) +
                   "\" (RFC 3501 9: flag-keyword is an atom)");
    }
    return keyword;
}

// objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 7), case
// sensitive. Every objectid is an atom; a quoted one is accepted as
// KEYWORD's are (a client library may quote every argument).
std::string read_object_id(Reader& in) {
    std::string id = (in.peek() == '"' || in.peek() == '{') ? in.string() : in.atom();
    const bool valid =
        !id.empty() && id.size() <= 255 && std::all_of(id.begin(), id.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' ||
                   c == '-';
        });
    if (!valid) parse_fail("Invalid objectid (RFC 8474 7: 1 to 255 of A-Z a-z 0-9 _ -)");
    return id;
}

SearchKey read_group(Reader& in) {
    // "(" search-key *(SP search-key) ")"
    in.expect('(', "'('");
    SearchKey group;
    group.kind = Kind::And;
    for (;;) {
        group.children.push_back(read_key(in));
        if (in.accept(')')) return group;
        in.space();
    }
}

SearchKey read_key(Reader& in) {
    DepthGuard depth(in);
    if (in.peek() == '(') return read_group(in);
    // sequence-set, "$" included (RFC 5182 4).
    if (is_digit(in.peek()) || in.peek() == '*' || in.peek() == '$') {
        SearchKey key;
        key.kind = Kind::SequenceSet;
        key.set = read_sequence_set(in);
        return key;
    }
    std::string name = in.keyword();
    const KeyEntry* entry = find_key(name);
    if (entry == nullptr) parse_fail("Unknown search key " + name.substr(0, 40));
    SearchKey key;
    key.kind = entry->kind;
    switch (entry->argument) {
        case Argument::None:
            break;
        case Argument::Text:
            in.space();
            key.text = in.astring();
            break;
        case Argument::HeaderPair:
            // "HEADER" SP header-fld-name SP astring
            in.space();
            key.text = in.astring();
            in.space();
            key.text2 = in.astring();
            break;
        case Argument::Keyword:
            in.space();
            key.text = read_search_keyword(in);
            break;
        case Argument::DateArg:
            in.space();
            key.date = read_date(in);
            break;
        case Argument::Number:
            in.space();
            key.number = in.number();
            break;
        case Argument::Interval:
            in.space();
            key.number = in.number();
            if (key.number == 0)
                parse_fail(name + " needs a number of seconds > 0 (RFC 5032 3: nz-number)");
            break;
        case Argument::Key:
            in.space();
            key.children.push_back(read_key(in));
            break;
        case Argument::TwoKeys:
            in.space();
            key.children.push_back(read_key(in));
            in.space();
            key.children.push_back(read_key(in));
            break;
        case Argument::UidSet:
            in.space();
            key.set = read_sequence_set(in);
            break;
        case Argument::ObjectId:
            in.space();
            key.text = read_object_id(in);
            break;
        case Argument::ModSeq:
            // "MODSEQ" [SP entry-name SP entry-type-req] SP mod-sequence-valzer
            // (RFC 7162 7); entry-name is a quoted "/flags/..." string.
            in.space();
            if (in.peek() == '"' || in.peek() == '{') {
                key.text = in.string();
                in.space();
                key.text2 = in.atom();
                std::string type = key.text2;
                for (char& c : type)
                    c = ascii_upper(c);
                if (type != "PRIV" && type != "SHARED" && type != "ALL") {
                    parse_fail("MODSEQ entry type must be priv, shared or all");
                }
                in.space();
            }
            key.modseq = in.number64();
            break;
    }
    return key;
}

// RFC 4731 3.1: MIN, MAX, ALL, COUNT; "()" means ALL. RFC 5182 4: SAVE.
// RFC 9394 4: PARTIAL partial-range. RFC 5267 5: CONTEXT, UPDATE.
SearchReturnOptions read_search_return_options(Reader& in) {
    in.expect('(', "'(' starting the RETURN options");
    SearchReturnOptions options;
    if (in.accept(')')) {
        options.all = true;
        return options;
    }
    for (;;) {
        std::string option = in.keyword();
        if (option == "MIN") {
            options.min = true;
        } else if (option == "MAX") {
            options.max = true;
        } else if (option == "ALL") {
            options.all = true;
        } else if (option == "COUNT") {
            options.count = true;
        } else if (option == "SAVE") {
            options.save = true;
        } else if (option == "CONTEXT") {
            options.context = true;
        } else if (option == "UPDATE") {
            options.update = true;
        } else if (option == "PARTIAL") {
            if (options.partial) parse_fail("PARTIAL given twice (RFC 9394 3.1)");
            in.space();
            options.partial = read_partial_range(in);
        } else {
            parse_fail("Unknown SEARCH return option " + option.substr(0, 40));
        }
        if (options.all && options.partial) {
            parse_fail("PARTIAL and ALL cannot be combined (RFC 9394 3.1)");
        }
        if (in.accept(')')) {
            // RFC 5267 4.2: CONTEXT is only a hint, so RETURN (CONTEXT)
            // asks for what "RETURN ()" does: ALL (RFC 4731 3.1), as
            // Dovecot answers.
            if (!options.min && !options.max && !options.all && !options.count && !options.save &&
                !options.update && !options.partial) {
                options.all = true;
            }
            return options;
        }
        in.space();
    }
}

}  // namespace

// partial-range = partial-range-first / partial-range-last (RFC 9394 4):
// nz-number ":" nz-number, or MINUS nz-number ":" MINUS nz-number.
PartialRange read_partial_range(Reader& in) {
    PartialRange range;
    range.from_end = in.accept('-');
    auto bound = [&in] {
        const std::uint32_t value = in.number();
        if (value == 0) parse_fail("PARTIAL range numbers start at 1 (RFC 9394 4: nz-number)");
        return value;
    };
    range.first = bound();
    in.expect(':', "':' in the PARTIAL range");
    if (range.from_end) in.expect('-', "'-' in the PARTIAL range (both ends or neither)");
    range.last = bound();
    return range;
}

namespace {

// 1*(SP search-key) after the charset, as the children of an And.
void read_keys(Reader& in, SearchKey& key) {
    key.kind = Kind::And;
    for (;;) {
        key.children.push_back(read_key(in));
        if (in.at_end()) return;
        in.space();
    }
}

// sort-criteria = "(" sort-criterion *(SP sort-criterion) ")" (RFC 5256 5,
// RFC 5957 4).
std::vector<SortCriterion> read_sort_criteria(Reader& in) {
    using Key = SortCriterion::Key;
    static constexpr std::pair<std::string_view, Key> kKeys[] = {
        {"ARRIVAL", Key::Arrival},
        {"CC", Key::Cc},
        {"DATE", Key::Date},
        {"DISPLAYFROM", Key::DisplayFrom},
        {"DISPLAYTO", Key::DisplayTo},
        {"FROM", Key::From},
        {"SIZE", Key::Size},
        {"SUBJECT", Key::Subject},
        {"TO", Key::To},
    };
    in.expect('(', "'(' starting the sort criteria");
    std::vector<SortCriterion> criteria;
    for (;;) {
        SortCriterion criterion;
        std::string name = in.keyword();
        if (name == "REVERSE") {
            criterion.reverse = true;
            in.space();
            name = in.keyword();
        }
        const auto* found = std::find_if(std::begin(kKeys), std::end(kKeys),
                                         [&](const auto& entry) { return entry.first == name; });
        if (found == std::end(kKeys)) parse_fail("Unknown sort criterion " + name.substr(0, 40));
        criterion.key = found->second;
        criteria.push_back(criterion);
        if (in.accept(')')) return criteria;
        in.space();
    }
}

}  // namespace

SortCommand parse_sort(Reader& in, bool uid) {
    SortCommand command;
    command.uid = uid;
    in.space();
    // RFC 5267 3: sort = ["UID" SP] "SORT" [search-return-opts] SP ...
    if (in.accept_keyword("RETURN")) {
        in.space();
        command.return_options = read_search_return_options(in);
        in.space();
    }
    command.criteria = read_sort_criteria(in);
    in.space();
    // charset = atom / quoted (RFC 5256 5): mandatory.
    command.charset = in.astring();
    in.space();
    read_keys(in, command.key);
    return command;
}

ThreadCommand parse_thread(Reader& in, bool uid) {
    ThreadCommand command;
    command.uid = uid;
    in.space();
    // thread-alg = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext (atom):
    // any atom parses; the server answers one it does not know.
    command.algorithm = in.keyword();
    in.space();
    command.charset = in.astring();
    in.space();
    read_keys(in, command.key);
    return command;
}

SearchCommand parse_search(Reader& in, bool uid) {
    SearchCommand command;
    command.uid = uid;
    command.key.kind = Kind::And;
    in.space();
    // search-return-opts = SP "RETURN" SP "(" [search-return-opt
    // *(SP search-return-opt)] ")" (RFC 4466, RFC 4731)
    if (in.accept_keyword("RETURN")) {
        in.space();
        command.return_options = read_search_return_options(in);
        in.space();
    }
    if (in.accept_keyword("CHARSET")) {
        in.space();
        command.charset = in.astring();
        in.space();
    }
    for (;;) {
        command.key.children.push_back(read_key(in));
        if (in.at_end()) return command;
        in.space();
    }
}

}  // namespace imap::detail
