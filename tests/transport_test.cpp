// The transport's promises under hostile or unusual clients (issue 17):
// every pipelined request goes through its route's pool; one response per
// head; If-Range; a probe reserve that idle clients cannot hold; a listener
// that survives transient accept errors and ends the process when it stops.
#include <filesystem>
#include <thread>

#include "fds.h"
#include "gate.h"
#include "ports.h"
#include "sanitizers.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::get;
using testing::TestServer;

namespace {

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Sends `request` on a new connection and reads until the server closes it
// (or 3 s pass); `closed` says whether the server closed it.
std::string exchange(uint16_t port, const std::string& request, bool& closed, const std::string& source = "") {
  const int fd = testing::connect_to(port, 0, source);
  testing::send_all(fd, request);
  const auto start = std::chrono::steady_clock::now();
  std::string reply = testing::read_until_close(fd, 3000);
  closed = std::chrono::steady_clock::now() - start < 2500ms;
  ::close(fd);
  return reply;
}

// A GET of `path` on a new connection, answered within `limit`, or "".
std::string ask_within(uint16_t port, const std::string& path, std::chrono::milliseconds limit,
                       const std::string& source = "") {
  const int fd = testing::connect_to(port, 0, source);
  if (fd < 0) return "";
  testing::send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string reply = testing::read_until_close(fd, static_cast<int>(limit.count()));
  ::close(fd);
  return reply;
}

}  // namespace

