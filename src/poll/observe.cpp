#include "observe.h"

#include <chrono>
#include <memory>
#include <utility>

#include "lean_api.h"

namespace leanpoint {
namespace {

Observation from_fork_choice(const ForkChoice& fc, ObservedVia via) {
  Observation o;
  o.via = via;
  o.finalized = fc.finalized;
  o.justified = fc.justified;
  o.head = fc.head;
  o.head_slot = fc.head_slot;
  return o;
}

// The node's finalized state names its finalized checkpoint: its slot, and
// the root of the block it anchors. Under a deadline of its own.
Expected<Observation, Failure> observe_state(const Upstream& up, const PollerOptions& options, int cancel_fd,
                                             uint64_t* read_bytes) {
  auto state =
      fetch_ssz(up, kStatePath, options.max_state_bytes, deadline_after(options.timeout_ms), cancel_fd, read_bytes);
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

// Whether this round asks for the justified checkpoint before fork_choice.
bool probe_due(const ObserveMemory& m, const PollerOptions& options, uint64_t round) {
  const uint64_t refresh = options.fork_choice_refresh_rounds;
  return options.fork_choice_probe_bytes > 0 && m.last && m.last->justified &&
         m.last_bytes > options.fork_choice_probe_bytes && round - m.last_round < refresh &&
         (m.unserved_round == 0 || round - m.unserved_round >= refresh);
}

Expected<Observation, Failure> read_fork_choice(const Upstream& up, const PollerOptions& options, uint64_t round,
                                                ObserveMemory& m, Clock::time_point deadline, int cancel_fd) {
  uint64_t& bytes = m.read[UpstreamEndpoint::fork_choice];
  const uint64_t before = bytes;
  auto fc = fetch_fork_choice(up, options.max_json_bytes, deadline, cancel_fd, &bytes);
  if (fc) {
    m.last = *fc;
    m.last_round = round;
    m.last_bytes = bytes - before;
    return from_fork_choice(*fc, ObservedVia::fork_choice);
  }
  // Nothing is probed against until a fork_choice is read again.
  m.last.reset();
  m.last_bytes = 0;
  // An older client without fork_choice, or one whose fork_choice grew past
  // --max-json-bytes: read through its state instead.
  if (fc.error().not_found() || fc.error().body_over_cap)
    return observe_state(up, options, cancel_fd, &m.read[UpstreamEndpoint::state]);
  return Unexpected(std::move(fc.error()));
}

}  // namespace

Expected<Observation, Failure> observe(const Upstream& up, const PollerOptions& options, uint64_t round,
                                       ObserveMemory& memory, int cancel_fd) {
  memory.read.clear();
  const auto deadline = deadline_after(options.timeout_ms);
  if (probe_due(memory, options, round)) {
    auto justified = fetch_justified(up, deadline, cancel_fd, &memory.read[UpstreamEndpoint::justified]);
    if (justified && *justified == *memory.last->justified)
      return from_fork_choice(*memory.last, ObservedVia::justified_unchanged);
    if (!justified) {
      const FailureKind kind = justified.error().kind;
      // Ours, or a stop: not a reason to ask again.
      if (kind == FailureKind::local || kind == FailureKind::cancelled) return Unexpected(std::move(justified.error()));
      if (justified.error().not_found()) memory.unserved_round = round;
    }
    // Moved, failed or not served: the fork_choice decides.
  }
  return read_fork_choice(up, options, round, memory, deadline, cancel_fd);
}

Expected<Observation, Failure> observe(const Upstream& up, const PollerOptions& options, int cancel_fd) {
  ObserveMemory memory;
  return observe(up, options, 1, memory, cancel_fd);
}

}  // namespace leanpoint
