// contrib/nginx/leanpoint-public.conf, the public HTTPS endpoint, as shipped:
// only the listen port, the replicas' addresses and the certificate files are
// replaced (support/public_nginx.h fails if one is missing). A CA and a
// server certificate are made with openssl for the test; clients come from
// addresses of their own in 127.0.0.0/8, so nginx's $remote_addr (its hash,
// its limits, its allow-list) is each client's own.
//
// With two leanpoint replicas and a devnet whose finality moves every second:
// HTTPS pairs in the three orders match; HTTP/2 and TLS 1.2 and 1.3 are
// spoken; one address flooding the artifacts gets 429 with Retry-After while
// another is served; the api routes are limited too; /metrics answers only
// 127.0.0.1. With scripted replicas: downloads held open count against their
// own address only, X-Forwarded-For is nginx's, never the client's, artifacts
// are not buffered, a replica's 503 reaches its client (never retried on the
// other replica) and a replica that refuses connections is skipped.
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <regex>
#include <sstream>

#include "gate.h"
#include "pair_client.h"
#include "ports.h"
#include "public_nginx.h"
#include "scripted_server.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_ca.h"
#include "testing.h"
#include "tls_client.h"

using namespace std::chrono_literals;
using testing::Clock;
using testing::Reply;
namespace fs = std::filesystem;
namespace sim = leanpoint::sim;

