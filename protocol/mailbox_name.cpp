#include "protocol/mailbox_name.h"

#include <cstdint>

namespace imap {

namespace {

constexpr std::string_view kInbox = "INBOX";

bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
        if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
        if (x != y) return false;
    }
    return true;
}

// RFC 3501 5.1.3: octets 0x20-0x25 and 0x27-0x7e represent themselves.
bool is_direct(std::uint32_t c) {
    return c >= 0x20 && c <= 0x7e && c != '&';
}

// Modified BASE64 (RFC 3501 5.1.3): RFC 2045 base64 with ',' for '/', and
// never any '=' padding.
constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == ',') return 63;
    return -1;
}

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Decodes the modified BASE64 between '&' and '-' (non-empty) into UTF-8.
// Rejects every form the encoder would not produce, so decoding is
// one-to-one and a name has exactly one spelling on the wire (RFC 3501
// 5.1.3 problem 5: "multiple alternate forms").
bool decode_base64_run(std::string_view run, std::string& out) {
    std::uint32_t bits = 0;
    int nbits = 0;
    std::uint32_t high_surrogate = 0;
    for (char c : run) {
        const int v = base64_value(c);
        if (v < 0) return false;
        bits = ((bits << 6) | static_cast<std::uint32_t>(v)) & 0x3FFFFF;  // <= 22 bits used
        nbits += 6;
        if (nbits < 16) continue;
        nbits -= 16;
        const std::uint32_t unit = (bits >> nbits) & 0xFFFF;
        if (unit >= 0xD800 && unit <= 0xDBFF) {
            if (high_surrogate != 0) return false;
            high_surrogate = unit;
            continue;
        }
        std::uint32_t cp = unit;
        if (unit >= 0xDC00 && unit <= 0xDFFF) {
            if (high_surrogate == 0) return false;
            cp = 0x10000 + ((high_surrogate - 0xD800) << 10) + (unit - 0xDC00);
            high_surrogate = 0;
        } else if (high_surrogate != 0) {
            return false;
        }
        // RFC 3501 5.1.3: "Modified BASE64 MUST NOT be used to represent any
        // printing US-ASCII character which can represent itself"; '&' has
        // its own spelling "&-", so it is refused here too.
        if (cp >= 0x20 && cp <= 0x7e) return false;
        append_utf8(out, cp);
    }
    if (high_surrogate != 0) return false;
    // A whole character left over means a superfluous base64 digit; the
    // pad bits of the last digit must be zero (RFC 4648 3.5, canonical
    // encoding), or two spellings would decode to the same name.
    if (nbits >= 6) return false;
    return (bits & ((1u << nbits) - 1)) == 0;
}

// Reads one code point from valid UTF-8 (RFC 3629 section 4 table), or
// returns false for overlong forms, surrogates, values past U+10FFFF,
// truncated sequences and stray continuation bytes.
bool next_code_point(std::string_view s, std::size_t& pos, std::uint32_t& cp) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char b0 = byte(pos);
    std::size_t len = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 < 0x80) {
        cp = b0;
        ++pos;
        return true;
    } else if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;  // overlong below U+0800
        if (b0 == 0xED) hi = 0x9F;  // U+D800..U+DFFF are surrogates
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;  // overlong below U+10000
        if (b0 == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
        return false;  // continuation byte, C0/C1 overlong lead, F5..FF
    }
    if (s.size() - pos < len) return false;
    for (std::size_t i = 1; i < len; ++i) {
        const unsigned char b = byte(pos + i);
        if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
        cp = (cp << 6) | (b & 0x3F);
    }
    pos += len;
    return true;
}

class Base64Writer {
  public:
    explicit Base64Writer(std::string& out) : out_(out) {}

    void unit(std::uint32_t u) {
        bits_ = ((bits_ << 16) | u) & 0x3FFFFF;
        nbits_ += 16;
        while (nbits_ >= 6) {
            nbits_ -= 6;
            out_ += kBase64[(bits_ >> nbits_) & 0x3F];
        }
    }

