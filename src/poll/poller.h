// The poller: one thread asks the upstreams in turn, every request under one
// hard deadline, and publishes what it learned as one immutable Snapshot per
// round.
//
//   round:  for each upstream not backing off, in config order:
//             GET /lean/v0/fork_choice            -> finalized, justified, head
//             (404: an older client; GET its finalized state and read the
//              checkpoint from the state itself)
//           agree(finalized checkpoints)          -> agreement.h
//           new agreed checkpoint? fetch the state, then the block, from the
//             agreeing upstreams in turn until they verify  -> anchor.h
//           publish the Snapshot                  -> snapshot.h
//
// At most one upstream connection is open at any time and nothing outlives a
// request, so the descriptor count is bounded by a constant whatever the
// upstreams do. A failing upstream is retried after 1, 2, 4, ... poll
// intervals (capped), and a round retries at most one failing upstream, so
// dead upstreams add at most one deadline to a round.
//
// A restored anchor (--data-dir, read back and verified again at start) is
// published before the first round, so a restart serves at once even with
// every upstream down. It gives way to the first agreement: the same
// checkpoint confirms it; a lower slot, or the same slot with another root,
// is another chain and drops it for good; a higher one replaces it once that
// anchor verifies.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "anchor.h"
#include "deadline.h"
#include "failure.h"
#include "lean_api.h"
#include "snapshot.h"
#include "upstream.h"

namespace leanpoint {

struct PollerOptions {
  std::vector<Upstream> upstreams;
  std::chrono::milliseconds poll_interval{10000};
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds max_backoff{300000};
  size_t max_state_bytes = kDefaultMaxStateBytes;
  size_t max_json_bytes = kDefaultMaxJsonBytes;
  size_t min_agree = 1;
  std::optional<uint64_t> genesis_time;

  // --data-dir: the anchor read back at start (null: none), what became of
  // the stored one, and where new anchors go.
  std::shared_ptr<const VerifiedAnchor> restored;
  StateSummary restored_summary;
  // Called on the poller thread with each new verified anchor, and with null
  // when the restored anchor is dropped. Must not block (data_dir.h).
  std::function<void(std::shared_ptr<const VerifiedAnchor>)> on_anchor;
  // The data directory's counters for each snapshot; empty: no --data-dir.
  std::function<DataDirStatus()> data_dir_status;
};

class Poller {
 public:
  Poller(PollerOptions options, SnapshotStore& store);

  // Runs a round every poll interval until `stop_fd` becomes readable; a stop
  // also aborts the request in flight. The period does not stretch by the
  // rounds' own duration; a round that overruns starts the next at once.
  void run(int stop_fd);

  // Runs one round now and publishes its snapshot (tests drive rounds so).
  void run_round(int cancel_fd = -1);

  // Replaces the upstreams from the next round on (any thread): upstreams
  // kept (same name and URL) keep their history and backoff, added ones
  // start fresh, removed ones leave the table.
  void set_upstreams(std::vector<Upstream> upstreams);

 private:
  struct Tracked {
    UpstreamStatus status;
    uint32_t skip_rounds = 0;       // rounds left to skip while backing off
    uint64_t last_attempt = 0;      // sequence number of its last attempt
    SharedBytes observed_state;     // this round's state, for upstreams observed through it
    StateSummary observed_summary;  // ... and what summarize_state found in it
  };

  // Polls one upstream; true when it answered with a checkpoint this round.
  bool observe(Tracked& t, int cancel_fd);
  // Reads the checkpoint from the node's finalized state; the failure, if any.
  std::optional<Failure> observe_state(Tracked& t, const Upstream& up, int cancel_fd);
  void record_failure(Tracked& t, const Failure& failure);
  void record_anchor_failure(Tracked& t, const Failure& failure);
  // FailureKind::local: counted and logged once per episode (which ends with
  // a round without one), never blamed on an upstream.
  void note_local(const Failure& failure);
  void end_local_episode();
  void ensure_anchor(const lean::Checkpoint& checkpoint, int cancel_fd);
  // The restored anchor meets the first agreement: confirmed or dropped.
  void settle_restored(const lean::Checkpoint& agreed);
  void publish(int64_t started_ms, Clock::duration took, const Agreement& agreement,
               const std::optional<lean::Checkpoint>& justified);

  void apply_new_upstreams();

  PollerOptions options_;
  std::mutex pending_mutex_;
  std::optional<std::vector<Upstream>> pending_upstreams_;
  SnapshotStore& store_;
  std::vector<Tracked> tracked_;
  uint64_t round_ = 0;
  uint64_t attempts_ = 0;
  uint64_t overruns_ = 0;
  uint64_t rounds_without_agreement_ = 0;
  uint64_t local_errors_total_ = 0;
  uint64_t local_errors_this_round_ = 0;
  bool local_pressure_ = false;
  int64_t agreed_at_ms_ = 0;
  std::shared_ptr<const VerifiedAnchor> anchor_;
  StateSummary anchor_summary_;
  std::vector<AgreedCheckpoint> history_;
  lean::Checkpoint unverified_;  // the last checkpoint no upstream could anchor, to warn once
  RestoreOutcome restore_ = RestoreOutcome::none;
  std::string restore_detail_;
};

}  // namespace leanpoint
