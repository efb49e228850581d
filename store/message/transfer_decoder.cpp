#include "store/message/transfer_decoder.h"

#include <algorithm>
#include <array>

#include "store/message/message.h"

namespace imap::store {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);
           });
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

// Each byte's base64 value (RFC 2045 6.8, Table 1), or -1 for a byte that
// is not in the alphabet ("=" included: the caller handles padding). A
// table, not comparisons: FETCH BINARY decodes attachments of many
// megabytes, and a branch per byte made that the server's hottest loop.
constexpr std::array<std::int8_t, 256> kBase64Values = [] {
    std::array<std::int8_t, 256> values{};
    values.fill(-1);
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        values[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    }
    return values;
}();

// Quoted-printable (RFC 2045 6.7) of `in` into `out`. Not `final`: stops at
// an "=" whose meaning depends on bytes after `in` and returns its index;
// otherwise returns in.size().
std::size_t decode_qp(std::string_view in, std::string& out, bool final) {
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
        if (!final && (j >= in.size() || (in[j] == '\r' && j + 1 >= in.size()) ||
                       (j == i + 1 && i + 2 >= in.size()))) {
            return i;
        }
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
    return in.size();
}

}  // namespace

TransferEncoding transfer_encoding(std::string_view name) {
    if (iequals(name, "7bit") || iequals(name, "8bit") || iequals(name, "binary")) {
        return TransferEncoding::Identity;
    }
    if (iequals(name, "base64")) return TransferEncoding::Base64;
    if (iequals(name, "quoted-printable")) return TransferEncoding::QuotedPrintable;
    return TransferEncoding::Unknown;
}

void TransferDecoder::decode(std::string_view piece, std::string& out) {
    const std::size_t from = out.size();
    decode_piece(piece, out);
    fix_line_ends(out, from);
}

void TransferDecoder::fix_line_ends(std::string& out, std::size_t from) {
    if (line_ends_ != LineEnds::Crlf || from == out.size()) return;
    // The CR may have ended the previous piece. Counted first, so a piece
    // already in CRLF form (the usual case) is left as it is, and otherwise
    // the CRs go in place from the back, without a copy of the piece.
    const auto bare_lf_at = [&](std::size_t i) {
        return out[i] == '\n' && !(i == from ? last_was_cr_ : out[i - 1] == '\r');
    };
    std::size_t missing = 0;
    for (std::size_t i = from; i < out.size(); ++i) {
        if (bare_lf_at(i)) ++missing;
    }
    const std::size_t old_end = out.size();
    const bool ends_with_cr = out.back() == '\r';
    if (missing > 0) {
        out.resize(old_end + missing);
        for (std::size_t i = old_end; i-- > from && missing > 0;) {
            const bool bare = bare_lf_at(i);
            out[i + missing] = out[i];
            if (bare) out[i + --missing] = '\r';
        }
    }
    last_was_cr_ = ends_with_cr;
}

void TransferDecoder::decode_piece(std::string_view piece, std::string& out) {
    switch (encoding_) {
        case TransferEncoding::Identity:
        case TransferEncoding::Unknown:
            out.append(piece);
            return;
        case TransferEncoding::Base64:
            decode_base64_piece(piece, out);
            return;
        case TransferEncoding::QuotedPrintable: {
            std::string joined;
            std::string_view input = piece;
            if (!held_.empty()) {
                joined = std::move(held_) + std::string(piece);
                held_.clear();
                input = joined;
            }
            const std::size_t stop = decode_qp(input, out, false);
            if (stop < input.size()) {
                if (input.size() - stop > kMaxHeldBack) {
                    // White space beyond any encoder's: the "=" is text.
                    out += '=';
                    decode_piece(input.substr(stop + 1), out);
                    return;
                }
                held_ = std::string(input.substr(stop));
            }
            return;
        }
    }
}

void TransferDecoder::decode_base64_piece(std::string_view piece, std::string& out) {
    if (padded_) return;
    // Four characters give at most three bytes, and the bits held from the
    // previous piece (at most 6) at most one more.
    const std::size_t start = out.size();
    out.resize(start + piece.size() / 4 * 3 + 3);
    char* written = out.data() + start;
    const auto* in = reinterpret_cast<const unsigned char*>(piece.data());
    const auto* const end = in + piece.size();
    std::uint32_t value = bits_value_;
    int bits = bits_;
    while (in < end) {
        // On a byte boundary, whole groups of four alphabet characters go
        // three bytes at a time; anything else (a line end, junk, "=")
        // takes the byte-wise path below.
        if (bits == 0) {
            while (end - in >= 4) {
                const int a = kBase64Values[in[0]];
                const int b = kBase64Values[in[1]];
                const int c = kBase64Values[in[2]];
                const int d = kBase64Values[in[3]];
                if ((a | b | c | d) < 0) break;
                const auto group = static_cast<std::uint32_t>(a << 18 | b << 12 | c << 6 | d);
                written[0] = static_cast<char>(group >> 16);
                written[1] = static_cast<char>(group >> 8 & 0xFF);
                written[2] = static_cast<char>(group & 0xFF);
                written += 3;
                in += 4;
            }
            if (in == end) break;
        }
        const unsigned char c = *in++;
        if (c == '=') {
            padded_ = true;  // padding: the end of the data (RFC 2045 6.8)
            break;
        }
        const int v = kBase64Values[c];
        if (v < 0) continue;  // line ends and junk are ignored (RFC 2045 6.8)
        value = (value << 6 | static_cast<std::uint32_t>(v)) & 0xFFFF;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            *written++ = static_cast<char>(value >> bits & 0xFF);
        }
    }
    bits_value_ = value;
    bits_ = bits;
    out.resize(static_cast<std::size_t>(written - out.data()));
}

void TransferDecoder::finish(std::string& out) {
    if (encoding_ == TransferEncoding::QuotedPrintable && !held_.empty()) {
        const std::size_t from = out.size();
        decode_qp(held_, out, true);
        held_.clear();
        fix_line_ends(out, from);
    }
}

std::string decode_base64(std::string_view in) {
    std::string out;
    out.reserve(in.size() / 4 * 3);
    TransferDecoder decoder(TransferEncoding::Base64);
    decoder.decode(in, out);
    decoder.finish(out);
    return out;
}

std::string decode_quoted_printable(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    decode_qp(in, out, true);
    return out;
}

}  // namespace imap::store