TEST_CASE("pipelining: a download pipelined behind /healthz takes an artifact worker, never an api worker") {
  testing::TempDir dir;
  dir.write("big.bin", std::string(32 << 20, 'x'));
  auto o = testing::test_server_options();
  o.gate.stall_timeout_ms = 30000;  // the readers below stall; they must not be cut off first
  leanpoint::SiteOptions r;
  r.static_dir = std::filesystem::canonical(dir.path()).string();
  TestServer t(o, r);
  // As many connections as api workers, each a probe then a big file, read
  // by nobody: a static file holds its worker while the socket is full.
  std::vector<int> slow;
  for (size_t i = 0; i < o.api_workers; ++i) {
    const int fd = testing::connect_to(t.port(), 4096);
    testing::send_all(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
    slow.push_back(fd);
  }
  // Before the fix the downloads held the api workers (cpp-httplib read the
  // pipelined request on the worker that answered the probe).
  const auto by = std::chrono::steady_clock::now() + 5s;
  while (t.server().artifact_pool().active() < o.api_workers && std::chrono::steady_clock::now() < by)
    std::this_thread::yield();
  CHECK(t.server().artifact_pool().active() == o.api_workers);
  for (const std::string probe : {"/livez", "/readyz", "/healthz"}) {
    CAPTURE(probe);
    const std::string reply = ask_within(t.port(), probe, 2000ms);
    CHECK(reply.rfind("HTTP/1.1 ", 0) == 0);  // answered (/readyz and /healthz: 503, no anchor)
  }
  const auto idle_by = std::chrono::steady_clock::now() + 5s;
  while (t.server().api_pool().active() > 0 && std::chrono::steady_clock::now() < idle_by) std::this_thread::yield();
  CHECK(t.server().api_pool().active() == 0);
  for (int fd : slow) ::close(fd);
}

TEST_CASE("one response per head: what cpp-httplib would refuse is refused first, once, and the connection closed") {
  TestServer t;
  t.publish_anchor(1000);
  struct Case {
    std::string name, request, status;
  };
  const std::vector<Case> cases = {
      {"two '?' in the target", "GET /healthz?a?b HTTP/1.1\r\nHost: x\r\nX-After: y\r\n\r\n", "400"},
      {"a fragment", "GET /healthz#x HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
      {"a header line over 8 KiB", "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(8200, 'a') + "\r\nHost: x\r\n\r\n",
       "431"},
      {"a request line over 8 KiB", "GET /healthz?" + std::string(8200, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", "414"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    bool closed = false;
    const std::string reply = exchange(t.port(), c.request, closed);
    CAPTURE(reply);
    CHECK(reply.rfind("HTTP/1.1 " + c.status, 0) == 0);
    CHECK(count_of(reply, "HTTP/1.1 ") == 1);
    CHECK(closed);
  }
  // Just under cpp-httplib's limits: answered, and kept open.
  const int fd = testing::connect_to(t.port());
  testing::send_all(fd, "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(8192 - 11, 'a') +
                            "\r\nHost: x\r\n\r\nGET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string both = testing::read_until_close(fd, 3000);
  ::close(fd);
  CHECK(count_of(both, "HTTP/1.1 200") == 2);
}

TEST_CASE("one response per head: Expect: 100-continue on a request without a body gets no interim response") {
  TestServer t;
  t.publish_anchor(1000);
  for (const std::string version : {"HTTP/1.1", "HTTP/1.0"}) {
    CAPTURE(version);
    bool closed = false;
    const std::string reply = exchange(
        t.port(), "GET /livez " + version + "\r\nHost: x\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", closed);
    CAPTURE(reply);
    CHECK(reply.find(" 100 ") == std::string::npos);
    CHECK(count_of(reply, "HTTP/1.1 ") == 1);
    CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
  }
}

TEST_CASE("If-Range: a Range is honoured only for the current strong ETag; a resumed download never splices") {
  leanpoint::SiteOptions site;
  site.pin_window_ms = 0;  // every request gets the newest anchor
  TestServer t(testing::test_server_options(), site);
  const auto first = t.publish_anchor(100000, 1000, 96);
  const std::string old_tag = "\"" + leanpoint::to_hex(first->state_root) + "\"";
  const std::string path = "/lean/v0/states/finalized";
  auto r = get(t.port(), path, {{"Range", "bytes=1000-"}, {"If-Range", old_tag}});
  REQUIRE(r);
  CHECK(r->status == 206);
  CHECK(r->body.size() == 99000);
  // The anchor moves on: the same resumption gets the new state whole.
  const auto second = t.publish_anchor(100000, 1000, 160);
  r = get(t.port(), path, {{"Range", "bytes=1000-"}, {"If-Range", old_tag}});
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == std::string(second->state->begin(), second->state->end()));
  const std::string new_tag = "\"" + leanpoint::to_hex(second->state_root) + "\"";
  for (const std::string& if_range : {"W/" + new_tag, std::string("Wed, 21 Oct 2015 07:28:00 GMT"), std::string("*")}) {
    CAPTURE(if_range);
    r = get(t.port(), path, {{"Range", "bytes=1000-"}, {"If-Range", if_range}});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body.size() == 100000);
  }
  r = get(t.port(), path, {{"Range", "bytes=1000-"}, {"If-Range", new_tag}});
  REQUIRE(r);
  CHECK(r->status == 206);
  CHECK(r->body == std::string(second->state->begin() + 1000, second->state->end()));
}

TEST_CASE("the probe reserve: a client holding reserve connections idle does not stop /livez") {
  auto o = testing::test_server_options();
  o.gate.max_connections = 4;
  o.gate.head_timeout_ms = 30000;  // the ordinary deadline; the reserve's own is short
  const size_t fds = testing::open_fds();
  {
    TestServer t(o);
    t.publish_anchor(1000);
    auto wait_open = [&](size_t open) {
      const auto by = std::chrono::steady_clock::now() + 5s;
      while (static_cast<size_t>(t.stats().connections_open.load()) < open && std::chrono::steady_clock::now() < by)
        std::this_thread::yield();
    };
    std::vector<int> held;
    for (int i = 0; i < 4; ++i) held.push_back(testing::connect_to(t.port(), 0, "127.0.1.1"));
    wait_open(4);
    // One client takes as many reserve connections as it can, and idles.
    std::vector<int> hog;
    for (size_t i = 0; i < leanpoint::kProbeReserve; ++i) hog.push_back(testing::connect_to(t.port(), 0, "127.0.1.2"));
    const std::string livez = ask_within(t.port(), "/livez", 2000ms, "127.0.1.3");
    CAPTURE(livez);
    CHECK(livez.rfind("HTTP/1.1 200", 0) == 0);
    // Past its share, refused at once; its reserve connections closed within
    // the reserve's short deadline, not --head-timeout-ms.
    const auto start = std::chrono::steady_clock::now();
    for (const int fd : hog) CHECK(testing::read_until_close(fd, 10000).find("HTTP/1.1 200") == std::string::npos);
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    for (int fd : hog) ::close(fd);
    for (int fd : held) ::close(fd);
  }
  CHECK(testing::open_fds() == fds);
}

namespace {

// leanpoint on a free port with the accept fault injector preloaded.
// env(1) sets the variables, replacing the test's own ASAN_OPTIONS: the
// injector comes before the sanitizer runtimes in the load order.
std::string asan_options() {
  const char* inherited = std::getenv("ASAN_OPTIONS");
  return std::string(inherited ? inherited : "") + ":verify_asan_link_order=0";
}

struct Faulty {
  explicit Faulty(const std::string& faults)
      : port(testing::free_port()),
        process({"/usr/bin/env", "LD_PRELOAD=" + std::string(std::getenv("LEANPOINT_ACCEPT_FAULTS_LIB")),
                 "LEANPOINT_TEST_ACCEPT_FAULTS=" + faults, "ASAN_OPTIONS=" + asan_options(), testing::leanpoint_bin(),
                 "--upstream", "a=http://127.0.0.1:1", "--bind", "127.0.0.1", "--port", std::to_string(port)}) {}
  uint16_t port;
  testing::Subprocess process;
};

}  // namespace

TEST_CASE("the listener: transient accept errors are retried and counted; the connection waiting is served") {
  Faulty lp("ENOBUFS,EPROTO,ENFILE,ECONNABORTED,ENOMEM,EPERM");
  REQUIRE(lp.process.wait_for_stderr("ready; waiting for SIGINT or SIGTERM", testing::Clock::now() + 10s));
  const auto start = std::chrono::steady_clock::now();
  auto r = get(lp.port, "/livez");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(std::chrono::steady_clock::now() - start < 2s);
  r = get(lp.port, "/metrics");
  REQUIRE(r);
  CHECK(r->body.find("\nleanpoint_accept_resource_errors_total 3\n") != std::string::npos);
  CHECK(r->body.find("\nleanpoint_accept_connection_errors_total 3\n") != std::string::npos);
  lp.process.send_signal(SIGTERM);
  CHECK(lp.process.wait(testing::Clock::now() + 10s) == 0);
}

TEST_CASE("the listener: one that stops is logged and the process exits 1, for its supervisor to restart") {
  Faulty lp("EINVAL");
  REQUIRE(lp.process.wait_for_stderr("ready; waiting for SIGINT or SIGTERM", testing::Clock::now() + 10s));
  // A connection wakes the accept that fails.
  const int fd = testing::connect_to(lp.port);
  const int status = lp.process.wait(testing::Clock::now() + 10s);
  if (fd >= 0) ::close(fd);
  CAPTURE(lp.process.err());
  CHECK(status == 1);
  CHECK(lp.process.err().find("stopped accepting connections") != std::string::npos);
}
