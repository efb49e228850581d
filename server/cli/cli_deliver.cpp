// `imapd deliver NAME`: local delivery for an MTA (Postfix mailbox_command,
// procmail style). Reads one message from standard input, stores it in the
// user's mailbox and exits with a sysexits.h code the MTA understands:
// 75 (retry later) for anything that may go away, a bounce code only when
// the message or the recipient can never be delivered (docs/cli.md).
#include <array>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "server/cli/cli.h"
#include "server/cli/cli_common.h"
#include "store/data_dir.h"
#include "store/errors.h"
#include "store/limits.h"
#include "store/local_delivery.h"
#include "store/mail_store.h"

namespace imap::server {
namespace {

struct DeliverArgs {
    std::vector<std::string_view> positional;
    cli::DataDirFlags data_dir;
    std::optional<std::string> mailbox;
    bool create = false;
    store::Flags flags;
};

// Throws ConfigError for anything the MTA's configuration got wrong.
DeliverArgs parse_deliver_args(std::span<const std::string_view> args) {
    DeliverArgs parsed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string_view arg = args[i];
        if (parsed.data_dir.parse(args, i)) continue;
        if (auto m = cli::flag_value(args, i, "--mailbox")) {
            parsed.mailbox = std::string(*m);
        } else if (auto f = cli::flag_value(args, i, "--flags")) {
            // A space-separated list; the flag may also repeat.
            std::string_view list = *f;
            while (!list.empty()) {
                const std::size_t end = list.find_first_of(" \t");
                const std::string_view token = list.substr(0, end);
                if (!token.empty() && !cli::add_flag(parsed.flags, token)) {
                    throw ConfigError("invalid flag " + std::string(token));
                }
                if (end == std::string_view::npos) break;
                list.remove_prefix(end + 1);
            }
        } else if (arg == "--create") {
            parsed.create = true;
        } else if (arg.starts_with("-") && arg.size() > 1) {
            throw ConfigError("unknown option " + std::string(arg));
        } else {
            parsed.positional.push_back(arg);
        }
    }
    if (parsed.positional.size() != 1) throw ConfigError("expected exactly one user NAME");
    return parsed;
}

enum class ReadStatus { Ok, TooBig, IoError };

// The message on `in`, without a leading mbox "From " envelope line and
// with CRLF line ends. Reads all of `in` even past the size limit, so the
// MTA never sees a broken pipe, but keeps no more than the limit.
ReadStatus read_message(std::istream& in, std::string& message) {
    enum class State { Deciding, SkippingFromLine, Body };
    State state = State::Deciding;
    std::string head;  // the first bytes, until they tell whether a From_ line starts
    char previous = '\0';
    bool too_big = false;
    auto feed = [&](std::string_view data) {
        if (too_big || data.empty()) return;
        cli::append_crlf(message, data, previous);
        if (message.size() > store::limits::kMaxMessageSize) {
            too_big = true;
            std::string().swap(message);
        }
    };
    std::array<char, 64 * 1024> buffer{};
    for (;;) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        const auto got = static_cast<std::size_t>(in.gcount());
        if (got == 0) break;
        std::string_view data(buffer.data(), got);
        if (state == State::Deciding) {
            head.append(data);
            data = {};
            if (head.size() >= 5 || head.find('\n') != std::string::npos) {
                if (head.starts_with("From ")) {
                    state = State::SkippingFromLine;
                    data = head;
                } else {
                    state = State::Body;
                    feed(head);
                }
            }
        }
        if (state == State::SkippingFromLine) {
            const std::size_t lf = data.find('\n');
            if (lf != std::string_view::npos) {
                state = State::Body;
                feed(data.substr(lf + 1));
            }
        } else if (state == State::Body) {
            feed(data);
        }
        if (!in) break;
    }
    if (in.bad()) return ReadStatus::IoError;
    if (state == State::Deciding) feed(head);  // fewer than 5 bytes, no line end
    return too_big ? ReadStatus::TooBig : ReadStatus::Ok;
}

int deliver_command(std::span<const std::string_view> args, std::istream& in, std::ostream& err) {
    DeliverArgs parsed;
    try {
        parsed = parse_deliver_args(args);
    } catch (const ConfigError& e) {
        err << "imapd deliver: " << e.what() << "\n";
        return kExitUsage;
    }

    // Read the whole message first: an MTA expects its pipe to be drained.
    std::string message;
    switch (read_message(in, message)) {
        case ReadStatus::IoError:
            err << "imapd deliver: error reading the message from standard input\n";
            return kExitIoErr;
        case ReadStatus::TooBig:
            err << "imapd deliver: message larger than " << store::limits::kMaxMessageSize
                << " bytes\n";
            return kExitDataErr;
        case ReadStatus::Ok:
            break;
    }
    Config config;
    try {
        config = parsed.data_dir.config();
    } catch (const ConfigError& e) {
        // A broken configuration is the administrator's to fix: keep the mail queued.
        err << "imapd deliver: " << e.what() << "\n";
        return kExitTempFail;
    }
    const std::unique_ptr<store::AccountStore> accounts =
        cli::open_existing_accounts(config.data_dir);
    if (!accounts) {
        err << "imapd deliver: no accounts database in " << config.data_dir.string() << "\n";
        return kExitTempFail;
    }
    const std::string_view name = parsed.positional.front();
    const store::Recipient recipient = store::find_recipient(*accounts, name);
    if (recipient.status != store::RecipientStatus::Ok) {
        err << "imapd deliver: "
            << (recipient.status == store::RecipientStatus::Disabled ? "disabled user \""
                                                                     : "no such user \"")
            << recipient.user << "\"\n";
        return kExitNoUser;
    }

    if (message.empty()) {
        err << "imapd deliver: empty message\n";
        return kExitDataErr;
    }

    const auto opened =
        store::open_mail_store(store::DataDir(config.data_dir).user_options(recipient.user));
    store::DeliveryTarget target;
    target.mailbox = parsed.mailbox.value_or("INBOX");
    target.create = parsed.create;
    const store::DeliveryResult delivered = store::deliver_message(
        *opened, target, message, parsed.flags,
        std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()));
    if (!delivered.fallback_reason.empty()) {
        err << "imapd deliver: mailbox \"" << target.mailbox << "\" " << delivered.fallback_reason
            << "; delivered to INBOX\n";
    }
    return kExitOk;
}

}  // namespace

int run_deliver(std::span<const std::string_view> args, std::istream& in, std::ostream& /*out*/,
                std::ostream& err) {
    // Only a permanent problem with the message or the recipient bounces;
    // everything else (database busy or full, permissions, bugs) asks the
    // MTA to retry, so no mail is lost while an administrator looks.
    try {
        return deliver_command(args, in, err);
    } catch (const store::StoreError& e) {
        err << "imapd deliver: " << e.what() << "\n";
        switch (e.code()) {
            case store::StoreErrc::TooBig:
                return kExitDataErr;
            case store::StoreErrc::OverLimit:
                return kExitCantCreate;
            default:
                return kExitTempFail;
        }
    } catch (const std::exception& e) {
        err << "imapd deliver: " << e.what() << "\n";
        return kExitTempFail;
    }
}

}  // namespace imap::server
