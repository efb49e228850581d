// libFuzzer target for the parsers over message data that must stay linear
// (docs/security.md "Message parsing"): RFC 2047 header decoding, RFC 5322
// address lists, Content-Type / Content-Disposition parameters (RFC 2045,
// RFC 2231), header fields and unfolding, transfer decodings, Date: values,
// and whole messages (MIME).
//
// Input: one selector byte, then the payload. The low three bits choose the
// parser; with bits 3 and 4 both set (a quarter of the inputs) the payload
// is repeated up to kAmplifiedSize bytes first. A parser that rescans its input (quadratic) or
// recurses per byte then takes seconds on a single input instead of milliseconds, and the run's
// -timeout (tests/fuzz/CMakeLists.txt) reports it as a finding; the payload itself stays small, so
// the mutations remain fast and varied.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "store/message/message.h"
#include "store/message/mime_lexer.h"
#include "store/message/transfer_decoder.h"
#include "store/search.h"

namespace {

using namespace imap::store;

// Large enough that a quadratic parser needs minutes under the sanitizers,
// small enough that a linear one stays far below the run's -timeout there.
constexpr std::size_t kAmplifiedSize = 64 * 1024;
constexpr unsigned kAmplify = 0x18;

void require(bool ok) {
    if (!ok) std::abort();
}

// Well-formed UTF-8 (RFC 3629): what every decoder here promises.
bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80                 ? 1
                        : c >= 0xC2 && c <= 0xDF ? 2
                        : c >= 0xE0 && c <= 0xEF ? 3
                        : c >= 0xF0 && c <= 0xF4 ? 4
                                                 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? c : c & (0x7F >> n);
        for (std::size_t k = 1; k < n; ++k) {
            const auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n;
    }
    return true;
}

void check_parameters(const ContentType& ct) {
    // RFC 2231 continuations join into one parameter: never more than read.
    require(ct.parameters.size() <= MessageLimits::kMaxParameters);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned selector = data[0];
    std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
    if ((selector & kAmplify) == kAmplify && !input.empty()) {
        const std::string piece = input;
        while (input.size() < kAmplifiedSize)
            input += piece;
    }
    switch (selector & 0x07) {
        case 0: {  // RFC 2047
            const std::string decoded = decode_header_value(input);
            require(valid_utf8(decoded));
            break;
        }
        case 1: {  // RFC 5322 3.4 address lists, and their SEARCH form
            const auto addresses = parse_address_list(input);
            require(addresses.size() <= MessageLimits::kMaxAddresses);
            const std::string form = address_search_form(input);
            require(valid_utf8(form));
            require(form.find_first_of("\r\n") == std::string::npos);
            break;
        }
        case 2:  // RFC 2045 5.1, RFC 2183, RFC 2231
            check_parameters(parse_content_type(input));
            check_parameters(parse_content_disposition(input));
            require(parse_language_list(input).size() <= MessageLimits::kMaxParameters);
            break;
        case 3: {  // header fields and unfolding (RFC 5322 2.2)
            const auto fields = parse_header_fields(input, ByteRange{0, input.size()});
            require(fields.size() <= MessageLimits::kMaxHeaderFields);
            for (const HeaderField& f : fields) {
                require(f.range.end <= input.size());
                require(unfold(f.raw_value).size() <= f.raw_value.size());
            }
            break;
        }
        case 4: {  // RFC 2045 6.7, 6.8
            const std::string qp = decode_quoted_printable(input);
            require(qp.size() <= input.size());
            require(decode_base64(input).size() <= input.size());
            // In two pieces (FETCH BINARY's chunks) exactly as whole.
            const std::size_t cut =
                input.empty() ? 0 : static_cast<unsigned char>(input[0]) % (input.size() + 1);
            std::string pieces;
            TransferDecoder decoder(TransferEncoding::QuotedPrintable);
            decoder.decode(input.substr(0, cut), pieces);
            decoder.decode(input.substr(cut), pieces);
            decoder.finish(pieces);
            require(pieces == qp);
            break;
        }
        case 5:  // charsets
            require(valid_utf8(to_utf8(input, "ISO-2022-JP")));
            require(valid_utf8(to_utf8(input, "utf-8")));
            break;
        case 6:  // RFC 5322 3.3 Date:
            (void)parse_date_header(input);
            break;
        case 7: {  // a whole message: MIME structure and search text
            const ParsedMessage m = parse_message(input);
            require(m.size == input.size());
            const SearchText text = extract_search_text(input, m);
            require(valid_utf8(text.body));
            for (const auto& f : text.header)
                require(valid_utf8(f.value));
            for (const auto& f : text.addresses)
                require(valid_utf8(f.value));
            break;
        }
    }
    return 0;
}
