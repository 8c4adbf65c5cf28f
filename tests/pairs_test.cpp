// Serving every syncing node: a matching state and block for each client
// (pins.h) in all three orders while the anchor moves; the URL forms clients
// derive; request heads that could desync a proxy; the per-client cap.
#include <unistd.h>

#include <atomic>
#include <future>
#include <thread>

#include "pair_client.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::connect_from;
using testing::fetch;
using testing::Order;
using testing::pair_matches;
using testing::Reply;
using testing::TestServer;

namespace {

// Publishes a new anchor every `period` until stopped.
struct MovingAnchor {
  MovingAnchor(TestServer& t, std::chrono::milliseconds period)
      : thread([&t, period, this] {
          for (uint64_t slot = 100; !stop; slot += 4) {
            t.publish_anchor(64 << 10, 1000, slot);
            std::this_thread::sleep_for(period);
          }
        }) {}
  ~MovingAnchor() {
    stop = true;
    thread.join();
  }
  std::atomic<bool> stop{false};
  std::thread thread;
};

// Runs `clients` clients, each from its own address, each fetching one pair
// in the order of its index; returns how many pairs mismatched.
int mismatches(TestServer& t, int clients, std::chrono::milliseconds gap) {
  std::vector<std::future<bool>> results;
  for (int i = 0; i < clients; ++i)
    results.push_back(std::async(std::launch::async, [&t, i, gap] {
      const std::string source = "127.0.2." + std::to_string(10 + i);
      return pair_matches(t.port(), source, static_cast<Order>(i % 3), gap);
    }));
  int bad = 0;
  for (auto& r : results) bad += !r.get();
  return bad;
}

}  // namespace

TEST_CASE("the pair rule: 30 clients, all three orders, the anchor moving every 20 ms: every pair matches") {
  leanpoint::SiteOptions r;
  r.pin_window_ms = 4000;  // the served anchor may change every 500 ms
  TestServer t(testing::test_server_options(), r);
  t.publish_anchor(64 << 10, 1000, 96);
  MovingAnchor moving(t, 20ms);
  CHECK(mismatches(t, 30, 600ms) == 0);
}

TEST_CASE("without pins the same clients get mismatched pairs (the test can fail)") {
  leanpoint::SiteOptions r;
  r.pin_window_ms = 0;
  TestServer t(testing::test_server_options(), r);
  t.publish_anchor(64 << 10, 1000, 96);
  MovingAnchor moving(t, 20ms);
  CHECK(mismatches(t, 20, 300ms) > 0);
}

TEST_CASE("a pin runs out a window after it was set, however often the client asks") {
  leanpoint::SiteOptions r;
  r.pin_window_ms = 800;
  TestServer t(testing::test_server_options(), r);
  t.publish_anchor(64 << 10, 1000, 96);
  const std::string path = "/lean/v0/states/finalized";
  CHECK(fetch(t.port(), "127.0.3.1", path).header("X-Leanpoint-Slot") == "96");
  t.publish_anchor(64 << 10, 1000, 100);
  const auto until = std::chrono::steady_clock::now() + 3s;
  std::string slot = "96";
  int asked = 0;
  const auto start = std::chrono::steady_clock::now();
  while (slot == "96" && std::chrono::steady_clock::now() < until) {
    // Whole pairs: the pin of a client sent only one of the two lives on (pins.h).
    slot = fetch(t.port(), "127.0.3.1", asked % 2 ? path : "/lean/v0/blocks/finalized").header("X-Leanpoint-Slot");
    ++asked;
    std::this_thread::sleep_for(20ms);  // a steady stream of requests
  }
  CHECK(slot == "100");
  CHECK(asked > 10);
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  // /status: the anchor served to new clients and the anchors held.
  const auto status = testing::get(t.port(), "/status")->body;
  CHECK(status.find("\"pins\":{\"window_ms\":800") != std::string::npos);
  CHECK(status.find("\"anchors_retained\":") != std::string::npos);
}

