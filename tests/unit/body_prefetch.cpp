// BodyPrefetch (server/imap/body_prefetch.h) and the FETCH that uses it
// (FetchJob, docs/storage.md "Decompressing ahead"): a body decompressed by
// a helper job ahead of a FETCH of many whole messages, or handed back and
// decompressed by the FETCH itself, is the message byte for byte (RFC 3501
// 6.4.5: BODY[] is the whole message), whoever got to it first.
#include "server/imap/body_prefetch.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "server/imap/user_mail.h"
#include "store/body_codec.h"
#include "store/data_dir.h"
#include "support/session_driver.h"
#include "support/store_support.h"

namespace {

namespace store = imap::store;
namespace server = imap::server;
using imap::test::drain;
using imap::test::SessionDriver;

// Helper jobs kept in a queue the test runs when it chooses.
struct QueuedJobs {
    std::deque<std::function<void()>> jobs;
    bool refuse = false;
    server::BodyPrefetch::Submit submit() {
        return [this](std::function<void()> job) {
            if (refuse) return false;
            jobs.push_back(std::move(job));
            return true;
        };
    }
    void run_all() {
        while (!jobs.empty()) {
            auto job = std::move(jobs.front());
            jobs.pop_front();
            job();
        }
    }
};

// Helper jobs each on a thread of its own, all joined by the destructor.
class ThreadJobs {
  public:
    ~ThreadJobs() {
        for (;;) {
            std::vector<std::thread> threads;
            {
                std::lock_guard lock(mutex_);
                threads.swap(threads_);
            }
            if (threads.empty()) return;
            for (std::thread& thread : threads)
                thread.join();
        }
    }
    std::function<bool(std::function<void()>)> submit() {
        return [this](std::function<void()> job) {
            std::lock_guard lock(mutex_);
            ++submitted;
            threads_.emplace_back(std::move(job));
            return true;
        };
    }
    std::atomic<int> submitted{0};

  private:
    std::mutex mutex_;
    std::vector<std::thread> threads_;
};

std::string random_bytes(std::mt19937& rng, std::size_t size) {
    std::string bytes(size, '\0');
    for (char& c : bytes)
        c = static_cast<char>(rng() % 64 + 32);  // some compression, not much
    return bytes;
}

std::string decompressed(const std::string& container) {
    return store::read_container_range(container, 0, store::limits::kMaxMessageSize);
}

store::BodyId body(std::int64_t key) {
    return store::BodyId{key};
}

}  // namespace

TEST_CASE("BodyPrefetch: decompressed by a helper or handed back, each body is its message",
          "[body_prefetch][fetch]") {
    std::mt19937 rng(6453);
    std::vector<std::string> raws;
    for (std::size_t size : {0, 1, 100, 5000, 40000, 12})
        raws.push_back(random_bytes(rng, size));
    QueuedJobs helpers;
    server::BodyPrefetch prefetch(helpers.submit());
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < raws.size(); ++i) {
        prefetch.add(body(static_cast<std::int64_t>(i) + 1), raws[i].size(),
                     store::compress_body(raws[i]));
        total += raws[i].size();
    }
    CHECK(prefetch.ahead() == total);
    // One helper job on its way, however many bodies wait.
    CHECK(helpers.jobs.size() == 1);

    SECTION("before the helper ran: every container comes back") {
        for (std::size_t i = 0; i < raws.size(); ++i) {
            auto taken = prefetch.take(body(static_cast<std::int64_t>(i) + 1));
            REQUIRE(taken);
            CHECK_FALSE(taken->body);
            REQUIRE(taken->container);
            CHECK(decompressed(*taken->container) == raws[i]);
        }
        CHECK(prefetch.ahead() == 0);
        helpers.run_all();  // finds nothing left
    }
    SECTION("after the helper ran: every body is decompressed") {
        helpers.run_all();
        for (std::size_t i = 0; i < raws.size(); ++i) {
            auto taken = prefetch.take(body(static_cast<std::int64_t>(i) + 1));
            REQUIRE(taken);
            CHECK_FALSE(taken->container);
            REQUIRE(taken->body);
            CHECK(*taken->body == raws[i]);
        }
        CHECK(prefetch.ahead() == 0);
    }
}

