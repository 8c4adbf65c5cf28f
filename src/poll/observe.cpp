#include "observe.h"

#include <chrono>
#include <memory>
#include <utility>

#include "lean_api.h"

namespace leanpoint {
namespace {

Observation from_fork_choice(const ForkChoice& fc) {
  Observation o;
  o.via = ObservedVia::fork_choice;
  o.finalized = fc.finalized;
  o.justified = fc.justified;
  o.head = fc.head;
  o.head_slot = fc.head_slot;
  return o;
}

// The node's finalized state names its finalized checkpoint: its slot, and
// the root of the block it anchors.
Expected<Observation, Failure> observe_state(const Upstream& up, const PollerOptions& options, int cancel_fd) {
  auto state = fetch_ssz(up, kStatePath, options.max_state_bytes, deadline_after(options.timeout_ms), cancel_fd);
  if (!state) return Unexpected(std::move(state.error()));
  auto summary = summarize_state(*state);
  if (!summary) return Unexpected(std::move(summary.error()));
  Observation o;
  o.via = ObservedVia::state;
  o.finalized = lean::Checkpoint{summary->block_root, summary->slot};
  o.justified = summary->latest_justified;
  o.state = std::make_shared<const std::vector<uint8_t>>(std::move(*state));
  o.summary = *summary;
  return o;
}

}  // namespace

Expected<Observation, Failure> observe(const Upstream& up, const PollerOptions& options, int cancel_fd) {
  auto fc = fetch_fork_choice(up, options.max_json_bytes, deadline_after(options.timeout_ms), cancel_fd);
  if (fc) return from_fork_choice(*fc);
  // An older client without fork_choice, or one whose fork_choice grew past
  // --max-json-bytes: read through its state instead.
  if (fc.error().not_found() || fc.error().body_over_cap) return observe_state(up, options, cancel_fd);
  return Unexpected(std::move(fc.error()));
}

}  // namespace leanpoint
