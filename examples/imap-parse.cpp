// imap-parse: shows how imapd reads what a client sends. Feed it a client's
// bytes (a capture, or typed lines) on standard input; for every command it
// prints the parse result and the command written back in canonical form,
// or the BAD imapd would answer. Synchronising literals are accepted as a
// server would (after "+"), so captures replay as they were sent.
//
//   printf 'a1 LOGIN alice {4}\r\npass\r\na2 fetch 1:* full\r\n' | imap-parse
#include <iostream>
#include <iterator>
#include <string>
#include <variant>

#include "protocol/command_writer.h"
#include "protocol/framer.h"
#include "protocol/parser.h"

int main() {
    imap::Framer framer;
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    framer.feed(input);
    int bad = 0;
    for (;;) {
        imap::FramerEvent event = framer.next();
        if (std::holds_alternative<imap::NeedMoreData>(event)) break;
        if (auto* request = std::get_if<imap::LiteralRequest>(&event)) {
            std::cout << "+ (literal of " << request->size << " octets for " << request->tag
                      << ")\n";
            framer.accept_literal();
        } else if (auto* error = std::get_if<imap::FramingError>(&event)) {
            ++bad;
            std::cout << error->tag.value_or("*") << " BAD framing error"
                      << (error->fatal ? " (fatal: BYE)" : "") << "\n";
        } else if (auto* ready = std::get_if<imap::FrameReady>(&event)) {
            imap::ParseResult result = imap::parse_command(std::move(ready->frame));
            if (auto* parse_error = std::get_if<imap::ParseError>(&result)) {
                ++bad;
                std::cout << parse_error->tag.value_or("*") << " BAD " << parse_error->message
                          << "\n";
            } else {
                const auto& command = std::get<imap::Command>(result);
                std::cout << imap::command_name(command.body) << ": "
                          << imap::write_command(command, imap::LiteralStyle::NonSynchronising);
            }
        }
    }
    if (framer.buffered() > 0)
        std::cout << "(" << framer.buffered() << " octets of an incomplete command)\n";
    return bad == 0 ? 0 : 1;
}
