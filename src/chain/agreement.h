// Which finalized checkpoint the upstreams agree on.
//
// The rule: a strict majority (more than half) of the upstreams that answered
// this round report the exact same (slot, root), and at least `min_agree` of
// them. Ties and pluralities agree on nothing: leanpoint would rather serve no
// new anchor than pick between disagreeing nodes. (The Zig leanpoint counted
// slots without roots, accepted exactly half, and picked arbitrarily on ties.)
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "lean.h"

namespace leanpoint {

struct Agreement {
  std::optional<lean::Checkpoint> checkpoint;  // empty: no agreement
  size_t votes = 0;                            // upstreams behind the most reported checkpoint
  size_t answered = 0;                         // upstreams that answered this round
};

Agreement agree(std::span<const lean::Checkpoint> answers, size_t min_agree = 1);

}  // namespace leanpoint
