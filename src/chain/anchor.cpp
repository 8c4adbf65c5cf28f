#include "anchor.h"

#include "hex.h"

namespace leanpoint {

Expected<StateSummary, Failure> summarize_state(ssz::Bytes bytes) {
  lean::State state;
  try {
    state = lean::decode_state(bytes);
  } catch (const ssz::SszError& e) {
    return Unexpected(Failure{FailureKind::layout, std::string("state: ") + e.what()});
  }
  StateSummary s;
  s.slot = state.slot;
  s.genesis_time = state.config.genesis_time;
  s.state_root = lean::hash_tree_root(state);
  s.block_root = lean::anchored_block_root(state, s.state_root);
  s.parent_root = state.latest_block_header.parent_root;
  s.latest_justified = state.latest_justified;
  s.validator_count = state.validators.size();
  return s;
}

Expected<lean::StateHead, Failure> read_state_head(ssz::Bytes state) {
  try {
    return lean::decode_state_head(state);
  } catch (const ssz::SszError& e) {
    return Unexpected(Failure{FailureKind::layout, std::string("state: ") + e.what()});
  }
}

namespace {

Unexpected<Failure> refuse(FailureKind kind, const std::string& what, const std::string& got, const std::string& want) {
  return Unexpected(Failure{kind, what + " is " + got + ", expected " + want});
}

}  // namespace

Expected<StateSummary, Failure> verify_anchor(ssz::Bytes state, std::optional<ssz::Bytes> block,
                                              const lean::Checkpoint& checkpoint,
                                              std::optional<uint64_t> genesis_time) {
  auto summary = summarize_state(state);
  if (!summary) return summary;
  auto verified = verify_state(*summary, checkpoint, genesis_time);
  if (!verified || !block) return verified;
  return verify_block(*verified, *block, checkpoint);
}

Expected<StateSummary, Failure> verify_state(const StateSummary& s, const lean::Checkpoint& checkpoint,
                                             std::optional<uint64_t> genesis_time) {
  using std::to_string;
  if (genesis_time && s.genesis_time != *genesis_time)
    return refuse(FailureKind::genesis_time, "state genesis_time", to_string(s.genesis_time), to_string(*genesis_time));
  if (s.slot != checkpoint.slot)
    return refuse(FailureKind::slot_mismatch, "state slot", to_string(s.slot), to_string(checkpoint.slot));
  if (s.block_root != checkpoint.root)
    return refuse(FailureKind::root_mismatch, "anchored block root", to_hex(s.block_root), to_hex(checkpoint.root));
  return s;
}

Expected<StateSummary, Failure> verify_block(const StateSummary& s, ssz::Bytes block,
                                             const lean::Checkpoint& checkpoint) {
  using std::to_string;
  lean::SignedBlock signed_block;
  try {
    signed_block = lean::decode_signed_block(block);
  } catch (const ssz::SszError& e) {
    return Unexpected(Failure{FailureKind::layout, std::string("block: ") + e.what()});
  }
  const lean::Block& b = signed_block.message;
  if (b.slot != checkpoint.slot)
    return refuse(FailureKind::block_slot, "block slot", to_string(b.slot), to_string(checkpoint.slot));
  if (b.parent_root != s.parent_root)
    return refuse(FailureKind::block_parent, "block parent_root", to_hex(b.parent_root), to_hex(s.parent_root));
  if (b.state_root != s.state_root)
    return refuse(FailureKind::block_state_root, "block state_root", to_hex(b.state_root), to_hex(s.state_root));
  const ssz::Root block_root = lean::hash_tree_root(b);
  if (block_root != checkpoint.root)
    return refuse(FailureKind::block_root, "block root", to_hex(block_root), to_hex(checkpoint.root));
  return s;
}

}  // namespace leanpoint
