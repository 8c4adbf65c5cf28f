// --access-log through the real binary, against a simulated devnet: one
// valid JSON line per response, with what the transport alone knows (body
// bytes actually sent, time to the last byte) and what the site knows (the
// client behind a trusted proxy, the anchor served, whether a pin chose it);
// a hostile path; the gate's own answers (refused heads, sheds); SIGUSR1
// reopening after a rotation; "-" for stdout.
#include "access_log.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using nlohmann::json;
using testing::Clock;
using namespace std::chrono_literals;

namespace {

// Every line of the file, each parsed: a line that is not one JSON object
// fails the test.
std::vector<json> lines_of(const std::string& path) {
  std::vector<json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const json doc = json::parse(line, nullptr, false);
    CHECK_MESSAGE(doc.is_object(), "not one JSON object: ", line);
    lines.push_back(doc);
  }
  return lines;
}

// The first line that `match` accepts, once the writer has written it (5 s at most).
json await_line(const std::string& path, const std::function<bool(const json&)>& match) {
  for (const auto until = Clock::now() + 5s;; std::this_thread::sleep_for(20ms)) {
    for (const json& line : lines_of(path))
      if (match(line)) return line;
    if (Clock::now() >= until) return nullptr;
  }
}

std::function<bool(const json&)> from(const std::string& client, const std::string& route = "") {
  return [client, route](const json& l) { return l["client"] == client && (route.empty() || l["route"] == route); };
}

// The devnet: one simulated node whose finality stands still for the test,
// with a state of about 8 MiB (250,000 slots of history), more than the
// kernel takes into a socket at once (tcp_wmem's 4 MiB at most), so that a
// client that leaves mid-body was sent fewer bytes than the body.
struct Devnet {
  Devnet()
      : sim({testing::sim_bin(), "--nodes", "1", "--base-port", "0", "--slot-ms", "600000", "--start-slot", "250000",
             "--validators", "4096", "--upstreams-out", dir.path() + "/upstreams.json"}) {
    REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  }
  testing::TempDir dir;
  testing::Subprocess sim;
};

struct Leanpoint {
  Leanpoint(const Devnet& net, const std::string& access_log, const std::vector<std::string>& extra = {})
      : port(testing::free_port()), process(args(net, access_log, extra)) {
    REQUIRE(process.wait_for_stderr("ready; waiting", Clock::now() + 10s));
    const auto until = Clock::now() + 20s;
    for (auto r = testing::get(port, "/readyz"); !(r && r->status == 200); r = testing::get(port, "/readyz")) {
      REQUIRE(Clock::now() < until);
      std::this_thread::sleep_for(50ms);
    }
  }
  std::vector<std::string> args(const Devnet& net, const std::string& access_log,
                                const std::vector<std::string>& extra) const {
    std::vector<std::string> a{testing::leanpoint_bin(),
                               "--upstreams-config",
                               net.dir.path() + "/upstreams.json",
                               "--bind",
                               "127.0.0.1",
                               "--port",
                               std::to_string(port),
                               "--poll-ms",
                               "1000",
                               "--timeout-ms",
                               "800",
                               "--trusted-proxies",
                               "127.0.0.1",
                               "--access-log",
                               access_log};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  httplib::Result get(const std::string& path, const std::string& client, httplib::Headers headers = {}) const {
    headers.emplace("X-Forwarded-For", client);
    return testing::get(port, path, headers);
  }
  uint16_t port;
  testing::Subprocess process;
};

// A raw request; returns what came back before the server closed (or 2 s).
std::string raw_request(uint16_t port, const std::string& request) {
  const int fd = testing::connect_to(port);
  REQUIRE(fd >= 0);
  REQUIRE(testing::send_all(fd, request));
  const std::string answer = testing::read_until_close(fd, 2000);
  ::close(fd);
  return answer;
}

}  // namespace

