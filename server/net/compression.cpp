#include "server/net/compression.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace imap::server {
namespace {

// zlib's allocations carry their size in front, so that release() can
// count what it frees; the header keeps the maximum alignment.
constexpr std::size_t kHeader = alignof(std::max_align_t);

// zlib takes uInt sizes; our pieces stay far below.
constexpr std::size_t kMaxPiece = std::numeric_limits<uInt>::max() / 2;

// Output room added per deflate() call.
constexpr std::size_t kDeflateRoom = 16 * 1024;

}  // namespace

void* Compression::allocate(void* opaque, unsigned items, unsigned size) {
    auto* self = static_cast<Compression*>(opaque);
    const std::size_t bytes = static_cast<std::size_t>(items) * size;
    auto* block = static_cast<unsigned char*>(std::malloc(bytes + kHeader));
    if (block == nullptr) return Z_NULL;
    std::memcpy(block, &bytes, sizeof bytes);
    self->allocated_ += bytes;
    return block + kHeader;
}

void Compression::release(void* opaque, void* address) {
    if (address == nullptr) return;
    auto* self = static_cast<Compression*>(opaque);
    unsigned char* block = static_cast<unsigned char*>(address) - kHeader;
    std::size_t bytes = 0;
    std::memcpy(&bytes, block, sizeof bytes);
    self->allocated_ -= bytes;
    std::free(block);
}

Compression::Compression() {
    for (z_stream* stream : {&deflate_, &inflate_}) {
        stream->zalloc = &Compression::allocate;
        stream->zfree = &Compression::release;
        stream->opaque = this;
    }
    // Negative window bits: raw DEFLATE, no zlib header (RFC 4978 4).
    if (deflateInit2(&deflate_, kLevel, Z_DEFLATED, -kWindowBits, kMemLevel, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        throw std::bad_alloc();
    }
    if (inflateInit2(&inflate_, -15) != Z_OK) {
        deflateEnd(&deflate_);
        throw std::bad_alloc();
    }
}

Compression::~Compression() {
    deflateEnd(&deflate_);
    inflateEnd(&inflate_);
}

void Compression::compress(std::string_view plain, std::string& out) {
    while (!plain.empty()) {
        const std::size_t piece = std::min(plain.size(), kMaxPiece);
        deflate_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(plain.data()));
        deflate_.avail_in = static_cast<uInt>(piece);
        while (deflate_.avail_in > 0) {
            const std::size_t used = out.size();
            const std::size_t room =
                std::max(kDeflateRoom, deflateBound(&deflate_, deflate_.avail_in));
            out.resize(used + room);
            deflate_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
            deflate_.avail_out = static_cast<uInt>(room);
            deflate(&deflate_, Z_NO_FLUSH);  // cannot fail with input and room
            out.resize(used + room - deflate_.avail_out);
        }
        plain.remove_prefix(piece);
        deflate_pending_ = true;
    }
}

void Compression::flush(std::string& out) {
    if (!deflate_pending_) return;
    deflate_pending_ = false;
    // Z_SYNC_FLUSH is done when it left room unused (zlib's manual).
    for (;;) {
        const std::size_t used = out.size();
        out.resize(used + kDeflateRoom);
        deflate_.next_in = Z_NULL;
        deflate_.avail_in = 0;
        deflate_.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        deflate_.avail_out = static_cast<uInt>(kDeflateRoom);
        deflate(&deflate_, Z_SYNC_FLUSH);
        const bool done = deflate_.avail_out > 0;
        out.resize(used + kDeflateRoom - deflate_.avail_out);
        if (done) return;
    }
}

void Compression::feed(std::string_view compressed) {
    if (failed() || compressed.empty()) return;
    if (input_offset_ == input_.size()) {
        input_.clear();
        input_offset_ = 0;
    }
    input_.append(compressed);
}

bool Compression::has_input() const {
    return !failed() && (input_offset_ < input_.size() || output_full_);
}

std::size_t Compression::inflate(std::string& out, std::size_t max) {
    if (failed() || max == 0) return 0;
    const std::size_t start = out.size();
    max = std::min(max, kMaxPiece);
    out.resize(start + max);
    const std::size_t available = input_.size() - input_offset_;
    inflate_.next_in =
        reinterpret_cast<Bytef*>(input_.data() + static_cast<std::ptrdiff_t>(input_offset_));
    inflate_.avail_in = static_cast<uInt>(std::min(available, kMaxPiece));
    inflate_.next_out = reinterpret_cast<Bytef*>(out.data() + start);
    inflate_.avail_out = static_cast<uInt>(max);
    const uInt offered = inflate_.avail_in;
    const int rc = ::inflate(&inflate_, Z_SYNC_FLUSH);
    input_offset_ += offered - inflate_.avail_in;
    const std::size_t produced = max - inflate_.avail_out;
    out.resize(start + produced);
    output_full_ = inflate_.avail_out == 0;
    if (rc == Z_STREAM_END) {
        // RFC 4978 has no end: compression lasts until the connection does.
        error_ = "the compressed stream ended";
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        error_ = inflate_.msg != nullptr ? inflate_.msg : "invalid compressed data";
    }
    if (input_offset_ == input_.size()) {
        // Released, not kept: an idle connection holds no read's worth.
        input_ = std::string();
        input_offset_ = 0;
    }
    return produced;
}

}  // namespace imap::server
