#include "store/search.h"

#include <locale.h>
#include <sqlite3.h>
#include <string.h>
#include <wctype.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>
#include <variant>

#include "store/body_codec.h"
#include "store/body_objects.h"
#include "store/errors.h"
#include "store/internal.h"
#include "store/message/message.h"
#include "store/sort_keys.h"
#include "store/sqlite_mail_store.h"
#include "store/thread.h"
#include "store/utf8.h"

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
SearchKey SearchKey::arrived(Kind kind, std::int64_t unix_seconds) {
    SearchKey k;
    k.kind = kind;
    k.number = unix_seconds;
    return k;
}
SearchKey SearchKey::object_id(Kind kind, std::string id) {
    SearchKey k;
    k.kind = kind;
    k.text = std::move(id);
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
SearchKey SearchKey::address(std::string field, std::string text) {
    SearchKey k = header(std::move(field), std::move(text));
    k.kind = Kind::Address;
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

// ---- The search_header column --------------------------------------------------

namespace {

void append_line(std::string& out, std::string_view name, std::string_view value) {
    const std::size_t at = out.size();
    out += name;
    out += ": ";
    out += value;
    // One line per field: the search functions split the column on '\n'.
    std::replace(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(), '\n', ' ');
    std::replace(out.begin() + static_cast<std::ptrdiff_t>(at), out.end(), '\r', ' ');
    out += '\n';
}

}  // namespace

std::string search_header_column(const SearchText& text) {
    std::string out;
    for (const SearchText::Field& field : text.header)
        append_line(out, field.name, field.value);
    for (const SearchText::Field& field : text.addresses) {
        out += kAddressLineMark;
        append_line(out, field.name, field.value);
    }
    return out;
}

// ---- Case-insensitive substring search ----------------------------------------

namespace {

char ascii_fold(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// The C.UTF-8 locale's character classes (glibc has it built in); none,
// and non-ASCII letters compare exactly.
locale_t utf8_ctype() {
    static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
    return locale;
}

// ASCII bytes folded, the others kept (they start or continue a sequence).
constexpr auto kAsciiFold = [] {
    std::array<char, 256> table{};
    for (int c = 0; c < 256; ++c)
        table[c] = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return table;
}();

// Folds s[begin, end) onto `out`, extending `end` to finish a UTF-8
// sequence it cuts; returns where it stopped.
std::size_t fold_into(std::string_view s, std::size_t begin, std::size_t end, std::string& out) {
    std::size_t i = begin;
    while (i < end) {
        // A run of ASCII through the table, written in place.
        std::size_t run = i;
        while (run < end && static_cast<unsigned char>(s[run]) < 0x80)
            ++run;
        if (run > i) {
            const std::size_t at = out.size();
            out.resize(at + (run - i));
            char* dst = out.data() + at;
            for (std::size_t k = i; k < run; ++k)
                *dst++ = kAsciiFold[static_cast<unsigned char>(s[k])];
            i = run;
            if (i >= end) break;
        }
        const auto [cp, n] = utf8::decode(s, i);
        const locale_t locale = utf8_ctype();
        if (n == 0 || locale == locale_t{}) {
            out += s[i];
            ++i;
            continue;
        }
        const auto upper = towupper_l(static_cast<wint_t>(cp), locale);
        const auto folded = static_cast<char32_t>(towlower_l(upper, locale));
        // A valid code point; the locale never maps to a surrogate.
        utf8::append(out, folded <= 0x10FFFF ? folded : cp);
        i += n;
    }
    return i;
}

// Bytes of text folded per memmem call: large enough that the overlap kept
// between blocks (the needle less one byte) costs little.
constexpr std::size_t kFoldBlock = 64 * 1024;

}  // namespace

std::string fold_case(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    fold_into(text, 0, text.size(), out);
    return out;
}

SubstringMatcher::SubstringMatcher(std::string_view needle) : needle_(fold_case(needle)) {}

bool SubstringMatcher::found_in(std::string_view haystack) const {
    if (needle_.empty()) return true;
    const std::size_t block = std::max(kFoldBlock, 4 * needle_.size());
    std::string folded;
    folded.reserve(std::min(haystack.size(), block) + needle_.size() + 8);
    for (std::size_t i = 0; i < haystack.size();) {
        i = fold_into(haystack, i, std::min(haystack.size(), i + block), folded);
        if (memmem(folded.data(), folded.size(), needle_.data(), needle_.size()) != nullptr)
            return true;
        // A match may start in this block and end in the next.
        const std::size_t keep = needle_.size() - 1;
        if (folded.size() > keep) folded.erase(0, folded.size() - keep);
    }
    return false;
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
// Virtual machine steps between two calls of the progress handler.
constexpr int kProgressSteps = 1000;
constexpr const char* kIdSetPointer = "imap_store_idset";

// What one SEARCH may still do (MailStore::search sets it up around the
// statement): text bytes the matchers may read, and SQLite virtual
// machine steps, counted by the progress handler.
struct SearchWork {
    std::uint64_t scan_left = 0;
    std::uint64_t steps_left = 0;
    bool exceeded = false;
    bool corrupt = false;  // a stored search text did not decompress
    // The start of the last body a prefixed frame was read with (schema
    // v8): TEXT reads a body's header column and then its body column, and
    // both need the body's first block, decompressed once. Body ids are
    // never reused (AUTOINCREMENT) and a body's bytes never change, but
    // the cache lives only as long as the search.
    std::int64_t prefix_body = 0;
    std::string prefix_bytes;
};
// The running search's, on this thread (a statement runs where it steps).
thread_local SearchWork* current_work = nullptr;

// What a matcher call costs beyond the bytes it reads, in bytes: setting
// up the call and the folding take about as long as reading this many.
constexpr std::size_t kCallCharge = 256;

// Charges `bytes` of text to the running search; false once it is over.
bool charge_scan(sqlite3_context* context, std::size_t bytes) {
    SearchWork* work = current_work;
    if (work == nullptr) return true;
    bytes += kCallCharge;
    if (bytes > work->scan_left) {
        work->exceeded = true;
        sqlite3_result_error(context, "search text budget exceeded", -1);
        return false;
    }
    work->scan_left -= bytes;
    return true;
}

int charge_steps(void* data) {
    auto* work = static_cast<SearchWork*>(data);
    if (work->steps_left < kProgressSteps) {
        work->exceeded = true;
        return 1;  // SQLITE_INTERRUPT
    }
    work->steps_left -= kProgressSteps;
    return 0;
}

// imap_uid_in(uid, set): the set is bound with sqlite3_bind_pointer, so a
// set of 100,000 ranges costs one parameter and a binary search per row.
void uid_in(sqlite3_context* context, int, sqlite3_value** argv) {
    const auto* set = static_cast<const UidSet*>(sqlite3_value_pointer(argv[1], kUidSetPointer));
    const auto uid = static_cast<std::uint32_t>(sqlite3_value_int64(argv[0]));
    sqlite3_result_int(context, set && contains(*set, uid) ? 1 : 0);
}

using BodyIds = std::vector<std::int64_t>;  // sorted

// The bodies that may hold a string: those the index names, and every body
// still queued for the index (docs/storage.md "The search index"), which
// it cannot rule out. The queued ones are read once per search and shared.
struct Candidates {
    BodyIds indexed;
    const BodyIds* queued = nullptr;
    bool holds(std::int64_t id) const {
        return std::binary_search(indexed.begin(), indexed.end(), id) ||
               (queued != nullptr && std::binary_search(queued->begin(), queued->end(), id));
    }
};

// imap_id_in(id, candidates): `candidates` (bound with
// sqlite3_bind_pointer) holds id.
void id_in(sqlite3_context* context, int, sqlite3_value** argv) {
    const auto* candidates =
        static_cast<const Candidates*>(sqlite3_value_pointer(argv[1], kIdSetPointer));
    const std::int64_t id = sqlite3_value_int64(argv[0]);
    sqlite3_result_int(context, candidates && candidates->holds(id) ? 1 : 0);
}

std::string_view text_arg(sqlite3_value* value) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_value_text(value));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_value_bytes(value)))
             : std::string_view();
}

