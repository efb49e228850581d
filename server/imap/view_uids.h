// The UIDs of a selected mailbox's view, by sequence number, stored compactly.
//
// A view holds every UID of its mailbox (RFC 3501 2.3.1.2: sequence number
// n is the n-th UID in ascending order), so a flat array costs 4 bytes a
// message for as long as the mailbox is selected: 4 MB per session at a
// million messages, and one person's ten devices each hold one. Real
// mailboxes are mostly runs of consecutive UIDs (an import, a delivery
// burst) or UIDs close to each other (what is left after deletions), so
// the UIDs are kept in blocks of kBlockEntries sequence numbers, each
// block stored the cheapest way that holds it exactly:
// - consecutive UIDs: the first UID alone (no per-message bytes);
// - UIDs within 65,536 of the block's first: 2-byte offsets;
// - otherwise: the 4-byte UIDs.
// So the view never costs more than the flat array (plus a block header
// per kBlockEntries messages), and a mailbox of a million consecutive UIDs
// costs about 47 KB (docs/storage.md "Memory").
//
// Blocks hold exactly kBlockEntries sequence numbers each (the last one
// fewer), so sequence number -> UID is a division and one read, and the
// iterators are random access: std::lower_bound over begin()/end() costs
// O(log n) reads, as over the array it replaces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <span>
#include <vector>

namespace imap::server {

class ViewUids {
  public:
    // Sequence numbers per block: small enough that a block of scattered
    // UIDs usually spans less than 65,536 (2-byte offsets), big enough that
    // the block headers (12 bytes) are under 0.05 byte a message.
    static constexpr std::size_t kBlockEntries = 256;

    class Iterator {
      public:
        using iterator_category = std::random_access_iterator_tag;
        using iterator_concept = std::random_access_iterator_tag;
        using value_type = std::uint32_t;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = std::uint32_t;

        Iterator() = default;
        Iterator(const ViewUids* uids, std::size_t index) : uids_(uids), index_(index) {}

        std::uint32_t operator*() const { return (*uids_)[index_]; }
        std::uint32_t operator[](difference_type n) const {
            return (*uids_)[static_cast<std::size_t>(static_cast<difference_type>(index_) + n)];
        }
        Iterator& operator++() {
            ++index_;
            return *this;
        }
        Iterator operator++(int) {
            Iterator before = *this;
            ++index_;
            return before;
        }
        Iterator& operator--() {
            --index_;
            return *this;
        }
        Iterator operator--(int) {
            Iterator before = *this;
            --index_;
            return before;
        }
        Iterator& operator+=(difference_type n) {
            index_ = static_cast<std::size_t>(static_cast<difference_type>(index_) + n);
            return *this;
        }
        Iterator& operator-=(difference_type n) { return *this += -n; }
        friend Iterator operator+(Iterator it, difference_type n) { return it += n; }
        friend Iterator operator+(difference_type n, Iterator it) { return it += n; }
        friend Iterator operator-(Iterator it, difference_type n) { return it -= n; }
        friend difference_type operator-(const Iterator& a, const Iterator& b) {
            return static_cast<difference_type>(a.index_) - static_cast<difference_type>(b.index_);
        }
        friend bool operator==(const Iterator& a, const Iterator& b) {
            return a.index_ == b.index_;
        }
        friend auto operator<=>(const Iterator& a, const Iterator& b) {
            return a.index_ <=> b.index_;
        }
        // The 0-based position (sequence number - 1).
        std::size_t index() const { return index_; }

      private:
        const ViewUids* uids_ = nullptr;
        std::size_t index_ = 0;
    };
    using const_iterator = Iterator;

    ViewUids() = default;
    // `uids` ascending, without repeats (as the store lists a mailbox).
    explicit ViewUids(std::span<const std::uint32_t> uids);

    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    // The UID at 0-based position `index` (< size()).
    std::uint32_t operator[](std::size_t index) const;
    std::uint32_t front() const { return (*this)[0]; }
    std::uint32_t back() const { return last_; }
    Iterator begin() const { return Iterator(this, 0); }
    Iterator end() const { return Iterator(this, size_); }

    // The first position whose UID is >= `uid` (size() when none).
    std::size_t lower_bound(std::uint32_t uid) const;
    // How many UIDs of the view lie in [first, last].
    std::size_t count_between(std::uint32_t first, std::uint32_t last) const;
    bool contains(std::uint32_t uid) const;

    // Adds UIDs above back(), ascending, without repeats (new messages).
    void append(std::span<const std::uint32_t> uids);
    // Removes the UIDs of `gone` (ascending) the view holds; `removed` is
    // called for each with its 0-based position before any removal, in
    // ascending order. The blocks before the first removed UID are kept as
    // they are; the rest are stored again.
    void erase(std::span<const std::uint32_t> gone,
               const std::function<void(std::size_t index, std::uint32_t uid)>& removed = {});

    // Every UID, ascending (for tests and small views).
    std::vector<std::uint32_t> to_vector() const { return {begin(), end()}; }

    // Heap bytes held (capacity, not size), for tests and docs.
    std::size_t memory_bytes() const;

  private:
    enum class Layout : std::uint8_t { Consecutive, Offsets16, Uids32 };
    struct Block {
        std::uint32_t first_uid = 0;
        std::uint32_t data = 0;  // position in offsets16_ or uids32_
        Layout layout = Layout::Consecutive;
    };

    // Stores `count` (<= kBlockEntries) ascending UIDs as a new last block.
    void push_block(const std::uint32_t* uids, std::size_t count);
    // Drops the blocks from `block` on, and their data.
    void truncate_blocks(std::size_t block);
    std::uint32_t block_uid(const Block& block, std::size_t offset) const;
    std::size_t block_size(std::size_t block) const;

    std::vector<Block> blocks_;
    std::vector<std::uint16_t> offsets16_;
    std::vector<std::uint32_t> uids32_;
    std::size_t size_ = 0;
    std::uint32_t last_ = 0;
};

static_assert(std::random_access_iterator<ViewUids::Iterator>);

}  // namespace imap::server
