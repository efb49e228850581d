// Local delivery: what `imapd deliver` (server/cli/cli_deliver.cpp) and the
// LMTP listener (server/lmtp/) both do with a message an MTA hands over.
// The recipient is looked up once (find_recipient), then deliver_message()
// picks the target mailbox (the one asked for, else INBOX, with the reason
// why) and appends with the delivery time as INTERNALDATE
// (docs/cli.md "imapd deliver", docs/lmtp.md).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "store/accounts.h"
#include "store/mail_store.h"

namespace imap::store {

enum class RecipientStatus { Ok, NoSuchUser, Disabled };

struct Recipient {
    RecipientStatus status = RecipientStatus::NoSuchUser;
    std::string user;  // the canonical name when Ok, else as given
};

// The account `name` delivers to: canonical, existing and enabled.
Recipient find_recipient(AccountStore& accounts, std::string_view name);

// How the requested mailbox name is matched against the user's mailboxes.
enum class MailboxMatch {
    Exact,       // its canonical form (imapd deliver --mailbox)
    IgnoreCase,  // ASCII case-insensitively, an exact match first (LMTP
                 // "+detail": alice+lists@ reaches "Lists")
};

struct DeliveryTarget {
    std::string mailbox = "INBOX";
    MailboxMatch match = MailboxMatch::Exact;
    // Create the mailbox when it does not exist (imapd deliver --create).
    bool create = false;
};

struct DeliveryResult {
    MailboxInfo mailbox;  // where the message went
    std::uint32_t uid = 0;
    // Non-empty when the requested mailbox could not take the message and
    // INBOX did: "does not exist", "is not selectable", "cannot be used (...)".
    std::string fallback_reason;
};

// Appends `message` (RFC 5322 bytes with CRLF line ends) to the target
// mailbox of `mail`, or to INBOX when that mailbox does not exist, is a
// \Noselect placeholder or its name is invalid. INTERNALDATE is `now` in
// the local zone. Throws StoreError from the append (TooBig, OverLimit,
// Busy, ...): the caller decides between bounce and retry.
DeliveryResult deliver_message(MailStore& mail, const DeliveryTarget& target,
                               std::string_view message, const Flags& flags, std::time_t now);

// The local zone's offset east of UTC at `t`, in minutes.
int local_zone_minutes(std::time_t t);

}  // namespace imap::store
