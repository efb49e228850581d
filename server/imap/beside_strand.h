// Which commands read beside the user's strand (docs/architecture.md
// "Reads beside the strand"): those that only read the store and, of the
// session, only its own state, so they may run on a worker with a reader
// connection while the strand serves the user's other sessions.
#pragma once

#include "protocol/command.h"

namespace imap::server {

// STATUS, LIST (every form, LIST-STATUS included), LSUB, and FETCH / UID
// FETCH of metadata (FLAGS, UID, INTERNALDATE, RFC822.SIZE, ENVELOPE,
// BODY, BODYSTRUCTURE, MODSEQ, SAVEDATE) and of sections that never set
// \Seen (BODY.PEEK[...], RFC822.HEADER). Not BODY[...], RFC822 or
// RFC822.TEXT (they set \Seen: a write), not BINARY (its decoded output is
// not bounded by the part's size when line ends are converted), not
// EMAILID, THREADID or PREVIEW (computed on first use and stored). Such a
// FETCH writes a message beside the strand only when its sections fit in
// FetchJob::kBodyChunk; at the first bigger one the rest goes to the
// strand, where a streamed body is pinned in the writer's bookkeeping
// (store::MailStore::BodyPin).
bool reads_beside_strand(const CommandBody& command);

}  // namespace imap::server
