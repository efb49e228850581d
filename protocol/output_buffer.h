// OutputBuffer: the bytes one connection has yet to send, as a queue of
// chunks. No I/O: the network side drains it (docs/architecture.md).
//
// Small appends are copied into the last chunk, so a burst of short responses
// goes out in few writes. A large std::string appended by rvalue becomes a
// chunk of its own without a copy: FETCH BODY[] hands a message body over this
// way, and it is never copied again on its way to the socket.
//
// Two ways to drain:
// - synchronous sends: front() + consume(n), which allows partial sends;
// - libuv writes, whose memory must live until the write callback:
//   take_front() moves the first chunk out, and the caller keeps it alive.
#pragma once

#include <cstddef>
#include <deque>
#include <string>
#include <string_view>

namespace imap {

class OutputBuffer {
  public:
    // Appends are coalesced into the last chunk until it holds this many
    // bytes. Bounds the size of one copied chunk (and so of one write) while
    // keeping small responses together.
    static constexpr std::size_t kChunkSize = 16 * 1024;

    // A string moved in with append(std::string&&) is kept as its own chunk
    // only from this size on; below it, copying into the current chunk is
    // cheaper than one more chunk (and one more write) of its own.
    static constexpr std::size_t kMinMovedChunkSize = 4 * 1024;

    // Copies `bytes` to the end, filling the last chunk up to kChunkSize and
    // starting new chunks as needed.
    void append(std::string_view bytes);
    void append(const char* bytes) { append(std::string_view(bytes)); }
    void append(char c) { append(std::string_view(&c, 1)); }

    // Takes ownership of `bytes`. From kMinMovedChunkSize on, the string
    // becomes its own chunk and its memory is the memory that is sent (its
    // data() pointer is what front() and take_front() give back later);
    // later appends never write into it.
    void append(std::string&& bytes);

    // The first unsent bytes: the rest of the first chunk, empty when nothing
    // is pending. The view is invalidated by any non-const call.
    std::string_view front() const;

    // Marks the first `n` pending bytes as sent; they may span several chunks.
    // `n` past size() is clamped to size().
    void consume(std::size_t n);

    // Moves the first chunk out (minus any bytes already consumed from it), so
    // the caller can keep it alive until an asynchronous write completes.
    // Returns an empty string when nothing is pending.
    std::string take_front();

    // Bytes pending, the figure to compare with a high-water mark.
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    std::size_t chunk_count() const { return chunks_.size(); }

    void clear();

  private:
    std::deque<std::string> chunks_;
    // Bytes of chunks_.front() already consumed.
    std::size_t front_offset_ = 0;
    std::size_t size_ = 0;
    // False when chunks_.back() was moved in: appending to it could reallocate
    // a message body, the very copy this class exists to avoid.
    bool back_open_ = false;
};

}  // namespace imap
