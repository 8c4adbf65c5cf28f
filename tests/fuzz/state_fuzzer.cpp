// libFuzzer target: lean::decode_state on arbitrary bytes.
//
// Property checked: every input is either rejected with ssz::SszError, or it
// decodes to a State that re-encodes to exactly the input bytes (SSZ is
// canonical: one value, one encoding) and that hash_tree_root accepts. Only
// the decode may throw SszError; any other exception, an SszError from
// encode/hash_tree_root, a sanitizer report or the trap below is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "lean.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace lean = leanpoint::lean;
  const leanpoint::ssz::Bytes input(data, size);
  lean::State state;
  try {
    state = lean::decode_state(input);
  } catch (const leanpoint::ssz::SszError&) {
    return 0;  // rejected: fine
  }
  const std::vector<uint8_t> again = lean::encode(state);
  if (!std::equal(again.begin(), again.end(), input.begin(), input.end())) __builtin_trap();
  (void)lean::hash_tree_root(state);  // defined in another TU: not elided
  return 0;
}
