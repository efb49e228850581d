// APPEND in two steps (store/mail_store.h PreparedAppend): prepare_append()
// on another thread than the store's, append_prepared() writing it as
// append() would; `imapd import` prepares batches this way (docs/cli.md).
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

#include "store/limits.h"
#include "store/sqlite_mail_store.h"
#include "support/store_support.h"

using namespace imap::store;
using imap::store::test::all;
using imap::store::test::error_of;
using imap::store::test::memory;
using imap::store::test::request;

namespace {

TEST_CASE("append_prepared stores batches prepared on other threads in the order written") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    const std::vector<std::string> first = {test::message("one"), test::message("two")};
    const std::vector<std::string> second = {test::message("three")};
    const std::vector<AppendRequest> first_requests = {request(first[0], flag::kSeen),
                                                       request(first[1], 0, {"Junk"})};
    const std::vector<AppendRequest> second_requests = {request(second[0])};
    // Both prepared beside the store's thread, the second written first.
    auto first_prepared =
        std::async(std::launch::async, [&] { return store.prepare_append(first_requests); });
    auto second_prepared =
        std::async(std::launch::async, [&] { return store.prepare_append(second_requests); });
    const PreparedAppend second_batch = second_prepared.get();
    const PreparedAppend first_batch = first_prepared.get();
    CHECK(store.append_prepared(box, second_batch).uids == std::vector<std::uint32_t>{1});
    CHECK(store.append_prepared(box, first_batch).uids == std::vector<std::uint32_t>{2, 3});

    const std::vector<MessageInfo> stored = store.fetch(box, all());
    REQUIRE(stored.size() == 3);
    CHECK(store.read_body(stored[0].body_id, 0, stored[0].size) == second[0]);
    CHECK(store.read_body(stored[1].body_id, 0, stored[1].size) == first[0]);
    CHECK(stored[1].flags == flag::kSeen);
    CHECK(store.read_body(stored[2].body_id, 0, stored[2].size) == first[1]);
    CHECK(stored[2].keywords == std::vector<std::string>{"Junk"});
}

TEST_CASE("prepare_append refuses what append refuses, before any transaction") {
    SqliteMailStore store(memory());
    const std::string huge(limits::kMaxMessageSize + 1, 'x');
    const std::vector<AppendRequest> too_big = {request(huge)};
    CHECK(error_of([&] { store.prepare_append(too_big); }) == StoreErrc::TooBig);
    const std::string raw = test::message("a");
    const std::vector<AppendRequest> bad_keyword = {request(raw, 0, {"bad keyword"})};
    CHECK_THROWS_AS(store.prepare_append(bad_keyword), StoreError);
}

TEST_CASE("append_prepared of an empty PreparedAppend appends nothing") {
    SqliteMailStore store(memory());
    const MailboxId box = store.open_mailbox("INBOX").id;
    CHECK(store.append_prepared(box, PreparedAppend()).uids.empty());
    const std::vector<AppendRequest> none;
    CHECK(store.append_prepared(box, store.prepare_append(none)).uids.empty());
    CHECK(store.fetch(box, all()).empty());
    CHECK(store.open_mailbox("INBOX").uidnext == 1);
}

}  // namespace
