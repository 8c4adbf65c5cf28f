// observe.h: one upstream's finalized checkpoint, through fork_choice or, for
// nodes that answer 404 or too_large, through its finalized state.
#include "observe.h"

#include <chrono>
#include <map>
#include <string>

#include "chain.h"
#include "config.h"
#include "hex.h"
#include "scripted_node.h"
#include "testing.h"

using leanpoint::FailureKind;
using leanpoint::ObservedVia;
using leanpoint::PollerOptions;
using leanpoint::sim::respond;

namespace {

constexpr uint64_t kHead = 20, kJustified = 20, kFinalized = 16;

using Node = testing::ScriptedNode;

using testing::ssz;

PollerOptions options() {
  PollerOptions o;
  o.timeout_ms = 1000;
  return o;
}

}  // namespace

TEST_CASE("a fork_choice answer: finalized, justified and head; no state kept") {
  const leanpoint::sim::Chain chain(1);
  Node node({{"/lean/v0/fork_choice",
              respond(200, "application/json", chain.fork_choice_json(kHead, kJustified, kFinalized))}});
  const auto o = leanpoint::observe(node.upstream(), options());
  REQUIRE(o);
  CHECK(o->via == ObservedVia::fork_choice);
  CHECK(o->finalized == chain.checkpoint_at(kFinalized));
  REQUIRE(o->justified);
  CHECK(o->justified->slot == kJustified);
  CHECK(o->head);
  CHECK(o->head_slot == kHead);
  CHECK(o->state == nullptr);
  CHECK(node.requests() == 1);
}

TEST_CASE("404 on fork_choice: the checkpoint read from the finalized state, which is kept") {
  const leanpoint::sim::Chain chain(1);
  const auto anchor = chain.anchor_at(kFinalized);
  Node node({{"/lean/v0/states/finalized", ssz(anchor->state)}});
  const auto o = leanpoint::observe(node.upstream(), options());
  REQUIRE(o);
  CHECK(o->via == ObservedVia::state);
  CHECK(o->finalized == anchor->checkpoint);
  CHECK(o->justified);
  CHECK_FALSE(o->head);
  CHECK_FALSE(o->head_slot);
  REQUIRE(o->state);
  CHECK(*o->state == anchor->state);
  CHECK(o->summary.slot == kFinalized);
  CHECK(o->summary.block_root == anchor->checkpoint.root);
  CHECK(node.requests() == 2);
}

TEST_CASE("a fork_choice over --max-json-bytes: too_large, and the node is read through its state") {
  const leanpoint::sim::Chain chain(1);
  const auto anchor = chain.anchor_at(kFinalized);
  Node node({{"/lean/v0/fork_choice",
              respond(200, "application/json", chain.fork_choice_json(kHead, kJustified, kFinalized))},
             {"/lean/v0/states/finalized", ssz(anchor->state)}});
  auto opts = options();
  opts.max_json_bytes = 100;
  const auto o = leanpoint::observe(node.upstream(), opts);
  REQUIRE(o);
  CHECK(o->via == ObservedVia::state);
  CHECK(o->finalized == anchor->checkpoint);
}

TEST_CASE("a malformed fork_choice is a failure, not a reason to read the state") {
  const leanpoint::sim::Chain chain(1);
  Node node({{"/lean/v0/fork_choice", respond(200, "application/json", "{\"finalized\": 7}")},
             {"/lean/v0/states/finalized", ssz(chain.anchor_at(kFinalized)->state)}});
  const auto o = leanpoint::observe(node.upstream(), options());
  REQUIRE_FALSE(o);
  CHECK(o.error().kind == FailureKind::malformed);
  CHECK(node.requests() == 1);
}

TEST_CASE("another status on fork_choice is http_status with its code") {
  Node node({{"/lean/v0/fork_choice", respond(503, "text/plain", "busy")}});
  const auto o = leanpoint::observe(node.upstream(), options());
  REQUIRE_FALSE(o);
  CHECK(o.error().kind == FailureKind::http_status);
  CHECK(o.error().http_status == 503);
}

