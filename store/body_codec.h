// How a body's bytes and its search text are compressed (zstd, Debian's
// libzstd; docs/storage.md "Compressed bodies").
//
// A body is stored as a *container*: the raw size, the block size, the
// block count, each block's end offset, then each block as an independent
// zstd frame. A body of at most limits::kBodyBlockBytes is one frame; a
// bigger one is cut into blocks of that size, so reading a byte range
// (a partial FETCH, one section of a 64 MiB message) decompresses only the
// blocks the range touches. All integers are 32-bit little-endian (a body
// is at most limits::kMaxMessageSize).
//
// The search text columns hold one zstd frame each (a BLOB), or the text
// itself (TEXT) when compressing does not make it smaller and for bodies
// stored before schema version 7: the value's type says which. A frame is
// one of two kinds, told apart by its first byte:
// - plain (schema v7): a zstd frame of the text alone (it starts with
//   zstd's magic number, 0x28 0xB5 0x2F 0xFD);
// - prefixed (schema v8): kPrefixedTextTag, the prefix size P (32-bit
//   little-endian), then a zstd frame of the text compressed with the
//   first P bytes of the body's raw bytes as its prefix (zstd's
//   refPrefix), so text copied from the message (the 7bit and 8bit text
//   parts, the header fields) costs only what differs from it. Reading it
//   needs those P bytes of the body; P is at most limits::kTextPrefixMaxBytes.
//   The frame carries zstd's checksum of the text, so a body that is not
//   the one it was compressed against is detected (StoreError(Corrupt)).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace imap::store {

// body_raw.format of a container as described above.
inline constexpr std::int64_t kBodyFormatZstdBlocks = 1;

// The container for `raw`.
std::string compress_body(std::string_view raw);

// Reads `count` bytes of the container starting at `offset` into `out`
// (the caller's storage: sqlite3_blob_read on the stored container).
using ContainerReader = std::function<void(std::uint64_t offset, char* out, std::size_t count)>;

// Bytes [offset, offset + length) of the body stored as the container of
// `container_size` bytes, clamped to the body's size, decompressing only
// the blocks that hold them. StoreError(Corrupt) when the container is not
// one compress_body() could have made (a damaged database), never more
// memory than the range and one block.
std::string read_container_range(std::uint64_t container_size, const ContainerReader& read,
                                 std::uint64_t offset, std::uint64_t length);

// read_container_range() of a container held in memory (a small one read
// whole, MailStore::read_small_container()).
std::string read_container_range(std::string_view container, std::uint64_t offset,
                                 std::uint64_t length);

// The raw size a container says it holds (its first four bytes).
std::uint64_t container_raw_size(std::uint64_t container_size, const ContainerReader& read);

// One zstd frame of `text`, or nullopt-like empty string when the frame
// would not be smaller than the text (then store the text itself).
std::string compress_text(std::string_view text);

// The text of a frame compress_text() made; StoreError(Corrupt) when it is
// not a whole, valid frame of at most limits::kMaxMessageSize * 2 bytes.
std::string decompress_text(std::string_view frame);

// The first byte of a prefixed frame; a plain frame starts with 0x28.
inline constexpr char kPrefixedTextTag = 0x01;

// A prefixed frame of `text` compressed against `prefix` (the first
// prefix.size() bytes of the body, at most limits::kTextPrefixMaxBytes), or
// an empty string when the frame would not be smaller than the text.
std::string compress_text_with_prefix(std::string_view text, std::string_view prefix);

// Whether a stored BLOB is a prefixed frame.
bool is_prefixed_text(std::string_view frame);

// How many bytes of the body a prefixed frame needs; StoreError(Corrupt)
// when its header is cut short or names more than
// limits::kTextPrefixMaxBytes.
std::uint64_t text_prefix_size(std::string_view frame);

// The text of a prefixed frame, given the body's first text_prefix_size()
// bytes; StoreError(Corrupt) as decompress_text, and when `prefix` is not
// as long as the frame says.
std::string decompress_prefixed_text(std::string_view frame, std::string_view prefix);

// The values of a body's search columns, as stored (schema v8): for each,
// a prefixed frame, a plain frame, or empty (store the text itself).
// - search_header: compressed against the raw header (up to the first
//   empty line; at most limits::kTextPrefixMaxBytes of it).
// - search_body: compressed against the body's first `text_end` bytes
//   (where its last text part ends: what a reader decompresses, so the
//   attachments after it are not), at most limits::kTextPrefixMaxBytes;
//   when `text_end` is over that limit the plain frame is kept if the
//   prefix does not make the frame smaller.
struct SearchTextFrames {
    std::string header;
    std::string body;
};
SearchTextFrames compress_search_text(std::string_view raw, std::size_t text_end,
                                      std::string_view search_header, std::string_view search_body);

}  // namespace imap::store
