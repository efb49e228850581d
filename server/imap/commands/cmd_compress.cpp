// COMPRESS (RFC 4978). `command-auth =/ compress` (RFC 4978 5): valid in the
// authenticated and selected states only, so the command table refuses it
// before login with BAD, as Dovecot does. That also keeps it off the
// accepting loop's pre-login path: the deflate state is created after
// LOGIN, never for a connection that has not authenticated.
//
// The tagged OK is the last uncompressed line (RFC 4978 3); everything
// after its CRLF is compressed both ways (CommandResult::start_compression,
// server/net/compression.h).
#include "server/imap/commands/handlers.h"
#include "server/imap/session.h"

namespace imap::server {

CommandResult cmd_compress(Session& session, Command& command) {
    const auto& compress = std::get<CompressCommand>(command.body);
    // RFC 4978 3: BAD for an unknown argument.
    if (compress.algorithm != "DEFLATE") {
        return CommandResult::bad("Unknown compression algorithm " + compress.algorithm);
    }
    // RFC 4978 3: NO [COMPRESSIONACTIVE] when the same mechanism is active
    // already (TLS compression is never negotiated: tls.h), with a text
    // that says which layer; Dovecot answers a second COMPRESS so too.
    if (session.compression_active()) {
        return CommandResult::no(Code::CompressionActive, "DEFLATE active via COMPRESS");
    }
    return CommandResult::start_compression("DEFLATE active");
}

}  // namespace imap::server
