#include "store/body_codec.h"

// For ZSTD_c_literalCompressionMode (append_frame). Its value is fixed in
// zstd.h's stable section (ZSTD_c_experimentalParam5); only the name needs
// this. Should a libzstd refuse it, bodies are compressed as before.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <vector>

#include "store/errors.h"
#include "store/limits.h"

namespace imap::store {
namespace {

constexpr std::size_t kWord = 4;
// raw size, block size, block count.
constexpr std::size_t kFixedHeader = 3 * kWord;

void put_u32(std::string& out, std::uint64_t value) {
    for (std::size_t i = 0; i < kWord; ++i)
        out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_u32(const char* p) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < kWord; ++i)
        value |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    return value;
}

[[noreturn]] void corrupt(const char* what) {
    throw StoreError(StoreErrc::Corrupt, std::string("stored message body is damaged: ") + what);
}

struct CompressContextFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DecompressContextFree {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread, reused: creating one costs more than compressing
// a small message. A store runs on one thread at a time (its strand).
ZSTD_CCtx* compress_context() {
    thread_local std::unique_ptr<ZSTD_CCtx, CompressContextFree> context(ZSTD_createCCtx());
    if (!context) throw std::bad_alloc();
    return context.get();
}

ZSTD_DCtx* decompress_context() {
    thread_local std::unique_ptr<ZSTD_DCtx, DecompressContextFree> context(ZSTD_createDCtx());
    if (!context) throw std::bad_alloc();
    return context.get();
}

// compress_context() is shared by every frame a thread compresses: the
// parameters one frame sets must not outlive it.
struct CompressParametersReset {
    ZSTD_CCtx* context;
    ~CompressParametersReset() { ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters); }
};

// How a frame's literals (the bytes zstd found no match for) are stored.
enum class Literals { Raw, HuffmanCoded };

// Appends one frame of `data` to `out` (zstd level
// limits::kBodyCompressionLevel).
void append_frame(std::string& out, std::string_view data, Literals literals) {
    ZSTD_CCtx* context = compress_context();
    const CompressParametersReset reset{context};
    const std::size_t code =
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, limits::kBodyCompressionLevel);
    if (ZSTD_isError(code)) throw std::runtime_error(ZSTD_getErrorName(code));
    if (literals == Literals::Raw) {
        // An error here (a libzstd without the parameter) leaves the
        // literals Huffman-coded: the frame is valid either way.
        (void)ZSTD_CCtx_setParameter(context, ZSTD_c_literalCompressionMode, ZSTD_ps_disable);
    }
    const std::size_t at = out.size();
    out.resize(at + ZSTD_compressBound(data.size()));
    const std::size_t written =
        ZSTD_compress2(context, out.data() + at, out.size() - at, data.data(), data.size());
    if (ZSTD_isError(written)) throw std::runtime_error(ZSTD_getErrorName(written));
    out.resize(at + written);
}

// Decompresses `frame`, which must hold exactly `expected` bytes, into `out`.
void decompress_exactly(std::string_view frame, char* out, std::size_t expected) {
    const unsigned long long declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (declared != expected) corrupt("a block's size is wrong");
    const std::size_t n =
        ZSTD_decompressDCtx(decompress_context(), out, expected, frame.data(), frame.size());
    if (ZSTD_isError(n) || n != expected) corrupt("a block does not decompress");
}

}  // namespace

std::string compress_body(std::string_view raw) {
    const std::size_t block = limits::kBodyBlockBytes;
    const std::size_t blocks = (raw.size() + block - 1) / block;
    std::string out;
    out.reserve(kFixedHeader + kWord * blocks + ZSTD_compressBound(raw.size()));
    put_u32(out, raw.size());
    put_u32(out, block);
    put_u32(out, blocks);
    const std::size_t ends_at = out.size();
    out.resize(ends_at + kWord * blocks);
    const std::size_t data_at = out.size();
    for (std::size_t i = 0; i < blocks; ++i) {
        append_frame(out, raw.substr(i * block, block),
                     limits::kBodyLiteralsRaw ? Literals::Raw : Literals::HuffmanCoded);
        const std::uint64_t end = out.size() - data_at;
        for (std::size_t b = 0; b < kWord; ++b)
            out[ends_at + kWord * i + b] = static_cast<char>((end >> (8 * b)) & 0xff);
    }
    out.shrink_to_fit();
    return out;
}

