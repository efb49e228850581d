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

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Length of the valid UTF-8 sequence at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    const auto b = static_cast<unsigned char>(s[i]);
    std::size_t n;
    std::uint32_t cp;
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
        cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        cp = b & 0x0F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        cp = b & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        const auto c = static_cast<unsigned char>(s[i + k]);
        if ((c & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (c & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Keeps valid UTF-8, replaces every other byte with U+FFFD.
std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const std::size_t n = utf8_sequence(s, i);
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

// One RFC 2047 encoded word at s[i] ("=?charset?E?text?="), decoded; the
// index after it in `end`.
std::optional<std::string> encoded_word(std::string_view s, std::size_t i, std::size_t& end) {
    if (s.substr(i, 2) != "=?") return std::nullopt;
    const std::size_t q1 = s.find('?', i + 2);
    if (q1 == std::string_view::npos || q1 + 2 >= s.size() || s[q1 + 2] != '?') return std::nullopt;
    const std::size_t q3 = s.find("?=", q1 + 3);
    if (q3 == std::string_view::npos) return std::nullopt;
    std::string_view charset = s.substr(i + 2, q1 - i - 2);
    // RFC 2231 5: "charset*language".
    charset = charset.substr(0, charset.find('*'));
    const char enc = ascii_lower(s[q1 + 1]);
    const std::string_view text = s.substr(q1 + 3, q3 - q1 - 3);
    if (text.find_first_of(" \t\r\n") != std::string_view::npos) return std::nullopt;
    std::string bytes;
    if (enc == 'b') {
        bytes = decode_base64(text);
    } else if (enc == 'q') {
        // RFC 2047 4.2: "_" is a space; otherwise quoted-printable.
        std::string t(text);
        std::replace(t.begin(), t.end(), '_', ' ');
        bytes = decode_quoted_printable(t);
    } else {
        return std::nullopt;
    }
    end = q3 + 2;
    return to_utf8(bytes, charset);
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

std::string decode_base64(std::string_view in) {
    std::string out;
    out.reserve(in.size() / 4 * 3);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : in) {
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == '=')
            break;  // padding: the end of the data (RFC 2045 6.8)
        else
            continue;  // line ends and junk are ignored (RFC 2045 6.8)
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

std::string decode_quoted_printable(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c != '=') {
            out += c;
            continue;
        }
        // "=" CRLF (or LF, or trailing white space first) is a soft line
        // break (RFC 2045 6.7 rule 5).
        std::size_t j = i + 1;
        while (j < in.size() && (in[j] == ' ' || in[j] == '\t'))
            ++j;
        if (j < in.size() && (in[j] == '\r' || in[j] == '\n')) {
            if (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') ++j;
            i = j;
            continue;
        }
        if (j >= in.size()) break;
        if (i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
            i += 2;
        } else {
            out += c;  // a lone "=": kept, as RFC 2045 6.7 suggests
        }
    }
    return out;
}

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
    std::string pending_space;
    bool last_was_word = false;
    for (std::size_t i = 0; i < value.size();) {
        const char c = value[i];
        if (c == '\r' || c == '\n') {
            ++i;
            continue;
        }
        if (c == ' ' || c == '\t') {
            pending_space += c;
            ++i;
            continue;
        }
        std::size_t end = 0;
        if (auto w = encoded_word(value, i, end)) {
            // RFC 2047 6.2: white space between encoded words is dropped.
            if (!last_was_word) out += pending_space;
            pending_space.clear();
            out += *w;
            last_was_word = true;
            i = end;
            continue;
        }
        out += pending_space;
        pending_space.clear();
        last_was_word = false;
        const std::size_t next = value.find_first_of(" \t\r\n", i);
        const std::size_t stop = next == std::string_view::npos ? value.size() : next;
        // Not an encoded word: a run up to the next white space, or just
        // this byte when an encoded word may start inside it.
        const std::size_t ew = value.find("=?", i + 1);
        const std::size_t run_end = std::min(stop, ew == std::string_view::npos ? stop : ew);
        out.append(value.substr(i, run_end - i));
        i = run_end;
    }
    // Leading white space is not part of the value.
    const std::size_t first = out.find_first_not_of(" \t");
    return sanitize_utf8(first == std::string::npos ? std::string_view()
                                                    : std::string_view(out).substr(first));
}

SearchText extract_search_text(std::string_view raw, const ParsedMessage& message) {
    SearchText text;
    for (const auto& f : message.header)
        text.header.push_back({std::string(f.name), decode_header_value(f.raw_value)});
    append_part_text(raw, message.root, text.body, 0);
    return text;
}

}  // namespace imap::store
