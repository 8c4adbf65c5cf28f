// The binary with --data-dir: a client that got the first half of its pair
// from one process gets the matching second half from the next, after a
// SIGTERM or a kill -9 and a restart on the same port and directory while
// finality has moved on (pin_store.h, pins.h); and the directory's lock is
// handed over whichever process goes first.
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "exit_codes.h"
#include "pair_client.h"
#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using testing::Clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::string kState = "/lean/v0/states/finalized", kBlock = "/lean/v0/blocks/finalized";

// A simulated devnet whose finality moves every second (4 slots of 250 ms).
struct Sim {
  explicit Sim(const testing::TempDir& dir)
      : upstreams(dir.path() + "/upstreams.json"),
        process({testing::sim_bin(), "--nodes", "3", "--base-port", "0", "--slot-ms", "250", "--validators", "64",
                 "--upstreams-out", upstreams}) {
    REQUIRE(process.wait_for_stdout("ready:", Clock::now() + 10s));
  }
  std::string upstreams;
  testing::Subprocess process;
};

// A window of 16 s: `current` may change every 2 s, so a new client soon
// gets a newer anchor than the pinned one.
std::vector<std::string> argv(const std::string& upstreams, uint16_t port, const std::string& data,
                              const std::string& wait_ms = "15000") {
  return {testing::leanpoint_bin(),
          "--upstreams-config",
          upstreams,
          "--bind",
          "127.0.0.1",
          "--port",
          std::to_string(port),
          "--poll-ms",
          "100",
          "--timeout-ms",
          "80",
          "--pin-window-ms",
          "16000",
          "--data-dir",
          data,
          "--data-dir-wait-ms",
          wait_ms};
}

bool ready(uint16_t port, std::chrono::milliseconds within) {
  const auto until = Clock::now() + within;
  do {
    if (auto r = testing::get(port, "/readyz"); r && r->status == 200) return true;
    std::this_thread::sleep_for(20ms);
  } while (Clock::now() < until);
  return false;
}

uint64_t slot_of(const testing::Reply& r) {
  const std::string s = r.header("X-Leanpoint-Slot");
  return s.empty() ? 0 : std::stoull(s);
}

