// One LMTP recipient's copy (server/lmtp/lmtp_delivery.h): stored through
// the user's shared UserMail with the logic imapd deliver uses, and its 250
// given only once group commit says the commit is durable (RFC 2033 4.2,
// docs/storage.md "Group commit"). The syncs are run by the test.
#include "server/lmtp/lmtp_delivery.h"

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "store/errors.h"
#include "support/temp_dir.h"

using namespace imap;
using server::lmtp::Delivery;
using server::lmtp::Reply;

namespace {

struct ManualRunner {
    std::vector<std::function<void()>> jobs;
    void run_all() {
        auto now = std::move(jobs);
        jobs.clear();
        for (auto& job : now)
            job();
    }
};

// One user's mail in a temporary file store with group commit.
struct OneUser : server::MailAccess {
    test::UniqueTempDir dir{"imapd-lmtp"};
    ManualRunner runner;
    std::shared_ptr<server::UserMail> mail;
    explicit OneUser(bool defer_sync) {
        store::OpenOptions options;
        options.path = (dir.path / "alice.db").string();
        options.defer_sync = defer_sync;
        mail =
            std::make_shared<server::UserMail>("alice", options, [this](std::function<void()> job) {
                runner.jobs.push_back(std::move(job));
                return true;
            });
    }
    std::shared_ptr<server::UserMail> open(std::string_view) override { return mail; }
};

Delivery copy_for(std::string address, std::string mailbox, std::string data) {
    Delivery delivery;
    delivery.recipient.address = std::move(address);
    delivery.recipient.user = "alice";
    delivery.recipient.mailbox = std::move(mailbox);
    delivery.trace = "Return-Path: <s@x>\r\nDelivered-To: " + delivery.recipient.address + "\r\n";
    delivery.data = std::make_shared<const std::string>(std::move(data));
    return delivery;
}

std::string body_of(store::MailStore& store, std::string_view mailbox, std::uint32_t uid) {
    const store::MailboxInfo info = store.open_mailbox(mailbox);
    const store::UidSet uids = {{uid, uid}};
    const auto messages = store.fetch(info.id, uids);
    REQUIRE(messages.size() == 1);
    return store.read_body(messages[0].body_id, 0, messages[0].size);
}

}  // namespace

TEST_CASE("RFC 2033 4.2: the 250 waits for the sync that makes the copy durable") {
    OneUser user(true);
    std::vector<Reply> replies;
    std::size_t released = 0;
    auto answer = [&](Reply r) { replies.push_back(std::move(r)); };
    auto release = [&](std::shared_ptr<server::UserMail> mail) {
        CHECK(mail == user.mail);
        CHECK(replies.size() == 1);  // after the answer
        ++released;
    };
    // An IDLE session's listener hears of the new message at once (RFC 2177).
    std::size_t notified = 0;
    auto subscription = user.mail->subscribe([&](store::MailboxId) { ++notified; });
    server::lmtp::store_copy(user, copy_for("alice@x", "", "Subject: a\r\n\r\nx\r\n"), 1700000000,
                             answer, release);
    CHECK(notified == 1);
    CHECK(replies.empty());  // committed, not yet durable: no reply
    REQUIRE(user.runner.jobs.size() == 1);
    user.runner.run_all();
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].code == 250);
    CHECK(replies[0].text == "2.0.0 <alice@x> Saved in INBOX as UID 1");
    CHECK(released == 1);  // the UserMail handed back, to be let go on its executor
    CHECK(body_of(user.mail->store(), "INBOX", 1) ==
          "Return-Path: <s@x>\r\nDelivered-To: alice@x\r\nSubject: a\r\n\r\nx\r\n");
}

TEST_CASE("without group commit the reply comes at once (one thread)") {
    OneUser user(false);
    std::vector<Reply> replies;
    server::lmtp::store_copy(
        user, copy_for("alice@x", "", "x\r\n"), 1700000000,
        [&](Reply r) { replies.push_back(std::move(r)); },
        [](std::shared_ptr<server::UserMail>) {});
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].code == 250);
}

TEST_CASE("+detail: an existing mailbox of that name in any case, else INBOX") {
    OneUser user(false);
    user.mail->store().create_mailbox("Lists");
    std::vector<Reply> replies;
    auto answer = [&](Reply r) { replies.push_back(std::move(r)); };
    auto post = [](std::shared_ptr<server::UserMail>) {};
    server::lmtp::store_copy(user, copy_for("alice+lists@x", "lists", "1\r\n"), 1700000000, answer,
                             post);
    server::lmtp::store_copy(user, copy_for("alice+nothere@x", "nothere", "2\r\n"), 1700000000,
                             answer, post);
    server::lmtp::store_copy(user, copy_for("alice+a%b@x", "a%b", "3\r\n"), 1700000000, answer,
                             post);
    REQUIRE(replies.size() == 3);
    CHECK(replies[0].text == "2.0.0 <alice+lists@x> Saved in Lists as UID 1");
    CHECK(replies[1].text == "2.0.0 <alice+nothere@x> Saved in INBOX as UID 1");
    CHECK(replies[2].text == "2.0.0 <alice+a%b@x> Saved in INBOX as UID 2");  // invalid name
}

TEST_CASE("refusals: too big bounces, a full mailbox and anything else is retried") {
    using store::StoreErrc;
    using store::StoreError;
    CHECK(server::lmtp::refusal("<a@x>", StoreError(StoreErrc::TooBig, "big")).text ==
          "5.3.4 <a@x> Message too big");
    const Reply full = server::lmtp::refusal("<a@x>", StoreError(StoreErrc::OverLimit, "full"));
    CHECK(full.code == 452);
    CHECK(full.text == "4.2.2 <a@x> Mailbox full, try again later");
    CHECK(server::lmtp::refusal("<a@x>", StoreError(StoreErrc::Busy, "locked")).code == 451);
    CHECK(server::lmtp::refusal("<a@x>", std::runtime_error("disk")).text ==
          "4.3.0 <a@x> Temporary failure, try again later");
}

TEST_CASE("a store that cannot be opened is a temporary failure, 451 4.3.0") {
    struct Broken : server::MailAccess {
        std::shared_ptr<server::UserMail> open(std::string_view) override {
            throw store::StoreError(store::StoreErrc::Busy, "locked");
        }
    } broken;
    std::vector<Reply> replies;
    server::lmtp::store_copy(
        broken, copy_for("alice@x", "", "x\r\n"), 1700000000,
        [&](Reply r) { replies.push_back(std::move(r)); },
        [](std::shared_ptr<server::UserMail>) {});
    REQUIRE(replies.size() == 1);
    CHECK(replies[0].code == 451);
}
