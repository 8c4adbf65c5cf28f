// The justified probe (observe.h, ARCHITECTURE.md §5) over whole rounds
// against an in-process devnet: what it saves, and the rules that keep it as
// safe as reading fork_choice every round, each with its round count.
#include <atomic>
#include <memory>

#include "devnet.h"
#include "poller.h"
#include "testing.h"

using leanpoint::ObservedVia;
using leanpoint::Poller;
using leanpoint::PollerOptions;
using leanpoint::Snapshot;
using leanpoint::SnapshotStore;
using leanpoint::UpstreamEndpoint;
using leanpoint::UpstreamStatus;
using leanpoint::sim::Fault;

namespace {

// The simulated fork_choice lists the blocks since finality, about 230 bytes
// each: over this, even a short one is "large" and probed.
constexpr uint64_t kProbeBytes = 1000;
constexpr uint64_t kRefresh = 5;

struct Harness {
  testing::Devnet net;
  SnapshotStore store;
  std::unique_ptr<Poller> poller;

  PollerOptions options(uint64_t probe_bytes = kProbeBytes) const {
    PollerOptions o = net.poller_options();
    o.fork_choice_probe_bytes = probe_bytes;
    o.fork_choice_refresh_rounds = kRefresh;
    return o;
  }
  void start(const PollerOptions& o) { poller = std::make_unique<Poller>(o, net.upstreams(), store); }
  // One slot passes, then a round.
  std::shared_ptr<const Snapshot> slot_and_round() {
    net.set_head(net.head() + 1);
    poller->run_round();
    return store.load();
  }
};

uint64_t justified_bytes(const UpstreamStatus& u) {
  const auto it = u.bytes_total.find(UpstreamEndpoint::justified);
  return it == u.bytes_total.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("steady non-finality: fork_choice in round 1, then the probe alone until the refresh round") {
  Harness h;
  for (int i = 0; i < 3; ++i) h.net.add();
  h.net.stall_finality(h.net.head());
  h.start(h.options());
  const auto stalled = h.net.finalized();
  // Round 1 and every kRefresh rounds after: fork_choice; between them the
  // justified checkpoint alone, and the same agreement.
  for (uint64_t round = 1; round <= 2 * kRefresh + 1; ++round) {
    CAPTURE(round);
    const auto s = h.slot_and_round();
    REQUIRE(s->agreement.checkpoint == stalled);
    const bool refresh = (round - 1) % kRefresh == 0;
    for (const auto& u : s->upstreams) {
      CHECK(u.observed_via == (refresh ? ObservedVia::fork_choice : ObservedVia::justified_unchanged));
      CHECK(u.agrees);
      CHECK(u.fork_choice_bytes > kProbeBytes);
      if (refresh) {
        CHECK(u.round_bytes > u.fork_choice_bytes - 1);  // round 1 also fetched the anchor
      } else {
        CHECK(u.round_bytes < 512);  // a head and about 100 bytes of body
      }
    }
  }
}

TEST_CASE("the fork_choice grows per slot while finality stalls; a refresh reads the grown one") {
  Harness h;
  h.net.add();
  h.net.stall_finality(h.net.head());
  h.start(h.options());
  const uint64_t first = h.slot_and_round()->upstreams[0].fork_choice_bytes;
  for (uint64_t i = 1; i < kRefresh; ++i) h.slot_and_round();
  const auto s = h.slot_and_round();  // round kRefresh + 1: the refresh
  REQUIRE(s->upstreams[0].observed_via == ObservedVia::fork_choice);
  CHECK(s->upstreams[0].fork_choice_bytes > first + 200 * (kRefresh - 1));
}

TEST_CASE("finality resumes: the new checkpoint is agreed in the first round after, probe or not") {
  for (const uint64_t probe_bytes : {kProbeBytes, uint64_t{0}}) {
    CAPTURE(probe_bytes);
    Harness h;
    for (int i = 0; i < 3; ++i) h.net.add();
    h.net.stall_finality(h.net.head());
    h.start(h.options(probe_bytes));
    for (int i = 0; i < 3; ++i) h.slot_and_round();
    const auto before = h.store.load()->agreement.checkpoint;
    if (probe_bytes) CHECK(h.store.load()->upstreams[0].observed_via == ObservedVia::justified_unchanged);
    h.net.resume_finality();
    // The justified checkpoint moved with finality: one round sees both.
    const auto s = h.slot_and_round();
    CHECK(s->agreement.checkpoint == h.net.finalized());
    CHECK(s->agreement.checkpoint != before);
    for (const auto& u : s->upstreams) CHECK(u.observed_via == ObservedVia::fork_choice);
  }
}

TEST_CASE("a node that forks off (its justified changes) is read again in the same round and disagrees at once") {
  Harness h;
  auto forked = std::make_shared<std::atomic<bool>>(false);
  for (int i = 0; i < 2; ++i) h.net.add();
  leanpoint::sim::NodeOptions o;
  o.on_fork = [forked] { return forked->load(); };
  h.net.add(o);
  h.net.stall_finality(h.net.head());
  h.start(h.options());
  for (int i = 0; i < 3; ++i) h.slot_and_round();
  REQUIRE(h.store.load()->upstreams[2].observed_via == ObservedVia::justified_unchanged);
  REQUIRE(h.store.load()->upstreams[2].agrees);
  forked->store(true);
  const auto s = h.slot_and_round();
  CHECK(s->upstreams[2].observed_via == ObservedVia::fork_choice);
  CHECK_FALSE(s->upstreams[2].agrees);
  CHECK(s->upstreams[2].finalized->root == h.net.fork().checkpoint_at(s->upstreams[2].finalized->slot).root);
  CHECK(s->agreement.checkpoint == h.net.finalized());  // the two honest nodes still carry it
}

TEST_CASE("a node whose justified stands but whose finality moved is read again within the refresh bound") {
  Harness h;
  for (int i = 0; i < 2; ++i) h.net.add();
  h.net.add(Fault::stale_justified);
  h.start(h.options());
  h.poller->run_round();  // round 1: fork_choice everywhere
  h.poller->run_round();  // round 2: the stale node's probe answers what its fork_choice said
  REQUIRE(h.store.load()->upstreams[2].observed_via == ObservedVia::justified_unchanged);
  // Finality moves on; the stale node's probe does not show it.
  h.net.set_head(h.net.head() + 8);
  uint64_t disagreeing = 0;
  for (uint64_t round = 3; round < 2 + kRefresh + 1; ++round) {
    h.poller->run_round();
    const auto s = h.store.load();
    CHECK(s->agreement.checkpoint == h.net.finalized());
    if (s->upstreams[2].observed_via == ObservedVia::justified_unchanged) {
      CHECK_FALSE(s->upstreams[2].agrees);
      ++disagreeing;
    } else {
      CHECK(s->upstreams[2].agrees);
    }
  }
  // Read at round 1 + kRefresh at the latest: rounds 3 .. kRefresh disagree.
  CHECK(disagreeing == kRefresh - 2);
  CHECK(h.store.load()->upstreams[2].agrees);
  CHECK(h.store.load()->upstreams[2].observed_via == ObservedVia::fork_choice);
}

TEST_CASE("a node without the justified endpoint: fork_choice every round, the probe retried only at refresh") {
  Harness h;
  h.net.add(Fault::no_justified);
  h.net.stall_finality(h.net.head());
  h.start(h.options());
  uint64_t probes = 0, last = 0;
  for (uint64_t round = 1; round <= 2 * kRefresh + 2; ++round) {
    CAPTURE(round);
    const auto s = h.slot_and_round();
    const auto& u = s->upstreams[0];
    CHECK(u.healthy);
    CHECK(u.observed_via == ObservedVia::fork_choice);
    CHECK(u.agrees);
    if (justified_bytes(u) > last) ++probes;
    last = justified_bytes(u);
  }
  // Round 2 (after the first fork_choice), then round 2 + kRefresh, then 2 + 2 * kRefresh.
  CHECK(probes == 3);
}

TEST_CASE("--fork-choice-probe-bytes 0: fork_choice every round, as before the probe") {
  Harness h;
  h.net.add();
  h.net.stall_finality(h.net.head());
  h.start(h.options(0));
  for (int i = 0; i < 4; ++i) {
    const auto s = h.slot_and_round();
    CHECK(s->upstreams[0].observed_via == ObservedVia::fork_choice);
    CHECK(justified_bytes(s->upstreams[0]) == 0);
    CHECK(s->upstreams[0].round_bytes >= s->upstreams[0].fork_choice_bytes);
  }
}

TEST_CASE("bytes are counted per endpoint: fork_choice, justified, and the anchor's state and block") {
  Harness h;
  h.net.add();
  h.net.stall_finality(h.net.head());
  h.start(h.options());
  h.slot_and_round();
  const auto s = h.slot_and_round();
  const auto& u = s->upstreams[0];
  CHECK(u.bytes_total.at(UpstreamEndpoint::fork_choice) == u.fork_choice_bytes);
  CHECK(u.bytes_total.at(UpstreamEndpoint::state) > 1000);
  CHECK(u.bytes_total.at(UpstreamEndpoint::block) > 1000);
  CHECK(u.bytes_total.at(UpstreamEndpoint::justified) == u.round_bytes);
}
