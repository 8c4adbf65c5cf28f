// The server's protocol and limits with real sockets on 127.0.0.1: methods,
// pipelining and keep-alive, the head deadline and cap, pool and connection
// limits, the listen backlog, stopping; descriptors back to their baseline.
#include <filesystem>
#include <thread>

#include "fds.h"
#include "gate.h"
#include "sanitizers.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::get;
using testing::TestServer;

TEST_CASE("GET and HEAD only: 405 with Allow; request bodies refused") {
  TestServer t;
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    CAPTURE(method);
    const int fd = testing::connect_to(t.port());
    testing::send_all(fd, std::string(method) + " /status HTTP/1.1\r\nHost: x\r\n\r\n");
    const std::string reply = testing::read_until_close(fd, 3000);
    ::close(fd);
    CHECK(reply.rfind("HTTP/1.1 405", 0) == 0);
    CHECK(reply.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
  }
  const int fd = testing::connect_to(t.port());
  testing::send_all(fd, "GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
  const std::string reply = testing::read_until_close(fd, 3000);
  ::close(fd);
  CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("pipelined requests are answered in order") {
  TestServer t;
  t.publish_anchor(3000);
  const int fd = testing::connect_to(t.port());
  testing::send_all(fd,
                    "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                    "HEAD /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n"
                    "GET /lean/v0/checkpoints/finalized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string reply = testing::read_until_close(fd, 5000);
  ::close(fd);
  const size_t first = reply.find("HTTP/1.1 200");
  const size_t second = reply.find("HTTP/1.1 200", first + 1);
  const size_t third = reply.find("HTTP/1.1 200", second + 1);
  REQUIRE(third != std::string::npos);
  CHECK(reply.find("\r\n\r\nok\n", first) < second);
  CHECK(reply.find("Content-Length: 3000", second) < third);
  CHECK(reply.find("\"slot\":96", third) != std::string::npos);
}

TEST_CASE("keep-alive: a connection answers request after request") {
  TestServer t;
  t.publish_anchor(3000);
  httplib::Client c("127.0.0.1", t.port());
  c.set_keep_alive(true);
  for (int i = 0; i < 5; ++i) CHECK(c.Get("/healthz")->status == 200);
  CHECK(t.stats().get(leanpoint::Counter::connections) == 1);
}

TEST_CASE("a request head over 16 KiB: 431 and closed; 20 MiB of request line costs no memory") {
  const size_t fds = testing::open_fds();
  {
    TestServer t;
    const int fd = testing::connect_to(t.port());
    testing::send_all(fd, "GET /" + std::string(17000, 'a') + " HTTP/1.1\r\n\r\n");
    CHECK(testing::read_until_close(fd, 3000).rfind("HTTP/1.1 431", 0) == 0);
    ::close(fd);

    const size_t before = testing::rss_bytes();
    const int big = testing::connect_to(t.port());
    const std::string chunk(1 << 20, 'a');
    testing::send_all(big, "GET /");
    size_t sent = 5;
    for (int i = 0; i < 20; ++i) {
      if (!testing::send_all(big, chunk)) break;  // the server has closed: sending fails
      sent += chunk.size();
    }
    ::close(big);
    CHECK(sent < (20u << 20));
    CHECK(t.stats().get(leanpoint::Counter::heads_too_large) == 2);
    if (testing::kThreadSanitizer)
      MESSAGE("RSS bound not checked under ThreadSanitizer (its shadow memory grows with the traffic)");
    else
      CHECK(testing::rss_bytes() < before + (4u << 20));
  }
  CHECK(testing::open_fds() == fds);
}

TEST_CASE("the head deadline: a trickled head gets 408 and is closed; an idle keep-alive just closes") {
  auto o = testing::test_server_options();
  o.gate.head_timeout_ms = 400;
  TestServer t(o);
  const int fd = testing::connect_to(t.port());
  testing::send_all(fd, "GET /status HTTP/1.1\r\nHo");
  const auto start = std::chrono::steady_clock::now();
  const std::string reply = testing::read_until_close(fd, 5000);
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(fd);
  CHECK(reply.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(took >= 350ms);
  CHECK(took < 400ms + 1000ms);
  CHECK(t.stats().get(leanpoint::Counter::head_timeouts) == 1);

  const int idle = testing::connect_to(t.port());
  testing::send_all(idle, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string answered = testing::read_until_close(idle, 3000);  // ends when the idle connection closes
  ::close(idle);
  CHECK(answered.rfind("HTTP/1.1 503", 0) == 0);  // no anchor yet
  CHECK(answered.find("HTTP/1.1 408") == std::string::npos);
}

TEST_CASE("readers that stop reading hold no worker: with one artifact worker, a fourth client is served at once") {
  auto o = testing::test_server_options();
  o.artifact_workers = 1;
  o.queue_per_worker = 1;
  o.gate.stall_timeout_ms = 5000;
  TestServer t(o);
  const auto anchor = t.publish_anchor(32 << 20);
  int stalled[3];
  for (int& fd : stalled) {
    fd = testing::connect_to(t.port(), 4096);
    testing::send_all(fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  // Their responses wait in the gate, by reference to the one shared state.
  const auto by = std::chrono::steady_clock::now() + 5s;
  while ((t.stats().connections_sending < 3 || t.server().artifact_pool().active() > 0) &&
         std::chrono::steady_clock::now() < by)
    std::this_thread::yield();
  CHECK(t.stats().connections_sending == 3);
  CHECK(t.server().artifact_pool().active() == 0);
  const auto start = std::chrono::steady_clock::now();
  const auto r = get(t.port(), "/lean/v0/states/finalized");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.size() == anchor->state->size());
  // Under ThreadSanitizer copying 32 MiB alone takes seconds; the workers'
  // state above already shows that no stalled reader holds one.
  if (!testing::kThreadSanitizer) CHECK(std::chrono::steady_clock::now() - start < 2s);
  CHECK(t.stats().get(leanpoint::Counter::shed) == 0);
  for (int fd : stalled) ::close(fd);
}

TEST_CASE("a full pool answers 503 Retry-After at once and closes (static files still stream from a worker)") {
  testing::TempDir dir;
  dir.write("big.bin", std::string(32 << 20, 'x'));
  auto o = testing::test_server_options();
  o.artifact_workers = 1;
  o.artifact_queue = 1;  // by default as long as the connection limit
  o.gate.stall_timeout_ms = 5000;
  leanpoint::SiteOptions r;
  r.static_dir = std::filesystem::canonical(dir.path()).string();
  TestServer t(o, r);
  // Two clients that do not read: one holds the worker, one waits in the queue.
  const int a = testing::connect_to(t.port(), 4096), b = testing::connect_to(t.port(), 4096);
  testing::send_all(a, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto busy_by = std::chrono::steady_clock::now() + 5s;
  while (t.server().artifact_pool().active() == 0 && std::chrono::steady_clock::now() < busy_by)
    std::this_thread::yield();
  testing::send_all(b, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto queued_by = std::chrono::steady_clock::now() + 5s;
  while (t.server().artifact_pool().queued() == 0 && std::chrono::steady_clock::now() < queued_by)
    std::this_thread::yield();
  const auto start = std::chrono::steady_clock::now();
  const int c = testing::connect_to(t.port());
  testing::send_all(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string reply = testing::read_until_close(c, 3000);
  CHECK(std::chrono::steady_clock::now() - start < 500ms);
  CHECK(reply.rfind("HTTP/1.1 503", 0) == 0);
  CHECK(reply.find("\r\nRetry-After: 1\r\n") != std::string::npos);
  CHECK(t.stats().get(leanpoint::Counter::shed) == 1);
  // The api pool is a different pool: still answering.
  CHECK(get(t.port(), "/healthz")->status == 503);  // answered (no anchor yet)
  for (int fd : {a, b, c}) ::close(fd);
}

TEST_CASE("--max-connections: beyond it, a fast 503, but /livez and /readyz still answer") {
  auto o = testing::test_server_options();
  o.gate.max_connections = 4;
  const size_t fds = testing::open_fds();
  {
    TestServer t(o);
    t.publish_anchor(1000);
    std::vector<int> held;
    auto hold_until = [&](size_t open) {
      // The gate has them once the server counts them open.
      const auto by = std::chrono::steady_clock::now() + 5s;
      while (static_cast<size_t>(t.stats().connections_open.load()) < open && std::chrono::steady_clock::now() < by)
        std::this_thread::yield();
    };
    for (int i = 0; i < 4; ++i) held.push_back(testing::connect_to(t.port()));
    hold_until(4);
    auto ask = [&](const std::string& path) {
      const int extra = testing::connect_to(t.port());
      const auto start = std::chrono::steady_clock::now();
      testing::send_all(extra, "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n");
      const std::string reply = testing::read_until_close(extra, 3000);  // closed after one answer
      CHECK(std::chrono::steady_clock::now() - start < 1s);
      ::close(extra);
      return reply;
    };
    std::string reply = ask("/status");
    CHECK(reply.rfind("HTTP/1.1 503", 0) == 0);
    CHECK(reply.find("too many connections") != std::string::npos);
    reply = ask("/livez");
    CAPTURE(reply);
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(reply.find("\r\n\r\nok\n") != std::string::npos);
    CHECK(ask("/readyz").rfind("HTTP/1.1 200", 0) == 0);
    // The reserve taken too (by as many addresses as it takes: each has a
    // share): refused at once, before any request. The holders send nothing,
    // so they keep their slots only for kProbeHeadTimeout.
    const auto reserve_taken = std::chrono::steady_clock::now();
    for (size_t i = 0; i < leanpoint::kProbeReserve; ++i) {
      const std::string source = "127.0.1." + std::to_string(1 + i / leanpoint::kProbeReservePerClient);
      held.push_back(testing::connect_to(t.port(), 0, source));
    }
    hold_until(4 + leanpoint::kProbeReserve);
    const int beyond = testing::connect_to(t.port());
    const bool reserve_still_held = std::chrono::steady_clock::now() - reserve_taken < leanpoint::kProbeHeadTimeout / 2;
    reply = testing::read_until_close(beyond, 3000);
    if (reserve_still_held)
      CHECK(reply.rfind("HTTP/1.1 503", 0) == 0);
    else  // a slow build (ThreadSanitizer): the holders' slots may have run out
      MESSAGE("the reserve was not filled within half its head timeout here; its refusal not checked");
    ::close(beyond);
    for (int fd : held) ::close(fd);
  }
  CHECK(testing::open_fds() == fds);
}

TEST_CASE("the listener's backlog is not cpp-httplib's 5: bursts of connections are not dropped") {
  const bool have_ss = std::filesystem::exists("/usr/bin/ss") || std::filesystem::exists("/bin/ss");
  REQUIRE_MESSAGE(have_ss, "ss (iproute2) missing: scripts/setup installs it");
  TestServer t;
  // For a listening socket, ss shows the backlog as Send-Q.
  const auto r = testing::run({"/bin/sh", "-c", "ss -Hltn 'sport = :" + std::to_string(t.port()) + "'"});
  std::istringstream fields(r.out);
  std::string state, recv_q, send_q;
  fields >> state >> recv_q >> send_q;
  CAPTURE(r.out);
  CHECK(state == "LISTEN");
  CHECK(std::stoi(send_q) >= 128);
}

TEST_CASE("stop(): returns promptly with clients stalled and heads trickling; descriptors released") {
  const size_t fds = testing::open_fds();
  std::vector<int> clients;
  {
    auto o = testing::test_server_options();
    o.gate.stall_timeout_ms = 30000;
    o.gate.head_timeout_ms = 30000;
    TestServer t(o);
    t.publish_anchor(32 << 20);
    for (int i = 0; i < 3; ++i) {
      const int fd = testing::connect_to(t.port(), 4096);
      testing::send_all(fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n");
      clients.push_back(fd);
    }
    for (int i = 0; i < 5; ++i) {
      const int fd = testing::connect_to(t.port());
      testing::send_all(fd, "GET /sta");
      clients.push_back(fd);
    }
    const auto by = std::chrono::steady_clock::now() + 5s;
    while (t.server().artifact_pool().active() < 3 && std::chrono::steady_clock::now() < by) std::this_thread::yield();
    const auto start = std::chrono::steady_clock::now();
    t.server().stop();
    CHECK(std::chrono::steady_clock::now() - start < 2s);
  }
  for (int fd : clients) ::close(fd);
  CHECK(testing::open_fds() == fds);
}
