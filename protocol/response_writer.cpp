#include "protocol/response_writer.h"

#include <array>
#include <charconv>

#include "protocol/chars.h"
#include "protocol/mailbox_name.h"

namespace imap {

namespace {

// QUOTED-CHAR without its escapes: TEXT-CHAR = CHAR (%x01-7F) less CR and LF
// (RFC 3501 9).
constexpr bool is_quotable_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u != 0 && u < 0x80 && c != '\r' && c != '\n';
}

// `utf8`: the client enabled UTF-8 in quoted strings (RFC 6855 3, RFC
// 9051 4.3: uQUOTED-CHAR adds UTF8-2 / UTF8-3 / UTF8-4), so 8-bit bytes may
// be quoted when the whole string is well-formed UTF-8.
bool is_quotable(std::string_view s, bool utf8 = false) {
    if (s.size() > ResponseWriter::kMaxQuotedLength) return false;
    bool eight_bit = false;
    for (char c : s) {
        if (is_quotable_char(c)) continue;
        if (!utf8 || static_cast<unsigned char>(c) < 0x80) return false;
        eight_bit = true;
    }
    return !eight_bit || is_utf8(s);
}

bool is_nil(std::string_view s) {
    return s.size() == 3 && ascii_upper(s[0]) == 'N' && ascii_upper(s[1]) == 'I' &&
           ascii_upper(s[2]) == 'L';
}

// The atom form of astring (RFC 3501 9), except NIL, which a client could
// take for nil where the grammar allows both (Dovecot quotes it too).
bool is_astring_atom(std::string_view s) {
    if (s.empty() || is_nil(s)) return false;
    for (char c : s) {
        if (!is_astring_char(c)) return false;
    }
    return true;
}

// flag = "\" atom / atom (flag-keyword, flag-extension and the system flags,
// RFC 3501 9); flag-perm adds "\*". The same shape covers mbx-list-flags.
bool is_flag(std::string_view f) {
    if (f == "\\*") return true;
    if (!f.empty() && f.front() == '\\') f.remove_prefix(1);
    if (f.empty()) return false;
    for (char c : f) {
        if (!is_atom_char(c)) return false;
    }
    return true;
}

// quoted = DQUOTE *QUOTED-CHAR DQUOTE, escaping quoted-specials. `s` must be
// all TEXT-CHAR. Emits runs, not bytes, into either kind of sink.
template <class Emit>
void emit_quoted(std::string_view s, Emit&& emit) {
    emit("\"");
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '"' || s[i] == '\\') {
            emit(s.substr(run, i - run));
            emit("\\");
            run = i;  // the special itself starts the next run
        }
    }
    emit(s.substr(run));
    emit("\"");
}

// Emits `s` with every byte for which `replace(c)` holds turned into a space.
template <class Pred, class Emit>
void emit_replacing(std::string_view s, Pred&& replace, Emit&& emit) {
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (replace(s[i])) {
            emit(s.substr(run, i - run));
            emit(" ");
            run = i + 1;
        }
    }
    emit(s.substr(run));
}

// A line end inside human text would end the response early and let the
// rest be read as a new one; NUL is not a CHAR and truncates C strings.
constexpr bool breaks_text(char c) {
    return c == '\r' || c == '\n' || c == '\0';
}

// resp-text-code's generic form excludes "]" from its arguments.
constexpr bool breaks_code(char c) {
    return breaks_text(c) || c == ']';
}

std::string_view status_word(Status status) {
    switch (status) {
        case Status::Ok:
            return "OK";
        case Status::No:
            return "NO";
        case Status::Bad:
            return "BAD";
    }
    return "BAD";
}

