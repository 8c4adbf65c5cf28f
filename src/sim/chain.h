// A deterministic lean chain for the simulated devnet and the tests: a block
// at every slot, finality trailing the head. The same seed gives the same
// roots; another seed is a fork. Anchors are real devnet4 SSZ built with
// lean.h, so verify_anchor and `leanpoint inspect` accept them, and the state
// grows as a real one does: one historical block hash per slot.
//
// Not part of the service.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lean.h"

namespace leanpoint::sim {

struct Anchor {
  lean::Checkpoint checkpoint;  // (slot, root of the block)
  std::vector<uint8_t> state;   // SSZ State after that block, header state_root zeroed as served
  std::vector<uint8_t> block;   // SSZ SignedBlock
};

class Chain {
 public:
  explicit Chain(uint64_t seed, uint64_t genesis_time = 1'700'000'000, size_t validators = 8);

  // The finalized anchor at `slot` (cached: the last few are kept).
  std::shared_ptr<const Anchor> anchor_at(uint64_t slot) const;
  lean::Checkpoint checkpoint_at(uint64_t slot) const { return anchor_at(slot)->checkpoint; }

  // A root standing for the block at `slot` where no anchor is needed (head,
  // historical hashes): cheap, and distinct per seed.
  ssz::Root block_hash(uint64_t slot) const;

  // GET /lean/v0/fork_choice as a node at `head` with the given finalized and
  // justified slots would answer.
  std::string fork_choice_json(uint64_t head, uint64_t justified, uint64_t finalized) const;

  uint64_t genesis_time() const { return genesis_time_; }
  size_t validators() const { return validators_; }

 private:
  std::shared_ptr<const Anchor> build(uint64_t slot) const;

  uint64_t seed_;
  uint64_t genesis_time_;
  size_t validators_;
  mutable std::mutex mutex_;
  mutable std::map<uint64_t, std::shared_ptr<const Anchor>> cache_;
};

// Where finality stands at `slot` in the simulated devnet: justified every 4
// slots, finalized the justified checkpoint before that.
uint64_t justified_slot(uint64_t slot);
uint64_t finalized_slot(uint64_t slot);

}  // namespace leanpoint::sim
