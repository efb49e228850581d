// imapd: an IMAP4rev1 mail server. See README.md and docs/cli.md.
#include <iostream>
#include <string_view>
#include <vector>

#include "server/cli/cli.h"

int main(int argc, char** argv) {
    std::vector<std::string_view> args(argv + 1, argv + argc);
    return imap::server::run_cli(args, std::cout, std::cerr);
}