TEST_CASE("through the state: its failures are the node's") {
  SUBCASE("no state either") {
    Node node({});
    const auto o = leanpoint::observe(node.upstream(), options());
    REQUIRE_FALSE(o);
    CHECK(o.error().kind == FailureKind::http_status);
    CHECK(o.error().http_status == 404);
  }
  SUBCASE("bytes that are no state") {
    Node node({{"/lean/v0/states/finalized", ssz(std::vector<uint8_t>(100, 0xab))}});
    const auto o = leanpoint::observe(node.upstream(), options());
    REQUIRE_FALSE(o);
    CHECK(o.error().kind == FailureKind::layout);
  }
  SUBCASE("a state labelled as JSON") {
    const leanpoint::sim::Chain chain(1);
    const auto& state = chain.anchor_at(kFinalized)->state;
    Node node(
        {{"/lean/v0/states/finalized", respond(200, "application/json", std::string(state.begin(), state.end()))}});
    const auto o = leanpoint::observe(node.upstream(), options());
    REQUIRE_FALSE(o);
    CHECK(o.error().kind == FailureKind::not_ssz);
  }
}

// --- the justified probe (observe.h) ---------------------------------------

namespace {

std::string checkpoint_json(const leanpoint::lean::Checkpoint& c) {
  return R"({"slot":)" + std::to_string(c.slot) + R"(,"root":")" + leanpoint::to_hex(c.root) + R"("})";
}

// Probing from the first fork_choice on: every fork_choice is "large".
PollerOptions probing(uint64_t refresh = 15) {
  PollerOptions o = options();
  o.fork_choice_probe_bytes = 1;
  o.fork_choice_refresh_rounds = refresh;
  return o;
}

}  // namespace

TEST_CASE("probe: an unchanged justified checkpoint answers for the last fork_choice, at about 200 bytes") {
  const leanpoint::sim::Chain chain(1);
  const std::string fc = chain.fork_choice_json(kHead, kJustified, kFinalized);
  Node node({{"/lean/v0/fork_choice", respond(200, "application/json", fc)},
             {"/lean/v0/checkpoints/justified",
              respond(200, "application/json", checkpoint_json(chain.checkpoint_at(kJustified)))}});
  leanpoint::ObserveMemory memory;
  auto o = leanpoint::observe(node.upstream(), probing(), 1, memory);
  REQUIRE(o);
  CHECK(o->via == ObservedVia::fork_choice);
  CHECK(memory.last_bytes > fc.size());  // the head too
  CHECK(memory.read.at(leanpoint::UpstreamEndpoint::fork_choice) == memory.last_bytes);
  o = leanpoint::observe(node.upstream(), probing(), 2, memory);
  REQUIRE(o);
  CHECK(o->via == ObservedVia::justified_unchanged);
  CHECK(o->finalized == chain.checkpoint_at(kFinalized));
  CHECK(o->head_slot == kHead);
  CHECK(node.requests() == 2);
  CHECK(memory.read.count(leanpoint::UpstreamEndpoint::fork_choice) == 0);
  CHECK(memory.read.at(leanpoint::UpstreamEndpoint::justified) < 300);
  CHECK(memory.last_round == 1);
}

