// Text from outside, through the real binary: an upstream's header values
// (Transfer-Encoding, Content-Type) with invalid UTF-8 and terminal escapes
// reach /api/upstreams, /status, /metrics and the log escaped, never as a
// 500 or a raw ESC; and upstream names that could forge a log line are
// refused at config load with one line naming the entry.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "exit_codes.h"
#include "ports.h"
#include "scripted_server.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using testing::Clock;
using namespace std::chrono_literals;
namespace sim = leanpoint::sim;

namespace {

// Bytes a terminal acts on (ESC, CR) and bytes JSON cannot carry (\xff\xfe).
const std::string kHostile = "\xff\xfe\x1b[31m";

bool has_control_or_invalid(const std::string& s) {
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if ((b < 0x20 && c != '\n') || b == 0x7f || b >= 0xfe) return true;
  }
  return false;
}

// GETs `path` until it answers `status` or `within` passes.
httplib::Result await_get(uint16_t port, const std::string& path, int status, std::chrono::milliseconds within) {
  const auto until = Clock::now() + within;
  for (;;) {
    auto r = testing::get(port, path);
    if ((r && r->status == status) || Clock::now() >= until) return r;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("an upstream's hostile Transfer-Encoding and Content-Type: /api/upstreams 200, escaped; the log escaped") {
  // "te" answers everything with a Transfer-Encoding leanpoint refuses;
  // "ct" has no fork_choice and answers its state with a hostile Content-Type.
  sim::ScriptedServer te(sim::always({{sim::Step::Kind::send, "HTTP/1.1 200 OK\r\nTransfer-Encoding: " + kHostile +
                                                                  "\r\nContent-Type: " + kHostile + "\r\n\r\n"}}));
  sim::ScriptedServer ct([](const std::string& target, const std::string&) {
    if (target == "/lean/v0/fork_choice") return sim::respond(404, "text/plain", "not found");
    return sim::respond(200, "text/" + kHostile, "x");
  });
  const uint16_t port = testing::free_port();
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstream", "te=" + te.url(), "--upstream", "ct=" + ct.url(),
                          "--min-agree", "1", "--bind", "127.0.0.1", "--port", std::to_string(port), "--poll-ms", "100",
                          "--timeout-ms", "80"});
  REQUIRE(lp.wait_for_stderr("upstream te failed", Clock::now() + 10s));
  REQUIRE(lp.wait_for_stderr("upstream ct failed", Clock::now() + 10s));

  // Until the round that logged them is published (or the answer is not 200).
  auto upstreams = testing::get(port, "/api/upstreams");
  for (const auto until = Clock::now() + 5s; Clock::now() < until; upstreams = testing::get(port, "/api/upstreams")) {
    if (upstreams && upstreams->status != 200) break;
    if (upstreams && upstreams->body.find("\"error_detail\":null") == std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  REQUIRE(upstreams);
  CHECK(upstreams->status == 200);
  CHECK_FALSE(has_control_or_invalid(upstreams->body));
  const auto doc = nlohmann::json::parse(upstreams->body, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  for (const auto& u : doc["upstreams"]) {
    CAPTURE(u.dump());
    REQUIRE(u["error_detail"].is_string());
    // Escaped, so the operator sees what was sent.
    CHECK(u["error_detail"].get<std::string>().find("\\xff\\xfe\\x1b[31m") != std::string::npos);
  }
  const auto status = await_get(port, "/status", 200, 5s);
  REQUIRE(status);
  CHECK(status->status == 200);
  CHECK_FALSE(has_control_or_invalid(status->body));
  const auto metrics = await_get(port, "/metrics", 200, 5s);
  REQUIRE(metrics);
  CHECK_FALSE(has_control_or_invalid(metrics->body));

  lp.send_signal(SIGTERM);
  CHECK(lp.wait(Clock::now() + 10s) == 0);
  CAPTURE(lp.err());
  CHECK(lp.err().find('\x1b') == std::string::npos);
  CHECK(lp.err().find('\xff') == std::string::npos);
  CHECK(lp.err().find("\\xff\\xfe\\x1b[31m") != std::string::npos);
}

TEST_CASE("upstream names that could forge a log line or break JSON are refused at load, naming the entry") {
  testing::TempDir tmp;
  struct Case {
    std::string name;
    std::string file;  // written to tmp as the upstreams file; empty: --upstream
    std::string content;
    std::string expected;  // in the one-line error
  };
  const std::string forged = "a\x1b[31m\r\nINFO fake";
  const Case cases[] = {
      {"--upstream", "", "", "--upstream 'a\\x1b[31m\\x0d\\x0aINFO fake=http://127.0.0.1:1': upstream name"},
      {"json", "u.json",
       R"({"upstreams":[{"name":"ok","url":"http://127.0.0.1:1"},{"name":"b\u001b[2J","url":"http://127.0.0.1:2"}]})",
       "u.json: upstreams[1] (b\\x1b[2J): upstream name 'b\\x1b[2J' refused"},
      {"json, invalid UTF-8", "bad.json",
       R"({"upstreams":[{"name":")" + std::string("b\xff") + R"(","url":"http://h:1"}]})",
       "ill-formed UTF-8 byte; last read: '\"b\\xff'"},
      {"yaml, invalid UTF-8", "v.yaml", "validators:\n  - name: b\xff\n    apiPort: 5052\n",
       "v.yaml: validators[0] (b\\xff): upstream name 'b\\xff' refused"},
      {"yaml", "validator-config.yaml", "validators:\n  - name: \"zeam_0\\e[31m\\r\\nINFO fake\"\n    apiPort: 5052\n",
       "validator-config.yaml: validators[0] (zeam_0\\x1b[31m\\x0d\\x0aINFO fake): upstream name"},
      {"too long", "long.json", R"({"upstreams":[{"name":")" + std::string(65, 'n') + R"(","url":"http://h:1"}]})",
       "refused: a name is 1-64 bytes of valid UTF-8 without control characters"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::vector<std::string> argv = {testing::leanpoint_bin(), "--bind", "127.0.0.1", "--port",
                                     std::to_string(testing::free_port())};
    if (c.file.empty()) {
      argv.insert(argv.end(), {"--upstream", forged + "=http://127.0.0.1:1"});
    } else {
      tmp.write(c.file, c.content);
      argv.insert(argv.end(), {"--upstreams-config", tmp.path() + "/" + c.file});
    }
    const auto r = testing::run(argv, {}, 10s);
    CAPTURE(r.err);
    CHECK(r.status == leanpoint::kExitUsage);
    CHECK(r.err.find(c.expected) != std::string::npos);
    CHECK(r.err.find('\x1b') == std::string::npos);
    CHECK(r.err.find('\r') == std::string::npos);
    CHECK(r.err.find('\xff') == std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one line
  }
}

TEST_CASE("names in other scripts and with spaces are accepted: the rule refuses only what cannot be printed") {
  const uint16_t port = testing::free_port();
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstream", "zeam 0 \xc3\xa9\xe2\x9c\x93=http://127.0.0.1:1",
                          "--bind", "127.0.0.1", "--port", std::to_string(port), "--poll-ms", "100", "--timeout-ms",
                          "80"});
  const auto upstreams = await_get(port, "/api/upstreams", 200, 10s);
  REQUIRE(upstreams);
  CHECK(upstreams->body.find("zeam 0 \xc3\xa9\xe2\x9c\x93") != std::string::npos);
  lp.send_signal(SIGTERM);
  CHECK(lp.wait(Clock::now() + 10s) == 0);
}
