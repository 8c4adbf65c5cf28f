// What a polling round publishes: one immutable Snapshot, swapped in whole at
// the end of the round. The server reads snapshots and nothing else of the
// poller; it never blocks the poller and never sees half a round. Anchor bytes
// are shared between snapshots (and with responses in flight), never copied.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agreement.h"
#include "failure.h"
#include "lean.h"
#include "round_history.h"

namespace leanpoint {

using SharedBytes = std::shared_ptr<const std::vector<uint8_t>>;

// A finalized state (and, when an agreeing upstream served one, its block),
// both proven to belong to `checkpoint` (anchor.h).
struct VerifiedAnchor {
  lean::Checkpoint checkpoint;
  SharedBytes state;
  SharedBytes block;  // null until an agreeing upstream serves a block that verifies
  ssz::Root state_root{};
  std::string state_source;  // the upstream the state came from
  std::string block_source;
  int64_t verified_at_ms = 0;  // unix ms
  uint64_t genesis_time = 0;   // the state's
  bool restored = false;       // read back from --data-dir and not yet confirmed by an agreement
};

// What became of the anchor --data-dir held at start (poller.h).
enum class RestoreOutcome : uint8_t {
  none,       // no stored anchor (or no --data-dir)
  refused,    // the stored anchor failed verification; set aside, never served
  serving,    // verified and served; the upstreams have not agreed on anything yet
  confirmed,  // the upstreams agreed on the same checkpoint
  replaced,   // a newer verified anchor took its place
  dropped,    // the upstreams agreed on another chain; never served again
};

inline constexpr RestoreOutcome kRestoreOutcomes[] = {RestoreOutcome::none,     RestoreOutcome::refused,
                                                      RestoreOutcome::serving,  RestoreOutcome::confirmed,
                                                      RestoreOutcome::replaced, RestoreOutcome::dropped};

inline std::string_view to_string(RestoreOutcome o) {
  switch (o) {
    case RestoreOutcome::none: return "none";
    case RestoreOutcome::refused: return "refused";
    case RestoreOutcome::serving: return "serving";
    case RestoreOutcome::confirmed: return "confirmed";
    case RestoreOutcome::replaced: return "replaced";
    case RestoreOutcome::dropped: return "dropped";
  }
  return "none";
}

// --data-dir as the round that published it saw it (data_dir.h).
struct DataDirStatus {
  std::string path;
  RestoreOutcome restore = RestoreOutcome::none;
  std::optional<lean::Checkpoint> restored;  // the checkpoint read back at start
  std::string restore_detail;                // why it was refused or dropped
  uint64_t writes_total = 0;                 // anchors written
  uint64_t write_errors_total = 0;
  std::string last_write_error;            // empty once a write succeeds again
  int64_t last_write_ms = 0;               // unix ms of the last anchor written; 0: none yet
  uint64_t pin_records_total = 0;          // the pair rule's events written to pins.journal (pin_store.h)
  uint64_t pin_records_dropped_total = 0;  // dropped: the writer's queue was full, or the write failed
};

// The data directory's counters: the one list /status ("data_dir") and
// /metrics both render. A metric is "leanpoint_data_dir_" + its /status name.
struct DataDirCounter {
  uint64_t DataDirStatus::*field;
  std::string_view status_field;
  std::string_view metric;
  std::string_view help;
};
inline constexpr DataDirCounter kDataDirCounters[] = {
    {&DataDirStatus::writes_total, "writes_total", "leanpoint_data_dir_writes_total",
     "Verified anchors written to --data-dir."},
    {&DataDirStatus::write_errors_total, "write_errors_total", "leanpoint_data_dir_write_errors_total",
     "Anchors that could not be written to --data-dir (full, read-only, ...); serving goes on."},
    {&DataDirStatus::pin_records_total, "pin_records_total", "leanpoint_data_dir_pin_records_total",
     "Pin events written to --data-dir's pins.journal, so that pins outlive the process."},
    {&DataDirStatus::pin_records_dropped_total, "pin_records_dropped_total",
     "leanpoint_data_dir_pin_records_dropped_total",
     "Pin events not written (the writer's queue full, or the write failed): a restart may not restore those pins."},
};

// How the poller learned an upstream's finalized checkpoint.
enum class ObservedVia : uint8_t {
  none,                 // not yet
  fork_choice,          // GET /lean/v0/fork_choice
  justified_unchanged,  // the probe: its justified checkpoint is its last fork_choice's, and so is its finalized
  state,                // its finalized state, for nodes without fork_choice (404)
};

inline std::string_view to_string(ObservedVia via) {
  switch (via) {
    case ObservedVia::none: return "none";
    case ObservedVia::fork_choice: return "fork_choice";
    case ObservedVia::justified_unchanged: return "justified_unchanged";
    case ObservedVia::state: return "state";
  }
  return "none";
}

// What the poller reads from an upstream: each is a label of
// leanpoint_upstream_bytes_total.
enum class UpstreamEndpoint : uint8_t { fork_choice, justified, state, block };

inline constexpr UpstreamEndpoint kUpstreamEndpoints[] = {UpstreamEndpoint::fork_choice, UpstreamEndpoint::justified,
                                                          UpstreamEndpoint::state, UpstreamEndpoint::block};

inline std::string_view to_string(UpstreamEndpoint e) {
  switch (e) {
    case UpstreamEndpoint::fork_choice: return "fork_choice";
    case UpstreamEndpoint::justified: return "justified";
    case UpstreamEndpoint::state: return "state";
    case UpstreamEndpoint::block: return "block";
  }
  return "fork_choice";
}

// Response bytes (head and body) read, by endpoint.
using EndpointBytes = std::map<UpstreamEndpoint, uint64_t>;

// One upstream as the poller last saw it.
struct UpstreamStatus {
  std::string name;
  std::string url;
  std::string path;      // as configured (not polled)
  std::string client;    // its implementation (Upstream::client); empty: not known
  bool polled = false;   // attempted this round (false: backing off)
  bool healthy = false;  // the last attempt succeeded
  ObservedVia observed_via = ObservedVia::none;
  int64_t last_attempt_ms = 0;
  int64_t last_success_ms = 0;
  int64_t latency_ms = 0;            // of the last attempt
  std::optional<FailureKind> error;  // of the last attempt; empty when healthy
  std::string error_detail;
  int http_status = 0;
  std::optional<lean::Checkpoint> finalized;  // from the last success
  std::optional<lean::Checkpoint> justified;
  std::optional<ssz::Root> head;
  std::optional<uint64_t> head_slot;
  bool agrees = false;  // its finalized is the agreed checkpoint (this round)
  uint32_t consecutive_failures = 0;
  int64_t backoff_until_ms = 0;             // unix ms; 0 when not backing off
  std::optional<FailureKind> anchor_error;  // why the last anchor bytes it served were refused
  std::string anchor_error_detail;
  uint64_t polls_total = 0;
  std::map<FailureKind, uint64_t> errors_total;  // by kind, polls and anchor fetches
  uint64_t fork_choice_bytes = 0;                // its last fork_choice response; 0: none read (or via state)
  uint64_t round_bytes = 0;                      // read from it this round, observing and fetching anchors
  EndpointBytes bytes_total;                     // read from it since start
};

struct AgreedCheckpoint {
  lean::Checkpoint checkpoint;
  int64_t first_agreed_ms = 0;
};

// What the poller runs with, as the serving side needs it (/livez's stall
// rule, Retry-After, /status): published in every snapshot, so the serving
// side never copies the poller's options. The defaults are PollerOptions'
// (poller.h); zero here means no poller has published yet.
struct PollSettings {
  int64_t poll_ms = 0;
  int64_t timeout_ms = 0;
  size_t min_agree = 0;
  int64_t started_ms = 0;  // unix ms the poller was built, before its first round
  size_t min_clients = 0;  // --min-agreeing-clients
};

struct Snapshot {
  PollSettings settings;
  uint64_t round = 0;  // 0: no round has finished yet
  int64_t round_started_ms = 0;
  int64_t round_duration_ms = 0;
  uint64_t rounds_overrun_total = 0;  // rounds that took longer than the poll interval
  uint64_t rounds_without_agreement_total = 0;
  uint64_t local_errors_total = 0;  // requests that failed for want of local resources (FailureKind::local)
  std::string last_error;           // why the last round agreed on nothing; empty when it agreed