TEST_CASE("BodyPrefetch: a helper job goes to the back of the queue after a turn of bodies",
          "[body_prefetch][fetch]") {
    std::mt19937 rng(1);
    QueuedJobs helpers;
    server::BodyPrefetch prefetch(helpers.submit());
    std::vector<std::string> raws;
    for (int i = 0; i < 150; ++i) {
        raws.push_back(random_bytes(rng, 1000));
        prefetch.add(body(i + 1), raws.back().size(), store::compress_body(raws.back()));
    }
    // 150 bodies take more than one turn: each job runs one turn and submits
    // the next, never two at once.
    int turns = 0;
    while (!helpers.jobs.empty()) {
        auto job = std::move(helpers.jobs.front());
        helpers.jobs.pop_front();
        job();
        ++turns;
        CHECK(helpers.jobs.size() <= 1);
    }
    CHECK(turns > 1);
    for (int i = 0; i < 150; ++i) {
        auto taken = prefetch.take(body(i + 1));
        REQUIRE(taken);
        REQUIRE(taken->body);
        CHECK(*taken->body == raws[static_cast<std::size_t>(i)]);
    }
}

TEST_CASE("BodyPrefetch: bodies passed by are dropped, and one never added is not there",
          "[body_prefetch][fetch]") {
    QueuedJobs helpers;
    server::BodyPrefetch prefetch(helpers.submit());
    for (std::int64_t key : {1, 2, 3, 2})
        prefetch.add(body(key), 10, store::compress_body(std::string(10, 'a' + key)));
    CHECK(prefetch.ahead() == 40);
    // Not added: nothing is dropped.
    CHECK_FALSE(prefetch.take(body(9)));
    CHECK(prefetch.ahead() == 40);
    // The FETCH passed 1 and 2 by (messages it did not send after all).
    auto third = prefetch.take(body(3));
    REQUIRE(third);
    REQUIRE(third->container);
    CHECK(decompressed(*third->container) == std::string(10, 'd'));
    CHECK(prefetch.ahead() == 10);
    CHECK_FALSE(prefetch.take(body(1)));
    // The same body twice (two messages of one body): the later entry.
    auto again = prefetch.take(body(2));
    REQUIRE(again);
    REQUIRE(again->container);
    CHECK(decompressed(*again->container) == std::string(10, 'c'));
    CHECK(prefetch.ahead() == 0);
    prefetch.add(body(4), 5, store::compress_body("fifth"));
    prefetch.clear();
    CHECK(prefetch.ahead() == 0);
    CHECK_FALSE(prefetch.take(body(4)));
    helpers.run_all();
}

TEST_CASE("BodyPrefetch: a damaged container and a refused helper leave the FETCH its own read",
          "[body_prefetch][fetch]") {
    QueuedJobs helpers;
    SECTION("damaged: neither a body nor a container, the FETCH reads and reports it") {
        server::BodyPrefetch prefetch(helpers.submit());
        std::string container = store::compress_body(std::string(3000, 'x'));
        container.resize(container.size() - 5);
        prefetch.add(body(1), 3000, container);
        helpers.run_all();
        auto taken = prefetch.take(body(1));
        REQUIRE(taken);
        CHECK_FALSE(taken->body);
        CHECK_FALSE(taken->container);
    }
    SECTION("refused: the container comes back") {
        helpers.refuse = true;
        server::BodyPrefetch prefetch(helpers.submit());
        prefetch.add(body(1), 3000, store::compress_body(std::string(3000, 'y')));
        CHECK(helpers.jobs.empty());
        auto taken = prefetch.take(body(1));
        REQUIRE(taken);
        REQUIRE(taken->container);
        CHECK(decompressed(*taken->container) == std::string(3000, 'y'));
    }
    SECTION("a job that runs after the FETCH ended does nothing") {
        {
            server::BodyPrefetch prefetch(helpers.submit());
            prefetch.add(body(1), 3000, store::compress_body(std::string(3000, 'z')));
        }
        REQUIRE(helpers.jobs.size() == 1);
        helpers.run_all();  // AddressSanitizer: nothing of the prefetch is used after it
    }
}

