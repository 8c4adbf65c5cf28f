// Observing an upstream: its finalized checkpoint (and justified, and head)
// as it reports them this round.
//
//   its last fork_choice was over --fork-choice-probe-bytes, read fewer than
//   --fork-choice-refresh-rounds rounds ago, and had a justified checkpoint:
//     GET /lean/v0/checkpoints/justified      -> the same checkpoint? done:
//                                                that fork_choice's finalized
//                                                (justified_unchanged)
//   otherwise, or when that checkpoint moved, or the probe failed:
//     GET /lean/v0/fork_choice                -> finalized, justified, head
//   404 (an older client without fork_choice) or too_large (a fork_choice
//   grown past --max-json-bytes through a long non-finality):
//     GET /lean/v0/states/finalized           -> the checkpoint the state anchors
//
// Why the probe is safe: in lean consensus the finalized checkpoint moves
// only in the step that justifies a checkpoint, and a node that restarts or
// switches branches changes its justified checkpoint too. So a node whose
// justified checkpoint stands still still has the finalized one its last
// fork_choice named; a change is seen, and fork_choice read, in the first
// round after it. The refresh bound catches a node that breaks the rule. A
// probe answered 404 (an older node) is not asked again until the refresh
// is due. The probe and the fork_choice read after it share one deadline.
//
// A state read to observe a node is kept with its summary: when the
// upstreams agree on its checkpoint it is the anchor candidate, and is not
// downloaded again (anchor_fetch.h).
#pragma once

#include <cstdint>
#include <optional>

#include "anchor.h"
#include "expected.h"
#include "failure.h"
#include "fork_choice.h"
#include "lean.h"
#include "poller_options.h"
#include "snapshot.h"
#include "upstream.h"

namespace leanpoint {

struct Observation {
  ObservedVia via = ObservedVia::none;
  lean::Checkpoint finalized;
  std::optional<lean::Checkpoint> justified;
  std::optional<ssz::Root> head;      // fork_choice only (justified_unchanged: its last fork_choice's)
  std::optional<uint64_t> head_slot;  // fork_choice only, when it lists the head
  SharedBytes state;                  // via state: the bytes read ...
  StateSummary summary;               // ... and what summarize_state found in them
};

// What observing one upstream carries from round to round (the poller keeps
// one per upstream), and what the last attempt read from it.
struct ObserveMemory {
  std::optional<ForkChoice> last;  // its last fork_choice; empty once it failed or was read via state
  uint64_t last_round = 0;         // the round that fork_choice was read in
  uint64_t last_bytes = 0;         // its response's size, head and body
  uint64_t unserved_round = 0;     // the round the probe was answered 404; 0: not since
  EndpointBytes read;              // response bytes read by the last observe, by endpoint
};

// Asks `up` for its finalized checkpoint in round `round` (counted from 1),
// each request under a deadline of options.timeout_ms (the probe and the
// fork_choice after it share one); a readable `cancel_fd` aborts it
// (cancelled). Fails with the transport's and the answer's kinds
// (lean_api.h), or `layout` for a state that does not decode.
Expected<Observation, Failure> observe(const Upstream& up, const PollerOptions& options, uint64_t round,
                                       ObserveMemory& memory, int cancel_fd = -1);

// The same without memory: fork_choice (or the state) every time.
Expected<Observation, Failure> observe(const Upstream& up, const PollerOptions& options, int cancel_fd = -1);

}  // namespace leanpoint