    // Emits the last partial digit with zero padding bits.
    void finish() {
        if (nbits_ > 0) out_ += kBase64[(bits_ << (6 - nbits_)) & 0x3F];
        bits_ = 0;
        nbits_ = 0;
    }

  private:
    std::string& out_;
    std::uint32_t bits_ = 0;
    int nbits_ = 0;
};

}  // namespace

bool is_inbox(std::string_view name) {
    return iequals_ascii(name, kInbox);
}

std::string normalize_inbox(std::string_view name, char delimiter) {
    if (is_inbox(name)) return std::string(kInbox);
    if (delimiter != '\0' && name.size() > kInbox.size() && name[kInbox.size()] == delimiter &&
        iequals_ascii(name.substr(0, kInbox.size()), kInbox)) {
        std::string out(kInbox);
        out += name.substr(kInbox.size());
        return out;
    }
    return std::string(name);
}

bool is_utf8(std::string_view s) {
    std::size_t pos = 0;
    std::uint32_t cp = 0;
    while (pos < s.size()) {
        if (!next_code_point(s, pos, cp)) return false;
    }
    return true;
}

bool is_utf8_mailbox_name(std::string_view name) {
    std::size_t pos = 0;
    std::uint32_t cp = 0;
    while (pos < name.size()) {
        if (!next_code_point(name, pos, cp)) return false;
        if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029) return false;
    }
    return true;
}

std::optional<std::string> mutf7_decode(std::string_view encoded) {
    std::string out;
    out.reserve(encoded.size());
    // True right after a non-empty base64 run's '-': another run starting
    // there is a null shift the encoder would have merged away.
    bool after_run = false;
    std::size_t pos = 0;
    while (pos < encoded.size()) {
        const char c = encoded[pos];
        if (c != '&') {
            // 8-bit bytes and controls are not allowed raw; they must be in
            // modified BASE64 (RFC 3501 5.1.3).
            if (!is_direct(static_cast<unsigned char>(c))) return std::nullopt;
            out += c;
            after_run = false;
            ++pos;
            continue;
        }
        ++pos;
        const std::size_t end = encoded.find('-', pos);
        // "There is no implicit shift from BASE64 to US-ASCII": a name must
        // end in US-ASCII.
        if (end == std::string_view::npos) return std::nullopt;
        if (end == pos) {
            out += '&';  // "&-" is "&"
            after_run = false;
        } else {
            if (after_run) return std::nullopt;
            if (!decode_base64_run(encoded.substr(pos, end - pos), out)) return std::nullopt;
            after_run = true;
        }
        pos = end + 1;
    }
    return out;
}

std::optional<std::string> mutf7_encode(std::string_view utf8) {
    std::string out;
    out.reserve(utf8.size() * 2);
    Base64Writer writer(out);
    bool in_run = false;
    std::size_t pos = 0;
    while (pos < utf8.size()) {
        std::uint32_t cp = 0;
        if (!next_code_point(utf8, pos, cp)) return std::nullopt;
        if (cp >= 0x20 && cp <= 0x7e) {
            if (in_run) {
                writer.finish();
                out += '-';
                in_run = false;
            }
            if (cp == '&') {
                out += "&-";
            } else {
                out += static_cast<char>(cp);
            }
            continue;
        }
        if (!in_run) {
            out += '&';
            in_run = true;
        }
        // RFC 3501 5.1.3 encodes UTF-16 (via RFC 2152): astral code points
        // become a surrogate pair.
        if (cp >= 0x10000) {
            cp -= 0x10000;
            writer.unit(0xD800 | (cp >> 10));
            writer.unit(0xDC00 | (cp & 0x3FF));
        } else {
            writer.unit(cp);
        }
    }
    // Names "MUST end in US-ASCII" (RFC 3501 5.1.3).
    if (in_run) {
        writer.finish();
        out += '-';
    }
    return out;
}

}  // namespace imap