// The first `length` bytes of body `body_id`'s raw bytes, or more, up to
// `wanted` when the body has them, read on the statement's own connection:
// from its container (only the blocks that hold them), or from bodies.raw
// for a body not compressed yet. StoreError(Corrupt) when the body is
// missing or shorter than `length`.
std::string body_prefix(sqlite3* db, std::int64_t body_id, std::uint64_t length,
                        std::uint64_t wanted) {
    wanted = std::max(wanted, length);
    struct Blob {
        sqlite3_blob* handle = nullptr;
        ~Blob() { sqlite3_blob_close(handle); }
        bool open(sqlite3* connection, const char* table, const char* column, std::int64_t row) {
            if (sqlite3_blob_open(connection, "main", table, column, row, 0, &handle) ==
                SQLITE_OK) {
                return true;
            }
            sqlite3_blob_close(handle);
            handle = nullptr;
            return false;
        }
        std::uint64_t size() const {
            return static_cast<std::uint64_t>(sqlite3_blob_bytes(handle));
        }
        void read(std::uint64_t offset, char* out, std::size_t count) const {
            if (count == 0) return;
            if (offset + count > size() ||
                sqlite3_blob_read(handle, out, static_cast<int>(count), static_cast<int>(offset)) !=
                    SQLITE_OK) {
                throw StoreError(StoreErrc::Corrupt, "stored message body is damaged: cut short");
            }
        }
    } blob;
    std::string out;
    if (blob.open(db, "body_raw", "data", body_id)) {
        out = read_container_range(
            blob.size(),
            [&](std::uint64_t at, char* into, std::size_t count) { blob.read(at, into, count); }, 0,
            wanted);
    } else if (blob.open(db, "bodies", "raw", body_id) && blob.size() >= length) {
        out.resize(static_cast<std::size_t>(std::min(wanted, blob.size())));
        blob.read(0, out.data(), out.size());
    }
    if (out.size() < length) {
        throw StoreError(StoreErrc::Corrupt, "the body of stored search text is missing or short");
    }
    return out;
}

// A search column's value as text: the value itself, or the text of its
// zstd frame (a BLOB: schema v7, store/body_codec.h), decompressed into
// `buffer`; a prefixed frame (schema v8) reads the start of its body,
// `body_id` (NULL: none given, so such a frame cannot be read). nullopt,
// with the call's result set to an error, when the frame or the body is
// damaged.
std::optional<std::string_view> column_text_arg(sqlite3_context* context, sqlite3_value* value,
                                                sqlite3_value* body_id, std::string& buffer) {
    if (sqlite3_value_type(value) != SQLITE_BLOB) return text_arg(value);
    const auto* p = static_cast<const char*>(sqlite3_value_blob(value));
    const std::string_view frame(p, static_cast<std::size_t>(sqlite3_value_bytes(value)));
    try {
        if (is_prefixed_text(frame)) {
            if (body_id == nullptr || sqlite3_value_type(body_id) != SQLITE_INTEGER) {
                throw StoreError(StoreErrc::Corrupt, "stored search text without its body");
            }
            const std::int64_t id = sqlite3_value_int64(body_id);
            const std::uint64_t length = text_prefix_size(frame);
            sqlite3* db = sqlite3_context_db_handle(context);
            SearchWork* work = current_work;
            if (work == nullptr) {
                buffer = decompress_prefixed_text(frame, body_prefix(db, id, length, 0));
            } else {
                if (work->prefix_body != id || work->prefix_bytes.size() < length) {
                    // At least the first block: it is decompressed whole
                    // anyway, and holds the header and most bodies' text.
                    work->prefix_body = 0;
                    work->prefix_bytes = body_prefix(db, id, length, limits::kBodyBlockBytes);
                    work->prefix_body = id;
                }
                buffer = decompress_prefixed_text(
                    frame, std::string_view(work->prefix_bytes).substr(0, length));
            }
        } else {
            buffer = decompress_text(frame);
        }
    } catch (const StoreError& e) {
        if (current_work != nullptr) current_work->corrupt = true;
        sqlite3_result_error(context, e.what(), -1);
        return std::nullopt;
    } catch (const std::bad_alloc&) {
        sqlite3_result_error_nomem(context);
        return std::nullopt;
    }
    return std::string_view(buffer);
}

