// poller.h: rounds against an in-process simulated devnet.
#include "poller.h"

#include <unistd.h>

#include <thread>

#include "devnet.h"
#include "fd.h"
#include "testing.h"

using leanpoint::Poller;
using leanpoint::PollerOptions;
using leanpoint::Snapshot;
using leanpoint::SnapshotStore;
using leanpoint::sim::Fault;
using namespace std::chrono_literals;

namespace {

struct Harness {
  testing::Devnet net;
  SnapshotStore store;
  std::unique_ptr<Poller> poller;

  void start(const PollerOptions& o) { poller = std::make_unique<Poller>(o, net.upstreams(), store); }
  void start() { start(net.poller_options()); }
  std::shared_ptr<const Snapshot> round() {
    poller->run_round();
    return store.load();
  }
};

}  // namespace

TEST_CASE("before the first round: an empty snapshot") {
  SnapshotStore store;
  CHECK(store.load()->round == 0);
  CHECK(store.load()->anchor == nullptr);
}

TEST_CASE("the constructor publishes round 0 with the settings; every round carries them") {
  Harness h;
  h.net.add();
  auto o = h.net.poller_options();
  o.min_agree = 1;
  const int64_t before = leanpoint::unix_ms();
  h.start(o);
  const auto first = h.store.load();
  CHECK(first->round == 0);
  CHECK(first->settings.poll_ms == o.poll_ms);
  CHECK(first->settings.timeout_ms == o.timeout_ms);
  CHECK(first->settings.min_agree == 1);
  CHECK(first->settings.started_ms >= before);
  CHECK(first->settings.started_ms <= leanpoint::unix_ms());
  CHECK(first->anchor == nullptr);
  CHECK_FALSE(first->data_dir);  // no --data-dir hooks
  REQUIRE(first->upstreams.size() == 1);
  CHECK_FALSE(first->upstreams[0].polled);
  for (int round = 1; round <= 2; ++round) {
    const auto s = h.round();
    CHECK(s->round == static_cast<uint64_t>(round));
    CHECK(s->settings.poll_ms == first->settings.poll_ms);
    CHECK(s->settings.timeout_ms == first->settings.timeout_ms);
    CHECK(s->settings.min_agree == first->settings.min_agree);
    CHECK(s->settings.started_ms == first->settings.started_ms);
  }
}

TEST_CASE("healthy upstreams: agreement, a verified anchor with its block, rows") {
  Harness h;
  for (int i = 0; i < 3; ++i) h.net.add();
  h.start();
  const auto s = h.round();
  CHECK(s->round == 1);
  REQUIRE(s->agreement.checkpoint);
  CHECK(*s->agreement.checkpoint == h.net.finalized());
  CHECK(s->agreement.votes == 3);
  CHECK(s->agreement.answered == 3);
  REQUIRE(s->justified);
  CHECK(s->justified->slot == leanpoint::sim::justified_slot(h.net.head()));
  REQUIRE(s->anchor);
  CHECK(s->anchor->checkpoint == h.net.finalized());
  REQUIRE(s->anchor->state);
  REQUIRE(s->anchor->block);
  const auto expected = h.net.canonical().anchor_at(h.net.finalized().slot);
  CHECK(*s->anchor->state == expected->state);
  CHECK(*s->anchor->block == expected->block);
  CHECK(s->anchor->state_source == "node0");
  CHECK(s->agreed_at_ms > 0);
  REQUIRE(s->upstreams.size() == 3);
  for (const auto& row : s->upstreams) {
    CHECK(row.healthy);
    CHECK(row.polled);
    CHECK(row.agrees);
    CHECK(row.observed_via == leanpoint::ObservedVia::fork_choice);
    CHECK(row.error == std::nullopt);
    CHECK(row.head_slot == h.net.head());
  }
}

