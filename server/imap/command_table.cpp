#include "server/imap/command_table.h"

#include <algorithm>

#include "protocol/limits.h"
#include "server/imap/commands/handlers.h"
#include "store/limits.h"

namespace imap::server {
namespace {

// Mailbox names, SEARCH strings, flags: no reason to be large, but until
// their handlers exist the row's handler is nullptr and no literal is ever
// accepted for them, so this only matters once they land.
constexpr std::uint64_t kAny = limits::kMaxLiteralSize;

// Every string in SEARCH is a search string, a header field name or a
// charset name: a literal longer than the longest search string the store
// accepts is refused before the client sends it.
constexpr std::uint64_t kSearchLiteral = store::limits::kMaxSearchStringBytes;

constexpr unsigned kNA = kNotAuthenticated;
constexpr unsigned kAuth = kAuthenticated;
constexpr unsigned kAuthSel = kAuthenticatedOrSelected;
constexpr unsigned kSel = kSelected;

// Pipelining flags after Dovecot's src/imap/imap-commands.c: UID commands
// and NOOP/CHECK break sequence numbers because pending EXPUNGEs may be sent
// at their end (RFC 3501 7.4.1); FETCH, STORE, SEARCH, COPY and MOVE by
// number use them.
constexpr CommandSpec kRows[] = {
    // RFC 3501 6.1: any state.
    {"CAPABILITY", cmd_capability, kAnyState, kNoPipelineFlags, kNoLiteral, ""},
    {"NOOP", cmd_noop, kAnyState, kBreaksSeqs, kNoLiteral, ""},
    {"LOGOUT", cmd_logout, kAnyState, kBreaksMailbox, kNoLiteral, ""},
    // RFC 3501 6.2: not authenticated. (Row order is the order capabilities
    // are advertised in.) The SASL-IR initial response is an atom, never a
    // literal (RFC 4959).
    {"AUTHENTICATE", cmd_authenticate, kNA, kNoPipelineFlags, kNoLiteral, "SASL-IR"},
    {"LOGIN", cmd_login, kNA, kNoPipelineFlags, kMaxCredentialLiteral, ""},
    // RFC 2971 3: ID is valid in any state.
    {"ID", cmd_id, kAnyState, kNoPipelineFlags, kMaxIdLiteral, "ID"},
    {"STARTTLS", cmd_starttls, kNA, kNoPipelineFlags, kNoLiteral, "STARTTLS"},
    // RFC 3501 6.3: authenticated (and selected).
    {"SELECT", cmd_select, kAuthSel, kBreaksMailbox, kAny, ""},
    {"EXAMINE", cmd_examine, kAuthSel, kBreaksMailbox, kAny, ""},
    {"CREATE", cmd_create, kAuthSel, kNoPipelineFlags, kMaxMailboxNameLiteral, ""},
    {"DELETE", cmd_delete, kAuthSel, kBreaksMailbox, kMaxMailboxNameLiteral, ""},
    {"RENAME", cmd_rename, kAuthSel, kBreaksSeqs, kMaxMailboxNameLiteral, ""},
    {"SUBSCRIBE", cmd_subscribe, kAuthSel, kNoPipelineFlags, kMaxMailboxNameLiteral, ""},
    {"UNSUBSCRIBE", cmd_unsubscribe, kAuthSel, kNoPipelineFlags, kMaxMailboxNameLiteral, ""},
    {"LIST", cmd_list, kAuthSel, kNoPipelineFlags, kMaxMailboxNameLiteral, ""},
    {"LSUB", cmd_lsub, kAuthSel, kNoPipelineFlags, kMaxMailboxNameLiteral, ""},
    // The pre-RFC 6154 special-folder LIST (cmd_xlist.cpp); not advertised.
    {"XLIST", cmd_xlist, kAuthSel, kNoPipelineFlags, kMaxMailboxNameLiteral, ""},
    {"STATUS", cmd_status, kAuthSel, kNoPipelineFlags, kMaxMailboxNameLiteral, ""},
    // APPEND may add messages to the selected mailbox (EXISTS afterwards).
    {"APPEND", cmd_append, kAuthSel, kBreaksSeqs, kAny, ""},
    {"NAMESPACE", cmd_namespace, kAuthSel, kNoPipelineFlags, kNoLiteral, "NAMESPACE"},
    {"IDLE", cmd_idle, kAuthSel, kBreaksSeqs, kNoLiteral, "IDLE"},
    // RFC 5161 3.1: ENABLE is valid in the authenticated state only.
    {"ENABLE", cmd_enable, kAuth, kNoPipelineFlags, kNoLiteral, "ENABLE"},
    // RFC 4978 5: command-auth, so authenticated and selected.
    {"COMPRESS", cmd_compress, kAuthSel, kNoPipelineFlags, kNoLiteral, "COMPRESS=DEFLATE"},
    // RFC 5465 8: command-auth. It breaks sequence numbers: its implicit
    // NOOP (3.1) sends pending EXPUNGEs. NOTIFY is advertised by hand, last.
    {"NOTIFY", cmd_notify, kAuthSel, kBreaksSeqs, kMaxMailboxNameLiteral, ""},
    // RFC 3501 6.4: selected.
    {"CHECK", cmd_check, kSel, kBreaksSeqs, kNoLiteral, ""},
    {"CLOSE", cmd_close, kSel, kBreaksMailbox, kNoLiteral, ""},
    {"UNSELECT", cmd_unselect, kSel, kBreaksMailbox, kNoLiteral, "UNSELECT"},
    {"EXPUNGE", cmd_expunge, kSel, kBreaksSeqs, kNoLiteral, ""},
    {"SEARCH", cmd_search, kSel, kUsesSeqs, kSearchLiteral, ""},
    // RFC 5256: SORT and THREAD take SEARCH's keys. Their capabilities
    // (SORT, SORT=DISPLAY, ESORT, THREAD=...) are advertised by hand.
    {"SORT", cmd_sort, kSel, kUsesSeqs, kSearchLiteral, ""},
    {"THREAD", cmd_thread, kSel, kUsesSeqs, kSearchLiteral, ""},
    // RFC 5267 4.3.5; CONTEXT=SEARCH and CONTEXT=SORT are advertised by
    // hand, after PREVIEW.
    {"CANCELUPDATE", cmd_cancelupdate, kSel, kNoPipelineFlags, kNoLiteral, ""},
    {"FETCH", cmd_fetch, kSel, kUsesSeqs, kAny, ""},
    {"STORE", cmd_store, kSel, kUsesSeqs, kAny, ""},
    {"COPY", cmd_copy, kSel, kUsesSeqs, kAny, ""},
    {"MOVE", cmd_move, kSel, kUsesSeqs | kBreaksSeqs, kAny, "MOVE"},
    // RFC 8508: an APPEND and an EXPUNGE; its capability is advertised by
    // hand, after CATENATE.
    {"REPLACE", cmd_replace, kSel, kUsesSeqs | kBreaksSeqs, kAny, ""},
    // UIDPLUS (RFC 4315) also needs APPENDUID and COPYUID: advertised by hand.
    {"UID EXPUNGE", cmd_uid_expunge, kSel, kBreaksSeqs, kNoLiteral, ""},
    {"UID SEARCH", cmd_search, kSel, kBreaksSeqs, kSearchLiteral, ""},
    {"UID SORT", cmd_sort, kSel, kBreaksSeqs, kSearchLiteral, ""},
    {"UID THREAD", cmd_thread, kSel, kBreaksSeqs, kSearchLiteral, ""},
    {"UID FETCH", cmd_fetch, kSel, kBreaksSeqs, kAny, ""},
    {"UID STORE", cmd_store, kSel, kBreaksSeqs, kAny, ""},
    {"UID COPY", cmd_copy, kSel, kBreaksSeqs, kAny, ""},
    {"UID MOVE", cmd_move, kSel, kBreaksSeqs, kAny, ""},
    {"UID REPLACE", cmd_replace, kSel, kBreaksSeqs, kAny, ""},
};

}  // namespace

const CommandTable& CommandTable::builtin() {
    static const CommandTable table(kRows);
    return table;
}

const CommandSpec* CommandTable::find(std::string_view name) const {
    auto it = std::find_if(rows_.begin(), rows_.end(),
                           [&](const CommandSpec& row) { return row.name == name; });
    return it == rows_.end() ? nullptr : &*it;
}

}  // namespace imap::server
