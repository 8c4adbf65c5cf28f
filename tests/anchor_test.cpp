// anchor.h: an anchor built from real leanSpec vectors verifies; changing one
// field yields exactly the reason for it.
#include "anchor.h"

#include "lean_fixtures.h"
#include "testing.h"

namespace lean = leanpoint::lean;
namespace ssz = leanpoint::ssz;
using leanpoint::FailureKind;
using leanpoint::verify_anchor;

namespace {

// The kind a proof failed with; empty when it proved the anchor.
std::optional<FailureKind> fault_of(const leanpoint::Expected<leanpoint::StateSummary, leanpoint::Failure>& v) {
  if (v) return std::nullopt;
  return v.error().kind;
}

std::string detail_of(const leanpoint::Expected<leanpoint::StateSummary, leanpoint::Failure>& v) {
  return v ? std::string() : v.error().detail;
}

// A consistent anchor from the real state and signed-block vectors: the state
// is the post-state of the block (its latest header is the block's, with
// state_root zeroed as served), and the block commits to the state's root.
struct Anchor {
  lean::State state;
  lean::SignedBlock block;
  lean::Checkpoint checkpoint;

  Anchor() {
    state = lean::decode_state(testing::fixture_bytes("test_state_with_validators.json"));
    block = lean::decode_signed_block(testing::fixture_bytes("test_signed_block_minimal.json"));
    block.message.slot = state.slot;
    block.message.parent_root = ssz::Root{0xaa};
    seal();
  }

  // Re-derives the state's header and the block's state_root after edits.
  void seal() {
    state.latest_block_header = lean::header_of(block.message);
    state.latest_block_header.state_root = {};
    block.message.state_root = lean::hash_tree_root(state);
    checkpoint = {lean::hash_tree_root(block.message), block.message.slot};
  }

  std::optional<FailureKind> verify(std::optional<uint64_t> genesis = std::nullopt) const {
    const auto s = lean::encode(state);
    const auto b = lean::encode(block);
    return fault_of(verify_anchor(s, ssz::Bytes(b), checkpoint, genesis));
  }
};

}  // namespace

TEST_CASE("a consistent anchor verifies, with or without its block") {
  const Anchor a;
  CHECK(a.verify() == std::nullopt);
  const auto s = lean::encode(a.state);
  const auto v = verify_anchor(s, std::nullopt, a.checkpoint);
  REQUIRE(v);
  CHECK(v->slot == a.checkpoint.slot);
  CHECK(v->block_root == a.checkpoint.root);
  CHECK(v->state_root == lean::hash_tree_root(a.state));
  CHECK(v->validator_count == 4);
}

TEST_CASE("layout: a state or block that does not decode") {
  const Anchor a;
  auto s = lean::encode(a.state);
  const auto b = lean::encode(a.block);
  s.resize(200);
  const auto v = verify_anchor(s, ssz::Bytes(b), a.checkpoint);
  CHECK(fault_of(v) == FailureKind::layout);
  CHECK(detail_of(v) == "state: State: 200 bytes is shorter than its 228-byte fixed part");

  const auto good_state = lean::encode(a.state);
  const std::vector<uint8_t> junk = {1, 2, 3};
  const auto w = verify_anchor(good_state, ssz::Bytes(junk), a.checkpoint);
  CHECK(fault_of(w) == FailureKind::layout);
  CHECK(detail_of(w).rfind("block: SignedBlock", 0) == 0);
}

TEST_CASE("genesis_time: checked only when configured") {
  const Anchor a;
  CHECK(a.verify(a.state.config.genesis_time) == std::nullopt);
  CHECK(a.verify(a.state.config.genesis_time + 1) == FailureKind::genesis_time);
}

TEST_CASE("slot_mismatch: the state is at another slot") {
  Anchor a;
  a.state.slot += 1;
  CHECK(a.verify() == FailureKind::slot_mismatch);
}

TEST_CASE("root_mismatch: another state at the same slot (the checkpointz case)") {
  Anchor a;
  a.state.historical_block_hashes[0][0] ^= 1;
  const auto s = lean::encode(a.state);
  const auto v = verify_anchor(s, std::nullopt, a.checkpoint);
  CHECK(fault_of(v) == FailureKind::root_mismatch);
  CHECK(detail_of(v).rfind("anchored block root is 0x", 0) == 0);
}

