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
// stored before schema version 7: the value's type says which.
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

// The raw size a container says it holds (its first four bytes).
std::uint64_t container_raw_size(std::uint64_t container_size, const ContainerReader& read);

// One zstd frame of `text`, or nullopt-like empty string when the frame
// would not be smaller than the text (then store the text itself).
std::string compress_text(std::string_view text);

// The text of a frame compress_text() made; StoreError(Corrupt) when it is
// not a whole, valid frame of at most limits::kMaxMessageSize * 2 bytes.
std::string decompress_text(std::string_view frame);

}  // namespace imap::store
