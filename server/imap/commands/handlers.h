// The command handlers, one file each (server/imap/commands/cmd_<name>.cpp), as
// the CommandTable names them. Each gets the Session and the parsed command
// whose body is the alternative its table row is for, writes the untagged
// responses and returns how the command ends or goes on (CommandResult);
// the Session writes the tagged line.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "protocol/command.h"
#include "server/auth/sasl.h"
#include "server/imap/authenticator.h"
#include "server/imap/command_result.h"

namespace imap::server {

class Session;

CommandResult cmd_capability(Session& session, Command& command);
CommandResult cmd_noop(Session& session, Command& command);
CommandResult cmd_logout(Session& session, Command& command);
CommandResult cmd_starttls(Session& session, Command& command);
CommandResult cmd_login(Session& session, Command& command);
CommandResult cmd_authenticate(Session& session, Command& command);
CommandResult cmd_id(Session& session, Command& command);
CommandResult cmd_enable(Session& session, Command& command);
CommandResult cmd_compress(Session& session, Command& command);
CommandResult cmd_select(Session& session, Command& command);
CommandResult cmd_examine(Session& session, Command& command);
CommandResult cmd_close(Session& session, Command& command);
CommandResult cmd_unselect(Session& session, Command& command);
CommandResult cmd_cancelupdate(Session& session, Command& command);
CommandResult cmd_check(Session& session, Command& command);
CommandResult cmd_expunge(Session& session, Command& command);
CommandResult cmd_uid_expunge(Session& session, Command& command);
// FETCH and UID FETCH (cmd_fetch.cpp).
CommandResult cmd_fetch(Session& session, Command& command);
// SEARCH, STORE, COPY and MOVE each handle their UID form too (the command
// struct says which).
CommandResult cmd_search(Session& session, Command& command);
// SORT / UID SORT (RFC 5256, RFC 5957, RFC 5267 ESORT) and THREAD / UID THREAD.
CommandResult cmd_sort(Session& session, Command& command);
CommandResult cmd_thread(Session& session, Command& command);
CommandResult cmd_store(Session& session, Command& command);
CommandResult cmd_copy(Session& session, Command& command);
CommandResult cmd_move(Session& session, Command& command);
// REPLACE / UID REPLACE (RFC 8508).
CommandResult cmd_replace(Session& session, Command& command);
CommandResult cmd_create(Session& session, Command& command);
CommandResult cmd_delete(Session& session, Command& command);
CommandResult cmd_rename(Session& session, Command& command);
CommandResult cmd_subscribe(Session& session, Command& command);
CommandResult cmd_unsubscribe(Session& session, Command& command);
CommandResult cmd_list(Session& session, Command& command);
CommandResult cmd_lsub(Session& session, Command& command);
CommandResult cmd_xlist(Session& session, Command& command);
CommandResult cmd_namespace(Session& session, Command& command);
CommandResult cmd_status(Session& session, Command& command);
// NOTIFY (RFC 5465).
CommandResult cmd_notify(Session& session, Command& command);
CommandResult cmd_append(Session& session, Command& command);
CommandResult cmd_idle(Session& session, Command& command);
// The largest literal a mailbox name (or LIST pattern) may be sent in: a
// store name is at most 1024 bytes of UTF-8 (store/limits.h), at most 2.5
// times that in modified UTF-7 ("&AOQ-" for a 2-byte character); 4096 is
// Dovecot's name length limit and leaves room.
inline constexpr std::uint64_t kMaxMailboxNameLiteral = 4096;

// Shared by LOGIN and AUTHENTICATE (cmd_login.cpp).

// "NO [PRIVACYREQUIRED]" when plaintext credentials may not be sent on this
// connection (RFC 3501 6.2.3); nullopt when they may.
std::optional<CommandResult> refuse_plaintext_if_needed(Session& session);

// Checked after the password was right and before the login takes effect
// (AUTHENTICATE PLAIN's authorization identity): the refusal that ends the
// command instead of the login, or nullopt.
using AfterPasswordCheck = std::function<std::optional<CommandResult>(Session&)>;

// Authenticates `user` with `password` and returns how the command goes on
// to its answer: the failed-login policy of the LoginGate (an address with
// recent failures waits its penalty before the check, whatever the
// outcome; an address's first failure is answered after the failed-login
// delay), the password check through the Authenticator (off the loop,
// CommandResult::verify), the per-user connection limit, and on success
// the authenticated state with the new capabilities in the OK.
CommandResult authenticate(Session& session, std::string user, Secret password,
                           AfterPasswordCheck check = {});

// The tagged answer for an authentication's `result` (LOGIN, and every
// SASL mechanism, cmd_authenticate.cpp): on Ok the per-user connection
// limit (NO [LIMIT]) and the authenticated state with the new
// capabilities; on Failed the LoginGate's failed-login delay, then
// "NO [AUTHENTICATIONFAILED] failure_text"; on Unavailable NO
// [UNAVAILABLE] no sooner than a first failure. `penalised`: the attempt
// already waited LoginGate::penalty() before it was checked, so its
// answer waits no more.
CommandResult finish_authentication(Session& session, const std::string& user, AuthResult result,
                                    bool penalised,
                                    std::string failure_text = "Authentication failed");

// What the SASL mechanisms need to know about this session's connection
// (cmd_authenticate.cpp): plaintext allowed, TLS channel binding, SCRAM
// keys available. Also what CAPABILITY advertises as AUTH=.
sasl::Connection sasl_connection(const Session& session);

}  // namespace imap::server
