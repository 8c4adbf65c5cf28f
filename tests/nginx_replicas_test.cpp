// contrib/nginx/leanpoint-replicas.conf, as shipped, in front of two scripted
// replicas: "one" has a state but answers 503 for its block (its pinned
// anchor has none yet, or it is starting), "two" serves both. A client that
// hashes to "one" must get one's 503 for its block, never two's block (a
// mismatched pair), and one's 503s must not mark it down (the client's next
// state still comes from one). A replica that refuses connections is
// skipped: the client got nothing from it, so the retry is safe.
#include <filesystem>

#include "ports.h"
#include "replicas_nginx.h"
#include "scripted_server.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::Clock;
namespace fs = std::filesystem;
namespace sim = leanpoint::sim;

namespace {

using testing::kNginx;
const std::string kState = "/lean/v0/states/finalized";
const std::string kBlock = "/lean/v0/blocks/finalized";

// A replica whose state body names it, and whose block is `block_status`.
sim::ScriptedServer::Handler replica(const std::string& name, int block_status) {
  return [name, block_status](const std::string& target, const std::string&) {
    if (target == kBlock && block_status != 200) return sim::respond(block_status, "text/plain", "no block yet\n");
    if (target == kBlock) return sim::respond(200, "application/octet-stream", "block-of-" + name);
    if (target == kState) return sim::respond(200, "application/octet-stream", "state-of-" + name);
    return sim::respond(200, "text/plain", "ok");
  };
}

struct Answer {
  int status = 0;
  std::string body;
};

// GET `path` through nginx from the client address `source`.
Answer get_from(uint16_t port, const std::string& source, const std::string& path) {
  const int fd = testing::connect_to(port, 0, source);
  if (fd < 0) return {};
  testing::send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string raw = testing::read_until_close(fd, 5000);
  ::close(fd);
  Answer a;
  if (raw.rfind("HTTP/1.1 ", 0) == 0) a.status = std::atoi(raw.c_str() + 9);
  const size_t end = raw.find("\r\n\r\n");
  if (end != std::string::npos) a.body = raw.substr(end + 4);
  return a;
}

// nginx with the contrib file, its replicas at `one` and `two`, listening on `front`.
std::unique_ptr<testing::Subprocess> start_nginx(const testing::TempDir& dir, uint16_t front, uint16_t one,
                                                 uint16_t two) {
  auto nginx = std::make_unique<testing::Subprocess>(testing::replicas_nginx(dir, front, one, two));
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until && get_from(front, "127.0.0.1", "/healthz").status == 0)
    std::this_thread::sleep_for(20ms);
  return nginx;
}

// A client address that nginx's hash sends to the replica whose state is `state`.
std::optional<std::string> client_of(uint16_t front, const std::string& state) {
  for (int i = 1; i <= 64; ++i) {
    const std::string source = "127.0.1." + std::to_string(i);
    if (get_from(front, source, kState).body == state) return source;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("nginx recipe: a replica's 503 for a block reaches the client; 503s never mark it down") {
  if (!fs::exists(kNginx)) {
    MESSAGE("skipped: nginx missing (scripts/setup --test installs nginx-light)");
    return;
  }
  testing::TempDir dir;
  sim::ScriptedServer one(replica("one", 503)), two(replica("two", 200));
  const uint16_t front = testing::free_port();
  const auto nginx = start_nginx(dir, front, one.port(), two.port());
  const auto client = client_of(front, "state-of-one");
  REQUIRE_MESSAGE(client, "no client address among 64 hashed to replica one");

  // More 503s than any max_fails, each answered by one itself.
  for (int i = 0; i < 10; ++i) {
    CAPTURE(i);
    const Answer block = get_from(front, *client, kBlock);
    CHECK(block.status == 503);
    CHECK(block.body == "no block yet\n");  // not two's block: that would not match one's state
  }
  // Still one's client: not marked down, not moved mid-pair.
  CHECK(get_from(front, *client, kState).body == "state-of-one");
  // Once one has its block, the pair completes from one.
  one.set_handler(replica("one", 200));
  CHECK(get_from(front, *client, kBlock).body == "block-of-one");
  nginx->send_signal(SIGQUIT);
  CHECK(nginx->wait(Clock::now() + 10s) == 0);
}

TEST_CASE("nginx recipe: a replica that refuses connections is skipped; the client gets the other's answer") {
  if (!fs::exists(kNginx)) {
    MESSAGE("skipped: nginx missing (scripts/setup --test installs nginx-light)");
    return;
  }
  testing::TempDir dir;
  auto one = std::make_unique<sim::ScriptedServer>(replica("one", 200));
  sim::ScriptedServer two(replica("two", 200));
  const uint16_t front = testing::free_port();
  const auto nginx = start_nginx(dir, front, one->port(), two.port());
  const auto client = client_of(front, "state-of-one");
  REQUIRE_MESSAGE(client, "no client address among 64 hashed to replica one");
  one.reset();  // its port now refuses: nothing was sent, so a retry is safe
  CHECK(get_from(front, *client, kState).body == "state-of-two");
  CHECK(get_from(front, *client, kBlock).body == "block-of-two");
  nginx->send_signal(SIGQUIT);
  CHECK(nginx->wait(Clock::now() + 10s) == 0);
}
