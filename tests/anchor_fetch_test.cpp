// anchor_fetch.h: the state, then the block, from the agreeing upstreams in
// config order until they verify; a verdict for each upstream asked.
#include "anchor_fetch.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "chain.h"
#include "config.h"
#include "fd.h"
#include "scripted_node.h"
#include "testing.h"

using leanpoint::AnchorSource;
using leanpoint::FailureKind;
using leanpoint::PollerOptions;
using leanpoint::sim::respond;

namespace {

constexpr uint64_t kSlot = 16;
const char* const kState = "/lean/v0/states/finalized";
const char* const kBlock = "/lean/v0/blocks/finalized";

using Node = testing::ScriptedNode;
using testing::ssz;

AnchorSource source_of(const Node& node, const std::string& name) { return {node.upstream(name), nullptr, {}}; }

struct Fixture {
  leanpoint::sim::Chain chain{1};
  std::shared_ptr<const leanpoint::sim::Anchor> anchor = chain.anchor_at(kSlot);
  leanpoint::lean::Checkpoint checkpoint = anchor->checkpoint;
  PollerOptions options;
  Fixture() { options.timeout_ms = 1000; }

  Node honest() const { return Node({{kState, ssz(anchor->state)}, {kBlock, ssz(anchor->block)}}); }
};

std::vector<FailureKind> refusals(const leanpoint::FetchedAnchor& f, size_t source) {
  std::vector<FailureKind> kinds;
  for (const auto& v : f.verdicts)
    if (v.source == source && !v.verdict) kinds.push_back(v.verdict.error().kind);
  return kinds;
}

bool verified(const leanpoint::FetchedAnchor& f, size_t source) {
  for (const auto& v : f.verdicts)
    if (v.source == source && v.verdict) return true;
  return false;
}

}  // namespace

TEST_CASE("one honest upstream: state and block, both verified, both from it") {
  Fixture fx;
  Node node = fx.honest();
  const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(node, "a")}, fx.options);
  REQUIRE(f);
  REQUIRE(f->anchor);
  CHECK(f->anchor->checkpoint == fx.checkpoint);
  CHECK(*f->anchor->state == fx.anchor->state);
  REQUIRE(f->anchor->block);
  CHECK(*f->anchor->block == fx.anchor->block);
  CHECK(f->anchor->state_source == "a");
  CHECK(f->anchor->block_source == "a");
  CHECK_FALSE(f->anchor->restored);
  CHECK(f->summary.slot == kSlot);
  CHECK(f->verdicts.size() == 2);  // its state, then its block
  CHECK(refusals(*f, 0).empty());
}

TEST_CASE("the first upstream's state fails: the state comes from the second, its refusal recorded") {
  Fixture fx;
  const leanpoint::sim::Chain other(2);
  SUBCASE("a state of another chain") {
    Node bad({{kState, ssz(other.anchor_at(kSlot)->state)}, {kBlock, ssz(fx.anchor->block)}});
    Node good = fx.honest();
    const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(bad, "bad"), source_of(good, "good")}, fx.options);
    REQUIRE(f);
    REQUIRE(f->anchor);
    CHECK(f->anchor->state_source == "good");
    CHECK(f->anchor->block_source == "good");
    CHECK(refusals(*f, 0) == std::vector<FailureKind>{FailureKind::root_mismatch});
    CHECK(verified(*f, 1));
    CHECK(bad.requests() == 1);  // no block asked of a node whose state was refused
  }
  SUBCASE("no answer for the state") {
    Node bad({{kState, respond(500, "text/plain", "oops")}});
    Node good = fx.honest();
    const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(bad, "bad"), source_of(good, "good")}, fx.options);
    REQUIRE(f);
    REQUIRE(f->anchor);
    CHECK(f->anchor->state_source == "good");
    CHECK(refusals(*f, 0) == std::vector<FailureKind>{FailureKind::http_status});
  }
}

TEST_CASE("a 404 for the block is no fault: a state-only anchor, the block from the next upstream") {
  Fixture fx;
  Node stateless({{kState, ssz(fx.anchor->state)}});
  SUBCASE("alone: no block yet") {
    const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(stateless, "a")}, fx.options);
    REQUIRE(f);
    REQUIRE(f->anchor);
    CHECK(f->anchor->block == nullptr);
    CHECK(refusals(*f, 0).empty());
    CHECK(verified(*f, 0));
  }
  SUBCASE("with another: its block; its state not asked for") {
    Node full = fx.honest();
    const auto f =
        leanpoint::fetch_anchor(fx.checkpoint, {source_of(stateless, "a"), source_of(full, "b")}, fx.options);
    REQUIRE(f);
    REQUIRE(f->anchor);
    CHECK(f->anchor->state_source == "a");
    REQUIRE(f->anchor->block);
    CHECK(f->anchor->block_source == "b");
    CHECK(full.requests() == 1);
  }
}

