// CommandTable: one row per IMAP command the parser knows, naming its handler,
// the session states it is valid in (RFC 3501 section 3 and 6), its
// pipelining flags (RFC 3501 5.5) and the largest literal it accepts. The
// Session uses it to dispatch, to decide whether a synchronising literal gets
// "+" (RFC 3501 7.5), and to build the CAPABILITY list.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/command.h"

namespace imap::server {

class Session;
class CommandResult;

// RFC 3501 section 3.
enum class SessionState { NotAuthenticated, Authenticated, Selected, Logout };

// A set of states, for "valid in" checks.
enum StateMask : unsigned {
    kNotAuthenticated = 1u << 0,
    kAuthenticated = 1u << 1,
    kSelected = 1u << 2,
    kAnyState = kNotAuthenticated | kAuthenticated | kSelected,
    kAuthenticatedOrSelected = kAuthenticated | kSelected,
};

constexpr unsigned state_bit(SessionState state) {
    switch (state) {
        case SessionState::NotAuthenticated:
            return kNotAuthenticated;
        case SessionState::Authenticated:
            return kAuthenticated;
        case SessionState::Selected:
            return kSelected;
        case SessionState::Logout:
            break;
    }
    return 0;  // nothing runs after LOGOUT
}

// Pipelining flags (RFC 3501 5.5; the names are Dovecot's). Two commands may
// run ahead of each other's completion only when neither changes what the
// other's sequence numbers or mailbox mean. Today every command runs to
// completion in order; the flags are recorded now so the resumable handlers
// (FETCH streaming) can hold back the commands that must wait.
enum PipelineFlags : unsigned {
    kNoPipelineFlags = 0,
    // Takes message sequence numbers: must not run while a command that may
    // expunge (and so renumber) is still running.
    kUsesSeqs = 1u << 0,
    // May renumber messages: EXPUNGE, and every command after which pending
    // EXPUNGE responses may be sent (NOOP, CHECK, UID commands; RFC 3501
    // 7.4.1).
    kBreaksSeqs = 1u << 1,
    // Changes or leaves the selected mailbox (SELECT, EXAMINE, CLOSE,
    // UNSELECT, LOGOUT).
    kBreaksMailbox = 1u << 2,
};

// Literals a command may carry, checked before "+" is sent for a
// synchronising literal and on the frame for a non-synchronising one.
// Credentials are short; a client announcing more than this for a user name
// or password is refused before it uploads anything.
inline constexpr std::uint64_t kMaxCredentialLiteral = 8 * 1024;
// RFC 2971 3.3: ID field values are at most 1024 octets (names 30).
inline constexpr std::uint64_t kMaxIdLiteral = 1024;
// Marks a command whose grammar has no string argument at all.
inline constexpr std::uint64_t kNoLiteral = 0;

// A handler runs one parsed command and writes its untagged responses; how
// the command ends (its tagged line, which only the Session writes) or goes
// on (steps, an exchange) is what it returns (command_result.h).
using CommandHandler = CommandResult (*)(Session& session, Command& command);

struct CommandSpec {
    std::string_view name;  // as peek_command_name() and command_name() spell it
    // nullptr: known to the parser, not implemented yet. Answered with
    // "NO [CANNOT]" in its states and BAD elsewhere, never faked.
    CommandHandler handler;
    unsigned states;      // StateMask
    unsigned pipelining;  // PipelineFlags
    std::uint64_t max_literal;
    // The capability that advertises this command ("" when it is base
    // IMAP4rev1). Advertised only once the handler exists, and only in the
    // states the command is valid in.
    std::string_view capability;

    bool allowed_in(SessionState state) const { return (states & state_bit(state)) != 0; }
};

class CommandTable {
  public:
    explicit CommandTable(std::span<const CommandSpec> rows) : rows_(rows) {}

    // Every command the parser knows, with the handlers of server/imap/commands/.
    static const CommandTable& builtin();

    // `name` upper-cased, e.g. "UID FETCH". nullptr when unknown.
    const CommandSpec* find(std::string_view name) const;

    std::span<const CommandSpec> rows() const { return rows_; }

  private:
    std::span<const CommandSpec> rows_;
};

}  // namespace imap::server
