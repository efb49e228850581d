// RFC 5530 3 INUSE: when another process holds the user's store locked
// past the busy timeout (store::StoreErrc::Busy), a command gets a tagged
// NO [INUSE] with a fixed text (never the backend's message), and the
// session and the data survive for the next command.
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "server/imap/user_mail.h"
#include "store/accounts.h"
#include "store/data_dir.h"
#include "store/sqlite.h"
#include "support/session_driver.h"
#include "support/temp_dir.h"

namespace {

using imap::test::SessionDriver;
namespace store = imap::store;
namespace server = imap::server;

// The server's mail on disk, with a busy timeout short enough for a test.
class ShortBusyTimeout : public server::MailAccess {
  public:
    explicit ShortBusyTimeout(const store::DataDir& data) : data_(data) {}

    std::shared_ptr<server::UserMail> open(std::string_view user) override {
        if (!mail_) {
            const std::string name = store::AccountStore::canonical_user_name(user);
            mail_ = std::make_shared<server::UserMail>(name, options(name));
        }
        return mail_;
    }

    store::OpenOptions options(const std::string& user) const {
        store::OpenOptions options = data_.user_options(user);
        options.busy_timeout_ms = 20;
        return options;
    }

  private:
    const store::DataDir& data_;
    std::shared_ptr<server::UserMail> mail_;
};

}  // namespace

TEST_CASE("RFC 5530 INUSE: a store locked by another process gives NO [INUSE]", "[session][busy]") {
    imap::test::UniqueTempDir dir("imapd-session-busy");
    const store::DataDir data(dir.path);
    ShortBusyTimeout mail(data);
    SessionDriver d(mail);
    d.login();
    CHECK(d.send("s SELECT INBOX\r\n").ends_with("s OK [READ-WRITE] SELECT completed\r\n"));
    {
        // `imapd deliver` in the middle of its transaction.
        store::Database other(mail.options("alice"));
        other.exec("BEGIN IMMEDIATE");
        CHECK(d.send("a CREATE Work\r\n") ==
              "a NO [INUSE] The mailbox is busy, try again later\r\n");
        CHECK(d.send("b APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n") ==
              "b NO [INUSE] The mailbox is busy, try again later\r\n");
        // Reads are not blocked (WAL).
        CHECK(d.send("c NOOP\r\n") == "c OK NOOP completed\r\n");
        other.exec("ROLLBACK");
    }
    // The lock is gone: the same commands work, nothing was half done.
    CHECK(d.send("d CREATE Work\r\n") == "d OK [MAILBOXID (*)] CREATE completed\r\n");
    CHECK(d.send("e APPEND INBOX {20+}\r\nSubject: x\r\n\r\nbody\r\n\r\n")
              .starts_with("* 1 EXISTS\r\n"));
}
