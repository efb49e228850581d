// OutputBuffer: chunking, zero-copy bodies, partial sends. Not an RFC
// feature itself; it carries RFC 3501 4.3 literals (message bodies) to the
// socket without copying them.
#include "protocol/output_buffer.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

using imap::OutputBuffer;

namespace {

// Drains the buffer the way a synchronous sender does, `step` bytes per send.
std::string drain(OutputBuffer& buf, std::size_t step = SIZE_MAX) {
    std::string out;
    while (!buf.empty()) {
        const std::string_view front = buf.front();
        if (front.empty()) FAIL("front() is empty while bytes are pending");
        const std::size_t n = std::min(step, front.size());
        out.append(front.substr(0, n));
        buf.consume(n);
    }
    return out;
}

// Bytes that differ from one position to the next, so a misplaced or
// repeated byte is caught.
std::string pattern(std::size_t n, char seed = 0) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
        s[i] = static_cast<char>('a' + (i + static_cast<std::size_t>(seed)) % 26);
    return s;
}

}  // namespace

TEST_CASE("OutputBuffer: empty buffer has nothing to send") {
    OutputBuffer buf;
    CHECK(buf.empty());
    CHECK(buf.size() == 0);
    CHECK(buf.chunk_count() == 0);
    CHECK(buf.front().empty());
    CHECK(buf.take_front().empty());
    buf.consume(10);  // clamped, no effect
    CHECK(buf.empty());
}

TEST_CASE("OutputBuffer: small appends coalesce into one chunk") {
    OutputBuffer buf;
    buf.append("* 18 EXISTS\r\n");
    buf.append('*');
    buf.append(std::string_view(" 2 RECENT\r\n"));
    buf.append(std::string("a002 OK done\r\n"));  // moved but small: copied in
    CHECK(buf.chunk_count() == 1);
    CHECK(buf.size() == 13 + 1 + 11 + 14);
    CHECK(buf.front() == "* 18 EXISTS\r\n* 2 RECENT\r\na002 OK done\r\n");
}

TEST_CASE("OutputBuffer: a chunk is filled up to kChunkSize, then a new one starts") {
    OutputBuffer buf;
    const std::string first = pattern(OutputBuffer::kChunkSize - 1);
    buf.append(first);
    CHECK(buf.chunk_count() == 1);
    buf.append("xy");
    REQUIRE(buf.chunk_count() == 2);
    CHECK(buf.front().size() == OutputBuffer::kChunkSize);
    CHECK(buf.front() == first + "x");
    CHECK(buf.size() == OutputBuffer::kChunkSize + 1);
    CHECK(drain(buf) == first + "xy");
}

TEST_CASE("OutputBuffer: a large copied append is split into bounded chunks") {
    OutputBuffer buf;
    const std::string big = pattern(3 * OutputBuffer::kChunkSize + 5);
    buf.append(std::string_view(big));
    CHECK(buf.chunk_count() == 4);
    CHECK(buf.size() == big.size());
    CHECK(buf.front().size() == OutputBuffer::kChunkSize);
    CHECK(drain(buf) == big);
}

TEST_CASE("OutputBuffer: a large moved string becomes its own chunk without a copy") {
    OutputBuffer buf;
    std::string body = pattern(OutputBuffer::kMinMovedChunkSize);
    const char* const original = body.data();
    const std::string expected_body = body;

    buf.append("* 1 FETCH (BODY[] {4096}\r\n");
    buf.append(std::move(body));
    buf.append(")\r\n");
    REQUIRE(buf.chunk_count() == 3);
    CHECK(buf.size() == 26 + expected_body.size() + 3);

    buf.consume(26);
    // The bytes to send are the very memory the caller moved in.
    CHECK(buf.front().data() == original);
    CHECK(buf.front() == expected_body);
    buf.consume(expected_body.size());
    // Later appends went to a new chunk, never into the body.
    CHECK(buf.front() == ")\r\n");
}

TEST_CASE("OutputBuffer: a moved string just under kMinMovedChunkSize is copied") {
    OutputBuffer buf;
    buf.append("head ");
    buf.append(pattern(OutputBuffer::kMinMovedChunkSize - 1));
    CHECK(buf.chunk_count() == 1);
    CHECK(buf.size() == 5 + OutputBuffer::kMinMovedChunkSize - 1);
}

TEST_CASE("OutputBuffer: moved empty string adds nothing") {
    OutputBuffer buf;
    buf.append(std::string());
    CHECK(buf.empty());
    CHECK(buf.chunk_count() == 0);
}