TEST_CASE("finality advances: the anchor follows, both artifacts switch together") {
  Harness h;
  for (int i = 0; i < 3; ++i) h.net.add();
  h.start();
  auto first = h.round();
  h.net.set_head(41);
  auto second = h.round();
  REQUIRE(second->anchor);
  CHECK(second->anchor->checkpoint == h.net.finalized());
  CHECK(second->anchor->checkpoint.slot == 36);
  CHECK(*second->anchor->block == h.net.canonical().anchor_at(36)->block);
  // The first snapshot is untouched: readers holding it still see its anchor.
  CHECK(first->anchor->checkpoint.slot == 16);
  REQUIRE(second->history.size() == 2);
  CHECK(second->history[0].checkpoint.slot == 16);
  CHECK(second->history[1].checkpoint.slot == 36);
}

TEST_CASE("an unchanged checkpoint is not downloaded again") {
  Harness h;
  h.net.add();
  h.start();
  h.round();
  const size_t after_first = h.net.node(0).requests();  // fork_choice, state, block
  CHECK(after_first == 3);
  const auto s = h.round();
  CHECK(h.net.node(0).requests() == after_first + 1);  // fork_choice only
  CHECK(s->anchor->block != nullptr);
}

TEST_CASE("a minority fork never wins") {
  Harness h;
  h.net.add();
  h.net.add(Fault::fork);
  h.net.add();
  h.net.add(Fault::fork);
  h.net.add();
  h.start();
  const auto s = h.round();
  REQUIRE(s->agreement.checkpoint);
  CHECK(*s->agreement.checkpoint == h.net.finalized());
  CHECK(s->agreement.votes == 3);
  CHECK_FALSE(s->upstreams[1].agrees);
  CHECK(s->upstreams[1].healthy);
  CHECK(s->upstreams[1].finalized == h.net.fork().checkpoint_at(h.net.finalized().slot));
}

TEST_CASE("a tie agrees on nothing and publishes no anchor") {
  Harness h;
  h.net.add();
  h.net.add(Fault::fork);
  h.start();
  const auto s = h.round();
  CHECK_FALSE(s->agreement.checkpoint);
  CHECK(s->anchor == nullptr);
  CHECK(s->agreed_at_ms == 0);
}

TEST_CASE("--min-agree raises the floor") {
  Harness h;
  h.net.add();
  h.net.add();
  auto o = h.net.poller_options();
  o.min_agree = 3;
  h.start(o);
  CHECK_FALSE(h.round()->agreement.checkpoint);
}

TEST_CASE("an older client (404 on fork_choice) is observed through its state") {
  Harness h;
  h.net.add(Fault::old_client);
  h.net.add(Fault::old_client);
  h.start();
  const auto s = h.round();
  CHECK(s->upstreams[0].observed_via == leanpoint::ObservedVia::state);
  CHECK(s->upstreams[0].healthy);
  REQUIRE(s->agreement.checkpoint);
  CHECK(*s->agreement.checkpoint == h.net.finalized());
  // The state downloaded to observe it is the anchor: no second download.
  REQUIRE(s->anchor);
  CHECK(s->anchor->state_source == "node0");
  CHECK(h.net.node(0).requests() == 3);  // fork_choice (404), state, block
}

TEST_CASE("nodes without blocks: a state-only anchor, the block added when one verifies") {
  Harness h;
  h.net.add(Fault::no_block);
  h.net.add(Fault::no_block);
  h.start();
  auto s = h.round();
  REQUIRE(s->anchor);
  CHECK(s->anchor->state != nullptr);
  CHECK(s->anchor->block == nullptr);
  CHECK(s->upstreams[0].anchor_error == std::nullopt);  // a 404 for the block is no fault
  // Still no block next round: the same anchor, not a copy of it.
  CHECK(h.round()->anchor == s->anchor);

  Harness mixed;
  mixed.net.add(Fault::no_block);
  mixed.net.add();
  mixed.start();
  s = mixed.round();
  REQUIRE(s->anchor);
  CHECK(s->anchor->state_source == "node0");
  CHECK(s->anchor->block_source == "node1");
}

TEST_CASE("bytes that fail verification are refused, with the reason in the row") {
  Harness h;
  h.net.add(Fault::wrong_state);
  h.net.add();
  h.net.add();
  h.start();
  const auto s = h.round();
  REQUIRE(s->anchor);
  CHECK(s->anchor->state_source == "node1");
  CHECK(*s->anchor->state == h.net.canonical().anchor_at(h.net.finalized().slot)->state);
  CHECK(s->upstreams[0].anchor_error == leanpoint::FailureKind::root_mismatch);
  CHECK(s->upstreams[0].errors_total.at(leanpoint::FailureKind::root_mismatch) == 1);
  CHECK(s->upstreams[0].healthy);  // its fork_choice answer was fine
}

