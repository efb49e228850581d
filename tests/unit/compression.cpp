// The COMPRESS=DEFLATE layer (server/net/compression.h, RFC 4978) against
// zlib as the client: raw DEFLATE both ways, a sync flush that leaves
// nothing behind, inflation bounded per call (a decompression bomb), broken
// streams, and the memory a connection pays for compression.
#include "server/net/compression.h"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>

namespace {

using imap::server::Compression;

// The client's side: raw DEFLATE (windowBits -15), as RFC 4978 4 says.
class Peer {
  public:
    Peer() {
        REQUIRE(deflateInit2(&out_, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
        REQUIRE(inflateInit2(&in_, -15) == Z_OK);
    }
    ~Peer() {
        deflateEnd(&out_);
        inflateEnd(&in_);
    }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    std::string compress(const std::string& plain, int flush = Z_SYNC_FLUSH) {
        std::string result;
        out_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
        out_.avail_in = static_cast<uInt>(plain.size());
        do {
            char buffer[16384];
            out_.next_out = reinterpret_cast<Bytef*>(buffer);
            out_.avail_out = sizeof buffer;
            deflate(&out_, flush);
            result.append(buffer, sizeof buffer - out_.avail_out);
        } while (out_.avail_out == 0);
        return result;
    }
    // Everything the server's bytes inflate to now; REQUIREs valid data.
    std::string inflate_all(const std::string& compressed) {
        std::string result;
        in_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
        in_.avail_in = static_cast<uInt>(compressed.size());
        do {
            char buffer[16384];
            in_.next_out = reinterpret_cast<Bytef*>(buffer);
            in_.avail_out = sizeof buffer;
            const int rc = inflate(&in_, Z_SYNC_FLUSH);
            REQUIRE((rc == Z_OK || rc == Z_BUF_ERROR));
            result.append(buffer, sizeof buffer - in_.avail_out);
        } while (in_.avail_out == 0);
        return result;
    }

  private:
    z_stream out_{};
    z_stream in_{};
};

std::string response_like(std::size_t n) {
    std::string text;
    for (std::size_t i = 0; text.size() < n; ++i)
        text += "* " + std::to_string(i + 1) + " FETCH (FLAGS (\\Seen) UID " +
                std::to_string(1000 + i) + ")\r\n";
    text.resize(n);
    return text;
}

}  // namespace

TEST_CASE("RFC 4978 4: each flushed burst inflates completely on the client", "[compression]") {
    Compression c;
    Peer client;
    // Bursts of every size, small responses to a large literal; after each
    // flush the client has all of it (nothing held in the compressor).
    for (std::size_t size : {1u, 20u, 4096u, 300000u, 7u}) {
        const std::string burst = response_like(size);
        std::string wire;
        // In pieces, as the outbox hands them over.
        for (std::size_t at = 0; at < burst.size(); at += 5000)
            c.compress(std::string_view(burst).substr(at, 5000), wire);
        c.flush(wire);
        // Z_SYNC_FLUSH ends on the empty stored block 00 00 FF FF.
        REQUIRE(wire.size() >= 4);
        CHECK(wire.substr(wire.size() - 4) == std::string("\x00\x00\xff\xff", 4));
        CHECK(client.inflate_all(wire) == burst);
    }
    // A flush with nothing compressed since the last one writes nothing.
    std::string nothing;
    c.flush(nothing);
    CHECK(nothing.empty());
}

TEST_CASE("RFC 4978: the client's stream inflates whatever way it is split", "[compression]") {
    Peer client;
    const std::string commands = "a NOOP\r\nb SELECT INBOX\r\nc FETCH 1:* (FLAGS)\r\n";
    const std::string wire = client.compress(commands) + client.compress("d LOGOUT\r\n");
    Compression c;
    std::string plain;
    for (char byte : wire) {
        c.feed(std::string_view(&byte, 1));
        while (c.has_input())
            if (c.inflate(plain, 3) == 0) break;
    }
    CHECK_FALSE(c.failed());
    CHECK(plain == commands + "d LOGOUT\r\n");
}

TEST_CASE("Decompression bomb: inflate() never returns more than asked, memory stays flat",
          "[compression][hostile]") {
    Peer client;
    // 64 MiB of one byte: about 64 KiB compressed (DEFLATE's 1032:1).
    const std::string bomb = client.compress(std::string(64u << 20, 'a'));
    CHECK(bomb.size() < 128u * 1024);
    Compression c;
    c.feed(bomb);
    std::size_t total = 0;
    std::size_t calls = 0;
    std::size_t peak = 0;
    while (c.has_input()) {
        std::string plain;
        const std::size_t got = c.inflate(plain, 64 * 1024);
        CHECK(got <= 64 * 1024);
        CHECK(plain.size() == got);
        total += got;
        ++calls;
        peak = std::max(peak, c.allocated_bytes());
        if (got == 0) break;
    }
    CHECK(total == (64u << 20));
    CHECK(calls >= 1024);
    // zlib's state for both streams, nothing that grows with the input.
    CHECK(peak < 128 * 1024);
    CHECK_FALSE(c.failed());
}

TEST_CASE("RFC 1951: invalid DEFLATE data and a stream that ends fail the layer",
          "[compression][hostile]") {
    {
        Compression c;
        // Block type 3 is reserved (RFC 1951 3.2.3).
        c.feed(std::string("\xff\xff\xff\xff", 4));
        std::string plain;
        c.inflate(plain, 1024);
        CHECK(c.failed());
        CHECK_FALSE(c.has_input());
        CHECK(c.inflate(plain, 1024) == 0);
    }
    {
        // RFC 4978 has no end of stream: a final block is an error.
        Peer client;
        Compression c;
        c.feed(client.compress("a NOOP\r\n", Z_FINISH));
        std::string plain;
        while (c.has_input() && c.inflate(plain, 1024) > 0) {
        }
        CHECK(plain == "a NOOP\r\n");
        CHECK(c.failed());
    }
}

TEST_CASE("Memory: what a connection with COMPRESS holds in zlib", "[compression][memory]") {
    Compression c;
    const std::size_t at_start = c.allocated_bytes();
    Peer client;
    std::string wire;
    c.compress(response_like(100000), wire);
    c.flush(wire);
    c.feed(client.compress("a NOOP\r\n"));
    std::string plain;
    c.inflate(plain, 1024);
    const std::size_t in_use = c.allocated_bytes();
    WARN("zlib bytes per connection: " << at_start << " after COMPRESS, " << in_use
                                       << " once both directions were used");
    // The deflate state with kWindowBits/kMemLevel plus the 32 KiB inflate
    // window (docs/benchmarks.md "COMPRESS=DEFLATE").
    CHECK(in_use < 96 * 1024);
}