  Agreement agreement;                           // this round's
  std::optional<lean::Checkpoint> justified;     // agreed the same way, on justified checkpoints
  int64_t agreed_at_ms = 0;                      // last round that agreed on a checkpoint; 0: never
  std::shared_ptr<const VerifiedAnchor> anchor;  // the newest verified anchor, possibly older than the agreement
  std::vector<UpstreamStatus> upstreams;         // in config order
  std::vector<AgreedCheckpoint> history;         // recent agreed checkpoints, newest last
  std::optional<DataDirStatus> data_dir;         // empty without --data-dir
  // Rounds whose majority ran fewer than --min-agreeing-clients implementations (agreement.h).
  uint64_t rounds_insufficient_client_diversity_total = 0;
  // The last --history-rounds rounds, oldest first (round_history.h): shared
  // with the snapshots before, never copied; null only in a snapshot no
  // poller published (SnapshotStore's first).
  std::shared_ptr<const RoundHistory> rounds;
};

// The newest checkpoint any round agreed on (the last round's agreement may
// be empty); empty before the first agreement.
inline std::optional<lean::Checkpoint> last_agreed(const Snapshot& s) {
  if (s.history.empty()) return std::nullopt;
  return s.history.back().checkpoint;
}

// The poller's counters: the one list /status ("round") and /metrics both
// render. A metric is "leanpoint_" + its /status name. (The Zig leanpoint's
// `error_count` and `leanpoint_error_total`, rounds without agreement, keep
// their names beside them.)
struct RoundCounter {
  uint64_t Snapshot::*field;
  std::string_view status_field;
  std::string_view metric;
  std::string_view help;
};
inline constexpr RoundCounter kRoundCounters[] = {
    {&Snapshot::round, "rounds_total", "leanpoint_rounds_total", "Polling rounds finished."},
    {&Snapshot::rounds_overrun_total, "rounds_overrun_total", "leanpoint_rounds_overrun_total",
     "Rounds that took longer than the poll interval."},
    {&Snapshot::local_errors_total, "local_errors_total", "leanpoint_local_errors_total",
     "Upstream requests that failed for want of local resources (descriptors, memory); no upstream blamed."},
    {&Snapshot::rounds_insufficient_client_diversity_total, "rounds_insufficient_client_diversity_total",
     "leanpoint_rounds_insufficient_client_diversity_total",
     "Rounds whose majority ran fewer client implementations than --min-agreeing-clients: no new agreement."},
};

// The current snapshot. The mutex is held only to copy a pointer: no reader
// ever waits on a round. (libstdc++ 12's std::atomic<std::shared_ptr> would
// do the same with a spin lock, but releases it after a load with a relaxed
// store, which ThreadSanitizer rightly reports as a race.)
class SnapshotStore {
 public:
  SnapshotStore() : current_(std::make_shared<const Snapshot>()) {}
  std::shared_ptr<const Snapshot> load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  void publish(std::shared_ptr<const Snapshot> s) {
    std::shared_ptr<const Snapshot> old;  // freed outside the lock
    std::lock_guard lock(mutex_);
    old = std::exchange(current_, std::move(s));
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
};

}  // namespace leanpoint
