#include "protocol/command.h"

#include <cstring>

namespace imap {

namespace {

template <typename T>
struct Name;
#define IMAP_COMMAND_NAME(Type, text)                   \
    template <>                                         \
    struct Name<Type> {                                 \
        static constexpr std::string_view value = text; \
    };
IMAP_COMMAND_NAME(CapabilityCommand, "CAPABILITY")
IMAP_COMMAND_NAME(NoopCommand, "NOOP")
IMAP_COMMAND_NAME(LogoutCommand, "LOGOUT")
IMAP_COMMAND_NAME(StartTlsCommand, "STARTTLS")
IMAP_COMMAND_NAME(AuthenticateCommand, "AUTHENTICATE")
IMAP_COMMAND_NAME(LoginCommand, "LOGIN")
IMAP_COMMAND_NAME(SelectCommand, "SELECT")
IMAP_COMMAND_NAME(ExamineCommand, "EXAMINE")
IMAP_COMMAND_NAME(CreateCommand, "CREATE")
IMAP_COMMAND_NAME(DeleteCommand, "DELETE")
IMAP_COMMAND_NAME(RenameCommand, "RENAME")
IMAP_COMMAND_NAME(SubscribeCommand, "SUBSCRIBE")
IMAP_COMMAND_NAME(UnsubscribeCommand, "UNSUBSCRIBE")
IMAP_COMMAND_NAME(ListCommand, "LIST")
IMAP_COMMAND_NAME(LsubCommand, "LSUB")
IMAP_COMMAND_NAME(XlistCommand, "XLIST")
IMAP_COMMAND_NAME(StatusCommand, "STATUS")
IMAP_COMMAND_NAME(AppendCommand, "APPEND")
IMAP_COMMAND_NAME(CheckCommand, "CHECK")
IMAP_COMMAND_NAME(CloseCommand, "CLOSE")
IMAP_COMMAND_NAME(ExpungeCommand, "EXPUNGE")
IMAP_COMMAND_NAME(UidExpungeCommand, "UID EXPUNGE")
IMAP_COMMAND_NAME(UnselectCommand, "UNSELECT")
IMAP_COMMAND_NAME(IdleCommand, "IDLE")
IMAP_COMMAND_NAME(NamespaceCommand, "NAMESPACE")
IMAP_COMMAND_NAME(EnableCommand, "ENABLE")
IMAP_COMMAND_NAME(IdCommand, "ID")
IMAP_COMMAND_NAME(CompressCommand, "COMPRESS")
IMAP_COMMAND_NAME(CancelUpdateCommand, "CANCELUPDATE")
IMAP_COMMAND_NAME(NotifyCommand, "NOTIFY")
#undef IMAP_COMMAND_NAME

}  // namespace

std::string_view notify_event_name(NotifyEvent::Kind kind) {
    using Kind = NotifyEvent::Kind;
    switch (kind) {
        case Kind::MessageNew:
            return "MessageNew";
        case Kind::MessageExpunge:
            return "MessageExpunge";
        case Kind::FlagChange:
            return "FlagChange";
        case Kind::AnnotationChange:
            return "AnnotationChange";
        case Kind::MailboxName:
            return "MailboxName";
        case Kind::SubscriptionChange:
            return "SubscriptionChange";
        case Kind::MailboxMetadataChange:
            return "MailboxMetadataChange";
        case Kind::ServerMetadataChange:
            return "ServerMetadataChange";
        case Kind::Other:
            break;
    }
    return {};
}

std::string_view command_name(const CommandBody& body) {
    return std::visit(
        [](const auto& command) -> std::string_view {
            using T = std::decay_t<decltype(command)>;
            if constexpr (std::is_same_v<T, SearchCommand>) {
                return command.uid ? "UID SEARCH" : "SEARCH";
            } else if constexpr (std::is_same_v<T, SortCommand>) {
                return command.uid ? "UID SORT" : "SORT";
            } else if constexpr (std::is_same_v<T, ThreadCommand>) {
                return command.uid ? "UID THREAD" : "THREAD";
            } else if constexpr (std::is_same_v<T, FetchCommand>) {
                return command.uid ? "UID FETCH" : "FETCH";
            } else if constexpr (std::is_same_v<T, StoreCommand>) {
                return command.uid ? "UID STORE" : "STORE";
            } else if constexpr (std::is_same_v<T, CopyCommand>) {
                return command.uid ? "UID COPY" : "COPY";
            } else if constexpr (std::is_same_v<T, MoveCommand>) {
                return command.uid ? "UID MOVE" : "MOVE";
            } else if constexpr (std::is_same_v<T, ReplaceCommand>) {
                return command.uid ? "UID REPLACE" : "REPLACE";
            } else {
                return Name<T>::value;
            }
        },
        body);
}

}  // namespace imap
