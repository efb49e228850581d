// Decoded text for SEARCH and the full-text index: RFC 2047 encoded words,
// RFC 2045 transfer encodings, charsets to UTF-8 through glibc's iconv.
#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>

#include "store/message/message.h"
#include "store/message/mime_lexer.h"
#include "store/utf8.h"

namespace imap::store {

namespace {

// Output of one conversion is bounded by this many bytes per input byte
// (UTF-8 needs at most 4 per code point, and every charset we meet spends
// at least one byte per code point); iconv is given room in steps anyway.
constexpr std::size_t kIconvChunk = 4096;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Keeps valid UTF-8, replaces every other byte with U+FFFD.
std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        // A run of ASCII, most of most mail's text, is valid as it stands:
        // copied at once rather than byte by byte (imapd import spends a
        // tenth of its time here otherwise).
        std::size_t ascii_end = i;
        while (ascii_end < s.size() && static_cast<unsigned char>(s[ascii_end]) < 0x80)
            ++ascii_end;
        if (ascii_end > i) {
            out.append(s.substr(i, ascii_end - i));
            i = ascii_end;
            continue;
        }
        const std::size_t n = utf8::decode(s, i).length;
        if (n == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

class Iconv {
  public:
    explicit Iconv(const std::string& from) : cd_(iconv_open("UTF-8", from.c_str())) {}
    ~Iconv() {
        if (ok()) iconv_close(cd_);
    }
    Iconv(const Iconv&) = delete;
    Iconv& operator=(const Iconv&) = delete;
    bool ok() const { return cd_ != reinterpret_cast<iconv_t>(-1); }

    std::string convert(std::string_view in) {
        std::string out;
        char* src = const_cast<char*>(in.data());  // iconv's API is not const-correct
        std::size_t src_left = in.size();
        char buf[kIconvChunk];
        while (src_left > 0) {
            char* dst = buf;
            std::size_t dst_left = sizeof buf;
            const std::size_t r = iconv(cd_, &src, &src_left, &dst, &dst_left);
            out.append(buf, static_cast<std::size_t>(dst - buf));
            if (r == static_cast<std::size_t>(-1)) {
                if (errno == E2BIG) continue;
                // EILSEQ / EINVAL: an invalid or truncated sequence.
                out += kReplacement;
                ++src;
                --src_left;
                iconv(cd_, nullptr, nullptr, nullptr, nullptr);
            }
        }
        char* dst = buf;
        std::size_t dst_left = sizeof buf;
        iconv(cd_, nullptr, nullptr, &dst, &dst_left);  // flush shift state
        out.append(buf, static_cast<std::size_t>(dst - buf));
        return out;
    }

  private:
    iconv_t cd_;
};

bool is_header_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// One RFC 2047 encoded word, "=?" charset "?" encoding "?" encoded-text
// "?=", split into its parts.
struct EncodedWord {
    std::string_view charset;  // "charset*language" (RFC 2231 5) cut to the charset
    char encoding = 0;         // 'b' or 'q'
    std::string_view text;
    std::size_t end = 0;  // index after the closing "?="
};

// The encoded word at s[i] (which holds "=?"), or nullopt. RFC 2047 2: none
// of the three parts may hold "?" or white space, so the word ends at the
// third "?" after the "=?", which must be followed by "=" (Dovecot reads
// it the same way). That keeps the scan linear: a failed attempt never
// looks past the third "?" (or the first white space) after its "=?", and
// every "?"-delimited stretch of the value is looked at by at most the three
// attempts starting just before the "?"s that precede it.
std::optional<EncodedWord> encoded_word_at(std::string_view s, std::size_t i) {
    std::size_t marks[3];
    std::size_t found = 0;
    std::size_t j = i + 2;
    for (; j < s.size() && found < 3; ++j) {
        if (is_header_space(s[j])) return std::nullopt;
        if (s[j] == '?') marks[found++] = j;
    }
    if (found < 3 || j >= s.size() || s[j] != '=') return std::nullopt;
    EncodedWord w;
    w.charset = s.substr(i + 2, marks[0] - i - 2);
    w.charset = w.charset.substr(0, w.charset.find('*'));
    if (marks[1] != marks[0] + 2) return std::nullopt;  // the encoding is one letter
    w.encoding = ascii_lower(s[marks[0] + 1]);
    if (w.encoding != 'b' && w.encoding != 'q') return std::nullopt;
    w.text = s.substr(marks[1] + 1, marks[2] - marks[1] - 1);
    w.end = j + 1;
    return w;
}

// The bytes an encoded word's text stands for (RFC 2047 4.1, 4.2).
std::string encoded_word_bytes(const EncodedWord& w) {
    if (w.encoding == 'b') return decode_base64(w.text);
    // RFC 2047 4.2: "_" is a space; otherwise quoted-printable.
    std::string t(w.text);
    std::replace(t.begin(), t.end(), '_', ' ');
    return decode_quoted_printable(t);
}

void append_part_text(std::string_view raw, const MimePart& part, std::string& out,
                      std::size_t depth) {
    if (depth > MessageLimits::kMaxMimeDepth) return;
    if (part.is_message()) {
        const MimePart& inner = part.children.front();
        const auto fields = parse_header_fields(raw, inner.header);
        for (const auto& f : fields) {
            out += decode_header_value(f.raw_value);
            out += '\n';
        }
        append_part_text(raw, inner, out, depth + 1);
        return;
    }
    if (!part.children.empty()) {
        for (const auto& c : part.children)
            append_part_text(raw, c, out, depth + 1);
        return;
    }
    if (!part.is_text()) return;
    const std::string_view body = raw.substr(part.body.begin, part.body.size());
    std::string decoded;
    if (iequals(part.encoding, "base64"))
        decoded = decode_base64(body);
    else if (iequals(part.encoding, "quoted-printable"))
        decoded = decode_quoted_printable(body);
    else
        decoded = std::string(body);
    std::string charset = "us-ascii";
    for (const auto& p : part.parameters)
        if (iequals(p.name, "charset")) charset = p.value;
    if (!out.empty() && out.back() != '\n') out += '\n';
    out += to_utf8(decoded, charset);
}

}  // namespace

// decode_base64 and decode_quoted_printable: transfer_decoder.cpp.

std::string to_utf8(std::string_view bytes, std::string_view charset) {
    std::string cs(charset);
    if (cs.empty() || iequals(cs, "utf-8") || iequals(cs, "utf8") || iequals(cs, "us-ascii") ||
        iequals(cs, "ascii"))
        return sanitize_utf8(bytes);
    Iconv conv(cs);
    if (!conv.ok()) return sanitize_utf8(bytes);
    // iconv output is UTF-8 by construction; sanitising also guards against
    // converters that pass invalid bytes through.
    return sanitize_utf8(conv.convert(bytes));
}

std::string decode_header_value(std::string_view value) {
    std::string out;
    std::string pending_space;  // white space seen since the last word
    bool last_was_word = false;
    // Adjacent encoded words in one charset are converted together, so a
    // character split across two words (RFC 2047 5 forbids it, mailers do
    // it) survives, and iconv is opened once per run of words.
    std::string word_bytes;
    std::string_view word_charset;
    auto flush_words = [&] {
        if (word_bytes.empty()) return;
        out += to_utf8(word_bytes, word_charset);
        word_bytes.clear();
    };
    for (std::size_t i = 0; i < value.size();) {
        const char c = value[i];
        if (c == '\r' || c == '\n') {  // folding (RFC 5322 2.2.3)
            ++i;
            continue;
        }
        if (c == ' ' || c == '\t') {
            pending_space += c;
            ++i;
            continue;
        }
        if (c == '=' && i + 1 < value.size() && value[i + 1] == '?') {
            if (auto w = encoded_word_at(value, i)) {
                // RFC 2047 6.2: white space between encoded words is dropped.
                if (last_was_word) {
                    if (!iequals(w->charset, word_charset)) flush_words();
                } else {
                    out += pending_space;
                }
                pending_space.clear();
                word_charset = w->charset;
                word_bytes += encoded_word_bytes(*w);
                last_was_word = true;
                i = w->end;
                continue;
            }
        }
        flush_words();
        out += pending_space;
        pending_space.clear();
        last_was_word = false;
        // Plain text up to the next white space or the next "=?" that may
        // start an encoded word (mailers put them inside words too).
        std::size_t j = i + 1;
        while (j < value.size() && !is_header_space(value[j]) &&
               !(value[j] == '=' && j + 1 < value.size() && value[j + 1] == '?'))
            ++j;
        out.append(value.substr(i, j - i));
        i = j;
    }
    flush_words();
    // Leading white space is not part of the value.
    const std::size_t first = out.find_first_not_of(" \t");
    return sanitize_utf8(first == std::string::npos ? std::string_view()
                                                    : std::string_view(out).substr(first));
}

SearchText extract_search_text(std::string_view raw, const ParsedMessage& message) {
    SearchText text;
    for (const auto& f : message.header) {
        text.header.push_back({std::string(f.name), decode_header_value(f.raw_value)});
        // The fields SEARCH FROM / TO / CC / BCC look at (RFC 3501 6.4.4).
        if (iequals(f.name, "From") || iequals(f.name, "To") || iequals(f.name, "Cc") ||
            iequals(f.name, "Bcc"))
            text.addresses.push_back({std::string(f.name), address_search_form(f.raw_value)});
    }
    append_part_text(raw, message.root, text.body, 0);
    return text;
}

}  // namespace imap::store