TEST_CASE("a block that is not the checkpoint's is refused, and the next upstream's taken") {
  Fixture fx;
  Node wrong({{kState, ssz(fx.anchor->state)}, {kBlock, ssz(fx.chain.anchor_at(20)->block)}});
  Node good = fx.honest();
  const auto f =
      leanpoint::fetch_anchor(fx.checkpoint, {source_of(wrong, "wrong"), source_of(good, "good")}, fx.options);
  REQUIRE(f);
  REQUIRE(f->anchor);
  CHECK(f->anchor->state_source == "wrong");  // its state verified
  CHECK(f->anchor->block_source == "good");
  CHECK(refusals(*f, 0) == std::vector<FailureKind>{FailureKind::block_slot});
  // In order: its state verified, then its block refused.
  REQUIRE(f->verdicts.size() >= 2);
  CHECK(f->verdicts[0].verdict);
  CHECK_FALSE(f->verdicts[1].verdict);
}

TEST_CASE("a state newer than the checkpoint is skipped, not held against the node") {
  Fixture fx;
  Node moved({{kState, ssz(fx.chain.anchor_at(20)->state)}, {kBlock, ssz(fx.chain.anchor_at(20)->block)}});
  const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(moved, "moved")}, fx.options);
  REQUIRE(f);
  CHECK(f->anchor == nullptr);
  CHECK(f->verdicts.empty());
}

TEST_CASE("a state that does not prove is refused with its kind: an older one, one of another genesis") {
  for (const bool other_genesis : {false, true}) {
    CAPTURE(other_genesis);
    Fixture fx;
    Node node({{kState, ssz(fx.chain.anchor_at(other_genesis ? kSlot : 12)->state)}});
    if (other_genesis) fx.options.genesis_time = fx.chain.genesis_time() + 1;
    const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(node, "a")}, fx.options);
    REQUIRE(f);
    CHECK(f->anchor == nullptr);
    CHECK(refusals(*f, 0) ==
          std::vector<FailureKind>{other_genesis ? FailureKind::genesis_time : FailureKind::slot_mismatch});
  }
}

TEST_CASE("a state observed this round is not downloaded again") {
  Fixture fx;
  Node node({{kBlock, ssz(fx.anchor->block)}});  // would 404 the state
  AnchorSource source = source_of(node, "a");
  source.state = std::make_shared<const std::vector<uint8_t>>(fx.anchor->state);
  const auto summary = leanpoint::summarize_state(*source.state);
  REQUIRE(summary);
  source.summary = *summary;
  const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source}, fx.options);
  REQUIRE(f);
  REQUIRE(f->anchor);
  CHECK(f->anchor->state == source.state);  // the same bytes, shared
  CHECK(f->anchor->block);
  CHECK(node.requests() == 1);  // the block only
}

TEST_CASE("an anchor held without a block: only a block is fetched") {
  Fixture fx;
  Node node = fx.honest();
  Node stateless({{kState, ssz(fx.anchor->state)}});
  const auto first = leanpoint::fetch_anchor(fx.checkpoint, {source_of(stateless, "a")}, fx.options);
  REQUIRE(first);
  REQUIRE(first->anchor);
  REQUIRE(first->anchor->block == nullptr);
  SUBCASE("still none: the held anchor itself") {
    const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(stateless, "a")}, fx.options, -1, first->anchor,
                                           first->summary);
    REQUIRE(f);
    CHECK(f->anchor == first->anchor);
    CHECK(stateless.requests() == 3);  // state and block, then the block again
  }
  SUBCASE("one verifies: the held state, with the block") {
    const auto f =
        leanpoint::fetch_anchor(fx.checkpoint, {source_of(node, "b")}, fx.options, -1, first->anchor, first->summary);
    REQUIRE(f);
    REQUIRE(f->anchor);
    CHECK(f->anchor != first->anchor);
    CHECK(f->anchor->state == first->anchor->state);
    CHECK(f->anchor->state_source == "a");
    CHECK(f->anchor->block_source == "b");
    CHECK(node.requests() == 1);
  }
}

TEST_CASE("a stop: cancelled, before any upstream is asked") {
  Fixture fx;
  Node node = fx.honest();
  auto stop = leanpoint::EventFd::open();
  REQUIRE(stop);
  stop->notify();
  const auto f = leanpoint::fetch_anchor(fx.checkpoint, {source_of(node, "a")}, fx.options, stop->fd());
  REQUIRE_FALSE(f);
  CHECK(f.error().kind == FailureKind::cancelled);
  CHECK(node.requests() == 0);
}

TEST_CASE("no sources: no anchor, no verdicts") {
  Fixture fx;
  const auto f = leanpoint::fetch_anchor(fx.checkpoint, {}, fx.options);
  REQUIRE(f);
  CHECK(f->anchor == nullptr);
  CHECK(f->verdicts.empty());
}
