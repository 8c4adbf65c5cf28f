// Settling a restored anchor (ARCHITECTURE.md §8). The anchor --data-dir held
// at start is verified again and served before the first round, marked
// `restored`: a claim, not a verdict. The first agreement settles it:
//
//   the same checkpoint                     -> confirmed: served on, no longer marked
//   a higher slot                           -> served until the newer anchor verifies,
//                                              which replaces it
//   a lower slot, or the same slot with
//   another root                            -> another chain: dropped at once, never
//                                              served again
#pragma once

#include <memory>
#include <string>

#include "lean.h"
#include "snapshot.h"

namespace leanpoint {

struct Settlement {
  // confirmed; dropped; or serving, while a newer checkpoint's anchor is due.
  RestoreOutcome outcome = RestoreOutcome::serving;
  std::shared_ptr<const VerifiedAnchor> anchor;  // what to serve now: null once dropped
  std::string detail;                            // dropped: which chain the upstreams follow instead
};

// The upstreams agree on `agreed` while `restored` (marked restored) is served.
Settlement settle_restored(std::shared_ptr<const VerifiedAnchor> restored, const lean::Checkpoint& agreed);

// What becomes of the restore outcome `now` when a newly verified anchor
// takes the place of `served` (null: none): a restored one is replaced.
RestoreOutcome outcome_after_new_anchor(const VerifiedAnchor* served, RestoreOutcome now);

}  // namespace leanpoint