TEST_CASE("the access line's JSON: every field, and a hostile path as one valid line") {
  leanpoint::AccessRecord r;
  r.ts_ms = 1780000000123;
  r.client = "203.0.113.7";
  r.method = "GET";
  r.path = std::string("/\"q\\\x01\n\xff") + std::string(300, 'a');  // unsanitized: json_text still holds
  r.route = "other";
  r.status = 404;
  r.bytes = 10;
  r.ms = 3;
  std::string line = leanpoint::access_line(r);
  CHECK(line.find('\n') == std::string::npos);
  json doc = json::parse(line);
  CHECK(doc["ts"] == "2026-05-28T20:26:40.123Z");
  CHECK_FALSE(doc.contains("slot"));
  r.slot = 96;
  r.root = "0xab";
  r.pinned = true;
  doc = json::parse(leanpoint::access_line(r));
  std::vector<std::string> keys;
  const auto ordered = nlohmann::ordered_json::parse(leanpoint::access_line(r));
  for (const auto& [k, v] : ordered.items()) keys.push_back(k);
  CHECK(keys == std::vector<std::string>{"ts", "client", "method", "path", "route", "status", "bytes", "ms", "slot",
                                         "root", "pinned"});
  CHECK(doc["slot"] == 96);
  CHECK(doc["pinned"] == true);
}

TEST_CASE("a gate answer's record: the peer as client, route -, the raw method and target sanitized and capped") {
  leanpoint::GateAnswer answer;
  answer.ip = "192.0.2.1";
  const std::string method(100, '\x01');
  const std::string target = "/\"\x1b" + std::string(20000, 'x');
  answer.method = method;
  answer.target = target;
  answer.status = 414;
  answer.refused = leanpoint::HeadErrorKind::too_long;
  answer.body_bytes = 24;
  answer.began = leanpoint::Clock::now() - 1500ms;
  const leanpoint::AccessRecord r = leanpoint::gate_answer_record(answer);
  CHECK(r.client == "192.0.2.1");
  CHECK(r.route == "-");
  CHECK(r.status == 414);
  CHECK(r.bytes == 24);
  CHECK(r.ms >= 1500);
  CHECK(r.ms < 60000);
  CHECK(r.method.size() <= 32);
  CHECK(r.method.rfind("\\x01", 0) == 0);
  CHECK(r.path.size() <= 256);
  CHECK(r.path.rfind("/\"\\x1bxxx", 0) == 0);
  CHECK(r.path.substr(r.path.size() - 3) == "...");
  const json doc = json::parse(leanpoint::access_line(r));
  CHECK(doc["path"] == r.path);
  CHECK_FALSE(doc.contains("slot"));
}