std::string read_container_range(std::string_view container, std::uint64_t offset,
                                 std::uint64_t length) {
    return read_container_range(
        container.size(),
        [&](std::uint64_t at, char* out, std::size_t count) {
            if (at > container.size() || count > container.size() - at) {
                corrupt("cut short");
            }
            std::copy_n(container.data() + at, count, out);
        },
        offset, length);
}

std::uint64_t container_raw_size(std::uint64_t container_size, const ContainerReader& read) {
    if (container_size < kFixedHeader) corrupt("the header is cut short");
    char header[kFixedHeader];
    read(0, header, sizeof header);
    return get_u32(header);
}

std::string read_container_range(std::uint64_t container_size, const ContainerReader& read,
                                 std::uint64_t offset, std::uint64_t length) {
    if (container_size < kFixedHeader) corrupt("the header is cut short");
    char header[kFixedHeader];
    read(0, header, sizeof header);
    const std::uint64_t raw_size = get_u32(header);
    const std::uint64_t block = get_u32(header + kWord);
    const std::uint64_t blocks = get_u32(header + 2 * kWord);
    if (raw_size > limits::kMaxMessageSize || block == 0 || block > limits::kMaxMessageSize ||
        blocks != (raw_size + block - 1) / block) {
        corrupt("the header is inconsistent");
    }
    const std::uint64_t data_at = kFixedHeader + kWord * blocks;
    if (container_size < data_at) corrupt("the block table is cut short");
    if (offset >= raw_size || length == 0) return {};
    length = std::min(length, raw_size - offset);
    const std::uint64_t first = offset / block;
    const std::uint64_t last = (offset + length - 1) / block;
    // The end offsets of blocks first-1 .. last: where each needed frame
    // starts and ends.
    const std::uint64_t table_from = first == 0 ? first : first - 1;
    std::vector<char> table(static_cast<std::size_t>(kWord * (last - table_from + 1)));
    read(kFixedHeader + kWord * table_from, table.data(), table.size());
    auto end_of = [&](std::uint64_t i) { return get_u32(table.data() + kWord * (i - table_from)); };
    const std::uint64_t begin = first == 0 ? 0 : end_of(first - 1);
    const std::uint64_t end = end_of(last);
    if (end < begin || data_at + end > container_size) corrupt("the block table is inconsistent");
    std::string frames(static_cast<std::size_t>(end - begin), '\0');
    read(data_at + begin, frames.data(), frames.size());

    std::string out(static_cast<std::size_t>(length), '\0');
    std::string scratch;
    for (std::uint64_t i = first; i <= last; ++i) {
        const std::uint64_t frame_begin = (i == 0 ? 0 : end_of(i - 1)) - begin;
        const std::uint64_t frame_end = end_of(i) - begin;
        if (frame_end < frame_begin || frame_end > frames.size()) {
            corrupt("the block table is inconsistent");
        }
        const std::string_view frame(frames.data() + frame_begin, frame_end - frame_begin);
        const std::uint64_t block_start = i * block;
        const std::uint64_t block_size = std::min(block, raw_size - block_start);
        const std::uint64_t from = std::max(offset, block_start);
        const std::uint64_t to = std::min(offset + length, block_start + block_size);
        char* target = out.data() + (from - offset);
        if (from == block_start && to == block_start + block_size) {
            decompress_exactly(frame, target, static_cast<std::size_t>(block_size));
        } else {
            scratch.resize(static_cast<std::size_t>(block_size));
            decompress_exactly(frame, scratch.data(), scratch.size());
            std::copy(scratch.begin() + static_cast<std::ptrdiff_t>(from - block_start),
                      scratch.begin() + static_cast<std::ptrdiff_t>(to - block_start), target);
        }
    }
    return out;
}

std::string compress_text(std::string_view text) {
    if (text.size() < limits::kTextCompressionMinBytes) return {};
    std::string out;
    append_frame(out, text, Literals::HuffmanCoded);
    if (out.size() >= text.size()) return {};
    return out;
}

