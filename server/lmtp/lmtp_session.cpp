#include "server/lmtp/lmtp_session.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "protocol/limits.h"

namespace imap::server::lmtp {
namespace {

namespace lim = imap::limits::lmtp;

char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
    return out;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && lower(a) == lower(b);
}

bool istarts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// "<path> PARAMS" after "FROM:"/"TO:" (RFC 5321 4.1.2; a space before '<'
// is tolerated, as Postfix and Dovecot do). Returns the path without < >
// and sets `params`; nullopt when there is no well-formed <...>.
std::optional<std::string_view> split_path(std::string_view args, std::string_view& params) {
    args = trim(args);
    if (args.empty() || args.front() != '<') return std::nullopt;
    bool quoted = false;
    for (std::size_t i = 1; i < args.size(); ++i) {
        const char c = args[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == '>' && !quoted) {
            params = args.substr(i + 1);
            if (!params.empty() && params.front() != ' ') return std::nullopt;
            params = trim(params);
            return args.substr(1, i - 1);
        }
    }
    return std::nullopt;
}

// The SP-separated "KEY=VALUE" parameters (RFC 5321 4.1.2 esmtp-param).
std::vector<std::string_view> split_params(std::string_view params) {
    std::vector<std::string_view> out;
    while (!params.empty()) {
        const std::size_t space = params.find(' ');
        const std::string_view item = params.substr(0, space);
        if (!item.empty()) out.push_back(item);
        if (space == std::string_view::npos) break;
        params.remove_prefix(space + 1);
    }
    return out;
}

// Return-Path's and Delivered-To's text: a path from the client, which
// split_path bounded; control characters cannot reach the header (CR and
// LF end the command line before it gets here, others are refused).
bool printable(std::string_view s) {
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

}  // namespace

std::optional<Address> parse_address(std::string_view path) {
    // A source route ("@a,@b:user@c", RFC 5321 4.1.2) is ignored (C.).
    if (!path.empty() && path.front() == '@') {
        const std::size_t colon = path.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        path.remove_prefix(colon + 1);
    }
    if (path.empty()) return std::nullopt;
    Address address;
    std::size_t i = 0;
    if (path.front() == '"') {
        // Quoted-string local part: unquote.
        for (i = 1; i < path.size() && path[i] != '"'; ++i) {
            if (path[i] == '\\' && i + 1 < path.size()) ++i;
            address.local.push_back(path[i]);
        }
        if (i >= path.size()) return std::nullopt;
        ++i;  // the closing quote
        if (i < path.size() && path[i] != '@') return std::nullopt;
    } else {
        while (i < path.size() && path[i] != '@')
            ++i;
        address.local = std::string(path.substr(0, i));
        if (address.local.find('"') != std::string::npos) return std::nullopt;
    }
    if (i < path.size()) {
        address.domain = lower(path.substr(i + 1));
        if (address.domain.empty() || address.domain.find('@') != std::string::npos) {
            return std::nullopt;
        }
    }
    if (address.local.empty() || !printable(address.local) || !printable(address.domain)) {
        return std::nullopt;
    }
    return address;
}

LmtpSession::LmtpSession(Backend& backend, Options options)
    : backend_(backend), options_(std::move(options)) {
    // RFC 2033 4 / RFC 5321 4.3.1: the greeting; no enhanced code on it
    // (RFC 2034 3 puts them after LHLO's negotiation).
    output_ += "220 " + options_.hostname + " LMTP imapd ready\r\n";
}

std::string LmtpSession::take_output() {
    return std::exchange(output_, {});
}

void LmtpSession::reply(int code, std::string_view enhanced, std::string_view text) {
    output_ += std::to_string(code);
    output_ += ' ';
    output_ += enhanced;
    output_ += ' ';
    output_ += text;
    output_ += "\r\n";
}

void LmtpSession::error(int code, std::string_view enhanced, std::string_view text) {
    if (++errors_ >= lim::kMaxErrors) {
        close_with("421 4.7.0 Too many errors, closing connection");
        return;
    }
    reply(code, enhanced, text);
}

void LmtpSession::close_with(std::string_view line) {
    if (closing_) return;
    output_ += line;
    output_ += "\r\n";
    closing_ = true;
    input_.clear();
}

void LmtpSession::receive(std::string_view bytes) {
    if (closing_) return;
    input_.append(bytes);
    run();
}

void LmtpSession::run() {
    while (!closing_ && state_ != State::Delivering) {
        if (state_ == State::Data) {
            if (!read_data()) return;
            end_of_data();
            continue;
        }
        const std::size_t lf = input_.find('\n');
        if (lf == std::string::npos) {
            // A line still coming: kept up to the limit, never beyond.
            if (discarding_line_) {
                input_.clear();
            } else if (input_.size() >= lim::kMaxCommandLine) {
                input_.clear();
                discarding_line_ = true;
                error(500, "5.5.2", "Line too long");
            }
            return;
        }
        std::string line = input_.substr(0, lf);
        input_.erase(0, lf + 1);
        if (discarding_line_) {
            discarding_line_ = false;
            continue;
        }
        if (line.size() + 1 > lim::kMaxCommandLine) {
            error(500, "5.5.2", "Line too long");
            continue;
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        command(line);
    }
}

void LmtpSession::command(std::string_view line) {
    const std::size_t space = line.find(' ');
    const std::string verb = lower(line.substr(0, space));
    const std::string_view args =
        space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);

    if (state_ == State::Start && verb != "lhlo" && verb != "quit") {
        if (++commands_before_lhlo_ > lim::kMaxCommandsBeforeLhlo) {
            close_with("421 4.7.0 Too many commands before LHLO, closing connection");
            return;
        }
    }
    if (verb == "lhlo") {
        lhlo(args);
    } else if (verb == "mail") {
        mail(args);
    } else if (verb == "rcpt") {
        rcpt(args);
    } else if (verb == "data") {
        data(args);
    } else if (verb == "rset") {
        if (!trim(args).empty()) return error(501, "5.5.4", "RSET takes no arguments");
        reset_transaction();
        reply(250, "2.0.0", "OK");
    } else if (verb == "noop") {
        reply(250, "2.0.0", "OK");  // RFC 5321 4.1.1.9: any argument is ignored
    } else if (verb == "quit") {
        reply(221, "2.0.0", options_.hostname + " closing connection");
        closing_ = true;
        input_.clear();
    } else if (verb == "vrfy") {
        if (trim(args).empty()) return error(501, "5.5.4", "VRFY needs an argument");
        // RFC 5321 3.5.3: neither confirm nor deny (no user enumeration).
        reply(252, "2.5.0", "Cannot VRFY user, but will accept message for delivery");
    } else if (verb == "helo" || verb == "ehlo") {
        // RFC 2033 4.1: an LMTP server answers HELO and EHLO as unknown.
        error(500, "5.5.1", "This is LMTP: use LHLO");
    } else if (verb == "expn" || verb == "help" || verb == "turn" || verb == "etrn" ||
               verb == "bdat" || verb == "starttls" || verb == "auth") {
        error(502, "5.5.1", "Command not implemented");
    } else {
        error(500, "5.5.1", "Unknown command");
    }
}

void LmtpSession::lhlo(std::string_view args) {
    args = trim(args);
    if (args.empty() || args.find(' ') != std::string_view::npos) {
        return error(501, "5.5.4", "Syntax: LHLO hostname");
    }
    // RFC 5321 4.1.4: like EHLO, it resets the transaction.
    reset_transaction();
    state_ = State::Ready;
    output_ += "250-" + options_.hostname + "\r\n";
    output_ += "250-PIPELINING\r\n";
    output_ += "250-ENHANCEDSTATUSCODES\r\n";
    output_ += "250-8BITMIME\r\n";
    output_ += "250 SIZE " + std::to_string(options_.max_message_size) + "\r\n";
}

void LmtpSession::mail(std::string_view args) {
    if (state_ == State::Start) return error(503, "5.5.1", "Send LHLO first");
    if (state_ != State::Ready) return error(503, "5.5.1", "Nested MAIL command");
    if (!istarts_with(args, "FROM:")) return error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    std::string_view params;
    const auto path = split_path(args.substr(5), params);
    if (!path) return error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
    if (!printable(*path)) return error(501, "5.1.7", "Bad sender address");
    if (path->size() > lim::kMaxPath) return error(501, "5.1.7", "Sender address too long");
    if (!path->empty() && !parse_address(*path)) return error(501, "5.1.7", "Bad sender address");
    bool have_size = false;
    bool have_body = false;
    for (std::string_view param : split_params(params)) {
        const std::size_t equals = param.find('=');
        const std::string key = lower(param.substr(0, equals));
        const std::string_view value =
            equals == std::string_view::npos ? std::string_view{} : param.substr(equals + 1);
        if (key == "size" && !have_size) {
            // RFC 1870 6: SIZE=n, decimal; over the limit: 552 5.3.4 now.
            std::uint64_t size = 0;
            const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
            if (value.empty() || ec != std::errc{} || end != value.data() + value.size()) {
                return error(501, "5.5.4", "Bad SIZE parameter");
            }
            if (size > options_.max_message_size) {
                return reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
            }
            have_size = true;
        } else if (key == "body" && !have_body) {
            // RFC 6152 2: 7BIT or 8BITMIME; both are stored as given.
            if (!iequals(value, "7BIT") && !iequals(value, "8BITMIME")) {
                return error(501, "5.5.4", "BODY is 7BIT or 8BITMIME");
            }
            have_body = true;
        } else {
            // RFC 5321 4.1.1.11 (a parameter not advertised, or repeated).
            return error(555, "5.5.4", "Unsupported or repeated parameter");
        }
    }
    reverse_path_ = std::string(*path);
    state_ = State::Mail;
    reply(250, "2.1.0", "Sender OK");
}

void LmtpSession::rcpt(std::string_view args) {
    if (state_ == State::Start) return error(503, "5.5.1", "Send LHLO first");
    if (state_ != State::Mail) return error(503, "5.5.1", "Need MAIL command");
    if (!istarts_with(args, "TO:")) return error(501, "5.5.4", "Syntax: RCPT TO:<address>");
    std::string_view params;
    const auto path = split_path(args.substr(3), params);
    if (!path) return error(501, "5.5.4", "Syntax: RCPT TO:<address>");
    if (!printable(*path)) return error(501, "5.1.3", "Bad recipient address");
    if (!params.empty()) return error(555, "5.5.4", "Unsupported parameter");
    if (path->size() > lim::kMaxPath) return error(501, "5.1.3", "Recipient address too long");
    const auto address = parse_address(*path);
    if (!address) return error(501, "5.1.3", "Bad recipient address");
    if (recipients_.size() >= lim::kMaxRecipients) {
        // RFC 5321 4.5.3.1.10: the client sends the rest later.
        return reply(452, "4.5.3", "Too many recipients");
    }
    const std::string shown = "<" + std::string(*path) + ">";
    if (!address->domain.empty() && !options_.domains.empty() &&
        std::find(options_.domains.begin(), options_.domains.end(), address->domain) ==
            options_.domains.end()) {
        return reply(550, "5.1.2", shown + " Domain not handled here");
    }
    // RFC 5233 subaddress: user+detail; the detail picks the mailbox.
    const std::size_t plus = address->local.find('+');
    Recipient recipient;
    recipient.address = std::string(*path);
    if (plus != std::string::npos) recipient.mailbox = address->local.substr(plus + 1);
    store::Recipient found;
    try {
        found = backend_.find_recipient(address->local.substr(0, plus));
    } catch (const std::exception&) {
        return reply(451, "4.3.0", shown + " Temporary failure, try again later");
    }
    switch (found.status) {
        case store::RecipientStatus::NoSuchUser:
            return reply(550, "5.1.1", shown + " User unknown");
        case store::RecipientStatus::Disabled:
            return reply(550, "5.2.1", shown + " Mailbox disabled");
        case store::RecipientStatus::Ok:
            break;
    }
    recipient.user = std::move(found.user);
    recipients_.push_back(std::move(recipient));
    reply(250, "2.1.5", shown + " Recipient OK");
}

void LmtpSession::data(std::string_view args) {
    if (!trim(args).empty()) return error(501, "5.5.4", "DATA takes no arguments");
    if (state_ == State::Start) return error(503, "5.5.1", "Send LHLO first");
    if (state_ != State::Mail) return error(503, "5.5.1", "Need MAIL command");
    // RFC 2033 4.2: no successful RCPT, no DATA.
    if (recipients_.empty()) return error(503, "5.5.1", "No valid recipients");
    state_ = State::Data;
    message_.clear();
    data_line_start_ = true;
    previous_crlf_ = true;  // the DATA line's own CRLF
    too_big_ = false;
    data_size_ = 0;
    // 3xx: no enhanced code (RFC 2034 3).
    output_ += "354 Start mail input; end with <CRLF>.<CRLF>\r\n";
}

bool LmtpSession::read_data() {
    // RFC 5321 4.5.2: CRLF "." CRLF ends the data; a leading "." of any
    // other line is removed. Line ends become CRLF (a bare LF too, as imapd
    // deliver does); a CR not before LF is data. A "." line next to a bare
    // LF does not end the data (RFC 5321 4.1.1.4: only CRLF.CRLF does) and
    // is kept as it is: taking LF.LF for the end is the SMTP smuggling
    // class (CVE-2023-51764), a second message hidden in the first. Past
    // the size limit the data is read and dropped, so memory stays within
    // the limit.
    std::size_t pos = 0;
    bool ended = false;
    auto append = [this](std::string_view text) {
        data_size_ += text.size();
        if (too_big_) return;
        if (data_size_ > options_.max_message_size) {
            too_big_ = true;
            std::string().swap(message_);
            return;
        }
        message_.append(text);
    };
    while (pos < input_.size()) {
        const std::size_t lf = input_.find('\n', pos);
        if (lf == std::string::npos) {
            std::string_view rest(input_.data() + pos, input_.size() - pos);
            // "." or ".\r" may still be the end: wait for more.
            if (data_line_start_ && rest.front() == '.' &&
                (rest.size() == 1 || (rest.size() == 2 && rest[1] == '\r'))) {
                break;
            }
            // A CR last may be the line's end: keep it for the next bytes.
            const std::size_t keep = rest.back() == '\r' ? 1 : 0;
            rest.remove_suffix(keep);
            if (rest.empty()) break;
            if (data_line_start_ && rest.front() == '.') rest.remove_prefix(1);
            append(rest);
            data_line_start_ = false;
            previous_crlf_ = false;
            pos = input_.size() - keep;
            break;
        }
        std::string_view line(input_.data() + pos, lf - pos);
        const bool crlf = !line.empty() && line.back() == '\r';
        if (crlf) line.remove_suffix(1);
        pos = lf + 1;
        const bool whole_line = data_line_start_;
        const bool after_crlf = previous_crlf_;
        data_line_start_ = true;
        previous_crlf_ = crlf;
        if (whole_line && line == ".") {
            if (crlf && after_crlf) {
                ended = true;
                break;
            }
            append(".\r\n");  // not CRLF.CRLF: data, as sent
            continue;
        }
        if (whole_line && !line.empty() && line.front() == '.') line.remove_prefix(1);
        append(line);
        append("\r\n");
    }
    input_.erase(0, pos);
    return ended;
}

void LmtpSession::end_of_data() {
    if (too_big_) {
        // RFC 2033 4.2: one reply per recipient, even when all are the same.
        for (std::size_t i = 0; i < recipients_.size(); ++i) {
            reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
        }
        reset_transaction();
        state_ = State::Ready;
        return;
    }
    auto shared = std::make_shared<const std::string>(std::exchange(message_, {}));
    state_ = State::Delivering;
    replies_.assign(recipients_.size(), std::nullopt);
    replied_ = 0;
    // The backend may answer at once (delivered() from inside deliver()).
    const std::vector<Recipient> recipients = recipients_;
    starting_deliveries_ = true;
    for (std::size_t i = 0; i < recipients.size(); ++i) {
        Delivery delivery;
        delivery.recipient = recipients[i];
        // Return-Path (RFC 5321 4.4) and Delivered-To (the address this
        // copy was for, as Dovecot and Postfix's local write it).
        delivery.trace = "Return-Path: <" + reverse_path_ +
                         ">\r\nDelivered-To: " + recipients[i].address + "\r\n";
        delivery.data = shared;
        backend_.deliver(std::move(delivery), i);
    }
    starting_deliveries_ = false;
    // All answered at once: run() goes on with what was pipelined.
}

void LmtpSession::delivered(std::size_t index, Reply result) {
    if (state_ != State::Delivering || index >= replies_.size() || replies_[index]) return;
    replies_[index] = std::move(result);
    // Inside end_of_data() the run() that called it goes on by itself.
    if (flush_replies() && !starting_deliveries_) run();
}

bool LmtpSession::flush_replies() {
    while (replied_ < replies_.size() && replies_[replied_]) {
        const Reply& r = *replies_[replied_];
        output_ += std::to_string(r.code) + " " + r.text + "\r\n";
        ++replied_;
    }
    if (replied_ < replies_.size()) return false;
    reset_transaction();
    state_ = State::Ready;
    return true;
}

void LmtpSession::reset_transaction() {
    if (state_ == State::Mail) state_ = State::Ready;
    reverse_path_.clear();
    recipients_.clear();
    std::string().swap(message_);
    replies_.clear();
    replied_ = 0;
}

}  // namespace imap::server::lmtp
