// FETCH BINARY, BINARY.PEEK, BINARY.SIZE and APPEND with literal8 through
// the Session (RFC 3516), byte for byte. The message is the one of
// tests/e2e/transcripts/binary.imap; the answers there were compared with
// Dovecot 2.3.19 (tests/e2e/transcripts/DIFFERENCES.md lists where they
// differ, with the RFC behind each).
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "server/imap/fetch_job.h"
#include "server/imap/user_mail.h"
#include "store/data_dir.h"
#include "support/session_driver.h"

namespace {

namespace store = imap::store;
using imap::server::FetchJob;
using imap::test::drain;
using imap::test::SessionDriver;

std::string base64(const std::string& bytes) {
    static const char* kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t line = 0;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const std::uint32_t n =
            (static_cast<unsigned char>(bytes[i]) << 16) |
            (i + 1 < bytes.size() ? static_cast<unsigned char>(bytes[i + 1]) << 8 : 0) |
            (i + 2 < bytes.size() ? static_cast<unsigned char>(bytes[i + 2]) : 0);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
        if ((line += 4) == 76) {
            out += "\r\n";
            line = 0;
        }
    }
    return out + "\r\n";
}

const std::string kNulBytes(
    "\x00\x01\x02"
    "binary\xff\x00"
    "end",
    14);

std::string message() {
    return "From: Alice <alice@example.org>\r\n"
           "Subject: Binary parts\r\n"
           "MIME-Version: 1.0\r\n"
           "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
           "\r\n"
           "--b1\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: quoted-printable\r\n"
           "\r\n"
           "caf=C3=A9 au lait, a soft=\r\n"
           " break and =3D signs\r\n"
           "--b1\r\n"
           "Content-Type: application/octet-stream\r\n"
           "Content-Transfer-Encoding: base64\r\n"
           "\r\n" +
           base64(kNulBytes) +
           "--b1\r\n"
           "Content-Type: application/x-foo\r\n"
           "Content-Transfer-Encoding: x-uuencode\r\n"
           "\r\n"
           "begin 644 foo\r\n"
           "end\r\n"
           "--b1\r\n"
           "Content-Type: message/rfc822\r\n"
           "\r\n"
           "Subject: Inner\r\n"
           "Content-Transfer-Encoding: BASE64\r\n"
           "\r\n" +
           base64("inner text\r\n") +
           "--b1\r\n"
           "Content-Type: text/plain; charset=utf-8\r\n"
           "Content-Transfer-Encoding: 8bit\r\n"
           "\r\n"
           "Gr\xc3\xbc\xc3\x9f"
           "e 8bit\r\n"
           "--b1--\r\n";
}

std::string append(SessionDriver& d, const std::string& raw, bool literal8 = false) {
    return d.send(std::string("a APPEND INBOX ") + (literal8 ? "~" : "") + "{" +
                  std::to_string(raw.size()) + "+}\r\n" + raw + "\r\n");
}

void selected(SessionDriver& d, const std::string& raw, const char* select = "s SELECT INBOX\r\n") {
    d.login();
    REQUIRE(append(d, raw).starts_with("a OK [APPENDUID "));
    REQUIRE(d.send(select).find("s OK [READ-") != std::string::npos);
}

using imap::test::send_all;

}  // namespace

TEST_CASE("RFC 3516 4.1: BINARY is advertised after login", "[session][binary]") {
    SessionDriver d({.loopback = true});
    d.login();
    CHECK(d.send("c CAPABILITY\r\n").find(" BINARY ") != std::string::npos);
}

