// The command handlers, one file each (server/imap/commands/cmd_<name>.cpp), as
// the CommandTable names them. Each gets the Session and the parsed command
// whose body is the alternative its table row is for, and writes every
// response including the tagged one (AUTHENTICATE writes it when its
// exchange ends).
#pragma once

#include <functional>
#include <string>

#include "protocol/command.h"
#include "server/imap/authenticator.h"

namespace imap::server {

class Session;

void cmd_capability(Session& session, Command& command);
void cmd_noop(Session& session, Command& command);
void cmd_logout(Session& session, Command& command);
void cmd_starttls(Session& session, Command& command);
void cmd_login(Session& session, Command& command);
void cmd_authenticate(Session& session, Command& command);
void cmd_id(Session& session, Command& command);
void cmd_enable(Session& session, Command& command);
void cmd_select(Session& session, Command& command);
void cmd_examine(Session& session, Command& command);
void cmd_close(Session& session, Command& command);
void cmd_unselect(Session& session, Command& command);
void cmd_check(Session& session, Command& command);
void cmd_expunge(Session& session, Command& command);
void cmd_uid_expunge(Session& session, Command& command);
// FETCH and UID FETCH (cmd_fetch.cpp).
void cmd_fetch(Session& session, Command& command);
// SEARCH, STORE, COPY and MOVE each handle their UID form too (the command
// struct says which).
void cmd_search(Session& session, Command& command);
void cmd_store(Session& session, Command& command);
void cmd_copy(Session& session, Command& command);
void cmd_move(Session& session, Command& command);
void cmd_create(Session& session, Command& command);
void cmd_delete(Session& session, Command& command);
void cmd_rename(Session& session, Command& command);
void cmd_subscribe(Session& session, Command& command);
void cmd_unsubscribe(Session& session, Command& command);
void cmd_list(Session& session, Command& command);
void cmd_lsub(Session& session, Command& command);
void cmd_xlist(Session& session, Command& command);
void cmd_namespace(Session& session, Command& command);
void cmd_status(Session& session, Command& command);
void cmd_append(Session& session, Command& command);
void cmd_idle(Session& session, Command& command);
// The largest literal a mailbox name (or LIST pattern) may be sent in: a
// store name is at most 1024 bytes of UTF-8 (store/limits.h), at most 2.5
// times that in modified UTF-7 ("&AOQ-" for a 2-byte character); 4096 is
// Dovecot's name length limit and leaves room.
inline constexpr std::uint64_t kMaxMailboxNameLiteral = 4096;

// Shared by LOGIN and AUTHENTICATE (cmd_login.cpp).

// Writes "tag NO [PRIVACYREQUIRED]" and returns true when plaintext
// credentials may not be sent on this connection (RFC 3501 6.2.3).
bool refuse_plaintext_if_needed(Session& session, const std::string& tag);

// Checked after the password was right and before the login takes effect
// (AUTHENTICATE PLAIN's authorization identity): false when it wrote the
// tagged answer itself and the login must not happen.
using AfterPasswordCheck = std::function<bool(Session&)>;

// Authenticates `user` with `password` and writes the tagged answer for
// `tag`: the failed-login policy of the LoginGate (an address with recent
// failures waits its penalty before the check, whatever the outcome; an
// address's first failure is answered after the failed-login delay), the
// password check through Session::verify_credentials (off the loop), the
// per-user connection limit, and on success the authenticated state with
// the new capabilities in the OK.
void authenticate_and_complete(Session& session, std::string tag, std::string user, Secret password,
                               AfterPasswordCheck check = {});

}  // namespace imap::server