// RFC 4648 section 4, with padding, as RFC 3501 9 base64 requires.
std::string base64_encode(std::string_view data) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= data.size(); i += 3) {
        const std::uint32_t v =
            static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16 |
            static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8 |
            static_cast<unsigned char>(data[i + 2]);
        out += kAlphabet[v >> 18 & 0x3f];
        out += kAlphabet[v >> 12 & 0x3f];
        out += kAlphabet[v >> 6 & 0x3f];
        out += kAlphabet[v & 0x3f];
    }
    const std::size_t rest = data.size() - i;
    if (rest > 0) {
        std::uint32_t v = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16;
        if (rest == 2)
            v |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
        out += kAlphabet[v >> 18 & 0x3f];
        out += kAlphabet[v >> 12 & 0x3f];
        out += rest == 2 ? kAlphabet[v >> 6 & 0x3f] : '=';
        out += '=';
    }
    return out;
}

}  // namespace

std::string_view code_atom(Code code) {
    switch (code) {
        case Code::Alert:
            return "ALERT";
        case Code::BadCharset:
            return "BADCHARSET";
        case Code::Capability:
            return "CAPABILITY";
        case Code::Parse:
            return "PARSE";
        case Code::PermanentFlags:
            return "PERMANENTFLAGS";
        case Code::ReadOnly:
            return "READ-ONLY";
        case Code::ReadWrite:
            return "READ-WRITE";
        case Code::TryCreate:
            return "TRYCREATE";
        case Code::UidNext:
            return "UIDNEXT";
        case Code::UidValidity:
            return "UIDVALIDITY";
        case Code::Unseen:
            return "UNSEEN";
        case Code::Unavailable:
            return "UNAVAILABLE";
        case Code::AuthenticationFailed:
            return "AUTHENTICATIONFAILED";
        case Code::AuthorizationFailed:
            return "AUTHORIZATIONFAILED";
        case Code::Expired:
            return "EXPIRED";
        case Code::PrivacyRequired:
            return "PRIVACYREQUIRED";
        case Code::ContactAdmin:
            return "CONTACTADMIN";
        case Code::NoPerm:
            return "NOPERM";
        case Code::InUse:
            return "INUSE";
        case Code::ExpungeIssued:
            return "EXPUNGEISSUED";
        case Code::Corruption:
            return "CORRUPTION";
        case Code::ServerBug:
            return "SERVERBUG";
        case Code::ClientBug:
            return "CLIENTBUG";
        case Code::Cannot:
            return "CANNOT";
        case Code::Limit:
            return "LIMIT";
        case Code::OverQuota:
            return "OVERQUOTA";
        case Code::AlreadyExists:
            return "ALREADYEXISTS";
        case Code::NonExistent:
            return "NONEXISTENT";
        case Code::UnknownCte:
            return "UNKNOWN-CTE";
        case Code::CompressionActive:
            return "COMPRESSIONACTIVE";
    }
    // Unreachable for valid enumerators; a valid code keeps the line valid.
    return "ALERT";
}

bool ResponseCode::append_flag(std::string& out, std::string_view flag) {
    if (!is_flag(flag)) return false;
    if (!out.empty() && out.back() != '(') out += ' ';
    out += flag;
    return true;
}

bool ResponseCode::append_astring_inline(std::string& out, std::string_view s) {
    if (is_astring_atom(s)) {
        out += s;
        return true;
    }
    if (!is_quotable(s)) return false;
    emit_quoted(s, [&out](std::string_view piece) { out += piece; });
    return true;
}

// --- Status responses ---------------------------------------------------

ResponseWriter& ResponseWriter::tagged(std::string_view tag, Status status, std::string_view text) {
    out_.append(tag);
    out_.append(' ');
    return status_line(status_word(status), nullptr, text);
}

ResponseWriter& ResponseWriter::tagged(std::string_view tag, Status status,
                                       const ResponseCode& code, std::string_view text) {
    out_.append(tag);
    out_.append(' ');
    return status_line(status_word(status), &code, text);
}

ResponseWriter& ResponseWriter::untagged(Status status, std::string_view text) {
    begin_untagged();
    return status_line(status_word(status), nullptr, text);
}

