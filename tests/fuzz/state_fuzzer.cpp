// libFuzzer target: lean::decode_state, and lean::decode_state_head (the
// fixed part and the validators' offsets only), on arbitrary bytes.
//
// Property checked: every input is either rejected with ssz::SszError, or it
// decodes to a State that re-encodes to exactly the input bytes (SSZ is
// canonical: one value, one encoding) and that hash_tree_root accepts. Only
// the decode may throw SszError; any other exception, an SszError from
// encode/hash_tree_root, a sanitizer report or the trap below is a finding.
// decode_state_head may accept what decode_state refuses (it reads less),
// but where both accept, they agree.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "lean.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace lean = leanpoint::lean;
  const leanpoint::ssz::Bytes input(data, size);
  std::optional<lean::StateHead> head;
  try {
    head = lean::decode_state_head(input);
  } catch (const leanpoint::ssz::SszError&) {
  }
  lean::State state;
  try {
    state = lean::decode_state(input);
  } catch (const leanpoint::ssz::SszError&) {
    return 0;  // rejected: fine
  }
  if (!head || head->slot != state.slot || !(head->latest_block_header == state.latest_block_header) ||
      head->validator_count != state.validators.size())
    __builtin_trap();
  const std::vector<uint8_t> again = lean::encode(state);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) __builtin_trap();
  (void)lean::hash_tree_root(state);  // defined in another TU: not elided
  return 0;
}