// imap_text(column [, body id]): a search column's text (column_text_arg),
// for the index: FTS5 is given, and its 'delete' must be given again, the
// text itself. The one-argument form (the v7 trigger, until the v8
// migration replaces it) cannot read a prefixed frame.
void text_of(sqlite3_context* context, int argc, sqlite3_value** argv) {
    std::string buffer;
    const std::optional<std::string_view> text =
        column_text_arg(context, argv[0], argc > 1 ? argv[1] : nullptr, buffer);
    if (!text) return;
    sqlite3_result_text64(context, text->data(), text->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

bool equals_ascii_folded(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_fold(x) == ascii_fold(y);
           });
}

constexpr const char* kMatcherPointer = "imap_store_matcher";

// The SubstringMatcher bound to argument `index` (SqlBuilder builds one per
// distinct string before the statement runs: a matcher kept by SQLite as
// auxiliary data would be looked up in a list of every call site's, per
// row).
const SubstringMatcher& matcher_arg(sqlite3_value** argv, int index) {
    static const SubstringMatcher kNothing("");
    const auto* m =
        static_cast<const SubstringMatcher*>(sqlite3_value_pointer(argv[index], kMatcherPointer));
    return m ? *m : kNothing;
}

// One line of the search_header column (search_header_column()).
struct HeaderLine {
    std::string_view name;
    std::string_view value;
};

template <typename F>
void for_each_header_line(std::string_view lines, F&& f) {
    while (!lines.empty()) {
        const std::size_t end = lines.find('\n');
        std::string_view line = lines.substr(0, end);
        lines = end == std::string_view::npos ? std::string_view() : lines.substr(end + 1);
        if (!line.empty() && line.front() == kAddressLineMark) line.remove_prefix(1);
        const std::size_t colon = line.find(": ");
        if (colon == std::string_view::npos) continue;
        if (f(HeaderLine{line.substr(0, colon), line.substr(colon + 2)})) return;
    }
}

// The column's header field lines and its address lines.
std::pair<std::string_view, std::string_view> split_header_column(std::string_view header) {
    if (!header.empty() && header.front() == kAddressLineMark) return {{}, header};
    const char mark[] = {'\n', kAddressLineMark};
    const std::size_t at = header.find(std::string_view(mark, 2));
    if (at == std::string_view::npos) return {header, {}};
    return {header.substr(0, at + 1), header.substr(at + 1)};
}

// Whether some line of `lines` is named `field` (ASCII case-insensitive:
// RFC 5322 field names are ASCII) and has a value containing `needle`.
bool field_has(std::string_view lines, std::string_view field, const SubstringMatcher& needle) {
    bool found = false;
    for_each_header_line(lines, [&](const HeaderLine& line) {
        found = equals_ascii_folded(line.name, field) && needle.found_in(line.value);
        return found;
    });
    return found;
}

// imap_header_has(search_header, body id, field, needle): some field named
// `field` has a decoded value containing `needle` (HEADER).
void header_has(sqlite3_context* context, int, sqlite3_value** argv) {
    std::string buffer;
    const std::optional<std::string_view> column =
        column_text_arg(context, argv[0], argv[1], buffer);
    if (!column) return;
    const std::string_view fields = split_header_column(*column).first;
    if (!charge_scan(context, fields.size())) return;
    sqlite3_result_int(context, field_has(fields, text_arg(argv[2]), matcher_arg(argv, 3)));
}

// imap_address_has(search_header, body id, field, needle): the addresses
// of some field named `field` contain `needle` (FROM, TO, CC, BCC). A body
// stored before address lines existed has none: its decoded field text
// stands in.
void address_has(sqlite3_context* context, int, sqlite3_value** argv) {
    std::string buffer;
    const std::optional<std::string_view> column =
        column_text_arg(context, argv[0], argv[1], buffer);
    if (!column) return;
    const auto [fields, addresses] = split_header_column(*column);
    const std::string_view lines = addresses.empty() ? fields : addresses;
    if (!charge_scan(context, lines.size())) return;
    sqlite3_result_int(context, field_has(lines, text_arg(argv[2]), matcher_arg(argv, 3)));
}

// imap_header_contains(search_header, body id, needle): the header field
// lines (names and decoded values) contain `needle` (TEXT).
void header_contains(sqlite3_context* context, int, sqlite3_value** argv) {
    std::string buffer;
    const std::optional<std::string_view> column =
        column_text_arg(context, argv[0], argv[1], buffer);
    if (!column) return;
    const std::string_view fields = split_header_column(*column).first;
    if (!charge_scan(context, fields.size())) return;
    sqlite3_result_int(context, matcher_arg(argv, 2).found_in(fields) ? 1 : 0);
}

// imap_contains(search_body, body id, needle): for BODY and TEXT.
void contains(sqlite3_context* context, int, sqlite3_value** argv) {
    std::string buffer;
    const std::optional<std::string_view> column =
        column_text_arg(context, argv[0], argv[1], buffer);
    if (!column) return;
    const std::string_view text = *column;
    if (!charge_scan(context, text.size())) return;
    sqlite3_result_int(context, matcher_arg(argv, 2).found_in(text) ? 1 : 0);
}

}  // namespace

