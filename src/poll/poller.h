// The poller: one thread asks the upstreams in turn, every request under one
// hard deadline, and publishes what it learned as one immutable Snapshot per
// round.
//
//   round:  for each upstream not backing off, in config order:
//             observe it                           -> observe.h
//           agree(finalized checkpoints)           -> agreement.h
//           a restored anchor meets the agreement  -> restored_anchor.h
//           new agreed checkpoint? fetch and verify its anchor from the
//             agreeing upstreams                   -> anchor_fetch.h
//           publish the Snapshot                   -> snapshot.h
//
// The Poller itself keeps the round: which upstream is due (backoff), the
// agreement and its history, the anchor served, and publishing.
//
// At most one upstream connection is open at any time and nothing outlives a
// request, so the descriptor count is bounded by a constant whatever the
// upstreams do. A failing upstream is retried after 1, 2, 4, ... poll
// intervals (capped), and a round retries at most one failing upstream, so
// dead upstreams add at most one deadline to a round.
//
// Every snapshot carries the poller's settings (PollSettings); the
// constructor publishes the first one (round 0), with the restored anchor
// when there is one, so the serving side has them before the first round.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agreement.h"
#include "anchor.h"
#include "anchor_fetch.h"
#include "deadline.h"
#include "local_pressure.h"
#include "observe.h"
#include "poller_options.h"
#include "round_history.h"
#include "snapshot.h"
#include "upstream.h"

namespace leanpoint {

// --data-dir, as the wiring hooks it in (data_dir.h); all empty without it.
struct PersistHooks {
  // The anchor read back and verified again at start (null: none), and its state's summary.
  std::shared_ptr<const VerifiedAnchor> restored;
  StateSummary restored_summary;
  // Called on the poller thread with each new verified anchor, and with null
  // when the restored anchor is dropped. Must not block.
  std::function<void(std::shared_ptr<const VerifiedAnchor>)> on_anchor;
  // The data directory's counters for each snapshot; empty: no --data-dir.
  std::function<DataDirStatus()> data_dir_status;
};

class Poller {
 public:
  // Publishes the first snapshot (round 0) before returning.
  Poller(const PollerOptions& options, std::vector<Upstream> upstreams, SnapshotStore& store, PersistHooks hooks = {});

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
    Upstream upstream;
    UpstreamStatus status;
    uint32_t skip_rounds = 0;   // rounds left to skip while backing off
    uint64_t last_attempt = 0;  // sequence number of its last attempt
    Observation observed;       // this round's, when it answered
    ObserveMemory memory;       // its last fork_choice, for the probe; what was read from it this round
  };
  static Tracked track(const Upstream& up);

  void apply_new_upstreams();
  // The failing upstream this round retries: the due one that waited longest.
  const Tracked* next_retry() const;
  void poll_due_upstreams(int cancel_fd);
  void poll_upstream(Tracked& t, int cancel_fd);
  void record_success(Tracked& t, Observation observed);
  void record_failure(Tracked& t, const Failure& failure);
  void record_anchor_failure(Tracked& t, const Failure& failure);
  void count_bytes();
  void on_agreement(const lean::Checkpoint& agreed, const Agreement& agreement, int cancel_fd);
  void on_undiverse_majority(const Agreement& agreement);
  void settle(const lean::Checkpoint& agreed);
  void ensure_anchor(const lean::Checkpoint& checkpoint, int cancel_fd);
  void adopt(const lean::Checkpoint& checkpoint, FetchedAnchor fetched);
  void publish(int64_t started_ms, Clock::duration took, const Agreement& agreement,
               const std::optional<lean::Checkpoint>& justified);

  const PollerOptions options_;
  PersistHooks hooks_;
  SnapshotStore& store_;
  const int64_t started_ms_;  // unix ms, for PollSettings
  std::mutex pending_mutex_;
  std::optional<std::vector<Upstream>> pending_upstreams_;
  std::vector<Tracked> tracked_;

  // The round's counters (kRoundCounters) and its local failures.
  uint64_t round_ = 0;
  uint64_t attempts_ = 0;
  uint64_t overruns_ = 0;
  uint64_t rounds_without_agreement_ = 0;
  uint64_t rounds_undiverse_ = 0;  // majorities of too few implementations (--min-agreeing-clients)
  LocalPressure local_;

  // What the upstreams agreed on, and the anchor served.
  int64_t agreed_at_ms_ = 0;
  std::vector<AgreedCheckpoint> history_;
  std::shared_ptr<const VerifiedAnchor> anchor_;
  StateSummary anchor_summary_;
  lean::Checkpoint unverified_;  // the last checkpoint no upstream could anchor, to warn once
  RestoreOutcome restore_ = RestoreOutcome::none;
  std::string restore_detail_;
  // The last majority of too few implementations and its round, to warn once an episode.
  std::optional<lean::Checkpoint> undiverse_;
  uint64_t undiverse_round_ = 0;

  // The last rounds, for /api/history: shared with every snapshot, never copied.
  std::shared_ptr<const RoundHistory> rounds_;
};

}  // namespace leanpoint
