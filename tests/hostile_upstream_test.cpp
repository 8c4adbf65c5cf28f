// Upstreams that try to bend the poller, on real sockets on 127.0.0.1: each
// request ends within its deadline (+100 ms) with the right kind, however
// the upstream keeps sending, and costs little memory however much it sends.
#include <chrono>
#include <string>

#include "http_client.h"
#include "lean_api.h"
#include "rss.h"
#include "sanitizers.h"
#include "scripted_server.h"
#include "testing.h"
#include "upstream_faults.h"

using leanpoint::Clock;
using leanpoint::FailureKind;
using testing::kDeadlineSlack;
using testing::kRequestDeadline;
using namespace std::chrono_literals;
namespace sim = leanpoint::sim;

namespace {

// What one scenario may add to the process's peak RSS. The old client spent
// 1.3 GB on a trailer flood and 305 MB on 4 MB of '['.
constexpr size_t kMemoryBound = 16u << 20;

leanpoint::Upstream upstream(const sim::ScriptedServer& s) {
  leanpoint::Upstream up;
  up.name = "hostile";
  up.url = s.url();
  up.host = "127.0.0.1";
  up.port = s.port();
  return up;
}

struct Outcome {
  std::optional<leanpoint::Failure> failure;
  Clock::duration took{};
  size_t peak_growth = 0;
};

// GETs with a body cap of `cap`; the body, if any, is read and dropped as it arrives.
Outcome get(const sim::ScriptedServer& s, size_t cap, Clock::duration deadline = kRequestDeadline) {
  testing::reset_peak_rss();
  const size_t before = testing::peak_rss_bytes();
  const auto start = Clock::now();
  const auto r = leanpoint::http_get({"127.0.0.1", s.port(), "/x", "application/json", cap}, start + deadline, -1,
                                     [](std::istream& body) -> leanpoint::Expected<void, leanpoint::Failure> {
                                       char sink[4096];
                                       while (body.read(sink, sizeof sink) || body.gcount() > 0) {
                                       }
                                       return {};
                                     });
  Outcome o;
  o.took = Clock::now() - start;
  o.peak_growth = testing::peak_rss_bytes() - before;
  if (!r) o.failure = r.error();
  return o;
}

Outcome fork_choice(const sim::ScriptedServer& s, Clock::duration deadline = kRequestDeadline, size_t cap = 64 << 20) {
  testing::reset_peak_rss();
  const size_t before = testing::peak_rss_bytes();
  const auto start = Clock::now();
  const auto r = leanpoint::fetch_fork_choice(upstream(s), cap, start + deadline, -1);
  Outcome o;
  o.took = Clock::now() - start;
  o.peak_growth = testing::peak_rss_bytes() - before;
  if (!r) o.failure = r.error();
  return o;
}

void expect(const Outcome& o, FailureKind kind, Clock::duration deadline = kRequestDeadline) {
  REQUIRE(o.failure);
  CAPTURE(o.failure->detail);
  CHECK(leanpoint::to_string(o.failure->kind) == leanpoint::to_string(kind));
  CHECK(o.took <= deadline + kDeadlineSlack);
  if (testing::kMemoryBoundsHold) CHECK(o.peak_growth < kMemoryBound);
}

const std::string kChunkedHead = leanpoint::sim::head(200, "application/json", {"Transfer-Encoding: chunked"});

std::string fork_choice_json(int nodes, const std::string& head) {
  auto root = [](int n) {
    char buf[67];
    std::snprintf(buf, sizeof buf, "0x%064x", n);
    return std::string(buf);
  };
  std::string out = R"({"nodes":[)";
  for (int i = 0; i < nodes; ++i)
    out += (i ? "," : "") + std::string(R"({"root":")") + root(100000 + i) + R"(","slot":)" + std::to_string(1000 + i) +
           R"(,"parent_root":")" + root(99999 + i) + R"(","proposer_index":7,"weight":123456})";
  return out + R"(],"head":)" + head + R"(,"justified":{"slot":990,"root":")" + root(990) +
         R"("},"finalized":{"slot":980,"root":")" + root(980) + R"("},"safe_target":")" + root(1) +
         R"(","validator_count":4096})";
}

}  // namespace

TEST_CASE("an endless trailer stream: too_large at the trailer cap, not at the end of the flood") {
  sim::ScriptedServer up(sim::always({{sim::Step::Kind::send, kChunkedHead + "2\r\n{}\r\n0\r\n"},
                                      {sim::Step::Kind::stream, "X-Trailer: " + std::string(1000, 't') + "\r\n"}}));
  expect(get(up, 1 << 20), FailureKind::too_large);
}

TEST_CASE("an endless header stream: too_large at the head cap") {
  sim::ScriptedServer up(
      sim::always({{sim::Step::Kind::send, "HTTP/1.1 200 OK\r\n"}, {sim::Step::Kind::stream, "X-H: a\r\n"}}));
  expect(get(up, 1 << 20), FailureKind::too_large);
  // A complete head of short lines: the count cap (100) refuses it.
  std::string lines;
  for (int i = 0; i < 150; ++i) lines += "A:b\r\n";
  sim::ScriptedServer many(sim::always({{sim::Step::Kind::send, "HTTP/1.1 200 OK\r\n" + lines + "\r\n{}"}}));
  const auto o = get(many, 1 << 20);
  expect(o, FailureKind::too_large);
  CHECK(o.failure->detail == "more than 100 header lines");
}