ResponseWriter& ResponseWriter::untagged(Status status, const ResponseCode& code,
                                         std::string_view text) {
    begin_untagged();
    return status_line(status_word(status), &code, text);
}

ResponseWriter& ResponseWriter::bye(std::string_view text) {
    begin_untagged();
    return status_line("BYE", nullptr, text);
}

ResponseWriter& ResponseWriter::bye(const ResponseCode& code, std::string_view text) {
    begin_untagged();
    return status_line("BYE", &code, text);
}

ResponseWriter& ResponseWriter::preauth(std::string_view text) {
    begin_untagged();
    return status_line("PREAUTH", nullptr, text);
}

ResponseWriter& ResponseWriter::preauth(const ResponseCode& code, std::string_view text) {
    begin_untagged();
    return status_line("PREAUTH", &code, text);
}

ResponseWriter& ResponseWriter::status_line(std::string_view word, const ResponseCode* code,
                                            std::string_view text) {
    out_.append(word);
    out_.append(' ');
    // "[]" would not parse; an empty atom can only be a caller's slip, and
    // dropping the code keeps the line valid.
    if (code != nullptr && code->atom.empty()) code = nullptr;
    if (code != nullptr) {
        auto emit = [this](std::string_view piece) { out_.append(piece); };
        out_.append('[');
        emit_replacing(code->atom, breaks_code, emit);
        if (!code->arguments.empty()) {
            out_.append(' ');
            emit_replacing(code->arguments, breaks_code, emit);
        }
        out_.append("] ");
    }
    // text = 1*TEXT-CHAR: never empty.
    if (text.empty()) {
        out_.append(word);
    } else {
        append_text(text, code == nullptr);
    }
    return end();
}

void ResponseWriter::append_text(std::string_view text, bool guard_bracket) {
    if (guard_bracket && !text.empty() && text.front() == '[') out_.append(' ');
    emit_replacing(text, breaks_text, [this](std::string_view piece) { out_.append(piece); });
}

ResponseWriter& ResponseWriter::continuation(std::string_view text) {
    out_.append("+ ");
    append_text(text, true);
    return end();
}

ResponseWriter& ResponseWriter::challenge(std::string_view data) {
    out_.append("+ ");
    out_.append(base64_encode(data));
    return end();
}

// --- Common untagged data -----------------------------------------------

ResponseWriter& ResponseWriter::untagged_number(std::uint32_t n, std::string_view name) {
    begin_untagged().number(n).sp().atom(name);
    return end();
}

ResponseWriter& ResponseWriter::exists(std::uint32_t count) {
    return untagged_number(count, "EXISTS");
}

ResponseWriter& ResponseWriter::recent(std::uint32_t count) {
    return untagged_number(count, "RECENT");
}

ResponseWriter& ResponseWriter::expunge(std::uint32_t sequence) {
    return untagged_number(sequence, "EXPUNGE");
}

ResponseWriter& ResponseWriter::status(std::string_view mailbox_name, const StatusItems& items) {
    begin_untagged().atom("STATUS").sp().mailbox(mailbox_name).sp().open();
    bool first = true;
    auto item = [&](std::string_view name, const auto& value) {
        if (!value) return;
        if (!first) sp();
        first = false;
        atom(name).sp().number(*value);
    };
    item("MESSAGES", items.messages);
    item("RECENT", items.recent);
    item("UIDNEXT", items.uidnext);
    item("UIDVALIDITY", items.uidvalidity);
    item("UNSEEN", items.unseen);
    item("DELETED", items.deleted);
    item("HIGHESTMODSEQ", items.highestmodseq);
    item("SIZE", items.size);
    item("APPENDLIMIT", items.appendlimit);
    if (items.mailboxid) {
        // status-att-val =/ "MAILBOXID" SP "(" objectid ")" (RFC 8474 7)
        if (!first) sp();
        atom("MAILBOXID").sp().open().atom(*items.mailboxid).close();
    }
    return close().end();
}

