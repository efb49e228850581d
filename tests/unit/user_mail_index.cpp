// The search-index queue as UserMail counts it for the
// imapd_index_queue_bodies gauge (server/imap/user_mail.h,
// docs/operations.md "Metrics"): raised by each commit that queued bodies,
// set exactly by each background batch, given back when the mail closes.
#include <catch2/catch.hpp>
#include <chrono>
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
