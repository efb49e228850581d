// COMPRESS (RFC 4978) in the Session: the state it is valid in, its
// answers byte for byte, and the hand-over to the transport (the OK is the
// last uncompressed output; nothing runs until compression_started()). The
// DEFLATE layer itself is tested in compression.cpp, end to end in
// tests/e2e/test_serve.py (Compress*).
#include <catch2/catch.hpp>
#include <string>

#include "support/session_driver.h"

namespace {

using imap::test::drain;
using imap::test::SessionDriver;

bool advertises(const imap::server::Session& session, const std::string& capability) {
    for (const std::string& cap : session.capabilities()) {
        if (cap == capability) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("RFC 4978 5: COMPRESS is command-auth: BAD before login and not advertised there",
          "[session][compress]") {
    SessionDriver d({.loopback = true});
    d.greeting();
    CHECK_FALSE(advertises(d.session, "COMPRESS=DEFLATE"));
    CHECK(d.send("a COMPRESS DEFLATE\r\n") ==
          "a BAD COMPRESS is not valid in the not authenticated state\r\n");
    CHECK_FALSE(d.session.compression_requested());
    CHECK(d.send("b NOOP\r\n") == "b OK NOOP completed\r\n");
}

TEST_CASE(
    "RFC 4978 3: OK and compression from the byte after its CRLF with pipelined bytes dropped",
    "[session][compress]") {
    SessionDriver d({.loopback = true});
    d.login();
    CHECK(advertises(d.session, "COMPRESS=DEFLATE"));
    // The client must not send more before it has seen the OK: what it did
    // send was not compressed for the inflater, so it is never run.
    d.session.receive("c COMPRESS DEFLATE\r\nd NOOP\r\n");
    REQUIRE(d.session.compression_requested());
    const std::string ok = "c OK DEFLATE active\r\n";
    CHECK(d.session.compressed_output_offset() == ok.size());
    CHECK(drain(d.session.output()) == ok);
    // Until the transport has compression running, nothing is read.
    CHECK(d.send("e NOOP\r\n").empty());
    d.session.compressed_output_marked();
    CHECK_FALSE(d.session.compressed_output_offset());
    d.session.compression_started();
    CHECK_FALSE(d.session.compression_requested());
    CHECK(d.session.compression_active());
    CHECK(d.send("f NOOP\r\n") == "f OK NOOP completed\r\n");
    // RFC 4978 3: the same mechanism again is NO [COMPRESSIONACTIVE].
    CHECK(d.send("g COMPRESS DEFLATE\r\n") ==
          "g NO [COMPRESSIONACTIVE] DEFLATE active via COMPRESS\r\n");
    CHECK_FALSE(d.session.compression_requested());
}

TEST_CASE("RFC 4978 3: BAD for an unknown or missing algorithm and compression stays off",
          "[session][compress]") {
    SessionDriver d({.loopback = true});
    d.login();
    CHECK(d.send("a COMPRESS X-LZ4\r\n") == "a BAD Unknown compression algorithm X-LZ4\r\n");
    CHECK(d.send("b COMPRESS\r\n").starts_with("b BAD "));
    CHECK_FALSE(d.session.compression_requested());
    CHECK_FALSE(d.session.compression_active());
    // Valid in the selected state too.
    CHECK(d.send("c SELECT INBOX\r\n").find("c OK [READ-WRITE]") != std::string::npos);
    CHECK(d.send("d COMPRESS deflate\r\n") == "d OK DEFLATE active\r\n");
    CHECK(d.session.compression_requested());
}
