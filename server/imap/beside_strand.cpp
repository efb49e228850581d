#include "server/imap/beside_strand.h"

#include <algorithm>
#include <variant>

namespace imap::server {
namespace {

bool metadata_only(const FetchCommand& fetch) {
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
                return true;
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
    if (const auto* fetch = std::get_if<FetchCommand>(&command)) return metadata_only(*fetch);
    return false;
}

}  // namespace imap::server
