// libFuzzer target: load_anchor (anchor_file.h) on arbitrary bytes, as a
// damaged or foreign --data-dir file would present them.
//
// Property checked: every input is refused with a message and a kind that
// fits the step (parsing: foreign or corrupt; proving: verify) or loads as an
// anchor whose state and block are exactly the bytes the header announces,
// in place; nothing throws. A parse that points outside the input, a loaded
// anchor that differs from its bytes, a sanitizer report or the trap below
// is a finding.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "anchor_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const leanpoint::ssz::Bytes input(data, size);
  using leanpoint::PersistErrorKind;
  const auto view = leanpoint::parse_anchor_file(input);
  if (!view) {
    const auto kind = view.error().kind;
    if (view.error().detail.empty() || (kind != PersistErrorKind::foreign && kind != PersistErrorKind::corrupt))
      __builtin_trap();
    return 0;
  }
  const auto inside = [&](leanpoint::ssz::Bytes part) {
    return part.data() >= data && part.data() + part.size() <= data + size;
  };
  if (!inside(view->state) || (view->block && !inside(*view->block))) __builtin_trap();
  // The parts end the file exactly.
  const uint8_t* end =
      view->block ? view->block->data() + view->block->size() : view->state.data() + view->state.size();
  if (end != data + size) __builtin_trap();
  const auto loaded = leanpoint::load_anchor(input, std::nullopt);
  if (!loaded) {
    // It parsed, so only the proof can refuse it.
    if (loaded.error().kind != PersistErrorKind::verify || loaded.error().detail.empty()) __builtin_trap();
    return 0;
  }
  const auto& a = *loaded->anchor;
  if (!a.restored || !std::equal(a.state->begin(), a.state->end(), view->state.begin(), view->state.end()))
    __builtin_trap();
  return 0;
}