TEST_CASE("behind a trusted proxy each forwarded client has its own pin; from anyone else the header is ignored") {
  leanpoint::SiteOptions r;
  r.pin_window_ms = 60000;
  auto o = testing::test_server_options();
  o.gate.trusted_proxies = *leanpoint::parse_cidr_list("127.0.4.1");
  TestServer t(o, r);
  t.publish_anchor(64 << 10, 1000, 96);
  const std::string path = "/lean/v0/states/finalized";
  CHECK(fetch(t.port(), "127.0.4.1", path, "X-Forwarded-For: 192.0.2.1\r\n").header("X-Leanpoint-Slot") == "96");
  CHECK(fetch(t.port(), "127.0.4.2", path, "X-Forwarded-For: 192.0.2.2\r\n").header("X-Leanpoint-Slot") == "96");
  t.publish_anchor(64 << 10, 1000, 100);
  // The served anchor is held for window/8 after it became current; a new
  // forwarded client still gets it, and the pinned one keeps it regardless.
  CHECK(fetch(t.port(), "127.0.4.1", path, "X-Forwarded-For: 192.0.2.1\r\n").header("X-Leanpoint-Slot") == "96");
  const auto status = testing::get(t.port(), "/status")->body;
  CHECK(status.find("\"clients_pinned\":2") != std::string::npos);  // 192.0.2.1 and 127.0.4.2, not 192.0.2.2
}

TEST_CASE("URL forms: any path ending in the artifact's, a trailing slash, a query, absolute-form") {
  TestServer t;
  const auto anchor = t.publish_anchor(64 << 10, 1000, 96);
  const std::string state(anchor->state->begin(), anchor->state->end());
  const std::string block(anchor->block->begin(), anchor->block->end());
  for (const std::string path :
       {"/lean/v0/states/finalized", "/lean/v0/states/finalized/", "/lean/v0/states/finalized?cache=1",
        "/base/lean/v0/states/finalized", "/lean%2fv0%2fstates%2ffinalized"}) {
    CAPTURE(path);
    const Reply r = fetch(t.port(), "127.0.0.1", path);
    CHECK(r.status == 200);
    CHECK(r.body == state);
  }
  for (const std::string path : {"/lean/v0/blocks/finalized/", "/lean/v0/states/finalized/lean/v0/blocks/finalized",
                                 "http://leanpoint.example:5555/lean/v0/blocks/finalized"}) {
    CAPTURE(path);
    const Reply r = fetch(t.port(), "127.0.0.1", path);
    CHECK(r.status == 200);
    CHECK(r.body == block);
  }
  CHECK(fetch(t.port(), "127.0.0.1", "/lean/v0/states/finalized/x").status == 404);
  CHECK(fetch(t.port(), "127.0.0.1", "http://h/healthz").status == 200);
}

