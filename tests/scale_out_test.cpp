// contrib/nginx/leanpoint-replicas.conf: two leanpoint replicas behind nginx
// (hash $remote_addr consistent), a devnet whose finality moves every
// second, and clients from many addresses fetching pairs in all three orders
// through nginx: no pair may mismatch, and both replicas serve someone.
#include <filesystem>
#include <regex>

#include "pair_client.h"
#include "ports.h"
#include "replicas_nginx.h"
#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::Clock;
namespace fs = std::filesystem;

namespace {

using testing::kNginx;

}  // namespace

TEST_CASE("two replicas behind nginx with the contrib configuration: every client's pairs match") {
  REQUIRE_MESSAGE(fs::exists(kNginx), "nginx missing: scripts/setup installs it");
  testing::TempDir dir;
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "3", "--base-port", "0", "--slot-ms", "250", "--start-slot",
                           "400", "--upstreams-out", dir.path() + "/upstreams.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));

  const uint16_t front = testing::free_port(), r1 = testing::free_port(), r2 = testing::free_port();
  std::vector<std::unique_ptr<testing::Subprocess>> replicas;
  for (const uint16_t port : {r1, r2})
    replicas.push_back(std::make_unique<testing::Subprocess>(std::vector<std::string>{
        testing::leanpoint_bin(), "--upstreams-config", dir.path() + "/upstreams.json", "--bind", "127.0.0.1", "--port",
        std::to_string(port), "--poll-ms", "250", "--timeout-ms", "200", "--trusted-proxies", "127.0.0.1"}));

  // The contrib file as shipped, with this test's ports.
  testing::Subprocess nginx(testing::replicas_nginx(dir, front, r1, r2));

  // Ready once both replicas serve a pair through nginx.
  const auto ready_by = Clock::now() + 20s;
  for (const uint16_t port : {r1, r2})
    while (Clock::now() < ready_by && !testing::get(port, "/readyz")) std::this_thread::sleep_for(50ms);
  while (Clock::now() < ready_by && (!testing::get(r1, "/readyz") || testing::get(r1, "/readyz")->status != 200 ||
                                     !testing::get(r2, "/readyz") || testing::get(r2, "/readyz")->status != 200))
    std::this_thread::sleep_for(50ms);
  REQUIRE(testing::get(front, "/readyz"));

  // 24 clients, each from its own address, 4 s of pairs each, the anchor
  // moving every second; a pause between the two requests of a pair.
  std::vector<std::future<std::pair<int, int>>> clients;
  for (int i = 0; i < 24; ++i)
    clients.push_back(std::async(std::launch::async, [front, i] {
      const std::string source = "127.0.7." + std::to_string(10 + i);
      int pairs = 0, bad = 0;
      for (const auto until = Clock::now() + 4s; Clock::now() < until; ++pairs)
        bad += !testing::pair_matches(front, source, static_cast<testing::Order>(i % 3), 150ms);
      return std::pair{pairs, bad};
    }));
  int pairs = 0, bad = 0;
  for (auto& c : clients) {
    const auto [p, b] = c.get();
    pairs += p;
    bad += b;
  }
  MESSAGE(pairs << " pairs through nginx, " << bad << " mismatched or failed");
  CHECK(pairs >= 24);
  CHECK(bad == 0);
  // The hash spread the clients: each replica pinned some of them, by their
  // own addresses (X-Forwarded-For from a trusted proxy), not nginx's.
  for (const uint16_t port : {r1, r2}) {
    const std::string status = testing::get(port, "/status")->body;
    std::smatch m;
    REQUIRE(std::regex_search(status, m, std::regex("\"clients_pinned\":([0-9]+)")));
    CAPTURE(port);
    CHECK(std::stoi(m[1]) >= 1);
    CHECK(std::stoi(m[1]) < 24);
  }
  nginx.send_signal(SIGQUIT);
  CHECK(nginx.wait(Clock::now() + 10s) == 0);
}