TEST_CASE("--access-log FILE: artifacts, API, 304, Range, a client gone mid-body, proxies, a hostile path, SIGUSR1") {
  Devnet net;
  const std::string path = net.dir.path() + "/access.log";
  Leanpoint lp(net, path);

  // The state, then the block, for one client behind the trusted proxy: the
  // second is chosen by the pin the first set.
  const auto state = lp.get("/lean/v0/states/finalized", "198.51.100.1");
  REQUIRE(state);
  REQUIRE(state->status == 200);
  const std::string root = state->get_header_value("X-Leanpoint-Block-Root");
  const uint64_t slot = std::stoull(state->get_header_value("X-Leanpoint-Slot"));
  REQUIRE(lp.get("/lean/v0/blocks/finalized", "198.51.100.1")->status == 200);
  json line = await_line(path, from("198.51.100.1", "/lean/v0/states/finalized"));
  REQUIRE(line.is_object());
  CHECK(line["method"] == "GET");
  CHECK(line["path"] == "/lean/v0/states/finalized");
  CHECK(line["status"] == 200);
  CHECK(line["bytes"] == state->body.size());
  CHECK(line["slot"] == slot);
  CHECK(line["root"] == root);
  CHECK(line["pinned"] == false);
  CHECK(line["ms"].is_number_integer());
  CHECK(line["ms"] >= 0);
  CHECK(line["ts"].get<std::string>().size() == 24);  // 2026-06-01T12:34:56.789Z
  CHECK(line["ts"].get<std::string>().back() == 'Z');
  line = await_line(path, from("198.51.100.1", "/lean/v0/blocks/finalized"));
  REQUIRE(line.is_object());
  CHECK(line["pinned"] == true);
  CHECK(line["root"] == root);

  // An API route: no anchor fields; its body's bytes.
  const auto fc = lp.get("/lean/v0/fork_choice?x=1", "198.51.100.2");
  REQUIRE(fc);
  line = await_line(path, from("198.51.100.2"));
  REQUIRE(line.is_object());
  CHECK(line["route"] == "/lean/v0/fork_choice");
  CHECK(line["path"] == "/lean/v0/fork_choice?x=1");  // as requested
  CHECK(line["bytes"] == fc->body.size());
  CHECK_FALSE(line.contains("slot"));

  // 304: nothing of the body.
  const auto not_modified =
      lp.get("/lean/v0/states/finalized", "198.51.100.3", {{"If-None-Match", state->get_header_value("ETag")}});
  REQUIRE(not_modified->status == 304);
  line = await_line(path, from("198.51.100.3"));
  REQUIRE(line.is_object());
  CHECK(line["status"] == 304);
  CHECK(line["bytes"] == 0);

  // One Range: its bytes.
  REQUIRE(lp.get("/lean/v0/states/finalized", "198.51.100.4", {{"Range", "bytes=100-199"}})->status == 206);
  line = await_line(path, from("198.51.100.4"));
  REQUIRE(line.is_object());
  CHECK(line["status"] == 206);
  CHECK(line["bytes"] == 100);

  // A client that reads a little of the state and goes: fewer bytes than the body.
  {
    const int fd = testing::connect_to(lp.port, 4096);
    REQUIRE(fd >= 0);
    REQUIRE(testing::send_all(fd,
                              "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: "
                              "198.51.100.5\r\n\r\n"));
    char buf[2048];
    REQUIRE(::recv(fd, buf, sizeof buf, 0) > 0);
    ::close(fd);  // unread bytes: a reset
  }
  line = await_line(path, from("198.51.100.5"));
  REQUIRE(line.is_object());
  CHECK(line["status"] == 200);
  CHECK(line["bytes"] < state->body.size());

  // X-Forwarded-For from the trusted proxy: the rightmost address it did not
  // write itself is the client, whatever the client put on the left.
  REQUIRE(lp.get("/lean/v0/health", "10.9.9.9, 203.0.113.7"));
  CHECK(await_line(path, from("203.0.113.7", "/lean/v0/health")).is_object());
  CHECK_FALSE(await_line(path, from("10.9.9.9")).is_object());

  // A hostile path: quotes, a backslash, bytes that are not UTF-8, encoded
  // control bytes, 8000 bytes long (under the request line's 8 KiB cap, so
  // a handler answers it): one valid line, capped.
  const std::string hostile = "/\"q\\uote\xff\xfe%00%0a" + std::string(8000, 'a');
  CHECK(raw_request(lp.port, "GET " + hostile +
                                 " HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.6\r\n"
                                 "Connection: close\r\n\r\n")
            .rfind("HTTP/1.1 404", 0) == 0);
  line = await_line(path, from("198.51.100.6"));
  REQUIRE(line.is_object());
  const std::string logged = line["path"];
  CHECK(logged.size() <= 256);
  CHECK(logged.rfind("/\"q\\uote\\xff\\xfe%00%0aaaa", 0) == 0);
  CHECK(logged.substr(logged.size() - 3) == "...");
  CHECK(raw_request(lp.port, "GET /" + std::string(16 * 1024, 'b') + " HTTP/1.1\r\nHost: x\r\n\r\n")
            .rfind("HTTP/1.1 4", 0) == 0);

  // /status and /metrics count the lines, from one list (kAccessLogCounters).
  const json status = json::parse(testing::get(lp.port, "/status")->body);
  CHECK(status["access_log"]["path"] == path);
  CHECK(status["access_log"]["lines_total"] >= 8);
  CHECK(status["access_log"]["dropped_total"] == 0);
  const std::string metrics = testing::get(lp.port, "/metrics")->body;
  for (const leanpoint::AccessLogCounter& c : leanpoint::kAccessLogCounters) {
    CAPTURE(c.metric);
    CHECK(c.metric == "leanpoint_access_log_" + std::string(c.status_field));
    CHECK(status["access_log"].contains(std::string(c.status_field)));
    CHECK(metrics.find("\n" + std::string(c.metric) + " ") != std::string::npos);
  }
  CHECK(metrics.find("leanpoint_access_log_dropped_total 0\n") != std::string::npos);
  CHECK(metrics.find("leanpoint_access_log_write_errors_total 0\n") != std::string::npos);

  // Rotation: renamed, then SIGUSR1; the next lines go to a new file.
  const std::string rotated = path + ".1";
  std::filesystem::rename(path, rotated);
  lp.process.send_signal(SIGUSR1);
  REQUIRE(lp.process.wait_for_stderr("access log " + path + " reopened", Clock::now() + 5s));
  REQUIRE(lp.get("/lean/v0/health", "198.51.100.7"));
  CHECK(await_line(path, from("198.51.100.7")).is_object());
  CHECK_FALSE(await_line(rotated, from("198.51.100.7")).is_object());
  CHECK(await_line(rotated, from("198.51.100.6")).is_object());  // the old lines stay where they were

  // Every line of both files is one JSON object (lines_of checks).
  CHECK(lines_of(rotated).size() + lines_of(path).size() >= 9);
  lp.process.send_signal(SIGTERM);
  CHECK(lp.process.wait(Clock::now() + 5s) == 0);
}

