#include "store/message/transfer_decoder.h"

#include <algorithm>

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

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

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
    // The CR may have ended the previous piece.
    std::string fixed;
    fixed.reserve(out.size() - from + 16);
    bool cr = last_was_cr_;
    for (std::size_t i = from; i < out.size(); ++i) {
        const char c = out[i];
        if (c == '\n' && !cr) fixed += '\r';
        fixed += c;
        cr = c == '\r';
    }
    last_was_cr_ = cr;
    out.resize(from);
    out += fixed;
}

void TransferDecoder::decode_piece(std::string_view piece, std::string& out) {
    switch (encoding_) {
        case TransferEncoding::Identity:
        case TransferEncoding::Unknown:
            out.append(piece);
            return;
        case TransferEncoding::Base64:
            for (char c : piece) {
                if (padded_) return;
                if (c == '=') {
                    padded_ = true;  // padding: the end of the data (RFC 2045 6.8)
                    return;
                }
                const int v = base64_value(c);
                if (v < 0) continue;  // line ends and junk are ignored (RFC 2045 6.8)
                bits_value_ = (bits_value_ << 6) | static_cast<std::uint32_t>(v);
                bits_ += 6;
                if (bits_ >= 8) {
                    bits_ -= 8;
                    out += static_cast<char>((bits_value_ >> bits_) & 0xFF);
                }
            }
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