void detail::register_search_functions(Database& db) {
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY;
    using Function = void (*)(sqlite3_context*, int, sqlite3_value**);
    const std::pair<const char*, std::pair<int, Function>> functions[] = {
        {"imap_uid_in", {2, uid_in}},
        {"imap_id_in", {2, id_in}},
        {"imap_header_has", {4, header_has}},
        {"imap_address_has", {4, address_has}},
        {"imap_header_contains", {3, header_contains}},
        {"imap_contains", {3, contains}},
    };
    for (const auto& [name, function] : functions) {
        const int code =
            sqlite3_create_function_v2(db.handle(), name, function.first, flags, nullptr,
                                       function.second, nullptr, nullptr, nullptr);
        if (code != SQLITE_OK) throw SqliteError(code, "register search functions");
    }
    // Not SQLITE_DIRECTONLY: the trigger bodies_fts_delete calls it (schema
    // v7 with one argument, v8 with two). It only decodes its argument,
    // reading the body a prefixed frame needs, and changes nothing.
    for (const int arguments : {1, 2}) {
        const int code =
            sqlite3_create_function_v2(db.handle(), "imap_text", arguments,
                                       SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
                                       nullptr, text_of, nullptr, nullptr, nullptr);
        if (code != SQLITE_OK) throw SqliteError(code, "register search functions");
    }
}

// ---- Translation to SQL --------------------------------------------------------

namespace {

using Param = std::variant<std::string, const UidSet*, const Candidates*, const SubstringMatcher*>;

// The internal date's calendar day in its own zone (RFC 3501 6.4.4:
// "disregarding time and timezone"), floor division for dates before 1970.
constexpr std::string_view kInternalDay =
    "((m.internal_date + m.zone_minutes * 60 - "
    "(((m.internal_date + m.zone_minutes * 60) % 86400) + 86400) % 86400) / 86400)";

// The save date's day in UTC (RFC 8514 4.3; SAVEDATE is written in +0000);
// the internal date for messages stored before schema v6.
constexpr std::string_view kSavedDay =
    "((coalesce(m.save_date, m.internal_date) - "
    "((coalesce(m.save_date, m.internal_date) % 86400) + 86400) % 86400) / 86400)";

// Byte offsets of the characters of UTF-8 `s` (and of its end).
std::vector<std::size_t> character_starts(std::string_view s) {
    std::vector<std::size_t> starts;
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
    starts.push_back(s.size());
    return starts;
}

// The FTS5 query narrowing `text` to the bodies whose indexed column holds
// up to kSearchIndexTrigrams of its distinct trigrams, spread over it:
// each trigram a one-token phrase (double quotes, inner quotes doubled),
// ANDed. Empty when `text` has fewer than three characters (the trigram
// tokenizer indexes nothing shorter).
std::string trigram_query(std::string_view text) {
    const std::vector<std::size_t> starts = character_starts(text);
    if (starts.size() < 4) return {};
    const std::size_t positions = starts.size() - 3;
    auto trigram = [&](std::size_t i) { return text.substr(starts[i], starts[i + 3] - starts[i]); };
    // Distinct trigrams starting at evenly spaced positions (the next new
    // one after a repeat): O(positions x kSearchIndexTrigrams), where
    // collecting every distinct trigram first would cost the square of a
    // 4 KB string's.
    std::vector<std::string_view> chosen;
    for (std::size_t k = 0; k < limits::kSearchIndexTrigrams; ++k) {
        for (std::size_t i = k * positions / limits::kSearchIndexTrigrams; i < positions; ++i) {
            const std::string_view t = trigram(i);
            if (std::find(chosen.begin(), chosen.end(), t) == chosen.end()) {
                chosen.push_back(t);
                break;
            }
        }
    }
    std::string query;
    for (std::size_t k = 0; k < chosen.size(); ++k) {
        if (k > 0) query += " AND ";
        query += '"';
        for (char c : chosen[k]) {
            query += c;
            if (c == '"') query += '"';
        }
        query += '"';
    }
    return query;
}

StoreError too_costly() {
    return StoreError(StoreErrc::OverLimit, "Search too costly for this mailbox");
}

// Terms of one And / Or chain emitted side by side (SqlBuilder::balanced).
constexpr std::size_t kChainTerms = 8;

class SqlBuilder {
  public:
    SqlBuilder(Database& db, MailboxId mailbox) : db_(db), mailbox_(mailbox) {}

