#include "chain.h"

#include <nlohmann/json.hpp>

#include "hex.h"

namespace leanpoint::sim {
namespace {

constexpr size_t kCacheSize = 8;
constexpr size_t kSignatureSize = 2540;  // the size of a devnet4 signature half, contents opaque

lean::Pubkey pubkey(size_t index, uint8_t which) {
  lean::Pubkey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(index * 31 + i * 7 + which);
  return k;
}

}  // namespace

uint64_t justified_slot(uint64_t slot) { return slot - slot % 4; }
uint64_t finalized_slot(uint64_t slot) { return justified_slot(slot) >= 4 ? justified_slot(slot) - 4 : 0; }

Chain::Chain(uint64_t seed, uint64_t genesis_time, size_t validators)
    : seed_(seed), genesis_time_(genesis_time), validators_(validators) {}

ssz::Root Chain::block_hash(uint64_t slot) const {
  return ssz::hash_pair(ssz::root_of_u64(seed_), ssz::root_of_u64(slot));
}

std::shared_ptr<const Anchor> Chain::anchor_at(uint64_t slot) const {
  {
    std::lock_guard lock(mutex_);
    if (const auto it = cache_.find(slot); it != cache_.end()) return it->second;
  }
  auto anchor = build(slot);  // outside the lock: building a big state takes a while
  std::lock_guard lock(mutex_);
  cache_.emplace(slot, anchor);
  while (cache_.size() > kCacheSize) cache_.erase(cache_.begin());
  return anchor;
}

std::shared_ptr<const Anchor> Chain::build(uint64_t slot) const {
  lean::SignedBlock block;
  block.message.slot = slot;
  block.message.proposer_index = slot % validators_;
  block.message.parent_root = slot ? block_hash(slot - 1) : ssz::Root{};
  block.signature.assign(kSignatureSize, 0);

  lean::State s;
  s.config.genesis_time = genesis_time_;
  s.slot = slot;
  s.latest_block_header = lean::header_of(block.message);  // state_root zero, as served
  const uint64_t justified = slot >= 1 ? slot - 1 : 0;
  s.latest_justified = {block_hash(justified), justified};
  s.latest_finalized = {block_hash(finalized_slot(justified)), finalized_slot(justified)};
  const uint64_t history = std::min<uint64_t>(slot, lean::kHistoricalRootsLimit);
  s.historical_block_hashes.reserve(history);
  for (uint64_t i = slot - history; i < slot; ++i) s.historical_block_hashes.push_back(block_hash(i));
  s.justified_slots = ssz::make_bitlist(std::vector<bool>(history, true));
  for (size_t i = 0; i < validators_; ++i) s.validators.push_back({pubkey(i, 1), pubkey(i, 2), i});
  s.justifications_roots = {};
  s.justifications_validators = ssz::make_bitlist({});

  block.message.state_root = lean::hash_tree_root(s);
  auto anchor = std::make_shared<Anchor>();
  anchor->checkpoint = {lean::hash_tree_root(block.message), slot};
  anchor->state = lean::encode(s);
  anchor->block = lean::encode(block);
  return anchor;
}

std::string Chain::fork_choice_json(uint64_t head, uint64_t justified, uint64_t finalized) const {
  const auto head_root = to_hex(block_hash(head));
  nlohmann::json nodes = nlohmann::json::array();
  for (uint64_t s = finalized; s <= head; ++s)
    nodes.push_back({{"root", to_hex(block_hash(s))},
                     {"slot", s},
                     {"parent_root", to_hex(s ? block_hash(s - 1) : ssz::Root{})},
                     {"proposer_index", s % validators_},
                     {"weight", validators_}});
  const nlohmann::json doc = {
      {"nodes", nodes},
      {"head", head_root},
      {"justified", {{"slot", justified}, {"root", to_hex(checkpoint_at(justified).root)}}},
      {"finalized", {{"slot", finalized}, {"root", to_hex(checkpoint_at(finalized).root)}}},
      {"safe_target", head_root},
      {"validator_count", validators_},
  };
  return doc.dump();
}

}  // namespace leanpoint::sim
