// The imapd CLI contract (docs/cli.md): --version, --help, subcommand
// usage, sysexits.h exit codes.
#include "server/cli/cli.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "store/accounts.h"
#include "store/data_dir.h"

namespace {

struct Run {
    int code;
    std::string out;
    std::string err;
};

Run run(std::vector<std::string_view> args, const std::string& input = "") {
    std::istringstream in(input);
    std::ostringstream out;
    std::ostringstream err;
    int code = imap::server::run_cli(args, in, out, err);
    return {code, out.str(), err.str()};
}

struct TempDir {
    std::filesystem::path path;
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "imapd-cli-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

bool can_log_in(const std::filesystem::path& dir, const char* user, const char* password) {
    imap::store::DataDir data_dir(dir);
    imap::store::AccountStore accounts(data_dir.accounts_options());
    return accounts.authenticate(user, password).has_value();
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

TEST_CASE("imapd user add, passwd, list and del manage accounts in the data directory") {
    TempDir dir;
    const std::string data = dir.path.string();
    Run added = run({"user", "add", "Alice", "--password-stdin", "--data-dir", data}, "s3cret\n");
    CHECK(added.code == 0);
    CHECK(added.out == "imapd: created user \"alice\"\n");  // the password is never echoed
    CHECK(can_log_in(dir.path, "alice", "s3cret"));

    Run again = run({"user", "add", "alice", "--password-stdin", "--data-dir", data}, "x\n");
    CHECK(again.code == imap::server::kExitUsage);
    CHECK(again.err.find("exists") != std::string::npos);

    Run changed =
        run({"user", "passwd", "alice", "--password-stdin", "--data-dir=" + data}, "n3w\r\n");
    CHECK(changed.code == 0);
    CHECK(can_log_in(dir.path, "alice", "n3w"));
    CHECK_FALSE(can_log_in(dir.path, "alice", "s3cret"));

    Run generated = run({"user", "add", "bob", "--data-dir", data});
    CHECK(generated.code == 0);
    const std::string prefix = "imapd: created user \"bob\" with password \"";
    REQUIRE(generated.out.rfind(prefix, 0) == 0);
    const std::string password =
        generated.out.substr(prefix.size(), generated.out.size() - prefix.size() - 2);
    CHECK(password.size() == 20);
    CHECK(can_log_in(dir.path, "bob", password.c_str()));

    CHECK(run({"user", "list", "--data-dir", data}).out == "alice\nbob\n");

    Run deleted = run({"user", "del", "bob", "--data-dir", data});
    CHECK(deleted.code == 0);
    CHECK(deleted.out.find("their mail is kept in") != std::string::npos);
    CHECK(run({"user", "list", "--data-dir", data}).out == "alice\n");
    CHECK(run({"user", "del", "bob", "--data-dir", data}).code == imap::server::kExitUsage);
}

TEST_CASE("imapd user refuses bad usage with EX_USAGE") {
    TempDir dir;
    const std::string data = dir.path.string();
    CHECK(run({"user"}).code == imap::server::kExitUsage);
    CHECK(run({"user", "add", "--data-dir", data}).code == imap::server::kExitUsage);
    CHECK(run({"user", "frob", "x", "--data-dir", data}).code == imap::server::kExitUsage);
    CHECK(run({"user", "list", "--bogus", "--data-dir", data}).code == imap::server::kExitUsage);
    Run empty = run({"user", "add", "carol", "--password-stdin", "--data-dir", data}, "");
    CHECK(empty.code == imap::server::kExitUsage);
    CHECK(empty.err.find("no password") != std::string::npos);
    CHECK(run({"user", "add", "a b", "--password-stdin", "--data-dir", data}, "pw\n").code ==
          imap::server::kExitUsage);
}

TEST_CASE("imapd check-config accepts a valid file and lists every problem of a bad one") {
    TempDir dir;
    const auto good = dir.path / "good.conf";
    std::ofstream(good) << "[listen]\nimap = [\"127.0.0.1:1143\"]\n";
    Run ok = run({"check-config", "--config", good.string()});
    CHECK(ok.code == 0);
    CHECK(ok.out == "imapd: configuration " + good.string() + " is valid\n");
    CHECK(ok.err.empty());

    const auto bad = dir.path / "bad.conf";
    std::ofstream(bad) << "[tls]\ncert = /etc/ssl/cert.pem\n";
    Run problems = run({"check-config", "--config", bad.string()});
    CHECK(problems.code == imap::server::kExitUsage);
    CHECK(problems.err.find("imapd check-config: ") == 0);

    const auto broken = dir.path / "broken.conf";
    std::ofstream(broken) << "[server]\nno_such_key = 1\n";
    Run unparsable = run({"check-config", "--config", broken.string()});
    CHECK(unparsable.code == imap::server::kExitUsage);
    CHECK(unparsable.err.find("broken.conf:2") != std::string::npos);
}

// docs/configuration.md "The old format": still valid, check-config says how
// to convert it, and --convert prints the TOML (the file is left alone).
TEST_CASE("imapd check-config: an old-format file is valid, with the command that converts it") {
    TempDir dir;
    const auto old = dir.path / "old.conf";
    std::ofstream(old)
        << "[listen]\nimap = 127.0.0.1:1143\nimap = [::1]:1143\n[log]\nlevel = debug\n";
    Run checked = run({"check-config", "--config", old.string()});
    CHECK(checked.code == 0);
    CHECK(checked.out == "imapd: configuration " + old.string() + " is valid\n");
    CHECK(checked.err == "imapd check-config: " + old.string() +
                             " is in the format before TOML; it is still read the same way. To "
                             "convert it:\n  imapd check-config --config " +
                             old.string() + " --convert > NEW_FILE\n");
    Run converted = run({"check-config", "--config", old.string(), "--convert"});
    CHECK(converted.code == 0);
    CHECK(converted.out ==
          "[listen]\nimap = [\"127.0.0.1:1143\", \"[::1]:1143\"]\n[log]\nlevel = \"debug\"\n");
    const auto toml = dir.path / "new.conf";
    std::ofstream(toml) << converted.out;
    Run again = run({"check-config", "--config", toml.string()});
    CHECK(again.code == 0);
    CHECK(again.err.empty());
    // --convert needs a file, and a TOML file needs no conversion.
    CHECK(run({"check-config", "--convert"}).code == imap::server::kExitUsage);
    Run twice = run({"check-config", "--config", toml.string(), "--convert"});
    CHECK(twice.code == imap::server::kExitUsage);
    CHECK(twice.err.find("is TOML already") != std::string::npos);
}