namespace {

const std::string kState = "/lean/v0/states/finalized";
const std::string kBlock = "/lean/v0/blocks/finalized";
// Spellings clients derive from the state URL they are given (README.md,
// "Endpoints"): every one is an artifact, and limited as one.
const std::vector<std::string> kSpellings = {kState, kBlock, kState + kBlock, kBlock + "/",
                                             "/lean%2fv0%2fstates%2ffinalized"};

bool have_tools() {
  for (const char* tool : {testing::kNginx, testing::kOpenssl, "/usr/bin/curl"})
    if (!fs::exists(tool)) {
      MESSAGE("skipped: " << tool << " missing (scripts/setup --test installs it)");
      return false;
    }
  return true;
}

// Waits (bounded) until nginx answers HTTPS with a status other than 0, 502
// or 503; returns that status.
int await_front(const testing::TlsClient& tls, uint16_t front, const std::string& path) {
  int status = 0;
  for (const auto until = Clock::now() + 20s; Clock::now() < until; std::this_thread::sleep_for(50ms)) {
    status = tls.fetch(front, "127.0.0.1", path).status;
    if (status != 0 && status != 502 && status != 503) break;
  }
  return status;
}

// A pair over HTTPS from `source`, as pair_client.h's pair_matches fetches it
// in plain HTTP: true when both are 200 and name one slot.
bool tls_pair_matches(const testing::TlsClient& tls, uint16_t front, const std::string& source, testing::Order order,
                      std::chrono::milliseconds gap) {
  Reply s, b;
  if (order == testing::Order::together) {
    auto f = std::async(std::launch::async, [&] { return tls.fetch(front, source, kBlock); });
    s = tls.fetch(front, source, kState);
    b = f.get();
  } else {
    const bool state_first = order == testing::Order::state_first;
    (state_first ? s : b) = tls.fetch(front, source, state_first ? kState : kBlock);
    std::this_thread::sleep_for(gap);
    (state_first ? b : s) = tls.fetch(front, source, state_first ? kBlock : kState);
  }
  if (s.status != 200 || b.status != 200) MESSAGE(source << ": state " << s.status << ", block " << b.status);
  return s.status == 200 && b.status == 200 && !s.header("X-Leanpoint-Slot").empty() &&
         s.header("X-Leanpoint-Slot") == b.header("X-Leanpoint-Slot");
}

int clients_pinned(uint16_t replica) {
  const auto status = testing::get(replica, "/status");
  std::smatch m;
  if (!status || !std::regex_search(status->body, m, std::regex("\"clients_pinned\":([0-9]+)"))) return -1;
  return std::stoi(m[1]);
}

// curl over HTTPS from `source`, verifying against `ca`: each URL's
// `--write-out` line.
std::vector<std::string> curl_lines(const testing::TestCa& ca, uint16_t front, const std::string& source,
                                    const std::vector<std::string>& flags, const std::vector<std::string>& paths,
                                    const std::string& write_out) {
  const std::string origin = "https://localhost:" + std::to_string(front);
  std::vector<std::string> argv = {"/usr/bin/curl",
                                   "-sS",
                                   "--no-progress-meter",
                                   "--cacert",
                                   ca.ca,
                                   "--resolve",
                                   "localhost:" + std::to_string(front) + ":127.0.0.1",
                                   "--interface",
                                   source,
                                   "-w",
                                   write_out};
  argv.insert(argv.end(), flags.begin(), flags.end());
  for (const auto& p : paths) argv.insert(argv.end(), {"-o", "/dev/null", origin + p});
  const testing::Result r = testing::run(argv, {}, 20s);
  INFO(r.err);
  CHECK(r.status == 0);
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// One address floods the artifacts (in every spelling, on 4 connections at
// a time) until `done` is set, for 30 s at most; counted by
// status.
struct Flood {
  std::atomic<int> ok{0}, limited{0}, other{0}, retry_after_wrong{0};
  std::promise<void> first_limited;
  std::atomic<bool> signalled{false};

  void run(const testing::TlsClient& tls, uint16_t front, const std::string& source, const std::atomic<bool>& done) {
    std::vector<std::future<void>> threads;
    std::atomic<int> sent{0};
    const auto until = Clock::now() + 30s;
    for (int t = 0; t < 4; ++t)
      threads.push_back(std::async(std::launch::async, [&] {
        while (!done && Clock::now() < until) {
          const Reply r = tls.fetch(front, source, kSpellings[static_cast<size_t>(sent++) % kSpellings.size()]);
          if (r.status == 200) ++ok;
          if (r.status != 200 && r.status != 429) ++other;
          if (r.status != 429) continue;
          ++limited;
          if (r.header("Retry-After") != "5") ++retry_after_wrong;
          if (!signalled.exchange(true)) first_limited.set_value();
        }
      }));
    for (auto& t : threads) t.get();
    if (!signalled.exchange(true)) first_limited.set_value();
  }
};

}  // namespace

TEST_CASE("public endpoint recipe: HTTPS pairs match, HTTP/2, per-address limits, /metrics allow-listed") {
  if (!have_tools()) return;
  testing::TempDir dir;
  const testing::TestCa ca = testing::make_test_ca(dir);
  // Finality every 4 slots of 250 ms: every second.
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "3", "--base-port", "0", "--slot-ms", "250", "--start-slot",
                           "400", "--upstreams-out", dir.path() + "/upstreams.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));

  // Replicas with a 4 s pin window, so that the anchor each serves new
  // clients moves every half second and the two replicas often serve
  // different ones: a pair split across them would show.
  const uint16_t front = testing::free_port(), r1 = testing::free_port(), r2 = testing::free_port();
  std::vector<std::unique_ptr<testing::Subprocess>> replicas;
  for (const uint16_t port : {r1, r2})
    replicas.push_back(std::make_unique<testing::Subprocess>(
        std::vector<std::string>{testing::leanpoint_bin(), "--upstreams-config", dir.path() + "/upstreams.json",
                                 "--bind", "127.0.0.1", "--port", std::to_string(port), "--poll-ms", "250",
                                 "--timeout-ms", "200", "--pin-window-ms", "4000", "--trusted-proxies", "127.0.0.1"}));
  testing::Subprocess nginx(testing::public_nginx(dir, ca, front, r1, r2));

  const testing::TlsClient tls(ca.ca);
  for (const uint16_t port : {r1, r2}) {
    const auto until = Clock::now() + 20s;
    while (Clock::now() < until && (!testing::get(port, "/readyz") || testing::get(port, "/readyz")->status != 200))
      std::this_thread::sleep_for(50ms);
  }
  REQUIRE(await_front(tls, front, "/readyz") == 200);

  {
    INFO("TLS 1.2 and 1.3, the server verified against the test's CA");
    for (const int version : {TLS1_2_VERSION, 0}) {
      const auto conn = testing::TlsClient(ca.ca, version).connect(front, "127.0.0.1");
      REQUIRE(conn);
      CHECK(conn->protocol() == (version ? "TLSv1.2" : "TLSv1.3"));
    }
  }

  {
    // 24 clients from their own addresses, 8 per order, starting 100 ms
    // apart, each fetching its pair three times (a node that restarts, or
    // retries): 6 requests, well within the artifacts' burst.
    std::vector<std::future<int>> clients;
    for (int i = 0; i < 24; ++i)
      clients.push_back(std::async(std::launch::async, [&, i] {
        std::this_thread::sleep_for(i * 100ms);
        const std::string source = "127.0.20." + std::to_string(10 + i);
        int bad = 0;
        for (int pair = 0; pair < 3; ++pair)
          bad += !tls_pair_matches(tls, front, source, static_cast<testing::Order>(i % 3), 300ms);
        return bad;
      }));
    int bad = 0;
    for (auto& c : clients) bad += c.get();
    MESSAGE("72 HTTPS pairs through nginx, " << bad << " mismatched or failed");
    CHECK(bad == 0);
    // Each replica pinned clients by the address nginx named in
    // X-Forwarded-For: more than nginx's own one address between them.
    const int one = clients_pinned(r1), two = clients_pinned(r2);
    CAPTURE(one);
    CAPTURE(two);
    CHECK(one >= 1);
    CHECK(two >= 1);
    CHECK(one + two > 2);
  }

  {
    INFO("HTTP/2: a state and its block on one connection");
    const auto lines = curl_lines(ca, front, "127.0.22.1", {"--http2"}, {kState, kBlock},
                                  "%{http_version} %{http_code} %header{x-leanpoint-slot}\n");
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].rfind("2 200 ", 0) == 0);
    CHECK(lines[0].size() > 6);
    CHECK(lines[0] == lines[1]);
  }

  {
    // A flood of artifact requests from one address: once it is refused,
    // another address fetches a pair and the status page, all served.
    Flood flood;
    std::atomic<bool> done{false};
    const auto started = Clock::now();
    auto limited = flood.first_limited.get_future();
    auto flooding = std::async(std::launch::async, [&] { flood.run(tls, front, "127.0.21.1", done); });
    REQUIRE(limited.wait_for(30s) == std::future_status::ready);
    CHECK(flood.limited.load() > 0);
    CHECK(tls_pair_matches(tls, front, "127.0.21.2", testing::Order::together, 0ms));
    CHECK(tls.fetch(front, "127.0.21.2", "/status").status == 200);
    const bool still_flooding = !done.exchange(true);
    flooding.get();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - started).count();
    MESSAGE("flood from one address: " << flood.ok.load() << " served, " << flood.limited.load() << " refused (429) in "
                                       << seconds << " s");
    CHECK(still_flooding);  // the other address was served while the flood ran
    CHECK(flood.other.load() == 0);
    CHECK(flood.retry_after_wrong.load() == 0);
    // The burst (24), then one every 5 s.
    CHECK(flood.ok.load() <= 25 + seconds / 5 + 1);
  }

  {
    INFO("the api routes: public, limited per address (Retry-After: 1)");
    std::vector<std::string> paths(100, "/status");
    const auto lines = curl_lines(ca, front, "127.0.22.2", {"--http2", "--parallel", "--parallel-max", "100"}, paths,
                                  "%{http_code} %header{retry-after}\n");
    REQUIRE(lines.size() == 100);
    int ok = 0, limited = 0;
    std::map<std::string, int> answers;
    for (const auto& line : lines) {
      ok += line == "200 ";
      limited += line == "429 1";
      ++answers[line];
    }
    for (const auto& [line, n] : answers) MESSAGE(line << ": " << n);
    CAPTURE(ok);
    CAPTURE(limited);
    // The burst (10) passes, the rest are refused by nginx: none reaches a
    // replica to be shed (503) by its api pool.
    CHECK(ok >= 11);
    CHECK(limited >= 1);
    CHECK(ok + limited == 100);
  }

  {
    INFO("/metrics: 127.0.0.1 only");
    const Reply local = tls.fetch(front, "127.0.0.1", "/metrics");
    CHECK(local.status == 200);
    CHECK(local.body.find("leanpoint_") != std::string::npos);
    CHECK(tls.fetch(front, "127.0.0.2", "/metrics").status == 403);
    CHECK(tls.fetch(front, "127.0.0.2", "/%6detrics").status == 403);
    CHECK(tls.fetch(front, "127.0.0.2", "/metrics?x").status == 403);
    CHECK(tls.fetch(front, "127.0.0.2", "/status").status == 200);
    CHECK(tls.fetch(front, "127.0.0.2", "/healthz").status == 200);
    for (const char* path : {"/", "/api/upstreams", "/lean/v0/fork_choice", "/lean/v0/checkpoints/finalized"}) {
      CAPTURE(path);
      CHECK(tls.fetch(front, "127.0.0.2", path).status == 200);
    }
  }

  nginx.send_signal(SIGQUIT);
  CHECK(nginx.wait(Clock::now() + 10s) == 0);
}

