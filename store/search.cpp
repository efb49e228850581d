#include "store/search.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <deque>
#include <variant>

#include "store/errors.h"
#include "store/internal.h"
#include "store/mail_store.h"

namespace imap::store {

// ---- SearchKey constructors --------------------------------------------------

SearchKey SearchKey::all_of(std::vector<SearchKey> keys) {
    SearchKey k;
    k.kind = Kind::And;
    k.children = std::move(keys);
    return k;
}
SearchKey SearchKey::any_of(std::vector<SearchKey> keys) {
    SearchKey k;
    k.kind = Kind::Or;
    k.children = std::move(keys);
    return k;
}
SearchKey SearchKey::or_(SearchKey a, SearchKey b) {
    std::vector<SearchKey> keys;
    keys.push_back(std::move(a));
    keys.push_back(std::move(b));
    return any_of(std::move(keys));
}
SearchKey SearchKey::not_(SearchKey key) {
    SearchKey k;
    k.kind = Kind::Not;
    k.children.push_back(std::move(key));
    return k;
}
SearchKey SearchKey::has_flags(std::uint32_t bits) {
    SearchKey k;
    k.kind = Kind::Flags;
    k.flags = bits;
    return k;
}
SearchKey SearchKey::keyword(std::string name) {
    SearchKey k;
    k.kind = Kind::Keyword;
    k.text = std::move(name);
    return k;
}
SearchKey SearchKey::uid_set(UidSet set) {
    SearchKey k;
    k.kind = Kind::Uids;
    k.uids = normalize(set);
    return k;
}
SearchKey SearchKey::date(Kind kind, std::int64_t day) {
    SearchKey k;
    k.kind = kind;
    k.number = day;
    return k;
}
SearchKey SearchKey::larger(std::uint64_t size) {
    SearchKey k;
    k.kind = Kind::Larger;
    k.number = static_cast<std::int64_t>(size);
    return k;
}
SearchKey SearchKey::smaller(std::uint64_t size) {
    SearchKey k;
    k.kind = Kind::Smaller;
    k.number = static_cast<std::int64_t>(size);
    return k;
}
SearchKey SearchKey::header(std::string field, std::string text) {
    SearchKey k;
    k.kind = Kind::Header;
    k.field = std::move(field);
    k.text = std::move(text);
    return k;
}
SearchKey SearchKey::body(std::string text) {
    SearchKey k;
    k.kind = Kind::Body;
    k.text = std::move(text);
    return k;
}
SearchKey SearchKey::text_(std::string text) {
    SearchKey k;
    k.kind = Kind::Text;
    k.text = std::move(text);
    return k;
}
SearchKey SearchKey::modseq(std::uint64_t value) {
    SearchKey k;
    k.kind = Kind::ModSeq;
    k.number = static_cast<std::int64_t>(value);
    return k;
}

// ---- Dates -------------------------------------------------------------------

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
    // Howard Hinnant's days_from_civil.
    year -= month <= 2;
    const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
    const auto yoe = static_cast<unsigned>(year - era * 400);
    const unsigned doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace {

class DateLexer {
  public:
    explicit DateLexer(std::string_view s) : s_(s) {}
    void skip_space() {
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
                ++pos_;
            } else if (c == '(') {  // RFC 5322 3.2.2 comments, nested
                int depth = 0;
                for (; pos_ < s_.size(); ++pos_) {
                    if (s_[pos_] == '(') ++depth;
                    if (s_[pos_] == ')' && --depth == 0) {
                        ++pos_;
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }
    std::optional<std::int64_t> number(std::size_t max_digits, std::size_t* digits = nullptr) {
        skip_space();
        std::size_t start = pos_;
        std::int64_t value = 0;
        while (pos_ < s_.size() && pos_ - start < max_digits &&
               std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
            value = value * 10 + (s_[pos_++] - '0');
        }
        if (pos_ == start) return std::nullopt;
        if (digits) *digits = pos_ - start;
        return value;
    }
    std::string word() {
        skip_space();
        std::string w;
        while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) {
            w += static_cast<char>(std::tolower(static_cast<unsigned char>(s_[pos_++])));
        }
        return w;
    }
    bool eat(char c) {
        skip_space();
        if (pos_ < s_.size() && s_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }
    char peek() {
        skip_space();
        return pos_ < s_.size() ? s_[pos_] : '\0';
    }

  private:
    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace

std::optional<SentDate> parse_date_header(std::string_view value) {
    static constexpr std::string_view kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                                   "jul", "aug", "sep", "oct", "nov", "dec"};
    DateLexer lex(value);
    if (std::isalpha(static_cast<unsigned char>(lex.peek()))) lex.word();  // day of week
    auto day = lex.number(2);
    std::string month_name = lex.word();
    std::size_t year_digits = 0;
    auto year = lex.number(4, &year_digits);
    if (!day || !year || *day < 1 || *day > 31 || month_name.size() < 3) return std::nullopt;
    unsigned month = 0;
    for (unsigned i = 0; i < 12; ++i) {
        if (month_name.substr(0, 3) == kMonths[i]) month = i + 1;
    }
    if (month == 0) return std::nullopt;
    // RFC 5322 4.3: two-digit years 00-49 are 20xx, others 19xx; three
    // digits add 1900.
    if (year_digits == 2) *year += *year < 50 ? 2000 : 1900;
    if (year_digits == 3) *year += 1900;
    SentDate date;
    date.day = days_from_civil(*year, month, static_cast<unsigned>(*day));
    std::int64_t seconds = 0;
    std::int64_t zone = 0;
    if (auto hour = lex.number(2); hour && lex.eat(':')) {
        auto minute = lex.number(2);
        std::int64_t second = 0;
        if (lex.eat(':')) second = lex.number(2).value_or(0);
        seconds = *hour * 3600 + minute.value_or(0) * 60 + second;
        char sign = lex.peek();
        if (sign == '+' || sign == '-') {
            lex.eat(sign);
            std::int64_t hhmm = lex.number(4).value_or(0);
            zone = (hhmm / 100 * 60 + hhmm % 100) * (sign == '-' ? -1 : 1);
        } else {
            // RFC 5322 4.3 obsolete zones; military zones count as 0.
            std::string name = lex.word();
            static constexpr std::pair<std::string_view, int> kZones[] = {
                {"edt", -4}, {"est", -5}, {"cdt", -5}, {"cst", -6},
                {"mdt", -6}, {"mst", -7}, {"pdt", -7}, {"pst", -8}};
            for (const auto& [zone_name, hours] : kZones) {
                if (name == zone_name) zone = hours * 60;
            }
        }
    }
    date.time = date.day * 86400 + seconds - zone * 60;
    return date;
}

// ---- SQL functions -------------------------------------------------------------

namespace {

constexpr const char* kUidSetPointer = "imap_store_uidset";

// imap_uid_in(uid, set): the set is bound with sqlite3_bind_pointer, so a
// set of 100,000 ranges costs one parameter and a binary search per row.
void uid_in(sqlite3_context* context, int, sqlite3_value** argv) {
    const auto* set = static_cast<const UidSet*>(sqlite3_value_pointer(argv[1], kUidSetPointer));
    const auto uid = static_cast<std::uint32_t>(sqlite3_value_int64(argv[0]));
    sqlite3_result_int(context, set && contains(*set, uid) ? 1 : 0);
}

char fold(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool contains_folded(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return true;
    auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                          [](char a, char b) { return fold(a) == fold(b); });
    return it != haystack.end();
}

bool equals_folded(std::string_view a, std::string_view b) {
    return a.size() == b.size() && contains_folded(a, b);
}

// imap_header_has(search_header, field, needle): some "Name: value" line of
// the decoded header has Name == field and value containing needle.
void header_has(sqlite3_context* context, int, sqlite3_value** argv) {
    auto text = [&](int i) {
        const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[i]));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(argv[i])))
                 : std::string_view();
    };
    std::string_view header = text(0), field = text(1), needle = text(2);
    int found = 0;
    while (!header.empty() && !found) {
        std::size_t end = header.find('\n');
        std::string_view line = header.substr(0, end);
        header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
        std::size_t colon = line.find(": ");
        if (colon == std::string_view::npos) continue;
        if (equals_folded(line.substr(0, colon), field) &&
            contains_folded(line.substr(colon + 2), needle)) {
            found = 1;
        }
    }
    sqlite3_result_int(context, found);
}

}  // namespace

