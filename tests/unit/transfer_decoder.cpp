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

namespace {

// The plain reading of RFC 2045 6.8, one character at a time: the
// decoder's four-at-a-time path must give exactly this.
std::string reference_base64(std::string_view in) {
    const std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t value = 0;
    int bits = 0;
    for (char c : in) {
        if (c == '=') break;
        const std::size_t v = alphabet.find(c);
        if (v == std::string_view::npos) continue;
        value = value << 6 | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>(value >> bits & 0xFF);
        }
    }
    return out;
}

// RFC 3516 6's rule, one character at a time.
std::string reference_crlf(std::string_view in) {
    std::string out;
    bool cr = false;
    for (char c : in) {
        if (c == '\n' && !cr) out += '\r';
        out += c;
        cr = c == '\r';
    }
    return out;
}

}  // namespace

TEST_CASE("RFC 4648 10 and RFC 2045 6.8: base64 decodes as a character-by-character reading",
          "[transfer_decoder][binary]") {
    // RFC 4648 section 10's test vectors.
    CHECK(whole(TransferEncoding::Base64, "") == "");
    CHECK(whole(TransferEncoding::Base64, "Zg==") == "f");
    CHECK(whole(TransferEncoding::Base64, "Zm8=") == "fo");
    CHECK(whole(TransferEncoding::Base64, "Zm9v") == "foo");
    CHECK(whole(TransferEncoding::Base64, "Zm9vYg==") == "foob");
    CHECK(whole(TransferEncoding::Base64, "Zm9vYmE=") == "fooba");
    CHECK(whole(TransferEncoding::Base64, "Zm9vYmFy") == "foobar");
    // Every byte value, in 76-character lines, as encoders write it.
    CHECK(whole(TransferEncoding::Base64,
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4\r\n"
                "OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3Bx\r\n"
                "cnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmq\r\n"
                "q6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj\r\n"
                "5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==\r\n") == [] {
        std::string all;
        for (int i = 0; i < 256; ++i)
            all += static_cast<char>(i);
        return all;
    }());
    // Long random input (whole groups, line ends, junk and padding mixed),
    // whole and in random pieces, against the reference.
    std::mt19937 rng(2045);
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int round = 0; round < 300; ++round) {
        std::string input;
        const std::size_t length = rng() % 2000;
        for (std::size_t i = 0; i < length; ++i) {
            const unsigned roll = rng() % 100;
            if (roll == 0) {
                input += "\r\n";
            } else if (roll == 1) {
                input += static_cast<char>(rng() % 256);  // junk, "=" included
            } else {
                input += alphabet[rng() % alphabet.size()];
            }
        }
        std::vector<std::size_t> cuts;
        for (std::size_t i = 1; i < input.size(); ++i)
            if (rng() % 97 == 0) cuts.push_back(i);
        INFO("round " << round);
        const std::string expected = reference_base64(input);
        CHECK(whole(TransferEncoding::Base64, input) == expected);
        CHECK(in_pieces(TransferEncoding::Base64, input, cuts) == expected);
    }
}

TEST_CASE("RFC 3516 6: LineEnds::Crlf on random text gives a character-by-character reading",
          "[transfer_decoder][binary]") {
    using LineEnds = TransferDecoder::LineEnds;
    std::mt19937 rng(3516);
    const std::string alphabet = "\r\n\n\nab";
    for (int round = 0; round < 300; ++round) {
        std::string input;
        const std::size_t length = rng() % 300;
        for (std::size_t i = 0; i < length; ++i)
            input += alphabet[rng() % alphabet.size()];
        std::string out;
        TransferDecoder decoder(TransferEncoding::Identity, LineEnds::Crlf);
        std::size_t at = 0;
        while (at < input.size()) {
            const std::size_t take = std::min<std::size_t>(rng() % 20, input.size() - at);
            decoder.decode(std::string_view(input).substr(at, take), out);
            at += take;
        }
        decoder.finish(out);
        INFO("round " << round);
        CHECK(out == reference_crlf(input));
    }
}
