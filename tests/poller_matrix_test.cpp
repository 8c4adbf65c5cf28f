// The poller against every fault at once, for 200 rounds, with the upstreams
// in another process (lean-devnet-sim) so this process's descriptor and thread
// counts are the poller's alone: both stay flat, every request ends within
// its deadline + 100 ms with the right kind, the minority fork never wins,
// and the agreed checkpoint follows the honest majority as finality advances.
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include "chain.h"
#include "config.h"
#include "fds.h"
#include "poller.h"
#include "subprocess.h"
#include "testing.h"
#include "upstream_url.h"

using namespace std::chrono_literals;
namespace lean = leanpoint::lean;

namespace {

size_t threads() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// Node i's fault, and what the poller must report for it (nullopt: healthy).
struct Expect {
  const char* fault;
  std::optional<leanpoint::FailureKind> error;
};
const Expect kNodes[] = {
    {"wrong-state", std::nullopt},  // answers fork_choice honestly; its state is refused (first asked)
    {"healthy", std::nullopt},
    {"healthy", std::nullopt},
    {"healthy", std::nullopt},
    {"healthy", std::nullopt},
    {"chunked", std::nullopt},
    {"lag", std::nullopt},
    {"fork", std::nullopt},
    {"fork", std::nullopt},
    {"black-hole", leanpoint::FailureKind::timeout},
    {"syn", leanpoint::FailureKind::connect_timeout},
    {"half-close", leanpoint::FailureKind::truncated},
    {"reset", leanpoint::FailureKind::reset},
    {"drip", leanpoint::FailureKind::timeout},
    {"oversize", leanpoint::FailureKind::too_large},
    {"html", leanpoint::FailureKind::malformed},
    {"garbage", leanpoint::FailureKind::malformed},
    {"short-body", leanpoint::FailureKind::truncated},
};
constexpr size_t kCount = std::size(kNodes);
constexpr auto kTimeout = 150ms;

}  // namespace

TEST_CASE("200 rounds against every fault: flat fds and threads, deadlines kept, the majority followed") {
  std::vector<std::string> argv = {testing::sim_bin(), "--nodes", std::to_string(kCount), "--base-port", "0",
                                   "--slot-ms",        "100",     "--start-slot",         "40"};
  for (size_t i = 0; i < kCount; ++i) argv.push_back("--fault=" + std::to_string(i) + "=" + kNodes[i].fault);
  testing::Subprocess sim(argv);
  REQUIRE(sim.wait_for_stdout("ready:", testing::Clock::now() + 10s));

  // "nodeI_kind URL" lines, then "ready: N nodes, genesis G, ..."
  std::istringstream out(sim.out());
  leanpoint::PollerOptions options;
  std::vector<leanpoint::Upstream> upstreams;
  std::string name, url;
  for (size_t i = 0; i < kCount && out >> name >> url; ++i)
    upstreams.push_back(*leanpoint::parse_upstream_url(name, url, "sim"));
  REQUIRE(upstreams.size() == kCount);
  const uint64_t genesis = std::stoull(sim.out().substr(sim.out().find("genesis ") + 8));
  const leanpoint::sim::Chain canonical(1, genesis, 8), fork(2, genesis, 8);

  options.poll_ms = 1000;
  options.timeout_ms = kTimeout.count();
  options.max_backoff_ms = 30000;
  leanpoint::SnapshotStore store;
  leanpoint::Poller poller(options, upstreams, store);

  poller.run_round();
  const size_t fds_after_first = testing::open_fds();
  const size_t threads_after_first = threads();
  std::set<uint64_t> agreed_slots;
  uint64_t last_agreed = 0;
  size_t over_deadline = 0, fork_wins = 0, backwards = 0, attempts = 0;
  for (int round = 2; round <= 200; ++round) {
    poller.run_round();
    const auto s = store.load();
    CHECK(threads() == threads_after_first);
    for (const auto& row : s->upstreams) {
      if (!row.polled) continue;
      ++attempts;
      // fork_choice, or (for refused anchors) state and block: each under its own deadline.
      if (row.latency_ms > std::chrono::milliseconds(kTimeout + 100ms).count()) ++over_deadline;
    }
    if (const auto& c = s->agreement.checkpoint) {
      if (c->root != canonical.checkpoint_at(c->slot).root) ++fork_wins;
      if (c->root == fork.checkpoint_at(c->slot).root) ++fork_wins;
      if (c->slot < last_agreed) ++backwards;
      last_agreed = c->slot;
      agreed_slots.insert(c->slot);
    }
  }
  CHECK(testing::open_fds() == fds_after_first);
  CHECK(over_deadline == 0);
  CHECK(fork_wins == 0);
  CHECK(backwards == 0);
  CHECK(agreed_slots.size() >= 5);  // finality advanced, and the agreement followed it

  const auto s = store.load();
  REQUIRE(s->agreement.checkpoint);
  REQUIRE(s->anchor);
  CHECK(s->anchor->checkpoint == *s->agreement.checkpoint);
  CHECK(s->anchor->block != nullptr);
  CHECK(*s->anchor->state == canonical.anchor_at(s->anchor->checkpoint.slot)->state);
  // A strict majority of those that answered (finality may move mid-round,
  // splitting the honest nodes between two slots for that round).
  CHECK(2 * s->agreement.votes > s->agreement.answered);
  for (size_t i = 0; i < kCount; ++i) {
    CAPTURE(kNodes[i].fault);
    const auto& row = s->upstreams[i];
    CHECK(row.error == kNodes[i].error);
    if (!kNodes[i].error) {
      CHECK(row.polls_total == 200);
    } else {
      CHECK(row.polls_total < 20);  // backing off: not asked every round
    }
  }
  CHECK(s->upstreams[0].anchor_error == leanpoint::FailureKind::root_mismatch);
  CHECK_FALSE(s->upstreams[7].agrees);
  CHECK(s->upstreams[7].finalized->root == fork.checkpoint_at(s->upstreams[7].finalized->slot).root);
  MESSAGE("rounds: 200, attempts: ", attempts, ", distinct agreed checkpoints: ", agreed_slots.size(),
          ", fds: ", fds_after_first, ", threads: ", threads_after_first);

  sim.send_signal(SIGTERM);
  CHECK(sim.wait(testing::Clock::now() + 10s) == 0);
}