    // `depth`: the And / Or / Not levels around `key` in the SQL.
    // `indexed`: `key` is the root or a term of the root's AND, where a UID
    // range lets SQLite scan only that range of the primary key.
    void emit(const SearchKey& key, std::size_t depth, bool indexed = false) {
        if (++keys_ > limits::kMaxSearchKeys) {
            throw StoreError(StoreErrc::OverLimit, "Search has too many keys");
        }
        if (depth > limits::kMaxSearchDepth) {
            throw StoreError(StoreErrc::OverLimit, "Search nested too deeply (at most " +
                                                       std::to_string(limits::kMaxSearchDepth) +
                                                       " levels)");
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
                // The most nested term first: SQLite's parser holds
                // "( term OP" on its stack for every level whose nested
                // term comes after others, and only "(" when it comes first.
                std::stable_sort(terms.begin(), terms.end(),
                                 [&](const SearchKey* a, const SearchKey* b) {
                                     return nesting(*a) > nesting(*b);
                                 });
                if (terms.empty()) {
                    sql_ += key.kind == K::And ? "1" : "0";
                    break;
                }
                const Candidates* any = nullptr;
                if (key.kind == K::Or && terms.size() > 1) any = union_of_candidates(terms);
                if (any != nullptr) {
                    bodies_ = true;
                    sql_ += "(imap_id_in(m.body_id, ";
                    param(any);
                    sql_ += ") AND ";
                    ++depth;
                }
                balanced(terms, 0, terms.size(), key.kind == K::And ? " AND " : " OR ", depth,
                         indexed && key.kind == K::And);
                if (any != nullptr) sql_ += ")";
                break;
            }
            case K::Not: {
                // NOT NOT x is x: no level for it.
                const SearchKey* inner = &key;
                bool negate = false;
                while (inner->kind == K::Not && !inner->children.empty()) {
                    inner = &inner->children.front();
                    negate = !negate;
                }
                if (inner->kind == K::Not) {  // a NOT without a key: NOT ALL
                    sql_ += negate ? "1" : "0";
                } else if (negate) {
                    // Every term is atomic or parenthesised, so NOT needs no
                    // parentheses of its own (each costs SQLite's parser).
                    sql_ += "NOT ";
                    emit(*inner, depth + 1);
                } else {
                    emit(*inner, depth);
                }
                break;
            }
            case K::Flags:
                sql_ += "((m.flags & " + number(key.flags) + ") = " + number(key.flags) + ")";
                break;
            case K::Keyword: {
                // The UIDs carrying the keyword, read once per keyword: a
                // subquery per key would cost SQLite's compiler per key.
                const UidSet* set = keyword_uids(key.text);
                if (set == nullptr) {
                    sql_ += "0";
                } else {
                    sql_ += "imap_uid_in(m.uid, ";
                    param(set);
                    sql_ += ")";
                }
                break;
            }
            case K::Uids: {
                // Normalised here (a caller may fill `uids` directly) and
                // kept alive in sets_ until the statement is done.
                const UidSet& set = sets_.emplace_back(normalize(key.uids));
                if (set.empty()) {
                    sql_ += "0";
                } else if (indexed && !ranged_) {
                    // The first such set only (the server's view comes
                    // first): SQLite weighs every range term against
                    // every other while planning.
                    ranged_ = true;
                    sql_ += "(m.uid BETWEEN " + number(set.front().first) + " AND " +
                            number(set.back().last) + " AND imap_uid_in(m.uid, ";
                    param(&set);
                    sql_ += "))";
                } else {
                    sql_ += "imap_uid_in(m.uid, ";
                    param(&set);
                    sql_ += ")";
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
                sql_ += "(m.size > " + number(key.number) + ")";
                break;
            case K::Smaller:
                sql_ += "(m.size < " + number(key.number) + ")";
                break;
            case K::ArrivedAtOrBefore:
                sql_ += "(m.internal_date <= " + number(key.number) + ")";
                break;
            case K::ArrivedAtOrAfter:
                sql_ += "(m.internal_date >= " + number(key.number) + ")";
                break;
            case K::ModSeq:
                sql_ += "(m.modseq >= " + number(key.number) + ")";
                break;
            case K::SavedBefore:
                date(kSavedDay, "<", key.number);
                break;
            case K::SavedOn:
                date(kSavedDay, "=", key.number);
                break;
            case K::SavedSince:
                date(kSavedDay, ">=", key.number);
                break;
            case K::EmailId: {
                // The body is found by its hash (the EMAILID is the hash,
                // store/body_objects.h) before the statement: one lookup
                // on the UNIQUE index, its id inline.
                std::optional<std::int64_t> body;
                if (const auto hash = email_id_hash(key.text)) {
                    auto q = db_.prepare("SELECT id FROM bodies WHERE hash = ?1");
                    q.bind_blob(1, *hash);
                    if (q.step()) body = q.column_int(0);
                }
                sql_ += body ? "(m.body_id = " + number(*body) + ")" : std::string("0");
                break;
            }
            case K::ThreadId:
                // body_object_thread finds the thread's bodies; SQLite runs
                // the subquery once per statement.
                sql_ += "(m.body_id IN (SELECT body_id FROM body_object WHERE thread_id = ";
                param(key.text);
                sql_ += "))";
                break;
            case K::Header:
            case K::Address:
                check_string(key.text);
                bodies_ = true;
                sql_ += "(";
                prefilter("search_header", key.text);
                sql_ += key.kind == K::Header ? "imap_header_has(b.search_header, b.id, "
                                              : "imap_address_has(b.search_header, b.id, ";
                param(key.field);
                sql_ += ", ";
                param(matcher(key.text));
                sql_ += "))";
                break;
            case K::Body:
            case K::Text: {
                check_string(key.text);
                if (key.text.empty()) {
                    sql_ += "1";
                    break;
                }
                bodies_ = true;
                const bool text = key.kind == K::Text;
                // "{search_header search_body}" searches both columns.
                sql_ += "(";
                prefilter(text ? "search_header search_body" : "search_body", key.text);
                if (text) {
                    sql_ += "(imap_header_contains(b.search_header, b.id, ";
                    param(matcher(key.text));
                    sql_ += ") OR ";
                }
                sql_ += "imap_contains(b.search_body, b.id, ";
                param(matcher(key.text));
                sql_ += text ? ")))" : "))";
                break;
            }
        }
    }

    // SELECT `columns` of messages m (and body_sort s when `sort_keys`)
    // ORDER BY `order`.
    std::string query(std::string_view columns, bool sort_keys, std::string_view order) const {
        std::string sql = "SELECT ";
        sql += columns;
        sql += " FROM messages m ";
        if (bodies_) sql += "JOIN bodies b ON b.id = m.body_id ";
        if (sort_keys) sql += "JOIN body_sort s ON s.body_id = m.body_id ";
        // The mailbox is the first parameter, the builder's follow in order.
        sql += "WHERE m.mailbox_id = ? AND (" + sql_ + ") ORDER BY ";
        sql += order;
        return sql;
    }
    const std::vector<Param>& params() const { return params_; }

    // The text the matchers read in queued bodies beyond what they would
    // read with those bodies indexed: each narrowed key checks every queued
    // message of the mailbox, where the index would have left it only its
    // own candidates. search() adds it to the text budget, so a search
    // never fails as too costly for being run before the indexer caught up.
    // Bounded by kMaxSearchKeys x the queued messages' bytes; the queue is
    // one commit's new bodies while the indexer keeps up (it runs after
    // every commit that queues any), the whole mailbox only while a
    // migration's rebuild runs.
    std::uint64_t queued_scan_bytes() const { return narrowed_keys_ * queued_bytes_; }

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

    // terms[begin, end) joined by `op` in parentheses: up to kChainTerms
    // side by side (SQLite parses a chain without growing its parser
    // stack, but each term deepens its expression tree, at most 1000
    // deep), more as a chain of such groups. 10,000 terms take five levels.
    // Levels of And / Or / Not under `key` (memoised: each node once).
    std::size_t nesting(const SearchKey& key) {
        using K = SearchKey::Kind;
        if (key.kind != K::And && key.kind != K::Or && key.kind != K::Not) return 0;
        if (auto it = nesting_.find(&key); it != nesting_.end()) return it->second;
        std::size_t deepest = 0;
        for (const SearchKey& child : key.children)
            deepest = std::max(deepest, nesting(child));
        return nesting_[&key] = deepest + 1;
    }

    void balanced(const std::vector<const SearchKey*>& terms, std::size_t begin, std::size_t end,
                  const char* op, std::size_t depth, bool indexed) {
        if (end - begin == 1) {
            emit(*terms[begin], depth, indexed);
            return;
        }
        const std::size_t count = end - begin;
        std::size_t group = 1;
        while (group * kChainTerms < count)
            group *= kChainTerms;
        sql_ += "(";
        for (std::size_t at = begin; at < end; at += group) {
            if (at != begin) sql_ += op;
            balanced(terms, at, std::min(end, at + group), op, depth + 1, indexed);
        }
        sql_ += ")";
    }

    // Numbers go into the SQL text: our own integers need no binding, and
    // every parameter costs SQLite's compiler.
    static std::string number(std::int64_t value) { return std::to_string(value); }

    // An anonymous "?" here, bound to `value`: parameters are numbered in
    // the order of the text. (SQLite looks a numbered "?NNN" up in a list
    // while compiling, which is quadratic in their count: 10,000 took
    // seconds.)
    void param(Param value) {
        sql_ += '?';
        params_.push_back(std::move(value));
    }

    void date(std::string_view expression, const char* op, std::int64_t day) {
        sql_ += "(";
        sql_ += expression;
        sql_ += op;
        sql_ += number(day) + ")";
    }

    void sent_date(const char* op, std::int64_t day) {
        bodies_ = true;
        sql_ += "(coalesce(b.sent_day, ";
        sql_ += kInternalDay;
        sql_ += ") ";
        sql_ += op;
        sql_ += ' ';  // not " " + number(): g++ 12's false -Wrestrict (protocol/parser.cpp)
        sql_ += number(day) + ")";
    }

    static void check_string(const std::string& text) {
        if (text.size() > limits::kMaxSearchStringBytes) {
            throw StoreError(StoreErrc::OverLimit,
                             "Search string too long (at most " +
                                 std::to_string(limits::kMaxSearchStringBytes) + " octets)");
        }
    }

    // "imap_id_in(m.body_id, ?) AND ", the bodies whose index holds the
    // text's trigrams, or nothing for a text too short for the index. Each
    // distinct index query runs once; their results together are at most
    // limits::kMaxSearchCandidates body ids (memory and the checks after).
    // Past limits::kMaxSearchIndexQueries distinct queries a text goes
    // without (its matcher reads every message, within the text budget).
    void prefilter(std::string_view columns, std::string_view text) {
        if (const Candidates* ids = candidates(columns, text)) {
            ++narrowed_keys_;
            sql_ += "imap_id_in(m.body_id, ";
            param(ids);
            sql_ += ") AND ";
        }
    }

    // The index columns a text key searches (schema v9: one index table
    // per column).
    static std::string_view index_columns(const SearchKey& key) {
        using K = SearchKey::Kind;
        switch (key.kind) {
            case K::Header:
            case K::Address:
                return "search_header";
            case K::Body:
                return "search_body";
            case K::Text:
                return "search_header search_body";
            default:
                return {};
        }
    }

    // The bodies that may hold `text` in `columns` by the index, or nullptr
    // when the index cannot tell (text too short, query limit reached).
    // Both columns (TEXT): the bodies either table names, since the
    // matchers look for the whole string in one column or the other.
    const Candidates* candidates(std::string_view columns, std::string_view text) {
        const std::string query = trigram_query(text);
        if (query.empty()) return nullptr;
        std::string key = std::string(columns) + '\n' + query;
        auto it = candidates_.find(key);
        if (it == candidates_.end()) {
            if (candidates_.size() >= limits::kMaxSearchIndexQueries) return nullptr;
            it = candidates_.emplace(std::move(key), Candidates{}).first;
            Candidates& found = it->second;
            found.queued = &queued();
            auto ask = [&](std::string_view sql) {
                auto q = db_.prepare(sql);
                q.bind(1, std::string_view(query));
                while (q.step())
                    add_candidate(found.indexed, q.column_int(0));
            };
            if (columns != "search_body") {
                ask("SELECT rowid FROM body_fts_header WHERE body_fts_header MATCH ?1");
            }
            if (columns != "search_header") {
                ask("SELECT rowid FROM body_fts_body WHERE body_fts_body MATCH ?1");
            }
            std::sort(found.indexed.begin(), found.indexed.end());
            found.indexed.erase(std::unique(found.indexed.begin(), found.indexed.end()),
                                found.indexed.end());
        }
        return &it->second;
    }

    // The mailbox's bodies still queued for the index, read on first use
    // (from the queue, so the cost follows the queue, not the mailbox).
    // They are candidates of every string, outside kMaxSearchCandidates:
    // the queue bounds them.
    const BodyIds& queued() {
        if (queued_) return *queued_;
        BodyIds& ids = queued_.emplace();
        auto q = db_.prepare(
            "SELECT m.body_id, m.size FROM fts_pending p CROSS JOIN messages m "
            "INDEXED BY messages_body ON m.body_id = p.body_id WHERE m.mailbox_id = ?1");
        q.bind(1, mailbox_);
        while (q.step()) {
            ids.push_back(q.column_int(0));
            // What a key's matchers read in the message, at most: its
            // decoded text is no larger than its bytes, bar the address
            // lines the header column repeats; TEXT makes two calls.
            queued_bytes_ += 2 * (static_cast<std::uint64_t>(q.column_int(1)) + kCallCharge);
        }
        std::sort(ids.begin(), ids.end());
        ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
        return ids;
    }

    void add_candidate(BodyIds& ids, std::int64_t id) {
        if (++candidate_count_ > limits::kMaxSearchCandidates) throw too_costly();
        ids.push_back(id);
    }

    // For an OR whose every term the index narrows: the union of their
    // candidates, so a message outside it skips the whole chain (an OR of
    // 1000 Message-IDs then costs one check per message, not 1000).
    // nullptr when some term is not narrowed.
    const Candidates* union_of_candidates(const std::vector<const SearchKey*>& terms) {
        std::vector<const Candidates*> sets;
        for (const SearchKey* term : terms) {
            const std::string_view columns = index_columns(*term);
            const Candidates* ids = columns.empty() ? nullptr : candidates(columns, term->text);
            if (ids == nullptr) return nullptr;
            sets.push_back(ids);
        }
        Candidates& all = unions_.emplace_back();
        all.queued = &queued();
        for (const Candidates* ids : sets)
            for (std::int64_t id : ids->indexed)
                add_candidate(all.indexed, id);
        std::sort(all.indexed.begin(), all.indexed.end());
        all.indexed.erase(std::unique(all.indexed.begin(), all.indexed.end()), all.indexed.end());
        return &all;
    }

    // The matcher for `text`, one per distinct string.
    const SubstringMatcher* matcher(const std::string& text) {
        auto it = matchers_.find(text);
        if (it == matchers_.end()) it = matchers_.emplace(text, SubstringMatcher(text)).first;
        return &it->second;
    }

    // The UIDs of the mailbox's messages with keyword `name`, or nullptr
    // when the keyword is not defined; read once per keyword.
    const UidSet* keyword_uids(const std::string& name) {
        std::int64_t id = -1;
        {
            auto q = db_.prepare("SELECT id FROM keywords WHERE mailbox_id = ?1 AND name = ?2");
            q.bind(1, mailbox_).bind(2, name);
            if (q.step()) id = q.column_int(0);
        }
        if (id < 0) return nullptr;
        auto [it, added] = keyword_sets_.try_emplace(id);
        if (!added) return &it->second;
        UidSet& set = it->second;
        auto q = db_.prepare(
            "SELECT uid FROM message_keywords WHERE mailbox_id = ?1 AND keyword_id = ?2 "
            "ORDER BY uid");
        q.bind(1, mailbox_).bind(2, id);
        while (q.step()) {
            const auto uid = static_cast<std::uint32_t>(q.column_int(0));
            if (!set.empty() && set.back().last + 1ull == uid) {
                set.back().last = uid;
            } else {
                set.push_back({uid, uid});
            }
        }
        return &set;
    }

    Database& db_;
    MailboxId mailbox_;
    std::string sql_;
    std::vector<Param> params_;
    std::deque<UidSet> sets_;  // stable addresses for sqlite3_bind_pointer
    bool bodies_ = false;
    bool ranged_ = false;  // a UID range term was emitted
    std::size_t keys_ = 0;
    std::unordered_map<const SearchKey*, std::size_t> nesting_;
    // Bound by pointer until the statement is done: node-based containers,
    // so the addresses stay put as they grow.
    std::map<std::int64_t, UidSet> keyword_sets_;
    std::map<std::string, Candidates, std::less<>> candidates_;
    std::deque<Candidates> unions_;
    std::optional<BodyIds> queued_;
    std::uint64_t queued_bytes_ = 0;  // of the queued() messages
    std::size_t narrowed_keys_ = 0;   // keys the index narrows (prefilter)
    std::map<std::string, SubstringMatcher, std::less<>> matchers_;
    std::size_t candidate_count_ = 0;
};

}  // namespace

namespace {

// Installs `work` as the running search's budget (the matcher functions'
// and the progress handler's) for the guard's lifetime.
class WorkGuard {
  public:
    WorkGuard(Database& db, SearchWork& work) : db_(db) {
        current_work = &work;
        sqlite3_progress_handler(db_.handle(), kProgressSteps, charge_steps, &work);
    }
    ~WorkGuard() {
        sqlite3_progress_handler(db_.handle(), 0, nullptr, nullptr);
        current_work = nullptr;
    }
    WorkGuard(const WorkGuard&) = delete;
    WorkGuard& operator=(const WorkGuard&) = delete;

