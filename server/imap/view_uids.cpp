#include "server/imap/view_uids.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <limits>

namespace imap::server {

ViewUids::ViewUids(std::span<const std::uint32_t> uids) {
    append(uids);
    // Built once at SELECT: hold no growth slack for the session's life.
    blocks_.shrink_to_fit();
    offsets16_.shrink_to_fit();
    uids32_.shrink_to_fit();
}

std::size_t ViewUids::block_size(std::size_t block) const {
    if (block + 1 < blocks_.size()) return kBlockEntries;
    return size_ - block * kBlockEntries;
}

std::uint32_t ViewUids::block_uid(const Block& block, std::size_t offset) const {
    switch (block.layout) {
        case Layout::Consecutive:
            return block.first_uid + static_cast<std::uint32_t>(offset);
        case Layout::Offsets16:
            return block.first_uid + offsets16_[block.data + offset];
        case Layout::Uids32:
            break;
    }
    return uids32_[block.data + offset];
}

std::uint32_t ViewUids::operator[](std::size_t index) const {
    assert(index < size_);
    return block_uid(blocks_[index / kBlockEntries], index % kBlockEntries);
}

std::size_t ViewUids::lower_bound(std::uint32_t uid) const {
    if (size_ == 0 || uid > last_) return size_;
    // The last block whose first UID is <= uid holds the answer, or the
    // answer is that block's end (the next block's first position).
    auto after = std::upper_bound(blocks_.begin(), blocks_.end(), uid,
                                  [](std::uint32_t u, const Block& b) { return u < b.first_uid; });
    if (after == blocks_.begin()) return 0;
    const auto block = static_cast<std::size_t>(after - blocks_.begin()) - 1;
    const Block& found = blocks_[block];
    const std::size_t count = block_size(block);
    const std::size_t base = block * kBlockEntries;
    switch (found.layout) {
        case Layout::Consecutive:
            return base + std::min<std::size_t>(uid - found.first_uid, count);
        case Layout::Offsets16: {
            const std::uint32_t offset = uid - found.first_uid;
            if (offset > std::numeric_limits<std::uint16_t>::max()) return base + count;
            const auto first = offsets16_.begin() + found.data;
            return base + static_cast<std::size_t>(
                              std::lower_bound(first, first + static_cast<std::ptrdiff_t>(count),
                                               static_cast<std::uint16_t>(offset)) -
                              first);
        }
        case Layout::Uids32:
            break;
    }
    const auto first = uids32_.begin() + found.data;
    return base +
           static_cast<std::size_t>(
               std::lower_bound(first, first + static_cast<std::ptrdiff_t>(count), uid) - first);
}

std::size_t ViewUids::count_between(std::uint32_t first, std::uint32_t last) const {
    if (first > last) return 0;
    const std::size_t from = lower_bound(first);
    const std::size_t to =
        last == std::numeric_limits<std::uint32_t>::max() ? size_ : lower_bound(last + 1);
    return to - from;
}

bool ViewUids::contains(std::uint32_t uid) const {
    const std::size_t at = lower_bound(uid);
    return at < size_ && (*this)[at] == uid;
}

void ViewUids::push_block(const std::uint32_t* uids, std::size_t count) {
    assert(count > 0 && count <= kBlockEntries);
    Block block;
    block.first_uid = uids[0];
    const std::uint32_t span = uids[count - 1] - uids[0];
    if (span == count - 1) {
        block.layout = Layout::Consecutive;
    } else if (span <= std::numeric_limits<std::uint16_t>::max()) {
        block.layout = Layout::Offsets16;
        block.data = static_cast<std::uint32_t>(offsets16_.size());
        for (std::size_t i = 0; i < count; ++i)
            offsets16_.push_back(static_cast<std::uint16_t>(uids[i] - uids[0]));
    } else {
        block.layout = Layout::Uids32;
        block.data = static_cast<std::uint32_t>(uids32_.size());
        uids32_.insert(uids32_.end(), uids, uids + count);
    }
    blocks_.push_back(block);
    size_ += count;
    last_ = uids[count - 1];
}

void ViewUids::truncate_blocks(std::size_t block) {
    if (block >= blocks_.size()) return;
    // Each pool holds its blocks' data in block order, so the first dropped
    // block of each layout marks where that pool's kept data ends.
    std::size_t keep16 = offsets16_.size();
    std::size_t keep32 = uids32_.size();
    for (std::size_t b = blocks_.size(); b-- > block;) {
        if (blocks_[b].layout == Layout::Offsets16) keep16 = blocks_[b].data;
        if (blocks_[b].layout == Layout::Uids32) keep32 = blocks_[b].data;
    }
    offsets16_.resize(keep16);
    uids32_.resize(keep32);
    blocks_.resize(block);
    size_ = block * kBlockEntries;
    last_ = size_ == 0 ? 0 : (*this)[size_ - 1];
}

void ViewUids::append(std::span<const std::uint32_t> uids) {
    if (uids.empty()) return;
    assert(size_ == 0 || uids.front() > last_);
    std::array<std::uint32_t, kBlockEntries> pending{};
    std::size_t filled = 0;
    // A last block that is not full is stored again with the new UIDs.
    if (!blocks_.empty() && block_size(blocks_.size() - 1) < kBlockEntries) {
        const std::size_t last_block = blocks_.size() - 1;
        filled = block_size(last_block);
        for (std::size_t i = 0; i < filled; ++i)
            pending[i] = block_uid(blocks_[last_block], i);
        truncate_blocks(last_block);
    }
    for (std::uint32_t uid : uids) {
        pending[filled++] = uid;
        if (filled == kBlockEntries) {
            push_block(pending.data(), filled);
            filled = 0;
        }
    }
    if (filled > 0) push_block(pending.data(), filled);
}

void ViewUids::erase(std::span<const std::uint32_t> gone,
                     const std::function<void(std::size_t index, std::uint32_t uid)>& removed) {
    if (gone.empty() || size_ == 0) return;
    const std::size_t first_gone = lower_bound(gone.front());
    if (first_gone == size_) return;
    // Everything from the block of the first removed UID on is read out,
    // filtered and stored again; the blocks before it are untouched.
    const std::size_t first_block = first_gone / kBlockEntries;
    std::vector<std::uint32_t> kept;
    kept.reserve(size_ - first_block * kBlockEntries);
    std::size_t next_gone = 0;
    for (std::size_t i = first_block * kBlockEntries; i < size_; ++i) {
        const std::uint32_t uid = (*this)[i];
        while (next_gone < gone.size() && gone[next_gone] < uid)
            ++next_gone;
        if (next_gone < gone.size() && gone[next_gone] == uid) {
            if (removed) removed(i, uid);
            continue;
        }
        kept.push_back(uid);
    }
    if (kept.size() == size_ - first_block * kBlockEntries) return;  // none was in the view
    truncate_blocks(first_block);
    append(kept);
    // A big expunge leaves capacity behind; give it back when it is most
    // of what is held.
    if (offsets16_.capacity() > 2 * offsets16_.size() + 4096) offsets16_.shrink_to_fit();
    if (uids32_.capacity() > 2 * uids32_.size() + 4096) uids32_.shrink_to_fit();
    if (blocks_.capacity() > 2 * blocks_.size() + 256) blocks_.shrink_to_fit();
}

std::size_t ViewUids::memory_bytes() const {
    return blocks_.capacity() * sizeof(Block) + offsets16_.capacity() * sizeof(std::uint16_t) +
           uids32_.capacity() * sizeof(std::uint32_t);
}

}  // namespace imap::server
