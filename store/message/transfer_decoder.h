// Content-Transfer-Encoding decoding in pieces (RFC 2045 6.7, 6.8), for
// FETCH BINARY (RFC 3516) of parts of any size: the body is read and
// decoded chunk by chunk, so memory is one chunk whatever the part's size,
// and the result equals decoding the whole at once, however the input is
// split (decode_base64 and decode_quoted_printable are this decoder over one
// piece).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace imap::store {

enum class TransferEncoding {
    Identity,         // 7bit, 8bit, binary (RFC 2045 6.2): the bytes as they are
    Base64,           // RFC 2045 6.8
    QuotedPrintable,  // RFC 2045 6.7
    Unknown,          // anything else (x-uuencode, ...): RFC 3516 [UNKNOWN-CTE]
};

// The encoding a Content-Transfer-Encoding value names, ignoring case.
TransferEncoding transfer_encoding(std::string_view name);

class TransferDecoder {
  public:
    // Quoted-printable bytes held back at the end of a piece because the
    // next piece decides them ("=", "=4", "=" and white space before the
    // line end). A run of white space after "=" longer than this, which no
    // encoder writes, is decoded as literal text when split across pieces.
    static constexpr std::size_t kMaxHeldBack = 1024;

    // RFC 3516 6 (and RFC 9051 6.4.5): textual parts go out with CRLF line
    // ends whatever the decoding gives; with Crlf every LF not after a CR
    // becomes CRLF (the same in both of FETCH BINARY's passes, so
    // BINARY.SIZE matches BINARY).
    enum class LineEnds { AsIs, Crlf };

    explicit TransferDecoder(TransferEncoding encoding, LineEnds line_ends = LineEnds::AsIs)
        : encoding_(encoding), line_ends_(line_ends) {}

    // Appends the decoded form of `piece` to `out`; some bytes may be held
    // back until the next piece or finish().
    void decode(std::string_view piece, std::string& out);
    // The end of the input: decodes what was held back.
    void finish(std::string& out);

  private:
    void decode_piece(std::string_view piece, std::string& out);
    void decode_base64_piece(std::string_view piece, std::string& out);
    // LineEnds::Crlf over out[from, end).
    void fix_line_ends(std::string& out, std::size_t from);

    TransferEncoding encoding_;
    LineEnds line_ends_;
    bool last_was_cr_ = false;
    // Base64: bits not yet a whole byte; padding seen (the end of the data).
    std::uint32_t bits_value_ = 0;
    int bits_ = 0;
    bool padded_ = false;
    // Quoted-printable: an escape the piece ended inside of.
    std::string held_;
};

}  // namespace imap::store
