// The COMPRESS=DEFLATE layer (RFC 4978): raw DEFLATE (RFC 1951, no zlib or
// gzip header) each way, through zlib, free of libuv and of any I/O, so it
// is tested in memory (tests/unit/compression.cpp) and the Connection only
// moves bytes through it.
//
// Layering (RFC 4978 3): compression sits between the Session's bytes and
// TLS. Output: Session -> compress() ... flush() -> TLS (or the socket).
// Input: the socket -> TLS -> feed() -> inflate() -> Session.
//
// Flushing (RFC 4978 4): the Connection calls flush() (Z_SYNC_FLUSH) at the
// end of every burst it writes, so no response waits in the compressor and
// the bytes handed to the socket are all there is: the Connection's unsent
// output and its high-water marks count compressed bytes, and nothing is
// held here between bursts.
//
// Bounded input (a decompression bomb: DEFLATE inflates up to 1032:1):
// feed() only queues compressed bytes (one socket read at a time: the
// Connection reads no more while any is queued), and inflate() produces at
// most `max` bytes per call. The Connection inflates only while the
// Session takes input, exactly as it would read the socket, so the framer's
// limits and the input high-water mark apply to the inflated bytes.
//
// Memory: the streams exist only once COMPRESS was accepted (the Connection
// creates this object then), and zlib's allocations are counted
// (allocated_bytes()). See kWindowBits and kMemLevel for what a connection
// with compression costs.
#pragma once

#include <zlib.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace imap::server {

class Compression {
  public:
    // Measured on the response to `FETCH 1:* (ENVELOPE BODYSTRUCTURE)` of
    // 500 messages of the benchmark mailbox (tests/e2e/test_compress.py
    // CompressSavings; docs/benchmarks.md "COMPRESS=DEFLATE"), bytes saved
    // against the deflate state a connection then holds for as long as it
    // lives (zlib: 2^(windowBits+2) + 2^(memLevel+9) bytes):
    //   level 1: windowBits 15/memLevel 8 (256 KiB) 5.07x, 12/5 (32 KiB) 4.22x
    //   level 6: 15/8 (256 KiB) 6.37x, 14/7 (128 KiB) 6.10x, 13/6 (64 KiB)
    //            5.73x, 12/5 (32 KiB) 5.15x
    // Level 6 (zlib's default, Dovecot's imap_zlib default) compresses
    // responses at ~60 MB/s on this machine (level 1: ~100 MB/s);
    // incompressible data costs ~27 MB/s at either level. 12/5 keeps a
    // connection with COMPRESS at ~77 KiB of zlib state in all (the deflate
    // state plus the inflater's fixed 32 KiB window, compression.cpp's
    // memory test), where 15/8 would cost ~300 KiB for 1.2x more saving.
    static constexpr int kLevel = 6;
    // The compressor's window: 2^kWindowBits bytes of history. The inflater
    // always has the full 32 KiB window: the client chooses its own (-8 to
    // -15, RFC 4978 4) and a smaller inflate window would refuse its data.
    static constexpr int kWindowBits = 12;
    // zlib's hash table and pending buffer size (1..9).
    static constexpr int kMemLevel = 5;

    Compression();
    ~Compression();
    Compression(const Compression&) = delete;
    Compression& operator=(const Compression&) = delete;

    // ---- Output: the server's bytes for the client ----
    // Appends the compressed form of `plain` to `out` (some of it may stay
    // in the compressor until flush()).
    void compress(std::string_view plain, std::string& out);
    // Z_SYNC_FLUSH: appends everything still in the compressor to `out`,
    // ending on a byte boundary, so the client can inflate all of it now.
    // Nothing when nothing was compressed since the last flush.
    void flush(std::string& out);

    // ---- Input: the client's bytes for the server ----
    // Queues compressed bytes; nothing is inflated yet.
    void feed(std::string_view compressed);
    // Inflates what is queued into `out`, appending at most `max` bytes;
    // returns how many it appended. Zero with has_input(): more compressed
    // bytes are needed first (has_input() is then false).
    std::size_t inflate(std::string& out, std::size_t max);
    // Queued bytes not inflated yet, or inflated bytes that did not fit in
    // the last `max`.
    bool has_input() const;
    // The client's stream is not valid DEFLATE (or it ended: RFC 4978 has
    // no end of stream). Nothing more is inflated.
    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }

    // Bytes zlib holds allocated for both streams now.
    std::size_t allocated_bytes() const { return allocated_; }

  private:
    static void* allocate(void* opaque, unsigned items, unsigned size);
    static void release(void* opaque, void* address);

    z_stream deflate_{};
    z_stream inflate_{};
    bool deflate_pending_ = false;  // compressed since the last flush
    std::string input_;             // compressed bytes from the client
    std::size_t input_offset_ = 0;  // how many of them zlib consumed
    bool output_full_ = false;      // the last inflate() filled its `max`
    std::string error_;
    std::size_t allocated_ = 0;
};

}  // namespace imap::server