TEST_CASE("finality moving on between fork_choice and the download is not the node's fault") {
  // The node reports finalized 16 but, by the time the state is fetched, serves 20's.
  auto chain = std::make_shared<leanpoint::sim::Chain>(1);
  leanpoint::sim::ScriptedServer node([&](const std::string& target, const std::string&) -> leanpoint::sim::Script {
    if (target == "/lean/v0/fork_choice")
      return leanpoint::sim::respond(200, "application/json", chain->fork_choice_json(20, 20, 16));
    const auto a = chain->anchor_at(20);
    const auto& bytes = target == "/lean/v0/states/finalized" ? a->state : a->block;
    return leanpoint::sim::respond(200, "application/octet-stream", std::string(bytes.begin(), bytes.end()));
  });
  SnapshotStore store;
  PollerOptions o;
  o.timeout_ms = 300;
  Poller poller(o, {*leanpoint::parse_upstream_url("moving", node.url(), "test")}, store);
  poller.run_round();
  const auto s = store.load();
  CHECK(s->agreement.checkpoint->slot == 16);
  CHECK(s->anchor == nullptr);  // 20's state is still refused for checkpoint 16
  CHECK(s->upstreams[0].anchor_error == std::nullopt);
  CHECK(s->upstreams[0].errors_total.empty());
}

TEST_CASE("no agreeing upstream serves a state that verifies: no anchor, reasons recorded") {
  Harness h;
  h.net.add(Fault::wrong_state);
  h.start();
  const auto s = h.round();
  CHECK(s->agreement.checkpoint);
  CHECK(s->anchor == nullptr);
  CHECK(s->upstreams[0].anchor_error == leanpoint::FailureKind::root_mismatch);
}

TEST_CASE("failure kinds land in the rows") {
  Harness h;
  h.net.add();
  h.net.add(Fault::html);
  h.net.add(Fault::garbage);
  h.net.add(Fault::reset);
  h.net.add(Fault::black_hole);
  h.net.add(Fault::oversize);
  h.start();
  const auto s = h.round();
  CHECK(s->upstreams[0].healthy);
  CHECK(s->upstreams[1].error == leanpoint::FailureKind::malformed);  // HTML where fork_choice JSON was expected
  CHECK(s->upstreams[2].error == leanpoint::FailureKind::malformed);
  CHECK(s->upstreams[3].error == leanpoint::FailureKind::reset);
  CHECK(s->upstreams[4].error == leanpoint::FailureKind::timeout);
  CHECK(s->upstreams[5].error == leanpoint::FailureKind::too_large);
  for (size_t i = 1; i < 6; ++i) {
    CAPTURE(i);
    CHECK_FALSE(s->upstreams[i].healthy);
    CHECK(s->upstreams[i].consecutive_failures == 1);
    CHECK_FALSE(s->upstreams[i].error_detail.empty());
  }
  // One healthy answer is a majority of one: the dead do not vote.
  CHECK(s->agreement.checkpoint == h.net.finalized());
}

TEST_CASE("backoff: a failing upstream is retried after 1, 2, 4 ... intervals, capped") {
  Harness h;
  h.net.add();
  h.net.add(Fault::reset);
  auto o = h.net.poller_options();
  o.max_backoff_ms = 4 * o.poll_ms;
  h.start(o);
  std::vector<int> attempted;
  for (int round = 1; round <= 16; ++round)
    if (h.round()->upstreams[1].polled) attempted.push_back(round);
  // Failures 1, 2, 3 wait 1, 2, 4 intervals; then the cap of 4.
  CHECK(attempted == std::vector<int>{1, 2, 4, 8, 12, 16});
  const auto s = h.store.load();
  CHECK(s->upstreams[1].consecutive_failures == 6);
  CHECK(s->upstreams[1].polls_total == 6);
  CHECK(s->upstreams[1].errors_total.at(leanpoint::FailureKind::reset) == 6);
  CHECK(s->upstreams[1].backoff_until_ms > s->upstreams[1].last_attempt_ms);
  CHECK(s->upstreams[0].polls_total == 16);
}

