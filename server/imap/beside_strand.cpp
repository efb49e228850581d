#include "server/imap/beside_strand.h"

#include <algorithm>
#include <variant>

namespace imap::server {
namespace {

bool reads_only(const FetchCommand& fetch) {
    return std::all_of(fetch.items.begin(), fetch.items.end(), [](const FetchItem& item) {
        switch (item.kind) {
            case FetchItem::Kind::Envelope:
            case FetchItem::Kind::Flags:
            case FetchItem::Kind::InternalDate:
            case FetchItem::Kind::Rfc822Size:
            case FetchItem::Kind::Body:
            case FetchItem::Kind::BodyStructure:
            case FetchItem::Kind::Uid:
            case FetchItem::Kind::ModSeq:
            case FetchItem::Kind::SaveDate:
            // Sections that never set \Seen (RFC 3501 6.4.5): BODY.PEEK[...]
            // and RFC822.HEADER, each at most the message's size.
            case FetchItem::Kind::Rfc822Header:
                return true;
            case FetchItem::Kind::BodySection:
                return item.peek;
            default:
                return false;
        }
    });
}

}  // namespace

bool reads_beside_strand(const CommandBody& command) {
    if (std::holds_alternative<StatusCommand>(command) ||
        std::holds_alternative<ListCommand>(command) ||
        std::holds_alternative<LsubCommand>(command)) {
        return true;
    }
    if (const auto* fetch = std::get_if<FetchCommand>(&command)) return reads_only(*fetch);
    return false;
}

}  // namespace imap::server
