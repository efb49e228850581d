// SessionHost (server/net/session_host.h): docs/architecture.md "Threads":
// a Session is destroyed by its host's last task, on the executor it runs
// on, never wherever the host's last reference happens to go (a loop
// thread), because it may hold its user's mail, which only the user's
// strand may touch.
#include "server/net/session_host.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "support/session_driver.h"

using namespace imap;

namespace {

// Runs every task at once, on the caller's thread: a strand that is always
// free, the shape in which the last task can finish before retire() returns.
class InlineExecutor final : public server::Executor {
  public:
    void post(Task task) override { task(); }
    bool running_here() const override { return true; }
};

// Opens in-memory mail and remembers the last UserMail it gave out.
struct WatchedMail : server::MailAccess {
    std::weak_ptr<server::UserMail> last;
    std::shared_ptr<server::UserMail> open(std::string_view user) override {
        auto mail = std::make_shared<server::UserMail>(std::string(user), store::OpenOptions{});
        last = mail;
        return mail;
    }
};

}  // namespace

TEST_CASE("SessionHost: retire() destroys the Session on its executor, with its user's mail",
          "[server][threads]") {
    auto executor = std::make_shared<InlineExecutor>();
    test::FakeAuthenticator auth;
    WatchedMail mail;
    auto host = std::make_shared<server::SessionHost>(executor, [] {});
    host->start(test::make_context({.loopback = true}), auth, &mail);
    host->post_input("a LOGIN alice secret\r\nb SELECT INBOX\r\n");
    REQUIRE_FALSE(mail.last.expired());  // the session holds its mail
    // The connection goes. The host's last task runs (here at once) and
    // must end with the Session gone, not leave it to the host's last
    // reference: a retire() that marked the host retired only after posting
    // that task let a fast executor finish it first.
    host->retire();
    CHECK(mail.last.expired());
    CHECK_FALSE(host->busy());
}