TEST_CASE("desync: a head another parser could read differently is answered 400 once, and the connection closed") {
  TestServer t;
  t.publish_anchor(64 << 10, 1000, 96);
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string heads[] = {
      std::string("GET /lean\0/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n", 51) + smuggled,
      "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n" + smuggled,
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : " + std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled,
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n" + smuggled,
      "GET / HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n" + smuggled,
      "GET  / HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled,
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x01z\r\n\r\n" + smuggled,
      "GET * HTTP/1.1\r\nHost: x\r\n\r\n" + smuggled,
  };
  for (const std::string& head : heads) {
    CAPTURE(head);
    const int fd = testing::connect_to(t.port());
    testing::send_all(fd, head);
    const std::string raw = testing::read_until_close(fd, 5000);
    ::close(fd);
    CHECK(raw.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(raw.find("HTTP/1.1", 1) == std::string::npos);  // one answer only
    CHECK(raw.find("Connection: close") != std::string::npos);
  }
}

TEST_CASE("--max-connections-per-client: a fast 503 beyond the cap for that address only") {
  auto o = testing::test_server_options();
  o.gate.max_connections_per_client = 4;
  TestServer t(o);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(connect_from(t.port(), "127.0.5.1"));
  const auto by = std::chrono::steady_clock::now() + 5s;
  while (t.stats().connections_waiting < 4 && std::chrono::steady_clock::now() < by) std::this_thread::yield();
  const Reply refused = fetch(t.port(), "127.0.5.1", "/healthz");
  CHECK(refused.status == 503);
  CHECK(refused.body.find("too many connections from 127.0.5.1") != std::string::npos);
  CHECK(refused.header("Retry-After") == "1");
  CHECK(fetch(t.port(), "127.0.5.2", "/healthz").status == 503);  // answered (no anchor yet), not refused
  CHECK(fetch(t.port(), "127.0.5.2", "/healthz").body.find("too many") == std::string::npos);
  ::close(held.back());
  held.pop_back();
  const auto freed_by = std::chrono::steady_clock::now() + 5s;
  while (t.stats().connections_open > 3 && std::chrono::steady_clock::now() < freed_by) std::this_thread::yield();
  CHECK(fetch(t.port(), "127.0.5.1", "/healthz").body.find("too many") == std::string::npos);
  for (int fd : held) ::close(fd);
}

TEST_CASE("behind a trusted proxy a client cannot choose its own pin: 5 requests, one pin") {
  leanpoint::SiteOptions r;
  r.pin_window_ms = 60000;
  auto o = testing::test_server_options();
  o.gate.trusted_proxies = *leanpoint::parse_cidr_list("127.0.4.1");
  TestServer t(o, r);
  t.publish_anchor(64 << 10, 1000, 96);
  const std::string path = "/lean/v0/states/finalized";
  for (int i = 0; i < 5; ++i) {
    // The client's own lines, then the one the proxy appended (HAProxy's
    // `option forwardfor`), and an X-Real-IP of the client's choosing.
    const std::string forged = "X-Forwarded-For: 10.9.9." + std::to_string(i) + "\r\nX-Real-IP: 10.8.8." +
                               std::to_string(i) + "\r\nX-Forwarded-For: unknown\r\n";
    CHECK(fetch(t.port(), "127.0.4.1", path, forged + "X-Forwarded-For: 192.0.2.9\r\n").status == 200);
    CHECK(fetch(t.port(), "127.0.4.1", path, forged).status == 200);  // only the client's: the proxy's key
  }
  const auto status = testing::get(t.port(), "/status")->body;
  CAPTURE(status.substr(status.find("\"clients_pinned\""), 40));
  CHECK(status.find("\"clients_pinned\":2") != std::string::npos);  // 192.0.2.9 and 127.0.4.1
}

TEST_CASE("a state download longer than the window, then the block: the block of the same anchor") {
  leanpoint::SiteOptions r;
  r.pin_window_ms = 1000;
  TestServer t(testing::test_server_options(), r);
  t.publish_anchor(24 << 20, 1000, 96);
  const int fd = testing::connect_to(t.port(), 64 << 10, "127.0.3.7");
  REQUIRE(fd >= 0);
  testing::send_all(fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  char buf[64 << 10];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // the answer has begun: slot 96's state
  REQUIRE(n > 0);
  CHECK(std::string(buf, static_cast<size_t>(n)).find("X-Leanpoint-Slot: 96") != std::string::npos);
  t.publish_anchor(64 << 10, 1000, 100);  // current for new clients from now on
  // Read at about 8 MB/s: some 3 s, the last 1-2 s of it after the server
  // has handed the last byte to the socket.
  size_t total = static_cast<size_t>(n);
  const auto start = std::chrono::steady_clock::now();
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0 && std::chrono::steady_clock::now() - start < 30s) {
    total += static_cast<size_t>(n);
    std::this_thread::sleep_for(std::chrono::microseconds(static_cast<size_t>(n) / 8));
  }
  ::close(fd);
  CHECK(total > (24u << 20));
  CHECK(std::chrono::steady_clock::now() - start > 2s);  // well past the window
  CHECK(fetch(t.port(), "127.0.3.7", "/lean/v0/blocks/finalized").header("X-Leanpoint-Slot") == "96");
  CHECK(fetch(t.port(), "127.0.3.8", "/lean/v0/blocks/finalized").header("X-Leanpoint-Slot") == "100");
}