TEST_CASE("RFC 3516 4.2 and 4.3: decoded content and literal8 only when it holds NUL",
          "[session][binary]") {
    SessionDriver d({.loopback = true});
    selected(d, message());
    // Quoted-printable, decoded; no NUL: a plain literal (4.3 SHOULD).
    CHECK(d.send("f1 FETCH 1 BINARY.PEEK[1]\r\n") ==
          "* 1 FETCH (BINARY[1] {39}\r\ncaf\xc3\xa9 au lait, a soft break and = signs)\r\n"
          "f1 OK FETCH completed\r\n");
    // Base64 holding NUL: literal8 (RFC 3516 4.3).
    CHECK(d.send("f2 FETCH 1 BINARY.PEEK[2]\r\n") ==
          "* 1 FETCH (BINARY[2] ~{14}\r\n" + kNulBytes + ")\r\nf2 OK FETCH completed\r\n");
    // 8bit: as it is.
    CHECK(d.send("f3 FETCH 1 BINARY.PEEK[5]\r\n") ==
          "* 1 FETCH (BINARY[5] {12}\r\nGr\xc3\xbc\xc3\x9f"
          "e 8bit)\r\nf3 OK FETCH completed\r\n");
    // Inside an embedded message: its text part, base64 decoded.
    CHECK(d.send("f4 FETCH 1 BINARY.PEEK[4.1]\r\n") ==
          "* 1 FETCH (BINARY[4.1] {12}\r\ninner text\r\n)\r\nf4 OK FETCH completed\r\n");
    // BINARY.SIZE: the size BINARY returns (4.2).
    CHECK(d.send("f5 FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY.SIZE[5] UID)\r\n") ==
          "* 1 FETCH (UID 1 BINARY.SIZE[1] 39 BINARY.SIZE[2] 14 BINARY.SIZE[5] 12)\r\n"
          "f5 OK FETCH completed\r\n");
    // Partial on the decoded data (4.2), the origin in the response.
    CHECK(d.send("f6 FETCH 1 BINARY.PEEK[2]<2.5>\r\n") ==
          "* 1 FETCH (BINARY[2]<2> {5}\r\n\x02"
          "bina)\r\nf6 OK FETCH completed\r\n");
    // literal8 or not by what is returned: the window's bytes.
    CHECK(d.send("f7 FETCH 1 BINARY.PEEK[2]<8.3>\r\n") == "* 1 FETCH (BINARY[2]<8> ~{3}\r\ny\xff" +
                                                              std::string(1, '\0') +
                                                              ")\r\nf7 OK FETCH completed\r\n");
    CHECK(d.send("f7 FETCH 1 BINARY.PEEK[2]<7.3>\r\n") ==
          "* 1 FETCH (BINARY[2]<7> {3}\r\nry\xff)\r\nf7 OK FETCH completed\r\n");
    CHECK(d.send("f8 FETCH 1 BINARY.PEEK[1]<100.5>\r\n") ==
          "* 1 FETCH (BINARY[1]<100> {0}\r\n)\r\nf8 OK FETCH completed\r\n");
    // A part past the last: empty, as BODY[6] (and Dovecot).
    CHECK(d.send("f9 FETCH 1 (BINARY.PEEK[6] BINARY.SIZE[6])\r\n") ==
          "* 1 FETCH (BINARY[6] {0}\r\n BINARY.SIZE[6] 0)\r\nf9 OK FETCH completed\r\n");
    // Nothing here set \Seen.
    CHECK(d.send("g FETCH 1 FLAGS\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent))\r\ng OK FETCH completed\r\n");
}

TEST_CASE("RFC 3516 4.2: BINARY sets the Seen flag as BODY does but not under EXAMINE",
          "[session][binary]") {
    SessionDriver d({.loopback = true});
    selected(d, message());
    CHECK(d.send("f FETCH 1 BINARY[2]<0.1>\r\n") ==
          "* 1 FETCH (FLAGS (\\Seen \\Recent) BINARY[2]<0> ~{1}\r\n" + std::string(1, '\0') +
              ")\r\nf OK FETCH completed\r\n");
    SessionDriver e({.loopback = true});
    selected(e, message(), "s EXAMINE INBOX\r\n");
    CHECK(e.send("f FETCH 1 BINARY[5]<0.2>\r\n") ==
          "* 1 FETCH (BINARY[5]<0> {2}\r\nGr)\r\nf OK FETCH completed\r\n");
}

TEST_CASE("RFC 3516 4.3 and RFC 9051 6.4.5: UNKNOWN-CTE for an unknown encoding or a non-leaf part",
          "[session][binary]") {
    SessionDriver d({.loopback = true});
    selected(d, message());
    const std::string no = " NO [UNKNOWN-CTE] Unknown Content-Transfer-Encoding\r\n";
    CHECK(d.send("a FETCH 1 BINARY[3]\r\n") == "a" + no);
    CHECK(d.send("b FETCH 1 BINARY.SIZE[3]\r\n") == "b" + no);
    // Multipart, message/rfc822 and the message itself are not leaf parts.
    CHECK(d.send("c FETCH 1 BINARY.PEEK[]\r\n") == "c" + no);
    CHECK(d.send("d FETCH 1 BINARY.PEEK[4]\r\n") == "d" + no);
    // The request fails: no response for the message, and no \Seen set.
    CHECK(d.send("e FETCH 1 (BINARY[1] BINARY[3])\r\n") == "e" + no);
    CHECK(d.send("g FETCH 1 FLAGS\r\n") ==
          "* 1 FETCH (FLAGS (\\Recent))\r\ng OK FETCH completed\r\n");
}

TEST_CASE("RFC 3516 4.4: APPEND with literal8 keeps NUL and BINARY returns it as literal8",
          "[session][binary]") {
    SessionDriver d({.loopback = true});
    d.login();
    const std::string raw = "Subject: raw\r\nContent-Transfer-Encoding: binary\r\n\r\nA" +
                            std::string(1, '\0') + "B\r\n";
    CHECK(append(d, raw, true).starts_with("a OK [APPENDUID "));
    REQUIRE(d.send("s SELECT INBOX\r\n").find("s OK") != std::string::npos);
    CHECK(d.send("f FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])\r\n") ==
          "* 1 FETCH (BINARY.SIZE[1] 5 BINARY[1] ~{5}\r\nA" + std::string(1, '\0') +
              "B\r\n)\r\nf OK FETCH completed\r\n");
}

TEST_CASE("RFC 3516 4.2: a base64 part larger than a chunk is decoded and streamed in pieces",
          "[session][binary]") {
    std::mt19937 rng(3516);
    std::string bytes(3 * FetchJob::kBodyChunk + 12345, '\0');
    for (char& c : bytes)
        c = static_cast<char>(rng());
    const std::string raw =
        "Subject: big\r\nContent-Transfer-Encoding: base64\r\n"
        "Content-Type: application/octet-stream\r\n\r\n" +
        base64(bytes);
    SessionDriver d({.loopback = true});
    selected(d, raw);
    CHECK(send_all(d, "a FETCH 1 BINARY.SIZE[1]\r\n") == "* 1 FETCH (BINARY.SIZE[1] " +
                                                             std::to_string(bytes.size()) +
                                                             ")\r\na OK FETCH completed\r\n");
    CHECK(send_all(d, "b FETCH 1 BINARY.PEEK[1]\r\n") ==
          "* 1 FETCH (BINARY[1] ~{" + std::to_string(bytes.size()) + "}\r\n" + bytes +
              ")\r\nb OK FETCH completed\r\n");
    // A window across chunk boundaries of the encoded and decoded data.
    const std::size_t offset = FetchJob::kBodyChunk - 7;
    const std::size_t length = FetchJob::kBodyChunk + 100;
    CHECK(send_all(d, "c FETCH 1 BINARY.PEEK[1]<" + std::to_string(offset) + "." +
                          std::to_string(length) + ">\r\n") ==
          "* 1 FETCH (BINARY[1]<" + std::to_string(offset) + "> ~{" + std::to_string(length) +
              "}\r\n" + bytes.substr(offset, length) + ")\r\nc OK FETCH completed\r\n");
}

TEST_CASE("RFC 3516 6: a text part goes out with CRLF line ends and BINARY.SIZE counts them",
          "[session][binary]") {
    // text/plain, base64 of "one\ntwo\n" (bare LF), and an octet-stream
    // with the same bytes, which is not textual and stays as it is.
    const std::string raw =
        "Subject: lf\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nb25lCnR3bwo=\r\n"
        "--b\r\nContent-Type: application/octet-stream\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nb25lCnR3bwo=\r\n"
        "--b--\r\n";
    SessionDriver d({.loopback = true});
    selected(d, raw);
    CHECK(d.send("f FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1] BINARY.SIZE[2] BINARY.PEEK[2])\r\n") ==
          "* 1 FETCH (BINARY.SIZE[1] 10 BINARY[1] {10}\r\none\r\ntwo\r\n BINARY.SIZE[2] 8 "
          "BINARY[2] {8}\r\none\ntwo\n)\r\nf OK FETCH completed\r\n");
}
