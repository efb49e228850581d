// Which commands read beside the user's strand (docs/architecture.md
// "Reads beside the strand"): those that only read the store and, of the
// session, only its own state, so they may run on a worker with a reader
// connection while the strand serves the user's other sessions.
#pragma once

#include "protocol/command.h"

namespace imap::server {

// STATUS, LIST (every form, LIST-STATUS included), LSUB, and FETCH / UID
// FETCH of metadata alone (FLAGS, UID, INTERNALDATE, RFC822.SIZE,
// ENVELOPE, BODY, BODYSTRUCTURE, MODSEQ, SAVEDATE). Not a FETCH of a body
// section: a non-PEEK one sets \Seen (a write), and a streamed body is
// pinned in the writer's bookkeeping (store::MailStore::BodyPin).
bool reads_beside_strand(const CommandBody& command);

}  // namespace imap::server