TEST_CASE("a round retries at most one failing upstream; the others take turns") {
  Harness h;
  h.net.add();
  h.net.add(Fault::black_hole);
  h.net.add(Fault::black_hole);
  h.net.add(Fault::black_hole);
  auto o = h.net.poller_options();
  o.max_backoff_ms = o.poll_ms;  // no waiting: every failing upstream is always due
  h.start(o);
  auto s = h.round();  // first failures: all three polled
  CHECK(s->upstreams[1].polled);
  CHECK(s->upstreams[3].polled);
  std::vector<size_t> retried;
  for (int round = 2; round <= 7; ++round) {
    s = h.round();
    size_t polled = 0;
    for (size_t i = 1; i <= 3; ++i)
      if (s->upstreams[i].polled) {
        ++polled;
        retried.push_back(i);
      }
    CHECK(polled == 1);
    CHECK(s->round_duration_ms < 2 * o.timeout_ms);  // one deadline, not three
  }
  CHECK(retried == std::vector<size_t>{1, 2, 3, 1, 2, 3});
  CHECK(s->upstreams[0].polls_total == 7);
}

TEST_CASE("backoff resets on success") {
  std::atomic<bool> broken{true};
  auto chain = std::make_shared<leanpoint::sim::Chain>(1);
  leanpoint::sim::ScriptedServer flaky([&](const std::string& target, const std::string&) -> leanpoint::sim::Script {
    if (broken) return {{leanpoint::sim::Step::Kind::reset}};
    if (target == "/lean/v0/fork_choice")
      return leanpoint::sim::respond(200, "application/json", chain->fork_choice_json(20, 20, 16));
    return leanpoint::sim::respond(404, "text/plain", "");
  });
  SnapshotStore store;
  PollerOptions o;
  o.poll_ms = 1000;
  o.timeout_ms = 300;
  Poller poller(o, {*leanpoint::parse_upstream_url("flaky", flaky.url(), "test")}, store);
  poller.run_round();  // fails: retried next round
  poller.run_round();  // fails: skips one round
  CHECK(store.load()->upstreams[0].consecutive_failures == 2);
  broken = false;
  poller.run_round();  // skipped
  CHECK_FALSE(store.load()->upstreams[0].polled);
  poller.run_round();  // retried: succeeds
  auto s = store.load();
  CHECK(s->upstreams[0].healthy);
  CHECK(s->upstreams[0].consecutive_failures == 0);
  CHECK(s->upstreams[0].backoff_until_ms == 0);
  CHECK(s->upstreams[0].error == std::nullopt);
  poller.run_round();
  CHECK(store.load()->upstreams[0].polled);
}

TEST_CASE("a round longer than the poll interval is counted") {
  Harness h;
  h.net.add(Fault::black_hole);
  auto o = h.net.poller_options();
  o.poll_ms = 100;
  o.timeout_ms = 250;
  h.start(o);
  const auto s = h.round();
  CHECK(s->rounds_overrun_total == 1);
  CHECK(s->round_duration_ms >= 250);
}

TEST_CASE("run(): a stop ends the request in flight and returns") {
  auto opened = leanpoint::EventFd::open();
  REQUIRE(opened);
  const leanpoint::EventFd stop = std::move(*opened);  // declared first: outlives the server that writes it
  std::atomic<bool> asked{false};
  // The upstream signals the stop as soon as it is asked, then never answers.
  leanpoint::sim::ScriptedServer hole([&](const std::string&, const std::string&) {
    asked = true;
    stop.notify();
    return leanpoint::sim::Script{{leanpoint::sim::Step::Kind::hang}};
  });
  SnapshotStore store;
  PollerOptions o;
  o.poll_ms = 10000;
  o.timeout_ms = 5000;
  Poller poller(o, {*leanpoint::parse_upstream_url("hole", hole.url(), "test")}, store);
  const auto start = leanpoint::Clock::now();
  poller.run(stop.fd());
  CHECK(asked);
  CHECK(leanpoint::Clock::now() - start < 2s);
  CHECK(store.load()->round == 0);  // the aborted round published nothing
}
