// The search-index queue as UserMail counts it for the
// imapd_index_queue_bodies gauge (server/imap/user_mail.h,
// docs/operations.md "Metrics"): raised by each commit that queued bodies,
// set exactly by each background batch, given back when the mail closes.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/imap/user_mail.h"
#include "support/store_support.h"

using imap::server::UserMail;
namespace test = imap::store::test;

TEST_CASE("UserMail: the index queue gauge follows commits and batches", "[index][metrics]") {
    const std::int64_t before = UserMail::index_queue_total();
    std::vector<std::function<void()>> posted;
    auto mail = std::make_shared<UserMail>("alice", test::memory());
    mail->set_background(UserMail::Background{
        [&](std::chrono::milliseconds, UserMail::Task task) { posted.push_back(std::move(task)); },
        {}});
    const auto box = mail->store().open_mailbox("INBOX").id;

    mail->store().append(box, test::request(test::message("one")));
    mail->store().append(box, test::request(test::message("two")));
    // The same bytes again: the body is shared, nothing new is queued.
    mail->store().append(box, test::request(test::message("two")));
    CHECK(mail->index_queue() == 2);
    CHECK(UserMail::index_queue_total() == before + 2);

    // The batch the commits scheduled indexes both and sets the exact count.
    REQUIRE_FALSE(posted.empty());
    const auto tasks = std::move(posted);
    posted.clear();
    for (const auto& task : tasks)
        task();
    CHECK(mail->index_queue() == 0);
    CHECK(UserMail::index_queue_total() == before);

    // Closing the mail with bodies still queued takes them off the total.
    mail->store().append(box, test::request(test::message("three")));
    CHECK(UserMail::index_queue_total() == before + 1);
    mail.reset();
    CHECK(UserMail::index_queue_total() == before);
}

// docs/storage.md "The search index": after kIndexEagerBodies commits that
// queued bodies a batch starts at once only if that many bodies still
// wait; bodies expunged since (orphans) are never indexed, so they do not
// bring the batch forward, and the delayed batch takes the rest.
TEST_CASE("UserMail: expunged bodies do not start an early index batch", "[index]") {
    struct Posted {
        std::chrono::milliseconds delay;
        UserMail::Task task;
    };
    std::vector<Posted> posted;
    auto mail = std::make_shared<UserMail>("alice", test::memory());
    mail->set_background(
        UserMail::Background{[&](std::chrono::milliseconds delay, UserMail::Task task) {
                                 posted.push_back({delay, std::move(task)});
                             },
                             {}});
    imap::store::MailStore& store = mail->store();
    const auto box = store.open_mailbox("INBOX").id;
    const auto run_posted = [&](std::chrono::milliseconds delay) {
        std::vector<Posted> due;
        std::vector<Posted> later;
        for (Posted& p : posted)
            (p.delay == delay ? due : later).push_back(std::move(p));
        posted = std::move(later);
        for (Posted& p : due)
            p.task();
        return due.size();
    };
    const auto pending = [&] {
        auto q = test::sqlite_database(store).prepare("SELECT count(*) FROM fts_pending");
        q.step();
        return q.column_int(0);
    };
    const std::size_t eager = UserMail::kIndexEagerBodies;
    // All but one expunged right after its APPEND (a draft saved again and
    // again): kIndexEagerBodies commits queued bodies, one still waits.
    for (std::size_t i = 0; i < eager; ++i) {
        const std::uint32_t uid =
            store.append(box, test::request(test::message("draft " + std::to_string(i))));
        if (i + 1 == eager) break;
        const imap::store::UidRange range{uid, uid};
        imap::store::Flags deleted;
        deleted.system = imap::store::flag::kDeleted;
        store.store_flags(box, imap::store::UidSpan(&range, 1), imap::store::FlagOp::Add, deleted);
        store.expunge(box, imap::store::UidSpan(&range, 1));
    }
    CHECK(store.bodies_awaiting_index(SIZE_MAX) == 1);
    CHECK(pending() == static_cast<std::int64_t>(eager));
    // The check posted at once finds one body waiting: no batch now.
    REQUIRE(run_posted(std::chrono::milliseconds{0}) == 1);
    CHECK(pending() == static_cast<std::int64_t>(eager));
    // The delayed batch indexes it (the orphans stay queued for the
    // garbage collection, which deletes them with their queue rows).
    REQUIRE(run_posted(UserMail::kIndexDelay) == 1);
    CHECK(store.bodies_awaiting_index(SIZE_MAX) == 0);
    CHECK(pending() == static_cast<std::int64_t>(eager) - 1);

    // As many bodies that stay: the early batch indexes them at once.
    for (std::size_t i = 0; i < eager; ++i)
        store.append(box, test::request(test::message("kept " + std::to_string(i))));
    CHECK(store.bodies_awaiting_index(SIZE_MAX) == eager);
    CHECK(store.bodies_awaiting_index(5) == 5);  // counted no further
    REQUIRE(run_posted(std::chrono::milliseconds{0}) == 1);
    CHECK(store.bodies_awaiting_index(SIZE_MAX) == 0);
}