TEST_CASE("BodyPrefetch: helpers on other threads while the FETCH takes bodies in order",
          "[body_prefetch][fetch]") {
    // ThreadSanitizer's case: the FETCH's thread takes, and decodes the
    // last queued body itself while a helper decodes the one it needs.
    std::mt19937 rng(3501);
    std::vector<std::string> raws;
    std::vector<std::string> containers;
    for (int i = 0; i < 300; ++i) {
        raws.push_back(random_bytes(rng, rng() % 20000));
        containers.push_back(store::compress_body(raws.back()));
    }
    ThreadJobs helpers;
    server::BodyPrefetch prefetch(helpers.submit());
    std::size_t added = 0;
    int decoded_by_helpers = 0;
    for (std::size_t i = 0; i < raws.size(); ++i) {
        while (added < raws.size() && (added <= i || prefetch.ahead() < 100000)) {
            prefetch.add(body(static_cast<std::int64_t>(added) + 1), raws[added].size(),
                         containers[added]);
            ++added;
        }
        auto taken = prefetch.take(body(static_cast<std::int64_t>(i) + 1));
        REQUIRE(taken);
        if (taken->body) {
            ++decoded_by_helpers;
            CHECK(*taken->body == raws[i]);
        } else {
            REQUIRE(taken->container);
            CHECK(decompressed(*taken->container) == raws[i]);
        }
    }
    CHECK(helpers.submitted > 0);
    INFO("decoded ahead: " << decoded_by_helpers << " of " << raws.size());
    CHECK(prefetch.ahead() == 0);
}

namespace {

// The user's mail: messages of many sizes in INBOX.
struct Mailbox {
    server::UserMailRegistry mail{store::DataDir::in_memory()};
    std::vector<std::string> messages;

    store::MailStore& store() { return mail.open("alice")->store(); }

    Mailbox() {
        std::mt19937 rng(9051);
        const store::MailboxId inbox = store().open_mailbox("INBOX").id;
        // Small ones (prefetched), one whose container is over
        // kBodyReadWholeBytes (read by the FETCH), one over
        // FetchJob::kBodyChunk (streamed in chunks), an empty body, and the
        // same message twice (one stored body).
        std::vector<std::size_t> sizes;
        for (int i = 0; i < 30; ++i)
            sizes.push_back(rng() % 9000);
        sizes[7] = 200 * 1024;
        sizes[13] = 600 * 1024;
        sizes[20] = 0;
        for (std::size_t size : sizes) {
            std::string text;
            for (std::size_t i = 0; i < size; ++i)
                text += (i % 70 == 69) ? '\n' : static_cast<char>('a' + rng() % 26);
            messages.push_back("Subject: m" + std::to_string(messages.size()) + "\r\n\r\n" + text);
        }
        messages.push_back(messages[3]);
        for (const std::string& message : messages) {
            store::AppendRequest request;
            request.message = message;
            request.internal_date = 1704217272;
            store().append(inbox, request);
        }
    }
};

using imap::test::send_all;

}  // namespace

