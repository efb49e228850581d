// ViewUids, the compact UIDs of a selected view (server/imap/view_uids.h):
// every operation is checked against a plain sorted vector, the reference
// of RFC 3501 2.3.1.2's numbering (sequence number n is the n-th UID in
// ascending order), and the memory it holds against its documented bounds.
#include "server/imap/view_uids.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <random>
#include <vector>

using imap::server::ViewUids;

namespace {

void check_same(const ViewUids& view, const std::vector<std::uint32_t>& reference) {
    REQUIRE(view.size() == reference.size());
    REQUIRE(view.empty() == reference.empty());
    for (std::size_t i = 0; i < reference.size(); ++i)
        REQUIRE(view[i] == reference[i]);
    REQUIRE(std::equal(view.begin(), view.end(), reference.begin(), reference.end()));
    if (!reference.empty()) {
        REQUIRE(view.front() == reference.front());
        REQUIRE(view.back() == reference.back());
    }
}

// lower_bound, contains and count_between for UIDs in and around the view.
void check_lookups(const ViewUids& view, const std::vector<std::uint32_t>& reference,
                   std::mt19937& random) {
    const std::uint32_t top = reference.empty() ? 10 : reference.back() + 10;
    std::uniform_int_distribution<std::uint32_t> pick(0, top);
    for (int probe = 0; probe < 400; ++probe) {
        const std::uint32_t uid = probe < 4 ? std::uint32_t(probe) : pick(random);
        const auto expected = static_cast<std::size_t>(
            std::lower_bound(reference.begin(), reference.end(), uid) - reference.begin());
        REQUIRE(view.lower_bound(uid) == expected);
        REQUIRE(static_cast<std::size_t>(std::lower_bound(view.begin(), view.end(), uid) -
                                         view.begin()) == expected);
        REQUIRE(view.contains(uid) == std::binary_search(reference.begin(), reference.end(), uid));
        const std::uint32_t last = uid + pick(random) % 1000;
        const auto count =
            static_cast<std::size_t>(std::upper_bound(reference.begin(), reference.end(), last) -
                                     std::lower_bound(reference.begin(), reference.end(), uid));
        REQUIRE(view.count_between(uid, last) == count);
    }
}

// `count` ascending UIDs from 1 whose gaps are drawn below `max_gap`.
std::vector<std::uint32_t> gappy(std::size_t count, std::uint32_t max_gap, std::mt19937& random) {
    std::uniform_int_distribution<std::uint32_t> gap(1, max_gap);
    std::vector<std::uint32_t> uids;
    std::uint32_t uid = 0;
    for (std::size_t i = 0; i < count; ++i)
        uids.push_back(uid += gap(random));
    return uids;
}

}  // namespace

TEST_CASE("A view's UIDs read back by position and by UID, for every block layout", "[view_uids]") {
    std::mt19937 random(7);
    // Consecutive, within 2-byte offsets, and wider than 65,536 a block;
    // sizes around the block boundary.
    for (std::uint32_t max_gap : {1u, 5u, 300u, 100000u}) {
        for (std::size_t count : {std::size_t(0), std::size_t(1), std::size_t(255),
                                  std::size_t(256), std::size_t(257), std::size_t(3000)}) {
            CAPTURE(max_gap, count);
            const std::vector<std::uint32_t> reference = gappy(count, max_gap, random);
            const ViewUids view(reference);
            check_same(view, reference);
            check_lookups(view, reference, random);
        }
    }
}

TEST_CASE("A view's UIDs stay right through new messages and expunges in any order",
          "[view_uids]") {
    // RFC 3501 7.4.1: an expunge renumbers every later message; 7.3.1: new
    // messages come after every UID the view holds.
    std::mt19937 random(11);
    std::vector<std::uint32_t> reference = gappy(1000, 3, random);
    ViewUids view(reference);
    for (int round = 0; round < 200; ++round) {
        CAPTURE(round);
        if (random() % 2 == 0) {
            // Arrivals, sometimes one, sometimes a burst, some gaps.
            const std::size_t arriving = random() % 3 == 0 ? 1 + random() % 700 : 1;
            std::vector<std::uint32_t> arrived;
            std::uint32_t uid = reference.empty() ? 0 : reference.back();
            for (std::size_t i = 0; i < arriving; ++i)
                arrived.push_back(uid += 1 + (random() % 4 == 0 ? random() % 70000 : 0));
            view.append(arrived);
            reference.insert(reference.end(), arrived.begin(), arrived.end());
        } else if (!reference.empty()) {
            // Expunges of UIDs in the view and of some it does not hold.
            std::vector<std::uint32_t> gone;
            for (std::uint32_t uid : reference) {
                if (random() % 10 == 0) gone.push_back(uid);
            }
            gone.push_back(reference.back() + 5);
            std::sort(gone.begin(), gone.end());
            gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
            std::vector<std::size_t> expected_positions;
            for (std::size_t i = 0; i < reference.size(); ++i) {
                if (std::binary_search(gone.begin(), gone.end(), reference[i]))
                    expected_positions.push_back(i);
            }
            std::vector<std::size_t> positions;
            view.erase(gone, [&](std::size_t index, std::uint32_t uid) {
                REQUIRE(reference[index] == uid);
                positions.push_back(index);
            });
            REQUIRE(positions == expected_positions);
            std::erase_if(reference, [&](std::uint32_t uid) {
                return std::binary_search(gone.begin(), gone.end(), uid);
            });
        }
        check_same(view, reference);
        if (round % 20 == 0) check_lookups(view, reference, random);
    }
}

TEST_CASE("Expunging UIDs a view does not hold changes nothing", "[view_uids]") {
    const std::vector<std::uint32_t> reference{2, 4, 6, 8};
    ViewUids view(reference);
    bool called = false;
    const std::vector<std::uint32_t> gone{1, 3, 9};
    view.erase(gone, [&](std::size_t, std::uint32_t) { called = true; });
    REQUIRE_FALSE(called);
    check_same(view, reference);
    view.erase(reference);
    REQUIRE(view.empty());
    REQUIRE(view.lower_bound(5) == 0);
    REQUIRE(view.count_between(0, 100) == 0);
    const std::vector<std::uint32_t> later{10, 11};
    view.append(later);
    check_same(view, later);
}

TEST_CASE("A view of a million messages holds what its UIDs need, never more than 4 bytes each",
          "[view_uids]") {
    // docs/storage.md "Memory": the view's bytes follow how scattered the
    // UIDs are, not only how many there are.
    std::mt19937 random(3);
    const std::size_t million = 1'000'000;
    const std::size_t headers = (million / ViewUids::kBlockEntries + 1) * 12;

    std::vector<std::uint32_t> consecutive(million);
    for (std::size_t i = 0; i < million; ++i)
        consecutive[i] = static_cast<std::uint32_t>(i + 1);
    const ViewUids imported(consecutive);
    REQUIRE(imported.memory_bytes() <= headers);  // about 47 KB
    REQUIRE(imported.back() == million);

    const ViewUids thinned(gappy(million, 20, random));  // most deleted over the years
    REQUIRE(thinned.memory_bytes() <= million * 2 + headers);

    const ViewUids scattered(gappy(million, 4000, random));  // wider than 2-byte offsets
    REQUIRE(scattered.memory_bytes() <= million * 4 + headers);
    REQUIRE(scattered.memory_bytes() > million * 2 + headers);
}
