// The LMTP state machine (server/lmtp/lmtp_session.h) without sockets:
// bytes in, bytes out, byte for byte, against RFC 2033, RFC 5321, RFC
// 2034/3463 (enhanced codes), RFC 1870 (SIZE), RFC 2920 (PIPELINING) and
// RFC 6152 (8BITMIME). The backend is a fake that records each delivery
// and answers when the test says.
#include "server/lmtp/lmtp_session.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "protocol/limits.h"
#include "support/hostile_bound.h"

using imap::server::lmtp::Backend;
using imap::server::lmtp::Delivery;
using imap::server::lmtp::LmtpSession;
using imap::server::lmtp::Options;
using imap::server::lmtp::parse_address;
using imap::server::lmtp::Reply;
namespace lim = imap::limits::lmtp;

namespace {

struct FakeBackend : Backend {
    std::map<std::string, imap::store::RecipientStatus> users = {
        {"alice", imap::store::RecipientStatus::Ok},
        {"bob", imap::store::RecipientStatus::Ok},
        {"carol", imap::store::RecipientStatus::Disabled}};
    bool lookup_fails = false;
    std::vector<std::pair<Delivery, std::size_t>> deliveries;

    imap::store::Recipient find_recipient(std::string_view user) override {
        if (lookup_fails) throw std::runtime_error("database locked");
        imap::store::Recipient r;
        r.user = std::string(user);
        const auto found = users.find(r.user);
        if (found != users.end()) r.status = found->second;
        return r;
    }
    void deliver(Delivery delivery, std::size_t index) override {
        deliveries.emplace_back(std::move(delivery), index);
    }
};

constexpr std::uint64_t kMax = 1000;

struct Fixture {
    FakeBackend backend;
    LmtpSession session{backend, make_options()};

    static Options make_options() {
        Options options;
        options.hostname = "mx.example.org";
        options.max_message_size = kMax;
        return options;
    }
    Fixture() { session.take_output(); }
    std::string send(std::string_view bytes) {
        session.receive(bytes);
        return session.take_output();
    }
    // LHLO, MAIL and the RCPTs, answers dropped.
    void begin(std::initializer_list<std::string_view> recipients) {
        send("LHLO client\r\nMAIL FROM:<s@x.org>\r\n");
        for (std::string_view r : recipients) {
            send("RCPT TO:<" + std::string(r) + ">\r\n");
        }
    }
    void answer_all() {
        for (auto& [delivery, index] : backend.deliveries) {
            session.delivered(index, Reply{250, "2.0.0 <" + delivery.recipient.address + "> OK"});
        }
    }
};

}  // namespace

TEST_CASE("RFC 2033 4: greeting, LHLO lists the extensions with SIZE") {
    FakeBackend backend;
    Options options;
    options.hostname = "mx.example.org";
    options.max_message_size = 67108224;
    LmtpSession session(backend, options);
    CHECK(session.take_output() == "220 mx.example.org LMTP imapd ready\r\n");
    session.receive("LHLO client.example.org\r\n");
    CHECK(session.take_output() ==
          "250-mx.example.org\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
          "250-8BITMIME\r\n250 SIZE 67108224\r\n");
}

TEST_CASE("RFC 2033 4.1: HELO and EHLO are unknown commands (500)") {
    Fixture f;
    CHECK(f.send("HELO x\r\n") == "500 5.5.1 This is LMTP: use LHLO\r\n");
    CHECK(f.send("EHLO x\r\n") == "500 5.5.1 This is LMTP: use LHLO\r\n");
    CHECK(f.send("LHLO\r\n") == "501 5.5.4 Syntax: LHLO hostname\r\n");
}

TEST_CASE("RFC 5321 4.1.4: command sequence is enforced with 503 5.5.1") {
    Fixture f;
    CHECK(f.send("MAIL FROM:<a@b>\r\n") == "503 5.5.1 Send LHLO first\r\n");
    CHECK(f.send("RCPT TO:<alice@b>\r\n") == "503 5.5.1 Send LHLO first\r\n");
    CHECK(f.send("DATA\r\n") == "503 5.5.1 Send LHLO first\r\n");
    f.send("LHLO c\r\n");
    CHECK(f.send("RCPT TO:<alice@b>\r\n") == "503 5.5.1 Need MAIL command\r\n");
    CHECK(f.send("DATA\r\n") == "503 5.5.1 Need MAIL command\r\n");
    CHECK(f.send("MAIL FROM:<>\r\n") == "250 2.1.0 Sender OK\r\n");
    CHECK(f.send("MAIL FROM:<a@b>\r\n") == "503 5.5.1 Nested MAIL command\r\n");
    // RFC 2033 4.2: DATA without a successful RCPT fails with 503.
    CHECK(f.send("RCPT TO:<nobody@b>\r\n") == "550 5.1.1 <nobody@b> User unknown\r\n");
    CHECK(f.send("DATA\r\n") == "503 5.5.1 No valid recipients\r\n");
    CHECK(f.send("RSET\r\n") == "250 2.0.0 OK\r\n");
    CHECK(f.send("MAIL FROM:<a@b>\r\n") == "250 2.1.0 Sender OK\r\n");
}