void detail::register_search_functions(Database& db) {
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;
    int code = sqlite3_create_function_v2(db.handle(), "imap_uid_in", 2, flags, nullptr, uid_in,
                                          nullptr, nullptr, nullptr);
    if (code == SQLITE_OK) {
        code = sqlite3_create_function_v2(db.handle(), "imap_header_has", 3, flags, nullptr,
                                          header_has, nullptr, nullptr, nullptr);
    }
    if (code != SQLITE_OK) throw SqliteError(code, "register search functions");
}

// ---- Translation to SQL --------------------------------------------------------

namespace {

using Param = std::variant<std::int64_t, std::string, const UidSet*>;

// The internal date's calendar day in its own zone (RFC 3501 6.4.4:
// "disregarding time and timezone"), floor division for dates before 1970.
constexpr std::string_view kInternalDay =
    "((m.internal_date + m.zone_minutes * 60 - "
    "(((m.internal_date + m.zone_minutes * 60) % 86400) + 86400) % 86400) / 86400)";

std::size_t utf8_length(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// An FTS5 string: double quotes, inner quotes doubled (a phrase, which the
// trigram tokenizer matches as a substring).
std::string fts_phrase(std::string_view column, std::string_view text) {
    std::string out = "{";
    out += column;
    out += "} : \"";
    for (char c : text) {
        out += c;
        if (c == '"') out += '"';
    }
    out += '"';
    return out;
}

std::string like_pattern(std::string_view text) {
    std::string out = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    out += '%';
    return out;
}

// The trigram index needs three characters (shorter strings match nothing).
constexpr std::size_t kTrigram = 3;

class SqlBuilder {
  public:
    SqlBuilder(Database& db, MailboxId mailbox) : db_(db), mailbox_(mailbox) {}

    void emit(const SearchKey& key, std::size_t not_depth) {
        if (++keys_ > limits::kMaxSearchKeys) {
            throw StoreError(StoreErrc::OverLimit, "search has too many keys");
        }
        using K = SearchKey::Kind;
        switch (key.kind) {
            case K::All:
                sql_ += "1";
                break;
            case K::And:
            case K::Or: {
                // Flatten nested chains of the same operator, then emit a
                // balanced tree: depth log(n) instead of n.
                std::vector<const SearchKey*> terms;
                flatten(key, key.kind, terms);
                if (terms.empty()) {
                    sql_ += key.kind == K::And ? "1" : "0";
                } else {
                    balanced(terms, 0, terms.size(), key.kind == K::And ? " AND " : " OR ",
                             not_depth);
                }
                break;
            }
            case K::Not:
                if (not_depth >= limits::kMaxSearchNotDepth) {
                    throw StoreError(StoreErrc::OverLimit, "search nested too deeply");
                }
                sql_ += "NOT (";
                if (key.children.empty()) {
                    sql_ += "1";
                } else {
                    emit(key.children.front(), not_depth + 1);
                }
                sql_ += ")";
                break;
            case K::Flags:
                sql_ += "((m.flags & " + param(std::int64_t{key.flags}) +
                        ") = " + param(std::int64_t{key.flags}) + ")";
                break;
            case K::Keyword: {
                std::int64_t id = keyword_id(key.text);
                if (id < 0) {
                    sql_ += "0";
                } else {
                    sql_ +=
                        "EXISTS (SELECT 1 FROM message_keywords mk WHERE mk.mailbox_id = "
                        "m.mailbox_id AND mk.uid = m.uid AND mk.keyword_id = " +
                        param(id) + ")";
                }
                break;
            }
            case K::Uids: {
                // Normalised here (a caller may fill `uids` directly) and
                // kept alive in sets_ until the statement is done.
                const UidSet& set = sets_.emplace_back(normalize(key.uids));
                if (set.empty()) {
                    sql_ += "0";
                } else {
                    sql_ += "(m.uid BETWEEN " + param(std::int64_t{set.front().first}) + " AND " +
                            param(std::int64_t{set.back().last}) + " AND imap_uid_in(m.uid, " +
                            param(&set) + "))";
                }
                break;
            }
            case K::Before:
                date(kInternalDay, "<", key.number);
                break;
            case K::On:
                date(kInternalDay, "=", key.number);
                break;
            case K::Since:
                date(kInternalDay, ">=", key.number);
                break;
            case K::SentBefore:
                sent_date("<", key.number);
                break;
            case K::SentOn:
                sent_date("=", key.number);
                break;
            case K::SentSince:
                sent_date(">=", key.number);
                break;
            case K::Larger:
                sql_ += "(m.size > " + param(key.number) + ")";
                break;
            case K::Smaller:
                sql_ += "(m.size < " + param(key.number) + ")";
                break;
            case K::ModSeq:
                sql_ += "(m.modseq >= " + param(key.number) + ")";
                break;
            case K::Header:
                bodies_ = true;
                sql_ += "(";
                if (utf8_length(key.text) >= kTrigram) {
                    sql_ += fts("search_header", key.text) + " AND ";
                }
                sql_ += "imap_header_has(b.search_header, " + param(key.field) + ", " +
                        param(key.text) + "))";
                break;
            case K::Body:
                substring(key.text, false);
                break;
            case K::Text:
                substring(key.text, true);
                break;
        }
    }

    std::string query() const {
        std::string sql = "SELECT m.uid FROM messages m ";
        if (bodies_) sql += "JOIN bodies b ON b.id = m.body_id ";
        sql += "WHERE m.mailbox_id = ?1 AND (" + sql_ + ") ORDER BY m.uid";
        return sql;
    }
    const std::vector<Param>& params() const { return params_; }

  private:
    void flatten(const SearchKey& key, SearchKey::Kind kind, std::vector<const SearchKey*>& out) {
        for (const SearchKey& child : key.children) {
            if (child.kind == kind) {
                flatten(child, kind, out);
            } else {
                out.push_back(&child);
            }
        }
    }

    void balanced(const std::vector<const SearchKey*>& terms, std::size_t begin, std::size_t end,
                  const char* op, std::size_t not_depth) {
        if (end - begin == 1) {
            emit(*terms[begin], not_depth);
            return;
        }
        std::size_t middle = begin + (end - begin) / 2;
        sql_ += "(";
        balanced(terms, begin, middle, op, not_depth);
        sql_ += op;
        balanced(terms, middle, end, op, not_depth);
        sql_ += ")";
    }

    std::string param(Param value) {
        params_.push_back(std::move(value));
        return "?" + std::to_string(params_.size() + 1);  // ?1 is the mailbox
    }

    void date(std::string_view expression, const char* op, std::int64_t day) {
        sql_ += "(";
        sql_ += expression;
        sql_ += op;
        sql_ += param(day) + ")";
    }

    void sent_date(const char* op, std::int64_t day) {
        bodies_ = true;
        sql_ += "(coalesce(b.sent_day, ";
        sql_ += kInternalDay;
        sql_ += ") ";
        sql_ += op;
        sql_ += " " + param(day) + ")";
    }

    std::string fts(std::string_view column, std::string_view text) {
        return "m.body_id IN (SELECT rowid FROM body_fts WHERE body_fts MATCH " +
               param(fts_phrase(column, text)) + ")";
    }

    void substring(const std::string& text, bool with_header) {
        if (text.empty()) {
            sql_ += "1";
            return;
        }
        if (utf8_length(text) >= kTrigram) {
            // "{search_header search_body}" searches both columns.
            sql_ += fts(with_header ? "search_header search_body" : "search_body", text);
            return;
        }
        bodies_ = true;
        std::string pattern = param(like_pattern(text));
        sql_ += "(b.search_body LIKE " + pattern + " ESCAPE '\\'";
        if (with_header) sql_ += " OR b.search_header LIKE " + pattern + " ESCAPE '\\'";
        sql_ += ")";
    }

    std::int64_t keyword_id(const std::string& name) {
        auto q = db_.prepare("SELECT id FROM keywords WHERE mailbox_id = ?1 AND name = ?2");
        q.bind(1, mailbox_).bind(2, name);
        return q.step() ? q.column_int(0) : -1;
    }

    Database& db_;
    MailboxId mailbox_;
    std::string sql_;
    std::vector<Param> params_;
    std::deque<UidSet> sets_;  // stable addresses for sqlite3_bind_pointer
    bool bodies_ = false;
    std::size_t keys_ = 0;
};

}  // namespace

std::vector<std::uint32_t> MailStore::search(MailboxId id, const SearchKey& key) {
    detail::ReadSnapshot snapshot(db_);
    if (!mailbox(id).selectable) throw StoreError(StoreErrc::NoSelect, "mailbox is not selectable");
    SqlBuilder builder(db_, id);
    builder.emit(key, 0);
    // Built per search, so not cached: the text differs with every
    // criteria tree and Database::prepare's cache would grow without bound.
    // A generated query that SQLite refuses can only be one past its
    // complexity limits (expression depth, parameter count).
    std::optional<Statement> prepared;
    try {
        prepared.emplace(db_.handle(), builder.query());
    } catch (const SqliteError& e) {
        if ((e.code() & 0xff) != SQLITE_ERROR) throw;
        throw StoreError(StoreErrc::OverLimit, std::string("search too complex: ") + e.what());
    }
    Statement& statement = *prepared;
    statement.bind(1, id);
    std::vector<std::uint32_t> uids;
    int index = 2;
    for (const Param& p : builder.params()) {
        if (const auto* n = std::get_if<std::int64_t>(&p)) {
            statement.bind(index, *n);
        } else if (const auto* s = std::get_if<std::string>(&p)) {
            statement.bind(index, std::string_view(*s));
        } else {
            statement.bind_pointer(index, const_cast<UidSet*>(std::get<const UidSet*>(p)),
                                   kUidSetPointer);
        }
        ++index;
    }
    while (statement.step())
        uids.push_back(static_cast<std::uint32_t>(statement.column_int(0)));
    return uids;
}

}  // namespace imap::store
