// Proving an anchor: does this state (and block) belong to the finalized
// checkpoint the upstreams agreed on?
//
// leanpoint never serves bytes it has not proven. A state anchors the block
// whose root is hash_tree_root(latest_block_header with state_root :=
// hash_tree_root(state)); that root must be the agreed checkpoint root, and a
// served block must be that very block. (In 2026 checkpointz served a lagging
// upstream's state under the real root; this is the check it lacked.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "expected.h"
#include "failure.h"
#include "lean.h"

namespace leanpoint {

// What a state says about itself: enough to observe an upstream's finalized
// checkpoint from its state alone, and to check it against one.
struct StateSummary {
  uint64_t slot = 0;
  uint64_t genesis_time = 0;
  ssz::Root state_root{};  // hash_tree_root(state)
  ssz::Root block_root{};  // the root of the block this state anchors
  ssz::Root parent_root{};
  lean::Checkpoint latest_justified;  // the state's own view
  size_t validator_count = 0;
};

// Decodes and hashes a state; fails `layout`, naming what does not fit. The
// decoders' ssz::SszError stops here.
Expected<StateSummary, Failure> summarize_state(ssz::Bytes state);

// A state's head (lean::decode_state_head): the block it anchors, as a
// fork_choice node lists it, and its validator count. Fails `layout`.
Expected<lean::StateHead, Failure> read_state_head(ssz::Bytes state);

// The proofs below return the state's summary when the anchor is proven, and
// otherwise a Failure of one of the anchor kinds (layout, genesis_time,
// slot_mismatch, root_mismatch, block_*) whose detail names what differed,
// with both values.

// Verifies a state already summarized against `checkpoint` (and, when
// given, the genesis time): the checks verify_anchor makes after decoding.
Expected<StateSummary, Failure> verify_state(const StateSummary& state, const lean::Checkpoint& checkpoint,
                                             std::optional<uint64_t> genesis_time = std::nullopt);

// Verifies a SignedBlock against a state already summarized and verified
// against `checkpoint`: the block must be the one the state anchors. Never
// fails with layout-on-state, genesis_time, slot_mismatch or root_mismatch.
Expected<StateSummary, Failure> verify_block(const StateSummary& state, ssz::Bytes block,
                                             const lean::Checkpoint& checkpoint);

// Verifies `state` (and `block`, a SignedBlock, when given) against
// `checkpoint`; with `genesis_time`, also the state's genesis time.
Expected<StateSummary, Failure> verify_anchor(ssz::Bytes state, std::optional<ssz::Bytes> block,
                                              const lean::Checkpoint& checkpoint,
                                              std::optional<uint64_t> genesis_time = std::nullopt);

}  // namespace leanpoint