TEST_CASE("RCPT: unknown 550 5.1.1, disabled 550 5.2.1, lookup failure 451 4.3.0") {
    Fixture f;
    f.send("LHLO c\r\nMAIL FROM:<s@x>\r\n");
    CHECK(f.send("RCPT TO:<alice@example.org>\r\n") ==
          "250 2.1.5 <alice@example.org> Recipient OK\r\n");
    CHECK(f.send("RCPT TO:<zed@example.org>\r\n") ==
          "550 5.1.1 <zed@example.org> User unknown\r\n");
    CHECK(f.send("RCPT TO:<carol@example.org>\r\n") ==
          "550 5.2.1 <carol@example.org> Mailbox disabled\r\n");
    f.backend.lookup_fails = true;
    CHECK(f.send("RCPT TO:<bob@example.org>\r\n") ==
          "451 4.3.0 <bob@example.org> Temporary failure, try again later\r\n");
    CHECK(f.send("RCPT TO:bob@example.org\r\n") == "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
    CHECK(f.send("RCPT TO:<>\r\n") == "501 5.1.3 Bad recipient address\r\n");
    // Control bytes never reach Delivered-To or Return-Path, not even in a
    // source route.
    CHECK(f.send(std::string("RCPT TO:<@a\0b:bob@x>\r\n", 22)) ==
          "501 5.1.3 Bad recipient address\r\n");

    CHECK(f.send("RCPT TO:<bob@x> NOTIFY=NEVER\r\n") == "555 5.5.4 Unsupported parameter\r\n");
    CHECK(f.session.recipient_count() == 1);
}

TEST_CASE("RFC 5233 subaddress: user+detail names the user and the mailbox") {
    Fixture f;
    f.begin({"alice+Lists@example.org", "\"bob+x y\"@example.org", "@relay.example:alice@b"});
    f.send("DATA\r\nhi\r\n.\r\n");
    REQUIRE(f.backend.deliveries.size() == 3);
    CHECK(f.backend.deliveries[0].first.recipient.user == "alice");
    CHECK(f.backend.deliveries[0].first.recipient.mailbox == "Lists");
    CHECK(f.backend.deliveries[1].first.recipient.user == "bob");
    CHECK(f.backend.deliveries[1].first.recipient.mailbox == "x y");
    CHECK(f.backend.deliveries[2].first.recipient.user == "alice");
    CHECK(f.backend.deliveries[2].first.recipient.mailbox.empty());
}

TEST_CASE("configured domains: another domain is 550 5.1.2") {
    FakeBackend backend;
    Options options;
    options.max_message_size = kMax;
    options.domains = {"example.org"};
    LmtpSession session(backend, options);
    session.receive(
        "LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@Example.ORG>\r\n"
        "RCPT TO:<alice@example.net>\r\nRCPT TO:<alice>\r\n");
    const std::string out = session.take_output();
    CHECK(
        out.ends_with("250 2.1.5 <alice@Example.ORG> Recipient OK\r\n"
                      "550 5.1.2 <alice@example.net> Domain not handled here\r\n"
                      "250 2.1.5 <alice> Recipient OK\r\n"));
}

TEST_CASE("RFC 2033 4.2: one reply per accepted RCPT, in RCPT order, each when it is ready") {
    Fixture f;
    f.begin({"alice@x", "nobody@x", "bob@x"});
    CHECK(f.send("DATA\r\n") == "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
    CHECK(f.send("Subject: t\r\n\r\nbody\r\n.\r\n").empty());
    CHECK(f.session.delivering());
    REQUIRE(f.backend.deliveries.size() == 2);
    // Bob's copy is durable first: nothing is written until Alice's is.
    f.session.delivered(1, Reply{250, "2.0.0 <bob@x> OK"});
    CHECK(f.session.take_output().empty());
    f.session.delivered(0, Reply{452, "4.2.2 <alice@x> Mailbox full"});
    CHECK(f.session.take_output() ==
          "452 4.2.2 <alice@x> Mailbox full\r\n250 2.0.0 <bob@x> OK\r\n");
    CHECK_FALSE(f.session.delivering());
    // A second answer for the same index changes nothing.
    f.session.delivered(1, Reply{250, "again"});
    CHECK(f.session.take_output().empty());
}

TEST_CASE("Return-Path and Delivered-To are the trace of each copy") {
    Fixture f;
    f.begin({"alice+a@x", "bob@x"});
    f.send("DATA\r\nS: 1\r\n\r\nb\r\n.\r\n");
    REQUIRE(f.backend.deliveries.size() == 2);
    CHECK(f.backend.deliveries[0].first.trace ==
          "Return-Path: <s@x.org>\r\nDelivered-To: alice+a@x\r\n");
    CHECK(f.backend.deliveries[1].first.trace ==
          "Return-Path: <s@x.org>\r\nDelivered-To: bob@x\r\n");
    CHECK(*f.backend.deliveries[0].first.data == "S: 1\r\n\r\nb\r\n");
    // One copy of the data, shared.
    CHECK(f.backend.deliveries[0].first.data == f.backend.deliveries[1].first.data);
}

TEST_CASE("RFC 5321 4.5.2: dot-unstuffing, the final dot, CRLF, at every split") {
    const std::string body = "Subject: d\r\n\r\n..x\r\n.\r.\r\nbare\nlf\r\nmid\rcr\r\n. \r\n.";
    const std::string sent = body + "\r\n.\r\n";
    const std::string expected = "Subject: d\r\n\r\n.x\r\n\r.\r\nbare\r\nlf\r\nmid\rcr\r\n \r\n";
    for (std::size_t split = 0; split <= sent.size(); ++split) {
        Fixture f;
        f.begin({"alice@x"});
        f.send("DATA\r\n");
        f.send(sent.substr(0, split));
        f.send(sent.substr(split));
        INFO("split at " << split);
        REQUIRE(f.backend.deliveries.size() == 1);
        CHECK(*f.backend.deliveries[0].first.data == expected);
    }
    // Byte by byte.
    Fixture f;
    f.begin({"alice@x"});
    f.send("DATA\r\n");
    for (char c : sent)
        f.send(std::string(1, c));
    REQUIRE(f.backend.deliveries.size() == 1);
    CHECK(*f.backend.deliveries[0].first.data == expected);
}

TEST_CASE("RFC 5321 4.1.1.4: only CRLF.CRLF ends the data, not a bare LF (SMTP smuggling)") {
    // CVE-2023-51764 class: "\n.\n" or "\r\n.\n" taken for the end would
    // let a second message hide inside the first.
    const std::string sent =
        "Subject: s\r\n\r\na\n.\nMAIL FROM:<evil@x>\r\nb\r\n.\nc\n.\r\nd\r\n.\r\n";
    for (std::size_t split = 0; split <= sent.size(); ++split) {
        Fixture f;
        f.begin({"alice@x"});
        f.send("DATA\r\n");
        f.send(sent.substr(0, split));
        const std::string out = f.send(sent.substr(split));
        INFO("split at " << split);
        REQUIRE(f.backend.deliveries.size() == 1);
        CHECK(*f.backend.deliveries[0].first.data ==
              "Subject: s\r\n\r\na\r\n.\r\nMAIL FROM:<evil@x>\r\nb\r\n.\r\nc\r\n.\r\nd\r\n");
        CHECK(out.find("250 2.1.0") == std::string::npos);
    }
}

TEST_CASE("RFC 1870: SIZE= over the limit is 552 5.3.4 at MAIL, bad SIZE and BODY are 501") {
    Fixture f;
    f.send("LHLO c\r\n");
    CHECK(f.send("MAIL FROM:<a@b> SIZE=1001\r\n") ==
          "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    CHECK(f.send("MAIL FROM:<a@b> SIZE=12x\r\n") == "501 5.5.4 Bad SIZE parameter\r\n");
    CHECK(f.send("MAIL FROM:<a@b> BODY=BINARYMIME\r\n") ==
          "501 5.5.4 BODY is 7BIT or 8BITMIME\r\n");
    CHECK(f.send("MAIL FROM:<a@b> SMTPUTF8\r\n") ==
          "555 5.5.4 Unsupported or repeated parameter\r\n");
    CHECK(f.send("MAIL FROM:<a@b> SIZE=1 SIZE=2\r\n") ==
          "555 5.5.4 Unsupported or repeated parameter\r\n");
    // RFC 6152 2 and RFC 1870 6: both parameters, any case.
    CHECK(f.send("mail from:<a@b> size=1000 body=8bitmime\r\n") == "250 2.1.0 Sender OK\r\n");
}

TEST_CASE("RFC 1870 6.3: data over the limit gets 552 5.3.4 per recipient, memory bounded") {
    Fixture f;
    f.begin({"alice@x", "bob@x"});
    f.send("DATA\r\n");
    const std::string line(99, 'a');
    std::string out;
    for (int i = 0; i < 100; ++i)
        out += f.send(line + "\r\n");  // 10,100 bytes: ten times the limit
    CHECK(out.empty());
    CHECK(f.session.buffered() < 200);
    CHECK(f.send(".\r\n") ==
          "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
          "552 5.3.4 Message size exceeds fixed maximum message size\r\n");
    CHECK(f.backend.deliveries.empty());
    // The connection goes on: a new transaction works.
    CHECK(f.send("MAIL FROM:<a@b>\r\n") == "250 2.1.0 Sender OK\r\n");
}

TEST_CASE("a message exactly at the limit is delivered") {
    Fixture f;
    f.begin({"alice@x"});
    f.send("DATA\r\n" + std::string(kMax - 2, 'a') + "\r\n.\r\n");
    REQUIRE(f.backend.deliveries.size() == 1);
    CHECK(f.backend.deliveries[0].first.data->size() == kMax);
}

TEST_CASE("RFC 2920: a pipelined group is answered in order, commands after DATA wait") {
    Fixture f;
    const std::string out = f.send(
        "LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<nobody@x>\r\n"
        "RCPT TO:<bob@x>\r\nDATA\r\nhello\r\n.\r\nMAIL FROM:<t@x>\r\nRCPT TO:<bob@x>\r\n"
        "DATA\r\nsecond\r\n.\r\nQUIT\r\n");
    CHECK(
        out.ends_with("250 2.1.0 Sender OK\r\n250 2.1.5 <alice@x> Recipient OK\r\n"
                      "550 5.1.1 <nobody@x> User unknown\r\n250 2.1.5 <bob@x> Recipient OK\r\n"
                      "354 Start mail input; end with <CRLF>.<CRLF>\r\n"));
    CHECK(f.session.delivering());
    CHECK(f.backend.deliveries.size() == 2);
    f.session.delivered(0, Reply{250, "2.0.0 a"});
    f.session.delivered(1, Reply{250, "2.0.0 b"});
    CHECK(f.session.take_output() ==
          "250 2.0.0 a\r\n250 2.0.0 b\r\n250 2.1.0 Sender OK\r\n"
          "250 2.1.5 <bob@x> Recipient OK\r\n354 Start mail input; end with <CRLF>.<CRLF>\r\n");
    REQUIRE(f.backend.deliveries.size() == 3);
    CHECK(*f.backend.deliveries[2].first.data == "second\r\n");
    f.session.delivered(0, Reply{250, "2.0.0 c"});
    CHECK(f.session.take_output() ==
          "250 2.0.0 c\r\n221 2.0.0 mx.example.org closing connection\r\n");
    CHECK(f.session.wants_close());
}

TEST_CASE("a backend that answers inside deliver() still gives ordered replies") {
    struct Immediate : FakeBackend {
        LmtpSession* session = nullptr;
        void deliver(Delivery delivery, std::size_t index) override {
            session->delivered(index, Reply{250, "2.0.0 " + delivery.recipient.address});
        }
    } backend;
    Options options;
    options.max_message_size = kMax;
    LmtpSession session(backend, options);
    backend.session = &session;
    session.receive(
        "LHLO c\r\nMAIL FROM:<s@x>\r\nRCPT TO:<alice@x>\r\nRCPT TO:<bob@x>\r\n"
        "DATA\r\nx\r\n.\r\nNOOP\r\n");
    CHECK(session.take_output().ends_with(
        "354 Start mail input; end with <CRLF>.<CRLF>\r\n250 2.0.0 alice@x\r\n"
        "250 2.0.0 bob@x\r\n250 2.0.0 OK\r\n"));
}

TEST_CASE("RSET, NOOP, VRFY (252), QUIT, unknown and unimplemented commands") {
    Fixture f;
    CHECK(f.send("NOOP\r\n") == "250 2.0.0 OK\r\n");
    CHECK(f.send("VRFY alice\r\n") ==
          "252 2.5.0 Cannot VRFY user, but will accept message for delivery\r\n");
    CHECK(f.send("EXPN list\r\n") == "502 5.5.1 Command not implemented\r\n");
    CHECK(f.send("FOO\r\n") == "500 5.5.1 Unknown command\r\n");
    f.begin({"alice@x"});
    CHECK(f.session.recipient_count() == 1);
    CHECK(f.send("RSET\r\n") == "250 2.0.0 OK\r\n");
    CHECK(f.session.recipient_count() == 0);
    CHECK(f.send("QUIT\r\n") == "221 2.0.0 mx.example.org closing connection\r\n");
    CHECK(f.session.wants_close());
    CHECK(f.send("NOOP\r\n").empty());
}

TEST_CASE("hostile: over-long command lines are refused and skipped, never buffered") {
    const auto started = std::chrono::steady_clock::now();
    Fixture f;
    std::string out;
    // 1 MiB without a line end, in 64 KiB reads.
    const std::string chunk(64 * 1024, 'A');
    for (int i = 0; i < 16; ++i) {
        out += f.send(chunk);
        CHECK(f.session.buffered() <= lim::kMaxCommandLine);
    }
    CHECK(out == "500 5.5.2 Line too long\r\n");
    CHECK(f.send("\r\nNOOP\r\n") == "250 2.0.0 OK\r\n");
    // A long line that arrives whole is refused the same way.
    CHECK(f.send(std::string(lim::kMaxCommandLine, 'B') + "\r\n") == "500 5.5.2 Line too long\r\n");
    CHECK(f.send("NOOP\r\n") == "250 2.0.0 OK\r\n");
    CHECK(std::chrono::steady_clock::now() - started < imap::test::kHostileTimeBound);
}

TEST_CASE("hostile: too many errors, commands before LHLO, recipients") {
    SECTION("errors: 421 4.7.0 at the limit, then nothing more is read") {
        Fixture f;
        std::string out;
        for (std::size_t i = 0; i + 1 < lim::kMaxErrors; ++i)
            out += f.send("BAD\r\n");
        CHECK_FALSE(f.session.wants_close());
        CHECK(f.send("BAD\r\nNOOP\r\n") == "421 4.7.0 Too many errors, closing connection\r\n");
        CHECK(f.session.wants_close());
    }
    SECTION("commands before LHLO") {
        Fixture f;
        for (std::size_t i = 0; i < lim::kMaxCommandsBeforeLhlo; ++i)
            CHECK(f.send("NOOP\r\n") == "250 2.0.0 OK\r\n");
        CHECK(f.send("NOOP\r\n") ==
              "421 4.7.0 Too many commands before LHLO, closing connection\r\n");
        CHECK(f.session.wants_close());
    }
    SECTION("recipients: 452 4.5.3 past the limit (RFC 5321 4.5.3.1.10)") {
        Fixture f;
        f.send("LHLO c\r\nMAIL FROM:<s@x>\r\n");
        for (std::size_t i = 0; i < lim::kMaxRecipients; ++i)
            f.send("RCPT TO:<alice@x>\r\n");
        CHECK(f.send("RCPT TO:<bob@x>\r\n") == "452 4.5.3 Too many recipients\r\n");
        CHECK(f.session.recipient_count() == lim::kMaxRecipients);
    }
    SECTION("a path past 256 octets") {
        Fixture f;
        f.send("LHLO c\r\nMAIL FROM:<s@x>\r\n");
        CHECK(f.send("RCPT TO:<" + std::string(lim::kMaxPath, 'a') + "@x>\r\n") ==
              "501 5.1.3 Recipient address too long\r\n");
    }
}

TEST_CASE("a sender path with control bytes is refused before it reaches Return-Path") {
    Fixture f;
    f.send("LHLO c\r\n");
    CHECK(f.send("MAIL FROM:<@a\x01:s@x>\r\n") == "501 5.1.7 Bad sender address\r\n");
    CHECK(f.send("MAIL FROM:<s\x7f@x>\r\n") == "501 5.1.7 Bad sender address\r\n");
}

TEST_CASE("close_with: the transport's 421 ends the session") {
    Fixture f;
    f.session.close_with("421 4.4.2 Idle timeout, closing connection");
    CHECK(f.session.take_output() == "421 4.4.2 Idle timeout, closing connection\r\n");
    CHECK(f.session.wants_close());
}

TEST_CASE("parse_address: local part, domain, quoting, source routes") {
    CHECK(parse_address("alice@Example.ORG")->domain == "example.org");
    CHECK(parse_address("alice@Example.ORG")->local == "alice");
    CHECK(parse_address("\"a\\\"b\"@x")->local == "a\"b");
    CHECK(parse_address("@r1,@r2:bob@x")->local == "bob");
    CHECK(parse_address("postmaster")->domain.empty());
    CHECK_FALSE(parse_address(""));
    CHECK_FALSE(parse_address("a@"));
    CHECK_FALSE(parse_address("a@b@c"));
    CHECK_FALSE(parse_address("\"open@x"));
    CHECK_FALSE(parse_address(std::string("a\tb@x")));
}
