// Observing an upstream: its finalized checkpoint (and justified, and head)
// as it reports them this round.
//
//   GET /lean/v0/fork_choice                  -> finalized, justified, head
//   404 (an older client without fork_choice) or too_large (a fork_choice
//   grown past --max-json-bytes through a long non-finality):
//     GET /lean/v0/states/finalized           -> the checkpoint the state anchors
//
// A state read to observe a node is kept with its summary: when the
// upstreams agree on its checkpoint it is the anchor candidate, and is not
// downloaded again (anchor_fetch.h).
#pragma once

#include <optional>

#include "anchor.h"
#include "expected.h"
#include "failure.h"
#include "lean.h"
#include "poller_options.h"
#include "snapshot.h"
#include "upstream.h"

namespace leanpoint {

struct Observation {
  ObservedVia via = ObservedVia::none;
  lean::Checkpoint finalized;
  std::optional<lean::Checkpoint> justified;
  std::optional<ssz::Root> head;      // fork_choice only
  std::optional<uint64_t> head_slot;  // fork_choice only, when it lists the head
  SharedBytes state;                  // via state: the bytes read ...
  StateSummary summary;               // ... and what summarize_state found in them
};

// Asks `up` for its finalized checkpoint, each request under its own deadline
// of options.timeout_ms; a readable `cancel_fd` aborts it (cancelled). Fails
// with the transport's and the answer's kinds (lean_api.h), or `layout` for a
// state that does not decode.
Expected<Observation, Failure> observe(const Upstream& up, const PollerOptions& options, int cancel_fd = -1);

}  // namespace leanpoint
