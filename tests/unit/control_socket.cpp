// The control socket's requests and JSON answers (server/net/control_socket.h,
// docs/operations.md "Who is connected, and kick"), without a socket.
#include "server/net/control_socket.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using imap::server::ControlSocket;

namespace {

// Actions that answer at once and record what they were asked.
struct Recorder {
    std::vector<ControlSocket::ConnectionInfo> connections;
    std::vector<std::string> kicked_users;
    ControlSocket::Actions actions() {
        ControlSocket::Actions a;
        a.who = [this](auto done) { done(connections); };
        a.kick = [this](std::string user, auto done) {
            kicked_users.push_back(user);
            done(2);
        };
        return a;
    }
};

std::string answer_to(std::string_view request, Recorder& recorder) {
    std::string answer;
    ControlSocket::respond(request, recorder.actions(), [&](std::string a) { answer = a; });
    return answer;
}

}  // namespace

TEST_CASE("control socket: who lists every connection as one JSON object", "[control]") {
    Recorder recorder;
    CHECK(answer_to("who", recorder) == "{\"connections\":[]}\n");
    recorder.connections.push_back({"alice", "imaps", "192.0.2.7", true, "selected", true, 312});
    recorder.connections.push_back({"", "imap", "::1", false, "not authenticated", false, 0});
    CHECK(answer_to("who", recorder) ==
          "{\"connections\":[{\"user\":\"alice\",\"listener\":\"imaps\",\"peer\":\"192.0.2.7\","
          "\"tls\":true,\"state\":\"selected\",\"idling\":true,\"seconds\":312},"
          "{\"user\":\"\",\"listener\":\"imap\",\"peer\":\"::1\",\"tls\":false,"
          "\"state\":\"not authenticated\",\"idling\":false,\"seconds\":0}]}\n");
}

TEST_CASE("control socket: kick takes the canonical user name", "[control]") {
    Recorder recorder;
    CHECK(answer_to("kick Alice", recorder) == "{\"kicked\":2}\n");
    CHECK(recorder.kicked_users == std::vector<std::string>{"alice"});
}

TEST_CASE("control socket: anything else is refused with a reason", "[control]") {
    Recorder recorder;
    CHECK(answer_to("kick", recorder) ==
          "{\"error\":\"unknown request; expected \\\"who\\\" or \\\"kick USER\\\"\"}\n");
    CHECK(answer_to("kick ", recorder) == "{\"error\":\"usage: kick USER\"}\n");
    CHECK(answer_to("kick a b", recorder) == "{\"error\":\"usage: kick USER\"}\n");
    // Names the accounts could never hold (store/accounts.h) are refused,
    // not thrown out of the socket's callback.
    CHECK(answer_to("kick a\xff", recorder) == "{\"error\":\"invalid user name\"}\n");
    CHECK(answer_to("kick " + std::string(300, 'a'), recorder) ==
          "{\"error\":\"invalid user name\"}\n");
    CHECK(answer_to("WHO", recorder) ==
          "{\"error\":\"unknown request; expected \\\"who\\\" or \\\"kick USER\\\"\"}\n");
    CHECK(recorder.kicked_users.empty());
    // A user name that is not UTF-8 still gives valid JSON.
    recorder.connections.push_back(
        {"a\xff", "imap", "127.0.0.1", false, "authenticated", false, 1});
    CHECK(answer_to("who", recorder).find("\"user\":\"a\xef\xbf\xbd\"") != std::string::npos);
}