TEST_CASE("--access-log -: the lines go to stdout; the log stays on stderr") {
  Devnet net;
  Leanpoint lp(net, "-");
  REQUIRE(lp.get("/lean/v0/health", "198.51.100.8"));
  CHECK(lp.process.wait_for_stdout("\"client\":\"198.51.100.8\"", Clock::now() + 5s));
  CHECK(lp.process.out().find("\"route\":\"/lean/v0/health\"") != std::string::npos);
  CHECK(lp.process.err().find("198.51.100.8") == std::string::npos);
  lp.process.send_signal(SIGUSR1);  // nothing to reopen: no harm
  REQUIRE(lp.get("/lean/v0/health", "198.51.100.9"));
  CHECK(lp.process.wait_for_stdout("\"client\":\"198.51.100.9\"", Clock::now() + 5s));
  lp.process.send_signal(SIGTERM);
  CHECK(lp.process.wait(Clock::now() + 5s) == 0);
}

// The responses the gate sends itself, no route having run, each get a line
// (route "-", the peer's address as the client, the path as far as read): a
// refused head (a 16 KiB hostile path, 414; POST, 405; a bad request line,
// 400; a head over 16 KiB, 431; a head cut short, 408 past
// --head-timeout-ms) and a 503 shed past --max-connections-per-client.
TEST_CASE("--access-log: refused heads and sheds, answered by the gate, get one valid line each") {
  Devnet net;
  const std::string path = net.dir.path() + "/access.log";
  Leanpoint lp(net, path, {"--max-connections-per-client", "2", "--head-timeout-ms", "1000"});
  auto gate_line = [&path](int status) {
    return await_line(path, [status](const json& l) { return l["route"] == "-" && l["status"] == status; });
  };

  // Quotes, a backslash, control bytes (raw: the gate reads them before
  // anything screens them) and 16,000 bytes: the whole head within 16 KiB,
  // its request line over 8 KiB.
  const std::string hostile = "/\"q\\\x01\x1b[2J\x7f\xff\"" + std::string(16000, 'c');
  CHECK(raw_request(lp.port, "GET " + hostile + " HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 414", 0) == 0);
  json line = gate_line(414);
  REQUIRE(line.is_object());
  CHECK(line["client"] == "127.0.0.1");  // the peer: no header is read from a refused head
  CHECK(line["method"] == "GET");
  const std::string logged = line["path"];
  CAPTURE(logged);
  CHECK(logged.size() <= 256);
  CHECK(logged.rfind("/\"q\\\\x01\\x1b[2J\\x7f\\xff\"ccc", 0) == 0);
  CHECK(logged.substr(logged.size() - 3) == "...");
  CHECK(line["bytes"] > 0);  // the refusal's body: "request line over 8 KiB"
  CHECK(line["ms"] >= 0);
  CHECK_FALSE(line.contains("slot"));

  CHECK(raw_request(lp.port, "POST /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 405", 0) ==
        0);
  line = gate_line(405);
  REQUIRE(line.is_object());
  CHECK(line["method"] == "POST");
  CHECK(line["path"] == "/lean/v0/states/finalized");

  CHECK(raw_request(lp.port, "GARBAGE\r\n\r\n").rfind("HTTP/1.1 400", 0) == 0);
  line = gate_line(400);
  REQUIRE(line.is_object());
  CHECK(line["method"] == "GARBAGE");
  CHECK(line["path"] == "");

  CHECK(raw_request(lp.port, "GET /" + std::string(16 * 1024, 'b') + " HTTP/1.1\r\nHost: x\r\n\r\n")
            .rfind("HTTP/1.1 431", 0) == 0);
  line = gate_line(431);
  REQUIRE(line.is_object());
  CHECK(line["path"].get<std::string>().rfind("/bbbb", 0) == 0);

  // Two connections from 127.0.0.5 held open (sending nothing), so a third
  // from it is shed at once, before any request.
  const int held[] = {testing::connect_to(lp.port, 0, "127.0.0.5"), testing::connect_to(lp.port, 0, "127.0.0.5")};
  const int beyond = testing::connect_to(lp.port, 0, "127.0.0.5");
  REQUIRE(beyond >= 0);
  const std::string shed = testing::read_until_close(beyond, 3000);
  ::close(beyond);
  for (const int fd : held) ::close(fd);
  CAPTURE(shed);
  CHECK(shed.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(shed.find("Retry-After: 1") != std::string::npos);
  line = await_line(path, from("127.0.0.5", "-"));
  REQUIRE(line.is_object());
  CHECK(line["status"] == 503);
  CHECK(line["method"] == "");
  CHECK(line["path"] == "");
  CHECK(line["bytes"] > 0);  // "too many connections from 127.0.0.5"

  // A head that never ends: 408 once --head-timeout-ms has passed since its
  // first byte.
  {
    const int fd = testing::connect_to(lp.port);
    REQUIRE(fd >= 0);
    REQUIRE(testing::send_all(fd, "GET /slow-head HTTP/1.1\r\nHost: x\r\n"));
    CHECK(testing::read_until_close(fd, 5000).rfind("HTTP/1.1 408", 0) == 0);
    ::close(fd);
  }
  line = gate_line(408);
  REQUIRE(line.is_object());
  CHECK(line["path"] == "/slow-head");
  CHECK(line["ms"] >= 900);

  // A request the handlers answer still gets its own line, after all that.
  REQUIRE(lp.get("/lean/v0/health", "198.51.100.10"));
  CHECK(await_line(path, from("198.51.100.10", "/lean/v0/health")).is_object());
  lp.process.send_signal(SIGTERM);
  CHECK(lp.process.wait(Clock::now() + 5s) == 0);
  // Every line of the file is one JSON object (lines_of checks), and each
  // answer above has exactly one.
  const std::vector<json> all = lines_of(path);
  for (const int status : {414, 405, 400, 431, 503, 408}) {
    CAPTURE(status);
    CHECK(std::count_if(all.begin(), all.end(),
                        [status](const json& l) { return l["route"] == "-" && l["status"] == status; }) == 1);
  }
}
