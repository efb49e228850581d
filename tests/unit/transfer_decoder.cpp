// TransferDecoder (store/message/transfer_decoder.h): decoding in pieces
// gives what decoding the whole gives, at every split, for the RFC 2045
// encodings FETCH BINARY undoes (RFC 3516 4.2).
#include "store/message/transfer_decoder.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "store/message/message.h"

namespace {

using imap::store::TransferDecoder;
using imap::store::TransferEncoding;

std::string whole(TransferEncoding encoding, std::string_view in) {
    std::string out;
    TransferDecoder decoder(encoding);
    decoder.decode(in, out);
    decoder.finish(out);
    return out;
}

std::string in_pieces(TransferEncoding encoding, std::string_view in,
                      const std::vector<std::size_t>& cuts) {
    std::string out;
    TransferDecoder decoder(encoding);
    std::size_t at = 0;
    for (std::size_t cut : cuts) {
        decoder.decode(in.substr(at, cut - at), out);
        at = cut;
    }
    decoder.decode(in.substr(at), out);
    decoder.finish(out);
    return out;
}

}  // namespace

TEST_CASE("RFC 2045 6.2: 7bit and 8bit and binary need no decoding and other names are unknown",
          "[transfer_decoder][binary]") {
    using E = TransferEncoding;
    CHECK(imap::store::transfer_encoding("7bit") == E::Identity);
    CHECK(imap::store::transfer_encoding("8BIT") == E::Identity);
    CHECK(imap::store::transfer_encoding("Binary") == E::Identity);
    CHECK(imap::store::transfer_encoding("BASE64") == E::Base64);
    CHECK(imap::store::transfer_encoding("Quoted-Printable") == E::QuotedPrintable);
    CHECK(imap::store::transfer_encoding("x-uuencode") == E::Unknown);
    CHECK(imap::store::transfer_encoding("") == E::Unknown);
}

TEST_CASE("RFC 2045 6.7 and 6.8: every two-way split decodes as the whole",
          "[transfer_decoder][binary]") {
    const std::vector<std::pair<TransferEncoding, std::string>> inputs = {
        {TransferEncoding::QuotedPrintable,
         "caf=C3=A9 au lait, a soft=\r\n break, =3D signs, =  \r\ntrailing=\nLF, a lone = and "
         "=ZZ, =4"},
        {TransferEncoding::QuotedPrintable, "=\r"},
        {TransferEncoding::QuotedPrintable, "ab=\t \t"},
        {TransferEncoding::Base64, "AAEC\r\nYmluYXJ5/wBl\r\nbmQ=\r\nignored"},
        {TransferEncoding::Base64, "SGVs bG8*#"},
    };
    for (const auto& [encoding, input] : inputs) {
        INFO(input);
        const std::string expected = whole(encoding, input);
        if (encoding == TransferEncoding::QuotedPrintable) {
            CHECK(expected == imap::store::decode_quoted_printable(input));
        } else {
            CHECK(expected == imap::store::decode_base64(input));
        }
        for (std::size_t cut = 0; cut <= input.size(); ++cut) {
            INFO("cut " << cut);
            CHECK(in_pieces(encoding, input, {cut}) == expected);
        }
        std::vector<std::size_t> every;
        for (std::size_t i = 1; i < input.size(); ++i)
            every.push_back(i);
        CHECK(in_pieces(encoding, input, every) == expected);
    }
    CHECK(whole(TransferEncoding::QuotedPrintable, "caf=C3=A9 soft=\r\nbreak") ==
          "caf\xc3\xa9 softbreak");
    CHECK(whole(TransferEncoding::Base64, "AAEC") == std::string("\x00\x01\x02", 3));
}

TEST_CASE("Random quoted-printable and base64 in random pieces decode as the whole",
          "[transfer_decoder][binary]") {
    std::mt19937 rng(12345);
    const std::string qp_alphabet = "=\r\n \tAB3Dz=";
    const std::string b64_alphabet = "ABCDEFabcdef0123+/=\r\n*";
    for (int round = 0; round < 500; ++round) {
        for (TransferEncoding encoding :
             {TransferEncoding::QuotedPrintable, TransferEncoding::Base64}) {
            const std::string& alphabet =
                encoding == TransferEncoding::Base64 ? b64_alphabet : qp_alphabet;
            std::string input;
            const std::size_t length = rng() % 64;
            for (std::size_t i = 0; i < length; ++i)
                input += alphabet[rng() % alphabet.size()];
            std::vector<std::size_t> cuts;
            for (std::size_t i = 1; i < input.size(); ++i)
                if (rng() % 3 == 0) cuts.push_back(i);
            INFO(input);
            CHECK(in_pieces(encoding, input, cuts) == whole(encoding, input));
        }
    }
}

TEST_CASE("RFC 3516 6: with LineEnds::Crlf every bare LF becomes CRLF at every split",
          "[transfer_decoder][binary]") {
    using LineEnds = TransferDecoder::LineEnds;
    // Base64 of "a\nb\r\nc\rd\n\n" and the same as quoted-printable.
    const std::vector<std::pair<TransferEncoding, std::string>> inputs = {
        {TransferEncoding::Base64, "YQpiDQpjDWQKCg=="},
        {TransferEncoding::QuotedPrintable, "a\nb=0D=0Ac\rd=0A\n"},
        {TransferEncoding::Identity, "a\nb\r\nc\rd\n\n"},
    };
    for (const auto& [encoding, input] : inputs) {
        INFO(input);
        for (std::size_t cut = 0; cut <= input.size(); ++cut) {
            std::string out;
            TransferDecoder decoder(encoding, LineEnds::Crlf);
            decoder.decode(input.substr(0, cut), out);
            decoder.decode(input.substr(cut), out);
            decoder.finish(out);
            CHECK(out == "a\r\nb\r\nc\rd\r\n\r\n");
        }
        // A CR that ends one piece of output and the LF that starts the next.
        std::string out;
        TransferDecoder decoder(TransferEncoding::Identity, LineEnds::Crlf);
        decoder.decode("x\r", out);
        decoder.decode("\ny\n", out);
        CHECK(out == "x\r\ny\r\n");
    }
}
