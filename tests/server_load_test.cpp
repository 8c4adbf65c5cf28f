// The two incidents leanpoint is built against, replayed on 127.0.0.1:
// clients that stop reading are cut by the stall rule (slow ones that keep
// reading are not), and slowloris heads plus stalled downloads never keep
// /healthz from answering quickly. Also curl and slowhttptest as clients.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fd_usage.h"
#include "fds.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::TestServer;

namespace {

// One /healthz request on a new connection; returns its duration, or -1ms if
// it did not answer 200.
std::chrono::milliseconds probe(uint16_t port) {
  const auto start = Clock::now();
  const int fd = testing::connect_to(port);
  if (fd < 0) return -1ms;
  testing::send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string reply = testing::read_until_close(fd, 5000);
  ::close(fd);
  if (reply.rfind("HTTP/1.1 200", 0) != 0) return -1ms;
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

struct ProbeReport {
  int sent = 0, ok = 0;
  std::chrono::milliseconds worst{0};
};

// Probes every 200 ms for `duration`.
ProbeReport probe_for(uint16_t port, std::chrono::milliseconds duration) {
  ProbeReport r;
  const auto end = Clock::now() + duration;
  auto next = Clock::now();
  while (Clock::now() < end) {
    const auto took = probe(port);
    ++r.sent;
    if (took >= 0ms) {
      ++r.ok;
      r.worst = std::max(r.worst, took);
    }
    next += 200ms;
    std::this_thread::sleep_until(next);  // pacing the probes, not synchronisation
  }
  return r;
}

}  // namespace

TEST_CASE("a client that stops reading mid-download is cut within the stall window + 1 s; its fd released") {
  const size_t fds = testing::open_fds();
  {
    auto o = testing::test_server_options();
    o.gate.stall_timeout_ms = 1000;
    TestServer t(o);
    t.publish_anchor(32 << 20);
    const int fd = testing::connect_to(t.port(), 4096);
    const auto start = Clock::now();
    testing::send_all(fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n");
    // The server fills the socket buffers, then nothing moves: it resets.
    CHECK(testing::wait_reset(fd, 10000));
    const auto took = Clock::now() - start;
    CHECK(took >= 1000ms);
    CHECK(took < 1000ms + 1000ms);
    ::close(fd);
    CHECK(t.stats().get(leanpoint::Counter::stalled) == 1);
  }
  CHECK(testing::open_fds() == fds);
}

TEST_CASE("a slow client that keeps reading (64 KiB/s) is never cut off") {
  auto o = testing::test_server_options();
  o.gate.stall_timeout_ms = 1000;
  TestServer t(o);
  const auto anchor = t.publish_anchor(512 << 10);
  const int fd = testing::connect_to(t.port(), 4096);
  testing::send_all(fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string got;
  char buf[4096];
  auto next = Clock::now();
  const auto give_up = Clock::now() + 60s;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);  // at most 4 KiB ...
    if (n <= 0 || Clock::now() > give_up) break;
    got.append(buf, static_cast<size_t>(n));
    next += 62ms;  // ... every 62 ms: 64 KiB/s
    std::this_thread::sleep_until(next);
  }
  ::close(fd);
  const size_t body = got.find("\r\n\r\n") + 4;
  CHECK(got.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(got.size() - body == anchor->state->size());
  CHECK(got.substr(body) == std::string(anchor->state->begin(), anchor->state->end()));
  CHECK(t.stats().get(leanpoint::Counter::stalled) == 0);
}

TEST_CASE("a slow reader behind a large send queue is not cut: progress is bytes acknowledged") {
  // With the client's default (large) receive buffer the server's send queue
  // grows to megabytes, and POLLOUT waits for half of it to drain: at under
  // 320 KiB/s that is longer than the stall window. The client is still
  // accepting bytes.
  // The client reads every 200 ms; its window reopens (and the server sees
  // bytes acknowledged) only every second or third read, so the stall window
  // is kept well above that, with room for a loaded CI machine.
  auto o = testing::test_server_options();
  o.gate.stall_timeout_ms = 1500;
  TestServer t(o);
  t.publish_anchor(64 << 20);
  const int fd = testing::connect_to(t.port());
  testing::send_all(fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n");
  std::vector<char> buf(64 << 10);
  size_t got = 0;
  auto next = Clock::now();
  const auto until = Clock::now() + 5s;
  while (Clock::now() < until) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN)) break;
    if (n > 0) got += static_cast<size_t>(n);
    next += 200ms;  // at most 64 KiB every 200 ms
    std::this_thread::sleep_until(next);
  }
  CHECK(t.stats().get(leanpoint::Counter::stalled) == 0);
  CHECK(got > (512u << 10));
  // Now it stops reading: cut within the window (plus the time to fill the queue).
  CHECK(testing::wait_reset(fd, 10000));
  CHECK(t.stats().get(leanpoint::Counter::stalled) == 1);
  ::close(fd);
}

