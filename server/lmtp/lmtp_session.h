// LmtpSession: one LMTP conversation (RFC 2033) without sockets: bytes in
// through receive(), bytes out through take_output(), the way the IMAP
// Session is driven (docs/lmtp.md). The transport (server/net/
// lmtp_connection.h) reads, writes, times out and runs the deliveries.
//
// Extensions advertised in the LHLO answer: PIPELINING (RFC 2920: commands
// are read ahead and answered in order), ENHANCEDSTATUSCODES (RFC 2034: an
// RFC 3463 code on every 2xx/4xx/5xx reply), 8BITMIME (RFC 6152), SIZE (RFC
// 1870). After the DATA's final dot every accepted recipient gets its own
// reply, in RCPT order (RFC 2033 4.2); each is written only once the
// backend reports that recipient's copy durable, and while a transaction's
// deliveries run no further command is read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/local_delivery.h"

namespace imap::server::lmtp {

// One accepted RCPT.
struct Recipient {
    std::string address;  // as in RCPT TO, without < >
    std::string user;     // the canonical account name
    // "+detail" of the local part (RFC 5233 subaddress): the mailbox to
    // deliver to if the user has one of that name (ignoring ASCII case),
    // else INBOX. Empty: INBOX.
    std::string mailbox;
};

// A reply line's code and its text (the enhanced status code first).
struct Reply {
    int code = 250;
    std::string text;  // "2.0.0 <alice@example.org> delivered to INBOX"
};

// One recipient's copy: the trace fields to prepend and the message data
// (dot-unstuffed, CRLF line ends), shared by every recipient.
struct Delivery {
    Recipient recipient;
    std::string trace;  // "Return-Path: <...>\r\nDelivered-To: ...\r\n"
    std::shared_ptr<const std::string> data;
};

class Backend {
  public:
    virtual ~Backend() = default;
    // The account a local part (detail removed) names. May throw: the
    // recipient is then answered 451 4.3.0 (try again later).
    virtual store::Recipient find_recipient(std::string_view user) = 0;
    // Starts storing one copy. The transport answers later with
    // LmtpSession::delivered(index, reply), on the session's thread, once
    // the copy is durable (2xx) or failed (4xx/5xx).
    virtual void deliver(Delivery delivery, std::size_t index) = 0;
};

struct Options {
    std::string hostname = "localhost";  // in the greeting and the LHLO answer
    // Lower-case domains RCPT TO may name; empty: any.
    std::vector<std::string> domains;
    // The largest message data accepted (SIZE in the LHLO answer).
    std::uint64_t max_message_size = 0;
};

class LmtpSession {
  public:
    // Writes the greeting.
    LmtpSession(Backend& backend, Options options);

    // Takes the bytes the client sent and runs what they complete; while a
    // transaction's deliveries run (delivering()) they are kept, unread,
    // until the last delivered().
    void receive(std::string_view bytes);
    // A copy started with Backend::deliver is done: its reply is written
    // once every earlier recipient's is.
    void delivered(std::size_t index, Reply reply);

    std::string take_output();
    bool has_output() const { return !output_.empty(); }
    // Deliveries are running: the transport should stop reading (the
    // bytes kept are bounded by what it read before it stopped).
    bool delivering() const { return state_ == State::Delivering; }
    // After QUIT, a 421, or a fatal limit: close once the output is sent.
    bool wants_close() const { return closing_; }
    // Bytes received and not yet run (kept while delivering).
    std::size_t buffered() const { return input_.size(); }
    // The transport's own 421 (idle timeout, shutdown): written and the
    // session closes.
    void close_with(std::string_view reply);

    // Recipients in the transaction now (for tests).
    std::size_t recipient_count() const { return recipients_.size(); }

  private:
    enum class State { Start, Ready, Mail, Data, Delivering };

    void run();
    // Reads DATA's lines from input_ until its final dot; true when it came.
    bool read_data();
    void end_of_data();
    void command(std::string_view line);
    void lhlo(std::string_view args);
    void mail(std::string_view args);
    void rcpt(std::string_view args);
    void data(std::string_view args);
    void reset_transaction();
    void reply(int code, std::string_view enhanced, std::string_view text);
    // A refused command: counted towards limits::lmtp::kMaxErrors.
    void error(int code, std::string_view enhanced, std::string_view text);
    // Writes the replies that are next in order; true once all are written.
    bool flush_replies();

    Backend& backend_;
    Options options_;
    State state_ = State::Start;
    bool closing_ = false;
    std::string input_;
    std::string output_;
    bool discarding_line_ = false;  // an over-long line is skipped to its LF
    std::size_t commands_before_lhlo_ = 0;
    std::size_t errors_ = 0;

    // The transaction.
    std::string reverse_path_;
    std::vector<Recipient> recipients_;
    std::string message_;
    bool data_line_start_ = true;
    bool previous_crlf_ = true;  // the last line ended with CRLF, not a bare LF
    bool too_big_ = false;
    std::uint64_t data_size_ = 0;
    // Replies of the deliveries, in RCPT order, and how many were written.
    std::vector<std::optional<Reply>> replies_;
    std::size_t replied_ = 0;
    bool starting_deliveries_ = false;
};

// "alice+lists@example.org" (a path without < >, source route removed) as
// its parts: nullopt when it is not a valid address.
struct Address {
    std::string local;   // unquoted
    std::string domain;  // lower-case; empty when the address had none
};
std::optional<Address> parse_address(std::string_view path);

}  // namespace imap::server::lmtp