TEST_CASE("public endpoint recipe: held downloads count against their own address; X-Forwarded-For is nginx's") {
  if (!have_tools()) return;
  testing::TempDir dir;
  const testing::TestCa ca = testing::make_test_ca(dir);
  const std::string hog = "127.0.23.1", other = "127.0.23.2";
  // Replicas that name, in the body, the X-Forwarded-For lines they got;
  // the hog's states start and never finish (a download in progress).
  const auto handler = [hog](const std::string& target, const std::string& head) {
    std::string xff;
    for (size_t at = 0; (at = head.find("\r\nX-Forwarded-For: ", at)) != std::string::npos;) {
      at += 19;
      xff += "[" + head.substr(at, head.find("\r\n", at) - at) + "]";
    }
    if (target == kState && xff == "[" + hog + "]")
      return sim::Script{{sim::Step::Kind::send, sim::head(200, "application/octet-stream", {"Content-Length: 1000"})},
                         {sim::Step::Kind::hang}};
    if (target == kState + "?big") return sim::respond(200, "application/octet-stream", std::string(32 << 20, 's'));
    return sim::respond(200, "text/plain", "xff " + xff);
  };
  sim::ScriptedServer one(handler), two(handler);
  const uint16_t front = testing::free_port();
  testing::Subprocess nginx(testing::public_nginx(dir, ca, front, one.port(), two.port()));
  const testing::TlsClient tls(ca.ca);
  REQUIRE(await_front(tls, front, "/healthz") == 200);

  // A client's own X-Forwarded-For is replaced, never passed on.
  const Reply spoofed = tls.fetch(front, other, kBlock, "X-Forwarded-For: 6.6.6.6\r\n");
  CHECK(spoofed.status == 200);
  CHECK(spoofed.body == "xff [" + other + "]");

  // Not buffered: while a client reads nothing of a 32 MiB state, the
  // replica is still sending it (and sees the client's own pace, for its
  // stall rule and its pins); nginx does not read it all into memory or its
  // temporary files. Then the client reads it all.
  {
    const auto active = [&] { return one.active() + two.active(); };
    for (const auto until = Clock::now() + 5s; Clock::now() < until && active() > 0;) std::this_thread::sleep_for(20ms);
    const auto slow = tls.connect(front, "127.0.23.3");
    REQUIRE(slow);
    REQUIRE(slow->send("GET " + kState + "?big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
    const std::string head = slow->read_head();
    CHECK(testing::parse(head).status == 200);
    // A buffering nginx would have taken the whole body in well under this.
    for (const auto until = Clock::now() + 1s; Clock::now() < until && active() > 0;) std::this_thread::sleep_for(20ms);
    CHECK(active() == 1);
    CHECK(slow->read_until_close().size() == size_t{32} << 20);
  }

  // 12 downloads from the hog, each under way (its head received) and held
  // (its body never comes).
  std::vector<std::unique_ptr<testing::TlsConnection>> held;
  for (int i = 0; i < 12; ++i) {
    auto conn = tls.connect(front, hog);
    REQUIRE(conn);
    REQUIRE(conn->send("GET " + kState + " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    CHECK(testing::parse(conn->read_head()).status == 200);
    held.push_back(std::move(conn));
  }

  const Reply refused = tls.fetch(front, hog, kBlock);
  CHECK(refused.status == 429);
  CHECK(refused.header("Retry-After") == "5");
  const Reply served = tls.fetch(front, other, kBlock);
  CHECK(served.status == 200);
  CHECK(served.body == "xff [" + other + "]");

  // Once its downloads end, the hog is served again: the limit was on
  // downloads at once, not on its requests (15 so far, within the burst).
  held.clear();
  int status = 0;
  for (int i = 0; i < 8 && status != 200; ++i, std::this_thread::sleep_for(250ms))
    status = tls.fetch(front, hog, kBlock).status;
  CHECK(status == 200);

  nginx.send_signal(SIGQUIT);
  CHECK(nginx.wait(Clock::now() + 10s) == 0);
}

TEST_CASE(
    "public endpoint recipe: a replica's 503 reaches its client and never marks it down; a refusing one is "
    "skipped") {
  // As tests/nginx_replicas_test.cpp checks the replicas recipe: "one" has a
  // state but answers 503 for its block (its client's pinned anchor has none
  // yet); "two" would serve a block, which would not match one's state.
  if (!have_tools()) return;
  const auto replica = [](const std::string& name, int block_status) {
    return [name, block_status](const std::string& target, const std::string&) {
      if (target == kBlock && block_status != 200) return sim::respond(block_status, "text/plain", "no block yet\n");
      if (target == kBlock) return sim::respond(200, "application/octet-stream", "block-of-" + name);
      if (target == kState) return sim::respond(200, "application/octet-stream", "state-of-" + name);
      return sim::respond(200, "text/plain", "ok");
    };
  };
  testing::TempDir dir;
  const testing::TestCa ca = testing::make_test_ca(dir);
  auto one = std::make_unique<sim::ScriptedServer>(replica("one", 503));
  sim::ScriptedServer two(replica("two", 200));
  const uint16_t front = testing::free_port();
  testing::Subprocess nginx(testing::public_nginx(dir, ca, front, one->port(), two.port()));
  const testing::TlsClient tls(ca.ca);
  REQUIRE(await_front(tls, front, "/healthz") == 200);

  std::string client;
  for (int i = 1; i <= 64 && client.empty(); ++i)
    if (tls.fetch(front, "127.0.24." + std::to_string(i), kState).body == "state-of-one")
      client = "127.0.24." + std::to_string(i);
  REQUIRE_MESSAGE(!client.empty(), "no client address among 64 hashed to replica one");
  // More 503s than max_fails, each one's own.
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    const Reply block = tls.fetch(front, client, kBlock);
    CHECK(block.status == 503);
    CHECK(block.body == "no block yet\n");
  }
  CHECK(tls.fetch(front, client, kState).body == "state-of-one");  // not marked down
  // Refused connections: nothing reached the client, so the other replica answers.
  one.reset();
  CHECK(tls.fetch(front, client, kState).body == "state-of-two");
  CHECK(tls.fetch(front, client, kBlock).body == "block-of-two");

  nginx.send_signal(SIGQUIT);
  CHECK(nginx.wait(Clock::now() + 10s) == 0);
}

TEST_CASE("public endpoint recipe: nginx cuts no reader before leanpoint's stall rule would") {
  // The stall rule cuts a client that accepts nothing for one window, at
  // most 1.25 windows after its last progress (ARCHITECTURE §6); nginx's own
  // timeouts for a client that accepts nothing (send_timeout) and for a
  // replica that sends nothing (proxy_read_timeout) must be longer.
  const std::string conf = testing::shipped_with("contrib/nginx/leanpoint-public.conf", {});
  const int64_t stall_ms = leanpoint::GateOptions{}.stall_timeout_ms;
  for (const std::string directive : {"send_timeout", "proxy_read_timeout"}) {
    CAPTURE(directive);
    std::smatch m;
    REQUIRE(std::regex_search(conf, m, std::regex("\n *" + directive + " ([0-9]+)s;")));
    CHECK(std::stoll(m[1]) * 1000 > stall_ms * 5 / 4);
  }
}