TEST_CASE("300 slowloris heads and 50 stalled readers: /healthz probes every 200 ms all answer in under 100 ms") {
  leanpoint::raise_fd_limit();
  const size_t fds = testing::open_fds();
  {
    auto o = testing::test_server_options();
    o.gate.head_timeout_ms = 10000;  // the defaults
    o.gate.stall_timeout_ms = 10000;
    o.artifact_workers = 8;
    o.api_workers = 2;
    TestServer t(o);
    t.publish_anchor(32 << 20);

    std::vector<int> loris, stalled;
    for (int i = 0; i < 300; ++i) {
      const int fd = testing::connect_to(t.port());
      REQUIRE(fd >= 0);
      testing::send_all(fd, "GET /status HTTP/1.1\r\n");
      loris.push_back(fd);
    }
    for (int i = 0; i < 50; ++i) {
      const int fd = testing::connect_to(t.port(), 4096);
      REQUIRE(fd >= 0);
      testing::send_all(fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\n\r\n");
      stalled.push_back(fd);
    }
    // One header byte per connection every 4 s, for as long as the probes run.
    std::atomic<bool> done{false};
    std::thread trickle([&] {
      while (!done) {
        for (int fd : loris) ::send(fd, "X", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        for (int i = 0; i < 40 && !done; ++i) std::this_thread::sleep_for(100ms);
      }
    });
    const ProbeReport r = probe_for(t.port(), 6000ms);
    done = true;
    trickle.join();
    MESSAGE("probes: ", r.ok, "/", r.sent, " ok, worst ", r.worst.count(), " ms; connections open ",
            t.stats().connections_open.load(), ", artifact workers busy ", t.server().artifact_pool().active(),
            ", queued ", t.server().artifact_pool().queued(), ", shed ", t.stats().get(leanpoint::Counter::shed),
            ", head timeouts ", t.stats().get(leanpoint::Counter::head_timeouts), ", too large ",
            t.stats().get(leanpoint::Counter::heads_too_large), ", accepted ",
            t.stats().get(leanpoint::Counter::connections));
    CHECK(r.sent >= 25);
    CHECK(r.ok == r.sent);
    CHECK(r.worst < 100ms);
    CHECK(t.stats().connections_open.load() >= 340);  // the attackers were all still connected
    for (int fd : loris) ::close(fd);
    for (int fd : stalled) ::close(fd);
  }
  CHECK(testing::open_fds() == fds);
}

TEST_CASE("curl downloads the anchor, and a range of it") {
  REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/curl"), "curl missing: scripts/setup installs it");
  TestServer t;
  const auto a = t.publish_anchor(3 << 20);
  testing::TempDir dir;
  const std::string url = "http://127.0.0.1:" + std::to_string(t.port()) + "/lean/v0/states/finalized";
  auto r = testing::run(
      {"/usr/bin/curl", "-sS", "-f", "-H", "Accept: application/octet-stream", "-o", dir.path() + "/s.ssz", url});
  CHECK(r.status == 0);
  std::ifstream in(dir.path() + "/s.ssz", std::ios::binary);
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(file == std::string(a->state->begin(), a->state->end()));
  r = testing::run({"/usr/bin/curl", "-sS", "-f", "-r", "0-9", url});
  CHECK(r.out == std::string(a->state->begin(), a->state->begin() + 10));
  r = testing::run({"/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-r", "99999999-", url});
  CHECK(r.out == "416");
}

TEST_CASE("slowhttptest -H and -X for 10 s each: /healthz keeps answering") {
  REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/slowhttptest"), "slowhttptest missing: scripts/setup installs it");
  leanpoint::raise_fd_limit();
  auto o = testing::test_server_options();
  o.gate.head_timeout_ms = 10000;
  o.gate.stall_timeout_ms = 10000;
  o.artifact_workers = 8;
  TestServer t(o);
  t.publish_anchor(8 << 20);
  testing::TempDir dir;
  const std::string base = "http://127.0.0.1:" + std::to_string(t.port());
  const std::vector<std::vector<std::string>> attacks = {
      {"/usr/bin/slowhttptest", "-H", "-c", "200", "-r", "100", "-i", "2", "-l", "10", "-p", "2", "-u",
       base + "/status"},
      {"/usr/bin/slowhttptest",
       "-X",
       "-c",
       "200",
       "-r",
       "100",
       "-l",
       "10",
       "-p",
       "2",
       "-k",
       "2",
       "-n",
       "3",
       "-w",
       "16",
       "-y",
       "32",
       "-z",
       "1",
       "-u",
       base + "/lean/v0/states/finalized"},
  };
  for (auto argv : attacks) {
    CAPTURE(argv[1]);
    argv.insert(argv.end(), {"-g", "-o", dir.path() + "/report" + argv[1]});
    testing::Subprocess attack(argv);
    // slowhttptest ramps up its connections over two seconds.
    std::this_thread::sleep_for(2s);  // pacing the attack, not synchronisation
    const ProbeReport r = probe_for(t.port(), 6000ms);
    MESSAGE("slowhttptest ", argv[1], ": probes ", r.ok, "/", r.sent, " ok, worst ", r.worst.count(),
            " ms; connections open ", t.stats().connections_open.load());
    CHECK(r.ok == r.sent);
    CHECK(r.worst < 100ms);
    CHECK(attack.wait(Clock::now() + 30s) >= 0);
  }
}
