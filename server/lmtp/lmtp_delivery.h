// One LMTP recipient's copy, stored on the recipient's executor (the
// user's strand, or the loop with one thread: docs/architecture.md
// "Threads"): the user's shared UserMail (so their IDLE sessions see the
// message at once), store::deliver_message (the logic imapd deliver uses),
// then the reply, sent only once the commit is durable (docs/storage.md
// "Group commit"; RFC 2033 4.2: the reply says the message is stored).
#pragma once

#include <chrono>
#include <functional>

#include "server/imap/user_mail.h"
#include "server/lmtp/lmtp_session.h"

namespace imap::server::lmtp {

// Takes the recipient's reply; from any thread (the executor, or a sync
// thread), exactly once.
using Answer = std::function<void(Reply)>;
// Takes the user's mail after a stored copy was answered (from the same
// thread, right after): the caller may keep it open for the next delivery
// to that user (opening a store costs more than an append), and must let
// it go on the user's executor, never elsewhere.
using Release = std::function<void(std::shared_ptr<UserMail>)>;

// On the recipient's executor. `now`: INTERNALDATE.
void store_copy(MailAccess& mail, const Delivery& delivery, std::time_t now, const Answer& answer,
                const Release& release);

// The reply for a copy the store refused: a problem the message will
// always have bounces (5xx), anything that may go away is retried (4xx),
// as imapd deliver's exit codes do (docs/cli.md).
Reply refusal(const std::string& shown, const std::exception& error);

}  // namespace imap::server::lmtp