TEST_CASE("a chunk-size line of 1 MB: too_large at the line cap") {
  sim::ScriptedServer up(
      sim::always({{sim::Step::Kind::send, kChunkedHead + std::string(1 << 20, '1')}, {sim::Step::Kind::hang}}));
  expect(get(up, 1 << 20), FailureKind::too_large);
  sim::ScriptedServer ext(sim::always(
      {{sim::Step::Kind::send, kChunkedHead + "4;" + std::string(1 << 20, 'e') + "\r\nabcd\r\n0\r\n\r\n"}}));
  expect(get(ext, 1 << 20), FailureKind::too_large);
}

TEST_CASE("a body trickling one byte every 10 ms: timeout at the deadline") {
  sim::ScriptedServer up(
      sim::always({{sim::Step::Kind::send, leanpoint::sim::head(200, "application/json", {"Content-Length: 100000"})},
                   {sim::Step::Kind::drip, std::string(100000, 'd'), 10}}));
  const auto o = get(up, 1 << 20);
  expect(o, FailureKind::timeout);
  CHECK(o.took >= kRequestDeadline - 5ms);
}

TEST_CASE("a body that never makes recv() wait: timeout at the deadline all the same") {
  sim::ScriptedServer up(sim::always({{sim::Step::Kind::send, leanpoint::sim::head(200, "application/octet-stream")},
                                      {sim::Step::Kind::stream, std::string(65536, 'f')}}));
  const auto o = get(up, size_t{1} << 40);
  expect(o, FailureKind::timeout);
  CHECK(o.took >= kRequestDeadline - 5ms);
}

TEST_CASE("endless interim responses: too_large after a few") {
  sim::ScriptedServer up(sim::always({{sim::Step::Kind::stream, "HTTP/1.1 100 Continue\r\n\r\n"}}));
  expect(get(up, 1 << 20), FailureKind::too_large);
}

TEST_CASE("100 Continue, then the answer: the answer") {
  const std::string json = fork_choice_json(3, "null");
  sim::ScriptedServer up(
      sim::always({{sim::Step::Kind::send, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" +
                                               leanpoint::sim::respond(200, "application/json", json)[0].data}}));
  const auto o = fork_choice(up);
  CHECK_FALSE(o.failure);
}

TEST_CASE("fork_choice of 4 MB of unclosed [ or 2M-deep nesting: malformed at once, in constant memory") {
  sim::ScriptedServer unclosed(
      sim::always(leanpoint::sim::respond(200, "application/json", std::string(4 << 20, '['))));
  expect(fork_choice(unclosed), FailureKind::malformed);
  const std::string deep = "{\"x\":" + std::string(2'000'000, '[') + std::string(2'000'000, ']') + "}";
  sim::ScriptedServer nested(sim::always(leanpoint::sim::respond(200, "application/json", deep)));
  const auto o = fork_choice(nested);
  expect(o, FailureKind::malformed);
  CHECK(o.failure->detail == "nested deeper than 32 levels");
  // A run without a string or number, or one too long, stops at 64 KiB: the
  // lexer keeps such runs whole.
  for (const std::string& flood : {"{\"x\":[" + std::string(2 << 20, ' '), "{\"x\":\"" + std::string(2 << 20, 's'),
                                   "{\"x\":" + std::string(2 << 20, '7')}) {
    sim::ScriptedServer up(sim::always(leanpoint::sim::respond(200, "application/json", flood)));
    const auto f = fork_choice(up);
    expect(f, FailureKind::malformed);
    CHECK(f.failure->detail == "a JSON string, number or run between them over 64 KiB");
  }
}

TEST_CASE("a 50,000-node fork_choice (10 MB): read whole, in constant memory") {
  const std::string json = fork_choice_json(50'000, "\"0x" + std::string(59, '0') + "249ef\"");  // node 49,999
  REQUIRE(json.size() > 10'000'000);
  sim::ScriptedServer up(sim::always(leanpoint::sim::respond(200, "application/json", json)));
  testing::reset_peak_rss();
  const size_t before = testing::peak_rss_bytes();
  const auto r = leanpoint::fetch_fork_choice(upstream(up), 64 << 20, Clock::now() + 30s, -1);
  REQUIRE(r);
  CHECK(r->finalized.slot == 980);
  CHECK(r->head_slot == 1000 + 49'999);
  // The server's copy of the script is the one allocation as large as the document.
  if (testing::kMemoryBoundsHold)
    CHECK(testing::peak_rss_bytes() - before < json.size() + kMemoryBound);
  else
    MESSAGE("peak RSS not bounded under a sanitizer (see sanitizers.h)");
  // Over --max-json-bytes: too_large (the poller then reads the node's state).
  expect(fork_choice(up, 10s, 1 << 20), FailureKind::too_large, 10s);
}

TEST_CASE("head: null, justified: null: the finalized checkpoint is enough") {
  sim::ScriptedServer up(sim::always(leanpoint::sim::respond(
      200, "application/json",
      R"({"nodes":[],"head":null,"justified":null,"finalized":{"slot":9,"root":"0x)" + std::string(64, 'a') + "\"}}")));
  const auto r = leanpoint::fetch_fork_choice(upstream(up), 1 << 20, Clock::now() + kRequestDeadline, -1);
  REQUIRE(r);
  CHECK(r->finalized.slot == 9);
  CHECK_FALSE(r->head);
  CHECK_FALSE(r->justified);
}
