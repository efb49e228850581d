// Helpers shared by the handlers of the authenticated and selected states:
// mailbox names between their wire form and the store's, and the checks
// every such handler starts with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/imap/session.h"

namespace imap::server {

// The store's hierarchy delimiter, as LIST announces it (RFC 3501 5.1.1).
inline constexpr char kHierarchyDelimiter = '/';

// The answer of a command that needs mail when Session::mail() is nullptr
// (no MailAccess): "NO [UNAVAILABLE]".
CommandResult mail_unavailable();

// A mailbox name from a command as the store's UTF-8 name. INBOX in any
// case is "INBOX". The wire form is modified UTF-7 (RFC 3501 5.1.3) until
// the session enabled UTF8=ACCEPT or IMAP4rev2, UTF-8 from then on (RFC
// 6855 3, RFC 9051 5.1; a "&" is then just "&"). Refusals: "NO [CANNOT]"
// for a name that is not valid modified UTF-7 (RFC 3501 5.1.3: the server
// may refuse such names) or, in UTF-8, holds a character RFC 6855 3
// forbids in names; "BAD" for bytes that are not UTF-8 at all (RFC 6855 3:
// "MUST reject, with a BAD response").
Checked<std::string> store_mailbox_name(const Session& session, std::string_view wire_name);

// A store name in the session's wire form: modified UTF-7, or the UTF-8
// name itself once the session enabled UTF8=ACCEPT or IMAP4rev2.
std::string wire_mailbox_name(const Session& session, std::string_view store_name);

// LIST and LSUB (RFC 3501 6.3.8, 6.3.9): the reference and the pattern
// joined into the canonical pattern the store matches, in UTF-8. There are
// no break-out characters (one personal namespace), so the canonical form is
// the reference with the pattern appended, as the RFC suggests and Dovecot
// does. Each is decoded on its own ("&AOQ-" + "&AOQ-" is two characters).
// nullopt when either is not valid modified UTF-7 (or, with UTF-8 names,
// not UTF-8): no mailbox name can match it, and like Dovecot the command
// then lists nothing.
std::optional<std::string> joined_list_pattern(const Session& session, std::string_view reference,
                                               std::string_view pattern);

// The root LIST returns for an empty pattern (RFC 3501 6.3.8): the first
// level of `reference` with its delimiter ("foo/bar" -> "foo/"), or "" when
// the reference has no delimiter, as Dovecot answers.
std::string_view list_root(std::string_view reference);

// SELECT and EXAMINE (RFC 3501 6.3.1 and 6.3.2) with RFC 7162's CONDSTORE
// and QRESYNC parameters (3.1.8, 3.2.5) and the CLOSED code (3.2.11).
CommandResult select_mailbox(Session& session, std::string_view wire_name, bool read_only,
                             const SelectParams& params = {});

// "\Noselect" for a placeholder level, then "\HasChildren" or
// "\HasNoChildren" (RFC 3348), from store::list_attr bits: how every LIST
// and XLIST line's attributes start.
void append_structure_attributes(std::uint32_t attributes, std::vector<std::string_view>& out);

// RFC 6154 special-use attributes (store::list_attr bits) as LIST writes
// them, appended to `out` in a fixed order (\All \Archive \Drafts
// \Flagged \Junk \Sent \Trash).
void append_special_use(std::uint32_t attributes, std::vector<std::string_view>& out);
// The store bit of a use-attr (case-insensitive), or 0 for one we do not
// support (\Inbox, \Important, ...).
std::uint32_t special_use_bit(std::string_view attribute);

// The STATUS items `requested` of `info` (cmd_status.cpp), for STATUS and
// LIST-STATUS (RFC 5819).
StatusItems status_items(Session& session, const store::MailboxInfo& info,
                         const std::vector<StatusItem>& requested);

}  // namespace imap::server