TEST_CASE("root_mismatch: the state's header names another block") {
  Anchor a;
  a.state.latest_block_header.proposer_index += 1;
  const auto s = lean::encode(a.state);
  CHECK(fault_of(verify_anchor(s, std::nullopt, a.checkpoint)) == FailureKind::root_mismatch);
}

TEST_CASE("block_slot") {
  Anchor a;
  a.block.message.slot += 1;
  CHECK(a.verify() == FailureKind::block_slot);
}

TEST_CASE("block_parent") {
  Anchor a;
  a.block.message.parent_root[31] ^= 1;
  CHECK(a.verify() == FailureKind::block_parent);
}

TEST_CASE("block_state_root") {
  Anchor a;
  a.block.message.state_root[0] ^= 1;
  CHECK(a.verify() == FailureKind::block_state_root);
}

TEST_CASE("block_root: same slot, parent and state root, another body") {
  Anchor a;
  a.block.message.body.attestations.push_back({ssz::make_bitlist({true}), {}});
  CHECK(a.verify() == FailureKind::block_root);
}

TEST_CASE("a block's signature half never affects verification") {
  Anchor a;
  a.block.signature.assign(7, 0x42);
  CHECK(a.verify() == std::nullopt);
}

TEST_CASE("a state whose header already carries its state_root anchors that header") {
  // After process_slot at the next slot the header's state_root is filled in;
  // the anchored root is then the header's own.
  Anchor a;
  const ssz::Root root = lean::hash_tree_root(a.state);
  lean::State filled = a.state;
  filled.latest_block_header.state_root = root;
  CHECK(lean::anchored_block_root(filled, ssz::Root{}) == a.checkpoint.root);
}

TEST_CASE("fault names") {
  CHECK(leanpoint::to_string(FailureKind::layout) == "layout");
  CHECK(leanpoint::to_string(FailureKind::slot_mismatch) == "slot_mismatch");
  CHECK(leanpoint::to_string(FailureKind::root_mismatch) == "root_mismatch");
  CHECK(leanpoint::to_string(FailureKind::block_state_root) == "block_state_root");
  CHECK(leanpoint::to_string(FailureKind::block_slot) == "block_slot");
  CHECK(leanpoint::to_string(FailureKind::block_parent) == "block_parent");
  CHECK(leanpoint::to_string(FailureKind::genesis_time) == "genesis_time");
  CHECK(leanpoint::to_string(FailureKind::block_root) == "block_root");
}

TEST_CASE("verify_state on a summary reaches the same verdicts as verify_anchor on the bytes") {
  Anchor a;
  const auto bytes = lean::encode(a.state);
  const auto summary = leanpoint::summarize_state(bytes);
  REQUIRE(summary);
  struct Case {
    lean::Checkpoint checkpoint;
    std::optional<uint64_t> genesis;
    std::optional<FailureKind> fault;
  };
  const Case cases[] = {
      {a.checkpoint, std::nullopt, std::nullopt},
      {{a.checkpoint.root, a.checkpoint.slot + 1}, std::nullopt, FailureKind::slot_mismatch},
      {{ssz::Root{9}, a.checkpoint.slot}, std::nullopt, FailureKind::root_mismatch},
      {a.checkpoint, a.state.config.genesis_time + 1, FailureKind::genesis_time},
  };
  for (const auto& c : cases) {
    const auto from_summary = leanpoint::verify_state(*summary, c.checkpoint, c.genesis);
    const auto from_bytes = verify_anchor(bytes, std::nullopt, c.checkpoint, c.genesis);
    CHECK(fault_of(from_summary) == c.fault);
    CHECK(fault_of(from_bytes) == c.fault);
    CHECK(detail_of(from_summary) == detail_of(from_bytes));
    if (from_summary && from_bytes) CHECK(from_summary->state_root == from_bytes->state_root);
  }
}

TEST_CASE("summarize_state: bytes that do not decode fail layout, with the decoder's reason") {
  const auto summary = leanpoint::summarize_state(std::vector<uint8_t>(100, 0));
  REQUIRE_FALSE(summary);
  CHECK(summary.error().kind == FailureKind::layout);
  CHECK(summary.error().detail.rfind("state: ", 0) == 0);
}