// Until a client never seen before is served an anchor newer than `slot`:
// finality has moved on, and a client without its pin would get a mismatch.
bool moved_past(uint16_t port, uint64_t slot, std::chrono::milliseconds within) {
  const auto until = Clock::now() + within;
  for (int i = 0; Clock::now() < until; ++i) {
    const auto r = testing::fetch(port, "127.0.1." + std::to_string(1 + i % 250), kState);
    if (r.status == 200 && slot_of(r) > slot) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

// The second half matches the first: one checkpoint, one state root.
void check_pair(const testing::Reply& first, const testing::Reply& second) {
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  CHECK(slot_of(second) == slot_of(first));
  CHECK(second.header("X-Leanpoint-Block-Root") == first.header("X-Leanpoint-Block-Root"));
  CHECK(second.header("X-Leanpoint-State-Root") == first.header("X-Leanpoint-State-Root"));
}

}  // namespace

namespace {

// The old process gives the client the first half, finality moves on, the
// old process is ended by `sig`, a new one starts on the same port and
// directory, and the client asks for the second half.
void restart_between_halves(int sig, bool state_first) {
  testing::TempDir tmp;
  const std::string data = tmp.path() + "/data";
  Sim sim(tmp);
  const uint16_t port = testing::free_port();
  const std::string client = "127.0.0.23";
  testing::Reply first;
  {
    testing::Subprocess old(argv(sim.upstreams, port, data));
    REQUIRE(ready(port, 15s));
    first = testing::fetch(port, client, state_first ? kState : kBlock);
    REQUIRE(first.status == 200);
    // A client without its pin would now get another anchor.
    REQUIRE(moved_past(port, slot_of(first), 15s));
    old.send_signal(sig);
    CHECK(old.wait(Clock::now() + 10s) == (sig == SIGKILL ? 128 + SIGKILL : leanpoint::kExitOk));
  }
  testing::Subprocess next(argv(sim.upstreams, port, data));
  CHECK(next.wait_for_stderr("pin(s)", Clock::now() + 10s));  // "restored N pin(s) ..."
  REQUIRE(ready(port, 15s));
  check_pair(first, testing::fetch(port, client, state_first ? kBlock : kState));
  CHECK(moved_past(port, slot_of(first), 15s));  // new clients are served what is new
  size_t pinned = 0;
  for (const auto& e : fs::directory_iterator(data)) pinned += e.path().filename().string().rfind("pinned.", 0) == 0;
  CHECK(pinned >= 1);
  CHECK(pinned <= 33);
}

}  // namespace

TEST_CASE("SIGTERM between the two halves of a pair, restarted while finality moves: the pair matches") {
  SUBCASE("state first") { restart_between_halves(SIGTERM, true); }
  SUBCASE("block first") { restart_between_halves(SIGTERM, false); }
}

TEST_CASE("kill -9 between the two halves of a pair, restarted while finality moves: the pair matches") {
  SUBCASE("state first") { restart_between_halves(SIGKILL, true); }
  SUBCASE("block first") { restart_between_halves(SIGKILL, false); }
}

TEST_CASE("the lock handed over: a start while the old process still runs waits for it, then restores its pins") {
  testing::TempDir tmp;
  const std::string data = tmp.path() + "/data";
  Sim sim(tmp);
  const uint16_t port = testing::free_port();
  const std::string client = "127.0.0.24";
  testing::Subprocess old(argv(sim.upstreams, port, data));
  REQUIRE(ready(port, 15s));
  const auto first = testing::fetch(port, client, kState);
  REQUIRE(first.status == 200);

  SUBCASE("no wait: the second one is refused at once, exit 2, and the first serves on") {
    testing::Subprocess refused(argv(sim.upstreams, port, data, "0"));
    CHECK(refused.wait(Clock::now() + 10s) == leanpoint::kExitUsage);
    CHECK(refused.err().find("in use by another leanpoint") != std::string::npos);
    CHECK(testing::fetch(port, client, kBlock).status == 200);
  }
  SUBCASE("started first, the old one stopped after: it waits, then takes over") {
    testing::Subprocess next(argv(sim.upstreams, port, data, "20000"));
    REQUIRE(next.wait_for_stderr("waiting up to 20000 ms", Clock::now() + 10s));
    REQUIRE(moved_past(port, slot_of(first), 15s));
    old.send_signal(SIGTERM);  // its last records written, then the lock released
    CHECK(old.wait(Clock::now() + 10s) == leanpoint::kExitOk);
    CHECK(old.err().find("--data-dir: written and released") != std::string::npos);
    REQUIRE(next.wait_for_stderr("the lock is ours now", Clock::now() + 10s));
    REQUIRE(ready(port, 15s));
    check_pair(first, testing::fetch(port, client, kBlock));
  }
}

TEST_CASE("kill -9 the moment 30 clients have their first halves: every one gets the matching second half after") {
  testing::TempDir tmp;
  const std::string data = tmp.path() + "/data";
  Sim sim(tmp);
  const uint16_t port = testing::free_port();
  const int kClients = 30;
  std::vector<testing::Reply> first(kClients);
  auto source = [](int i) { return "127.0.2." + std::to_string(i + 1); };
  auto state_first = [](int i) { return i % 2 == 0; };
  {
    testing::Subprocess old(argv(sim.upstreams, port, data));
    REQUIRE(ready(port, 15s));
    std::vector<std::thread> fetches;
    for (int i = 0; i < kClients; ++i)
      fetches.emplace_back([&, i] { first[i] = testing::fetch(port, source(i), state_first(i) ? kState : kBlock); });
    for (auto& f : fetches) f.join();
    old.send_signal(SIGKILL);  // no grace: the records were written as the responses started
    CHECK(old.wait(Clock::now() + 10s) == 128 + SIGKILL);
  }
  testing::Subprocess next(argv(sim.upstreams, port, data));
  REQUIRE(ready(port, 15s));
  uint64_t newest = 0;
  for (const auto& r : first) newest = std::max(newest, slot_of(r));
  REQUIRE(moved_past(port, newest, 15s));
  for (int i = 0; i < kClients; ++i) {
    CAPTURE(i);
    check_pair(first[i], testing::fetch(port, source(i), state_first(i) ? kBlock : kState));
  }
}