  private:
    Database& db_;
};

}  // namespace

std::vector<std::uint32_t> SqliteMailStore::search(MailboxId id, const SearchKey& key) {
    std::vector<std::uint32_t> uids;
    run_search(id, key, "m.uid", false, "m.uid", [&](Statement& row) {
        uids.push_back(static_cast<std::uint32_t>(row.column_int(0)));
    });
    return uids;
}

namespace {

// Whether `key` has a THREADID term. Without recursion: a key built by
// the store's callers may be a chain of thousands of ORs (the parser's
// nesting is bounded, an OR chain from a SEARCH translation is not).
bool asks_thread_id(const SearchKey& key) {
    std::vector<const SearchKey*> pending{&key};
    while (!pending.empty()) {
        const SearchKey* next = pending.back();
        pending.pop_back();
        if (next->kind == SearchKey::Kind::ThreadId) return true;
        for (const SearchKey& child : next->children)
            pending.push_back(&child);
    }
    return false;
}

}  // namespace

void SqliteMailStore::run_search(MailboxId id, const SearchKey& key, std::string_view columns,
                                 bool sort_keys, std::string_view order,
                                 const std::function<void(Statement&)>& row) {
    // THREADID reads body_object: the mailbox's bodies the v6 migration
    // left queued are computed first, so none is missed.
    if (asks_thread_id(key)) fill_queued(id, "object_pending");
    detail::ReadSnapshot snapshot(db_);
    if (!mailbox(id).selectable) throw StoreError(StoreErrc::NoSelect, "mailbox is not selectable");
    SqlBuilder builder(db_, id);
    builder.emit(key, 0, true);
    // Built per search, so not cached: the text differs with every
    // criteria tree and Database::prepare's cache would grow without bound.
    // The limits above keep the SQL inside SQLite's (parser stack,
    // expression depth, parameter count); should it still refuse the
    // query, the client gets a fixed text and SQLite's message, which
    // holds SQL, only goes to the log (as the nested exception).
    std::optional<Statement> prepared;
    try {
        prepared.emplace(db_.handle(), builder.query(columns, sort_keys, order));
    } catch (const SqliteError& e) {
        if ((e.code() & 0xff) != SQLITE_ERROR) throw;
        std::throw_with_nested(StoreError(StoreErrc::OverLimit, "Search too complex"));
    }
    Statement& statement = *prepared;
    statement.bind(1, id);
    int index = 2;
    for (const Param& p : builder.params()) {
        if (const auto* s = std::get_if<std::string>(&p)) {
            statement.bind(index, std::string_view(*s));
        } else if (const auto* uids = std::get_if<const UidSet*>(&p)) {
            statement.bind_pointer(index, const_cast<UidSet*>(*uids), kUidSetPointer);
        } else if (const auto* ids = std::get_if<const Candidates*>(&p)) {
            statement.bind_pointer(index, const_cast<Candidates*>(*ids), kIdSetPointer);
        } else {
            statement.bind_pointer(
                index, const_cast<SubstringMatcher*>(std::get<const SubstringMatcher*>(p)),
                kMatcherPointer);
        }
        ++index;
    }

    // What the search may cost grows with the mailbox: the text of its
    // messages read kSearchScansPerMailbox times, kSearchStepsPerMessage
    // virtual machine steps per message, each with an allowance.
    SearchWork work;
    {
        auto q = db_.prepare(
            "SELECT count(*), coalesce(sum(size), 0) FROM messages WHERE mailbox_id = ?1");
        q.bind(1, id);
        q.step();
        const auto messages = static_cast<std::uint64_t>(q.column_int(0));
        const auto bytes = static_cast<std::uint64_t>(q.column_int(1));
        work.scan_left = limits::kSearchScanAllowance + limits::kSearchScansPerMailbox * bytes +
                         builder.queued_scan_bytes();
        work.steps_left = limits::kSearchStepAllowance + limits::kSearchStepsPerMessage * messages;
    }
    try {
        WorkGuard guard(db_, work);
        while (statement.step())
            row(statement);
    } catch (const SqliteError&) {
        if (work.exceeded) throw too_costly();
        if (work.corrupt) throw StoreError(StoreErrc::Corrupt, "stored search text is damaged");
        throw;
    }
}

namespace {

// The ORDER BY term of one SORT criterion over messages m and body_sort s.
// The stored strings are casemapped, so BINARY order is the collation's,
// and '' (no such field) sorts first (RFC 5256 3).
std::string_view sort_column(SortCriterion::Key key) {
    using K = SortCriterion::Key;
    switch (key) {
        case K::Arrival:
            return "m.internal_date";
        case K::Cc:
            return "s.cc_mailbox";
        case K::Date:
            // RFC 5256 2.2: the internal date when the Date: header is
            // missing or unparsable.
            return "coalesce(s.sent_time, m.internal_date)";
        case K::From:
            return "s.from_mailbox";
        case K::Size:
            return "m.size";
        case K::Subject:
            return "s.subject";
        case K::To:
            return "s.to_mailbox";
        case K::DisplayFrom:
            return "s.display_from";
        case K::DisplayTo:
            return "s.display_to";
    }
    return "m.uid";
}

}  // namespace

std::vector<std::uint32_t> SqliteMailStore::sort(MailboxId id, const SearchKey& key,
                                                 std::span<const SortCriterion> criteria) {
    fill_sort_keys(id);
    std::string order;
    for (const SortCriterion& criterion : criteria) {
        order += sort_column(criterion.key);
        order += criterion.reverse ? " DESC, " : ", ";
    }
    // RFC 5256 3: the implicit last criterion, never reversed.
    order += "m.uid";
    std::vector<std::uint32_t> uids;
    run_search(id, key, "m.uid", true, order, [&](Statement& row) {
        uids.push_back(static_cast<std::uint32_t>(row.column_int(0)));
    });
    return uids;
}

ThreadForest SqliteMailStore::thread(MailboxId id, const SearchKey& key,
                                     ThreadAlgorithm algorithm) {
    fill_sort_keys(id);
    std::vector<ThreadMessage> messages;
    const bool references = algorithm != ThreadAlgorithm::OrderedSubject;
    run_search(id, key,
               references ? "m.uid, coalesce(s.sent_time, m.internal_date), s.subject, s.reply, "
                            "s.message_id, s.refs"
                          : "m.uid, coalesce(s.sent_time, m.internal_date), s.subject, s.reply",
               true, "m.uid", [&](Statement& row) {
                   ThreadMessage& message = messages.emplace_back();
                   message.uid = static_cast<std::uint32_t>(row.column_int(0));
                   message.sent = row.column_int(1);
                   message.subject = row.column_text(2);
                   message.reply_or_forward = row.column_int(3) != 0;
                   if (references) {
                       message.message_id = row.column_text(4);
                       message.references = split_references(row.column_text(5));
                   }
               });
    return thread_messages(messages, algorithm);
}

}  // namespace imap::store
