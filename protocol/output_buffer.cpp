#include "protocol/output_buffer.h"

#include <algorithm>
#include <utility>

namespace imap {

void OutputBuffer::append(std::string_view bytes) {
    size_ += bytes.size();
    while (!bytes.empty()) {
        if (!back_open_ || chunks_.back().size() >= kChunkSize) {
            chunks_.emplace_back();
            back_open_ = true;
        }
        std::string& back = chunks_.back();
        const std::size_t n = std::min(bytes.size(), kChunkSize - back.size());
        back.append(bytes.substr(0, n));
        bytes.remove_prefix(n);
    }
}

void OutputBuffer::append(std::string&& bytes) {
    if (bytes.size() < kMinMovedChunkSize) {
        append(std::string_view(bytes));
        return;
    }
    size_ += bytes.size();
    chunks_.push_back(std::move(bytes));
    back_open_ = false;
}

std::string_view OutputBuffer::front() const {
    if (chunks_.empty()) return {};
    return std::string_view(chunks_.front()).substr(front_offset_);
}

void OutputBuffer::consume(std::size_t n) {
    n = std::min(n, size_);
    size_ -= n;
    while (n > 0) {
        const std::size_t available = chunks_.front().size() - front_offset_;
        if (n < available) {
            front_offset_ += n;
            return;
        }
        // A chunk sent exactly to its end goes at once, so front() is never
        // an empty view while bytes are pending.
        n -= available;
        chunks_.pop_front();
        front_offset_ = 0;
    }
    if (chunks_.empty()) back_open_ = false;
}

std::string OutputBuffer::take_front() {
    if (chunks_.empty()) return {};
    std::string chunk = std::move(chunks_.front());
    chunks_.pop_front();
    // Only when the two drain styles were mixed; costs one memmove.
    if (front_offset_ > 0) chunk.erase(0, front_offset_);
    front_offset_ = 0;
    size_ -= chunk.size();
    if (chunks_.empty()) back_open_ = false;
    return chunk;
}

void OutputBuffer::clear() {
    chunks_.clear();
    front_offset_ = 0;
    size_ = 0;
    back_open_ = false;
}

}  // namespace imap