TEST_CASE("probe: a moved justified checkpoint, a failed or unserved probe: fork_choice in the same call") {
  const leanpoint::sim::Chain chain(1);
  const std::string fc = chain.fork_choice_json(kHead, kJustified, kFinalized);
  const auto moved = chain.checkpoint_at(kJustified + 4);
  struct Case {
    const char* name;
    leanpoint::sim::Script probe;
    bool remembered;  // a 404
  };
  const Case cases[] = {
      {"moved", respond(200, "application/json", checkpoint_json(moved)), false},
      {"404", respond(404, "text/plain", "not found"), true},
      {"500", respond(500, "text/plain", "oops"), false},
      {"malformed", respond(200, "application/json", R"({"slot":"x"})"), false},
      {"too large", respond(200, "application/json", std::string(8192, ' ') + checkpoint_json(moved)), false},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    Node node(
        {{"/lean/v0/fork_choice", respond(200, "application/json", fc)}, {"/lean/v0/checkpoints/justified", c.probe}});
    leanpoint::ObserveMemory memory;
    REQUIRE(leanpoint::observe(node.upstream(), probing(), 1, memory));
    const auto o = leanpoint::observe(node.upstream(), probing(), 2, memory);
    REQUIRE(o);
    CHECK(o->via == ObservedVia::fork_choice);
    CHECK(node.requests() == 3);
    CHECK(memory.last_round == 2);
    CHECK((memory.unserved_round == 2) == c.remembered);
  }
}

TEST_CASE("probe: a 404 is not asked again until the refresh; the refresh reads fork_choice") {
  const leanpoint::sim::Chain chain(1);
  Node node({{"/lean/v0/fork_choice",
              respond(200, "application/json", chain.fork_choice_json(kHead, kJustified, kFinalized))}});
  leanpoint::ObserveMemory memory;
  const auto o = probing(4);
  REQUIRE(leanpoint::observe(node.upstream(), o, 1, memory));  // fork_choice
  REQUIRE(leanpoint::observe(node.upstream(), o, 2, memory));  // 404, fork_choice
  CHECK(node.requests() == 3);
  for (uint64_t round = 3; round <= 5; ++round) REQUIRE(leanpoint::observe(node.upstream(), o, round, memory));
  CHECK(node.requests() == 6);                                 // fork_choice alone
  REQUIRE(leanpoint::observe(node.upstream(), o, 6, memory));  // 2 + 4: the probe again
  CHECK(node.requests() == 8);
}

TEST_CASE("probe: only past --fork-choice-probe-bytes, and not with 0") {
  const leanpoint::sim::Chain chain(1);
  const std::string fc = chain.fork_choice_json(kHead, kJustified, kFinalized);
  Node node({{"/lean/v0/fork_choice", respond(200, "application/json", fc)},
             {"/lean/v0/checkpoints/justified",
              respond(200, "application/json", checkpoint_json(chain.checkpoint_at(kJustified)))}});
  for (const uint64_t probe_bytes : {uint64_t{0}, uint64_t{256} << 10}) {
    CAPTURE(probe_bytes);
    auto o = probing();
    o.fork_choice_probe_bytes = probe_bytes;
    leanpoint::ObserveMemory memory;
    const size_t before = node.requests();
    for (uint64_t round = 1; round <= 3; ++round) {
      const auto observed = leanpoint::observe(node.upstream(), o, round, memory);
      REQUIRE(observed);
      CHECK(observed->via == ObservedVia::fork_choice);
    }
    CHECK(node.requests() == before + 3);
  }
}

TEST_CASE("probe: a probe that hangs and the fork_choice after it share one deadline") {
  const leanpoint::sim::Chain chain(1);
  Node node({{"/lean/v0/fork_choice",
              respond(200, "application/json", chain.fork_choice_json(kHead, kJustified, kFinalized))},
             {"/lean/v0/checkpoints/justified", {{leanpoint::sim::Step::Kind::hang}}}});
  leanpoint::ObserveMemory memory;
  auto o = probing();
  o.timeout_ms = 300;
  REQUIRE(leanpoint::observe(node.upstream(), o, 1, memory));
  const auto start = std::chrono::steady_clock::now();
  const auto observed = leanpoint::observe(node.upstream(), o, 2, memory);
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE_FALSE(observed);
  CHECK(observed.error().kind == FailureKind::timeout);
  CHECK(took < std::chrono::milliseconds(300 + 250));  // one deadline, not two
  CHECK_FALSE(memory.last);                            // the next round reads fork_choice
}