namespace {

[[noreturn]] void text_corrupt() {
    throw StoreError(StoreErrc::Corrupt, "stored search text is damaged");
}

// The text of zstd frame `frame`, decompressed with `prefix` as its
// prefix (empty: none). The prefix is referenced right before the one
// decompression it is for, after every check that could throw: zstd keeps a
// referenced prefix for the next frame decompressed with the context.
std::string decompress_frame(std::string_view frame, std::string_view prefix) {
    const unsigned long long size = ZSTD_getFrameContentSize(frame.data(), frame.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
        size > 2 * limits::kMaxMessageSize) {
        text_corrupt();
    }
    std::string out(static_cast<std::size_t>(size), '\0');
    ZSTD_DCtx* context = decompress_context();
    struct Reset {
        ZSTD_DCtx* context;
        ~Reset() { ZSTD_DCtx_reset(context, ZSTD_reset_session_and_parameters); }
    };
    std::optional<Reset> reset;
    if (!prefix.empty()) {
        reset.emplace(Reset{context});
        const std::size_t code = ZSTD_DCtx_refPrefix(context, prefix.data(), prefix.size());
        if (ZSTD_isError(code)) throw std::runtime_error(ZSTD_getErrorName(code));
    }
    const std::size_t n =
        ZSTD_decompressDCtx(context, out.data(), out.size(), frame.data(), frame.size());
    if (ZSTD_isError(n) || n != out.size()) text_corrupt();
    return out;
}

constexpr std::size_t kPrefixedHeader = 1 + kWord;

}  // namespace

std::string decompress_text(std::string_view frame) {
    return decompress_frame(frame, {});
}

std::string compress_text_with_prefix(std::string_view text, std::string_view prefix) {
    if (text.size() < limits::kTextCompressionMinBytes) return {};
    if (prefix.size() > limits::kTextPrefixMaxBytes) {
        throw std::logic_error("compress_text_with_prefix: prefix over kTextPrefixMaxBytes");
    }
    std::string out;
    out.push_back(kPrefixedTextTag);
    put_u32(out, prefix.size());
    out.resize(kPrefixedHeader + ZSTD_compressBound(text.size()));
    ZSTD_CCtx* context = compress_context();
    const CompressParametersReset reset{context};
    std::size_t code =
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, limits::kBodyCompressionLevel);
    // The frame's text depends on bytes stored elsewhere: a checksum (4
    // bytes) makes a body that is not the one the text was compressed
    // against a Corrupt error instead of wrong text (given to FTS5's
    // 'delete', wrong text would silently damage the index).
    if (!ZSTD_isError(code)) code = ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(code) && !prefix.empty()) {
        code = ZSTD_CCtx_refPrefix(context, prefix.data(), prefix.size());
    }
    if (ZSTD_isError(code)) throw std::runtime_error(ZSTD_getErrorName(code));
    const std::size_t written =
        ZSTD_compress2(context, out.data() + kPrefixedHeader, out.size() - kPrefixedHeader,
                       text.data(), text.size());
    if (ZSTD_isError(written)) throw std::runtime_error(ZSTD_getErrorName(written));
    out.resize(kPrefixedHeader + written);
    if (out.size() >= text.size()) return {};
    out.shrink_to_fit();
    return out;
}

bool is_prefixed_text(std::string_view frame) {
    return !frame.empty() && frame.front() == kPrefixedTextTag;
}

std::uint64_t text_prefix_size(std::string_view frame) {
    if (frame.size() < kPrefixedHeader || !is_prefixed_text(frame)) text_corrupt();
    const std::uint64_t size = get_u32(frame.data() + 1);
    if (size > limits::kTextPrefixMaxBytes) text_corrupt();
    return size;
}

std::string decompress_prefixed_text(std::string_view frame, std::string_view prefix) {
    if (text_prefix_size(frame) != prefix.size()) text_corrupt();
    return decompress_frame(frame.substr(kPrefixedHeader), prefix);
}

SearchTextFrames compress_search_text(std::string_view raw, std::size_t text_end,
                                      std::string_view search_header,
                                      std::string_view search_body) {
    SearchTextFrames frames;
    std::size_t header_end = raw.find("\r\n\r\n");
    header_end = header_end == std::string_view::npos ? raw.find("\n\n") : header_end + 2;
    header_end = header_end == std::string_view::npos ? raw.size() : header_end + 2;
    frames.header = compress_text_with_prefix(
        search_header, raw.substr(0, std::min(header_end, limits::kTextPrefixMaxBytes)));
    text_end = std::min(text_end, raw.size());
    frames.body = compress_text_with_prefix(
        search_body, raw.substr(0, std::min(text_end, limits::kTextPrefixMaxBytes)));
    if (text_end > limits::kTextPrefixMaxBytes) {
        std::string plain = compress_text(search_body);
        if (frames.body.empty() || (!plain.empty() && plain.size() <= frames.body.size())) {
            frames.body = std::move(plain);
        }
    }
    return frames;
}

}  // namespace imap::store
