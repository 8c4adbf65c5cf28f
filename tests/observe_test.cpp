// observe.h: one upstream's finalized checkpoint, through fork_choice or, for
// nodes that answer 404 or too_large, through its finalized state.
#include "observe.h"

#include <map>
#include <string>

#include "chain.h"
#include "config.h"
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