ResponseWriter& ResponseWriter::search(std::span<const std::uint32_t> numbers) {
    begin_untagged().atom("SEARCH");
    for (std::uint32_t n : numbers)
        sp().number(n);
    return end();
}

void ResponseWriter::delimiter(std::optional<char> d) {
    // mailbox-list: DQUOTE QUOTED-CHAR DQUOTE / nil (RFC 3501 9).
    if (!d || !is_quotable_char(*d)) {
        nil();
        return;
    }
    out_.append('"');
    if (*d == '"' || *d == '\\') out_.append('\\');
    out_.append(*d);
    out_.append('"');
}

// --- Building blocks ----------------------------------------------------

ResponseWriter& ResponseWriter::begin_untagged() {
    out_.append("* ");
    return *this;
}

ResponseWriter& ResponseWriter::fetch_begin(std::uint32_t sequence) {
    begin_untagged().number(sequence);
    out_.append(" FETCH (");
    return *this;
}

ResponseWriter& ResponseWriter::end() {
    out_.append("\r\n");
    return *this;
}

ResponseWriter& ResponseWriter::atom(std::string_view a) {
    out_.append(a);
    return *this;
}

ResponseWriter& ResponseWriter::raw(std::string_view bytes) {
    out_.append(bytes);
    return *this;
}

ResponseWriter& ResponseWriter::number(std::uint64_t n) {
    std::array<char, 20> digits{};  // 2^64-1 has 20 decimal digits
    const auto result = std::to_chars(digits.data(), digits.data() + digits.size(), n);
    out_.append(
        std::string_view(digits.data(), static_cast<std::size_t>(result.ptr - digits.data())));
    return *this;
}

ResponseWriter& ResponseWriter::sp() {
    out_.append(' ');
    return *this;
}

ResponseWriter& ResponseWriter::open() {
    out_.append('(');
    return *this;
}

ResponseWriter& ResponseWriter::close() {
    out_.append(')');
    return *this;
}

ResponseWriter& ResponseWriter::nil() {
    out_.append("NIL");
    return *this;
}

ResponseWriter& ResponseWriter::astring(std::string_view s) {
    if (!is_astring_atom(s)) return string(s);
    out_.append(s);
    return *this;
}

ResponseWriter& ResponseWriter::string(std::string_view s) {
    if (!is_quotable(s, utf8_quoted_)) return literal(s);
    emit_quoted(s, [this](std::string_view piece) { out_.append(piece); });
    return *this;
}

ResponseWriter& ResponseWriter::nstring(std::optional<std::string_view> s) {
    return s ? string(*s) : nil();
}

ResponseWriter& ResponseWriter::mailbox(std::string_view name) {
    // "INBOX" is all ASTRING-CHAR, so astring writes it as the atom the
    // grammar names; other names need nothing more than astring.
    return astring(name);
}

ResponseWriter& ResponseWriter::literal_header(std::string_view prefix, std::size_t size) {
    out_.append(prefix);
    number(size);
    out_.append("}\r\n");
    return *this;
}

ResponseWriter& ResponseWriter::literal(std::string_view s) {
    literal_header("{", s.size());
    out_.append(s);
    return *this;
}

ResponseWriter& ResponseWriter::literal(std::string&& s) {
    literal_header("{", s.size());
    out_.append(std::move(s));
    return *this;
}

ResponseWriter& ResponseWriter::literal8(std::string_view s) {
    literal_header("~{", s.size());
    out_.append(s);
    return *this;
}

ResponseWriter& ResponseWriter::literal8(std::string&& s) {
    literal_header("~{", s.size());
    out_.append(std::move(s));
    return *this;
}

bool ResponseWriter::flag_element(std::string_view flag, bool first) {
    if (!is_flag(flag)) return false;
    if (!first) sp();
    out_.append(flag);
    return true;
}

}  // namespace imap
