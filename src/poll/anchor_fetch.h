// Fetching and verifying an anchor for the agreed checkpoint: the state, then
// the block, from the agreeing upstreams in config order, until they verify
// (anchor.h proves them).
//
//   for each agreeing upstream, in config order:
//     no state yet?  its state (the one it was observed through this round,
//                    or GET states/finalized) -> verify_state
//     then           GET blocks/finalized     -> verify_block; done once one verifies
//
// Two answers are not faults (ARCHITECTURE.md §4): a 404 for the block (a node
// that serves no blocks), and a state newer than the checkpoint (finality moved
// on between its fork_choice answer and the download; the next round agrees on
// the newer checkpoint). Every other refusal is reported for its upstream.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "anchor.h"
#include "expected.h"
#include "failure.h"
#include "lean.h"
#include "poller_options.h"
#include "snapshot.h"
#include "upstream.h"

namespace leanpoint {

// An agreeing upstream, and the state it was observed through this round
// (null when it answered fork_choice).
struct AnchorSource {
  Upstream upstream;
  SharedBytes state;
  StateSummary summary;           // of `state`
  EndpointBytes* read = nullptr;  // when set, the response bytes read from it are added here
};

// What one source's bytes came to, in the order they were asked: verified
// (its last refusal is over) or refused, with why.
struct SourceVerdict {
  size_t source = 0;  // index into the sources
  Expected<void, Failure> verdict;
};

struct FetchedAnchor {
  // The anchor for the checkpoint after this fetch: null when no state
  // verified; `held` itself when it was given and no block verified.
  std::shared_ptr<const VerifiedAnchor> anchor;
  StateSummary summary;  // of its state
  std::vector<SourceVerdict> verdicts;
};

// Fetches what `checkpoint`'s anchor lacks from `sources`. `held` (with its
// state's `held_summary`) is an anchor already verified for `checkpoint`
// without a block: then only a block is fetched; null: a state first. Each
// request has its own deadline of options.timeout_ms. Fails only `cancelled`,
// when `cancel_fd` becomes readable (the stopping round publishes nothing).
Expected<FetchedAnchor, Failure> fetch_anchor(const lean::Checkpoint& checkpoint,
                                              const std::vector<AnchorSource>& sources, const PollerOptions& options,
                                              int cancel_fd = -1, std::shared_ptr<const VerifiedAnchor> held = nullptr,
                                              const StateSummary& held_summary = {});

}  // namespace leanpoint
