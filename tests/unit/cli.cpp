// The imapd CLI contract (docs/cli.md): --version, --help, subcommand
// usage, sysexits.h exit codes.
#include "server/cli.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run run(std::vector<std::string_view> args) {
    std::ostringstream out;
    std::ostringstream err;
    int code = imap::server::run_cli(args, out, err);
    return {code, out.str(), err.str()};
}

}  // namespace

TEST_CASE("imapd --version prints the project version") {
    Run result = run({"--version"});
    CHECK(result.code == 0);
    CHECK(result.out == std::string("imapd ") + IMAPD_VERSION + "\n");
}

TEST_CASE("imapd --help lists every subcommand") {
    Run result = run({"--help"});
    CHECK(result.code == 0);
    for (const char* name : {"serve", "user", "deliver", "import", "check-config"}) {
        CHECK(result.out.find(std::string("  ") + name) != std::string::npos);
    }
}

TEST_CASE("imapd with no arguments or an unknown subcommand is a usage error (EX_USAGE)") {
    CHECK(run({}).code == imap::server::kExitUsage);
    Run unknown = run({"frobnicate"});
    CHECK(unknown.code == imap::server::kExitUsage);
    CHECK(unknown.err.find("unknown subcommand 'frobnicate'") != std::string::npos);
}

TEST_CASE("imapd SUBCOMMAND --help prints that subcommand's usage") {
    Run result = run({"serve", "--help"});
    CHECK(result.code == 0);
    CHECK(result.out.rfind("usage: imapd serve", 0) == 0);
}
