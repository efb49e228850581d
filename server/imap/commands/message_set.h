// Helpers shared by the selected-state commands that name messages (SEARCH,
// STORE, COPY, MOVE and their UID forms).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "protocol/sequence_set.h"
#include "server/imap/session.h"
#include "store/mail_store.h"

namespace imap::server {

// `set` as the UIDs it names in the selected mailbox's view
// (SelectedMailbox::resolve), or the refusal "BAD" for a
// message sequence number past EXISTS (RFC 3501 9, seq-number: "The server
// should respond with a tagged BAD"; Dovecot does the same for STORE, COPY
// and MOVE).
Checked<store::UidSet> resolve_message_set(Session& session, std::string_view command_name,
                                           const SequenceSet& set, bool uid);

// A uid-set (RFC 4315 4) of `uids` in the order given, consecutive runs
// written as ranges: {4, 5, 6, 9} -> "4:6,9". COPYUID's two sets pair up
// element by element, so the order is kept rather than sorted.
std::string uid_set_string(std::span<const std::uint32_t> uids);

// How many of the view's messages `set` (normalized) names.
std::size_t count_in_view(const SelectedMailbox& view, store::UidSpan set);

// The destination mailbox of COPY / MOVE (RFC 3501 6.4.7), or the refusal
// instead: "NO [TRYCREATE]" when it does not exist (a \Noselect
// placeholder included: CREATE would make it a mailbox), "NO [CANNOT]" for a
// name that is not modified UTF-7.
Checked<store::MailboxInfo> copy_destination(Session& session, std::string_view wire_name);

// Where COPY or MOVE goes, and how many messages of the view it takes:
// the store's copy()/move() refuses the whole transfer (StoreErrc::Expunged,
// answered "NO [EXPUNGEISSUED]", RFC 5530) when fewer exist, because
// another session expunged some (RFC 2180 4.4.1).
struct TransferTarget {
    store::MailboxInfo destination;
    std::size_t expected = 0;
};

// The checks COPY and MOVE share before they touch the store (RFC 3501
// 6.4.7, RFC 6851): nothing named in the view -> "OK No messages found";
// the destination (copy_destination's answers). The answer instead when
// the command ends here.
Checked<TransferTarget> transfer_destination(Session& session, const store::UidSet& uids,
                                             std::string_view wire_name);

}  // namespace imap::server