TEST_CASE("OutputBuffer: partial consumes within a chunk") {
    OutputBuffer buf;
    buf.append("a001 OK LOGIN completed\r\n");
    buf.consume(5);
    CHECK(buf.front() == "OK LOGIN completed\r\n");
    CHECK(buf.size() == 20);
    buf.consume(0);
    CHECK(buf.size() == 20);
    buf.consume(19);
    CHECK(buf.front() == "\n");
    buf.consume(1);
    CHECK(buf.empty());
    CHECK(buf.chunk_count() == 0);
}

TEST_CASE("OutputBuffer: consume across chunk boundaries") {
    OutputBuffer buf;
    std::string body = pattern(2 * OutputBuffer::kMinMovedChunkSize, 3);
    const std::string expected_body = body;
    buf.append("before ");  // 7 bytes
    buf.append(std::move(body));
    buf.append(" after");
    REQUIRE(buf.chunk_count() == 3);

    // Ends inside the body: the first chunk goes, the body is partly sent.
    buf.consume(7 + 10);
    CHECK(buf.chunk_count() == 2);
    CHECK(buf.front() == std::string_view(expected_body).substr(10));

    // Ends exactly at the body's end: front() moves on to the next chunk.
    buf.consume(expected_body.size() - 10);
    CHECK(buf.chunk_count() == 1);
    CHECK(buf.front() == " after");

    // Past everything: clamped.
    buf.consume(1000);
    CHECK(buf.empty());
    CHECK(buf.front().empty());
}

TEST_CASE("OutputBuffer: one consume spanning several whole chunks") {
    OutputBuffer buf;
    buf.append("x");
    buf.append(pattern(OutputBuffer::kMinMovedChunkSize));
    buf.append(pattern(OutputBuffer::kMinMovedChunkSize, 1));
    buf.append("tail");
    REQUIRE(buf.chunk_count() == 4);
    buf.consume(1 + 2 * OutputBuffer::kMinMovedChunkSize + 2);
    CHECK(buf.chunk_count() == 1);
    CHECK(buf.front() == "il");
}

TEST_CASE("OutputBuffer: any send size reproduces the bytes in order") {
    const std::string big = pattern(3 * OutputBuffer::kChunkSize, 7);
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, std::size_t{4095},
                             OutputBuffer::kChunkSize, OutputBuffer::kChunkSize + 1}) {
        OutputBuffer buf;
        std::string expected;
        buf.append("* 3 FETCH (BODY[] {");
        expected += "* 3 FETCH (BODY[] {";
        std::string moved = big;
        buf.append(std::move(moved));
        expected += big;
        buf.append(std::string_view(big).substr(0, 5000));
        expected += big.substr(0, 5000);
        buf.append(")\r\n");
        expected += ")\r\n";
        CHECK(buf.size() == expected.size());
        CHECK(drain(buf, step) == expected);
    }
}

TEST_CASE("OutputBuffer: appends after a partial consume go after the pending bytes") {
    OutputBuffer buf;
    buf.append("abc");
    buf.consume(1);
    buf.append("def");
    CHECK(buf.size() == 5);
    CHECK(drain(buf) == "bcdef");
    // Reusable once drained.
    buf.append("again");
    CHECK(drain(buf) == "again");
}

TEST_CASE("OutputBuffer: take_front moves whole chunks out for asynchronous writes") {
    OutputBuffer buf;
    std::string body = pattern(OutputBuffer::kMinMovedChunkSize + 100);
    const char* const original = body.data();
    const std::string expected_body = body;
    buf.append("* 1 FETCH (BODY[] {4196}\r\n");
    buf.append(std::move(body));
    buf.append(")\r\n");

    CHECK(buf.take_front() == "* 1 FETCH (BODY[] {4196}\r\n");
    const std::string taken = buf.take_front();
    CHECK(taken.data() == original);  // still the caller's memory
    CHECK(taken == expected_body);
    CHECK(buf.size() == 3);
    CHECK(buf.take_front() == ")\r\n");
    CHECK(buf.empty());
    CHECK(buf.chunk_count() == 0);

    // The taken chunk was the open one; new appends start a fresh chunk.
    buf.append("next");
    CHECK(buf.chunk_count() == 1);
    CHECK(buf.front() == "next");
}

TEST_CASE("OutputBuffer: take_front after a partial send returns only the rest") {
    OutputBuffer buf;
    buf.append("a003 OK FETCH completed\r\n");
    buf.consume(5);
    CHECK(buf.take_front() == "OK FETCH completed\r\n");
    CHECK(buf.empty());
}

TEST_CASE("OutputBuffer: clear drops everything") {
    OutputBuffer buf;
    buf.append("abc");
    buf.append(pattern(OutputBuffer::kMinMovedChunkSize));
    buf.consume(1);
    buf.clear();
    CHECK(buf.empty());
    CHECK(buf.chunk_count() == 0);
    CHECK(buf.front().empty());
    buf.append("x");
    CHECK(drain(buf) == "x");
}