TEST_CASE(
    "RFC 3501 6.4.5: FETCH of many whole messages is byte for byte the same when "
    "bodies are decompressed ahead",
    "[body_prefetch][fetch][session]") {
    ThreadJobs helpers;  // outlives the sessions: their jobs use it
    Mailbox box;
    server::SessionContext with_helpers = imap::test::make_context({.loopback = true});
    with_helpers.side_job = helpers.submit();
    SessionDriver ahead(box.mail, std::move(with_helpers));
    SessionDriver alone(box.mail);
    for (SessionDriver* d : {&ahead, &alone}) {
        d->login();
        REQUIRE(d->send("s EXAMINE INBOX\r\n").find("s OK [READ-ONLY]") != std::string::npos);
    }
    const std::string whole = send_all(alone, "f FETCH 1:* (UID BODY.PEEK[])\r\n");
    CHECK(helpers.submitted == 0);  // without side jobs: none
    // What the client must get, built from the messages themselves.
    std::string expected;
    for (std::size_t i = 0; i < box.messages.size(); ++i) {
        expected += "* " + std::to_string(i + 1) + " FETCH (UID " + std::to_string(i + 1) +
                    " BODY[] {" + std::to_string(box.messages[i].size()) + "}\r\n" +
                    box.messages[i] + ")\r\n";
    }
    expected += "f OK FETCH completed\r\n";
    CHECK(whole == expected);
    CHECK(send_all(ahead, "f FETCH 1:* (UID BODY.PEEK[])\r\n") == expected);
    CHECK(helpers.submitted > 0);

    // Partial, and two whole-message items per message.
    for (const char* command :
         {"p FETCH 1:* (BODY.PEEK[]<5.300>)\r\n", "t FETCH 2:* (BODY.PEEK[] BODY.PEEK[]<0.10>)\r\n",
          "u UID FETCH 3:20,25:* (BODY.PEEK[])\r\n"}) {
        INFO(command);
        CHECK(send_all(ahead, command) == send_all(alone, command));
    }
}

TEST_CASE(
    "RFC 2180 4.1.1 and a damaged body: the FETCH with bodies decompressed ahead answers "
    "as the FETCH alone",
    "[body_prefetch][fetch][session]") {
    ThreadJobs helpers;
    Mailbox box;
    server::SessionContext with_helpers = imap::test::make_context({.loopback = true});
    with_helpers.side_job = helpers.submit();
    SessionDriver ahead(box.mail, std::move(with_helpers));
    SessionDriver alone(box.mail);
    SessionDriver other(box.mail);
    // `other` claims the \Recent messages (RFC 3501 2.3.2), so the two
    // views compared see the same flags.
    other.login();
    REQUIRE(other.send("s SELECT INBOX\r\n").find("s OK [READ-WRITE]") != std::string::npos);
    for (SessionDriver* d : {&ahead, &alone}) {
        d->login();
        REQUIRE(d->send("s EXAMINE INBOX\r\n").find("s OK [READ-ONLY]") != std::string::npos);
    }
    SECTION("messages another session expunged are still sent (RFC 2180 4.1.1)") {
        REQUIRE(send_all(other, "e STORE 4:6 +FLAGS.SILENT (\\Deleted)\r\n") ==
                "e OK STORE completed\r\n");
        REQUIRE(send_all(other, "x EXPUNGE\r\n").find("x OK") != std::string::npos);
        const std::string command = "f FETCH 1:* (BODY.PEEK[])\r\n";
        const std::string expected = send_all(alone, command);
        CHECK(expected.find("f OK [EXPUNGEISSUED]") != std::string::npos);
        CHECK(send_all(ahead, command) == expected);
    }
    SECTION("a damaged body: the same answer") {
        store::test::sqlite_database(box.store())
            .exec(
                "UPDATE body_raw SET data = substr(data, 1, 30) WHERE body_id = "
                "(SELECT body_id FROM messages WHERE uid = 9)");
        const std::string command = "f FETCH 1:* (BODY.PEEK[])\r\n";
        const std::string expected = send_all(alone, command);
        // RFC 3501 7.1.2 and RFC 5530's CORRUPTION: message 9 fails; its
        // response was begun without a body item.
        CHECK(expected.find("* 8 FETCH (BODY[] {") != std::string::npos);
        CHECK(expected.find("* 9 FETCH (BODY[]") == std::string::npos);
        CHECK(expected.find("f NO [CORRUPTION]") != std::string::npos);
        CHECK(send_all(ahead, command) == expected);
    }
}
