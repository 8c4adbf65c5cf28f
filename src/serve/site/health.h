// /healthz: what orchestrators restart on (ARCHITECTURE.md §7). Healthy only
// when the agreed checkpoint is fresher than --stale-ms, the anchor served is
// verified for it, and descriptors are below --fd-threshold percent of the
// limit.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "fd_usage.h"
#include "snapshot.h"

namespace leanpoint {

// The operator's health settings, each default here and nowhere else. What
// /livez needs of the poller (its interval, deadline, start) comes with each
// snapshot (PollSettings), never copied from its options.
struct HealthOptions {
  int64_t stale_ms = 30000;
  uint64_t fd_threshold_percent = 80;
};

// /livez: no round finished for 3 poll intervals plus a deadline per
// upstream (and 4 for the anchor's downloads) means a stuck poller.
int64_t poller_stall_ms(const PollSettings& settings, size_t upstreams);

// The rules /healthz checks, in the order they are reported.
enum class HealthReason : uint8_t {
  no_agreement,        // the upstreams have never agreed on a finalized checkpoint
  stale,               // no agreement for --stale-ms (a round that briefly disagrees is fine)
  no_verified_anchor,  // nothing verified for the newest agreed checkpoint
  fd_pressure,         // descriptors at --fd-threshold percent of the limit
  // /livez: the process needs a restart.
  poller_stalled,  // no round finished within poller_stall_ms()
  // /readyz: a syncing node could not get a pair here now.
  no_anchor,  // no verified state to serve
  no_block,   // a verified state, but no block for it yet
  draining,   // stopping gracefully (HttpServer::drain): route elsewhere
};

// The /healthz rules (and leanpoint_health_failing's labels), unchanged.
inline constexpr HealthReason kHealthReasons[] = {HealthReason::no_agreement, HealthReason::stale,
                                                  HealthReason::no_verified_anchor, HealthReason::fd_pressure};

// /livez's rules and /readyz's (leanpoint_live_failing's and
// leanpoint_ready_failing's labels).
inline constexpr HealthReason kLivenessReasons[] = {HealthReason::poller_stalled, HealthReason::fd_pressure};
inline constexpr HealthReason kReadinessReasons[] = {HealthReason::no_anchor, HealthReason::no_block};

// The names, as /healthz, /status and /metrics show them.
std::string_view to_string(HealthReason reason);

struct Health {
  std::vector<HealthReason> failing;  // in the order of HealthReason
  bool ok() const { return failing.empty(); }
  bool fails(HealthReason reason) const;
};

// /healthz. `now_ms` is unix ms.
Health assess(const Snapshot& snapshot, int64_t now_ms, const HealthOptions& options, const FdUsage& fds);

// /livez: fails only when a restart would help: the poller thread stopped
// finishing rounds (counted from its start, settings.started_ms, before the
// first), or descriptors are at the threshold. An outage of every upstream
// never fails it. The stall window counts the larger of
// `upstreams_at_start` and the snapshot's upstreams, so a reload that adds
// upstreams widens it and one that removes some does not narrow it.
Health assess_liveness(const Snapshot& snapshot, int64_t now_ms, const HealthOptions& options, const FdUsage& fds,
                       size_t upstreams_at_start);

// /readyz: a verified anchor's state and block are both being served: what a
// syncing node needs, and what a load balancer should route on. Not while
// the server is `draining`.
Health assess_readiness(const Snapshot& snapshot, bool draining = false);

// All three, as /status and /metrics show them.
struct HealthReport {
  Health healthz, live, ready;
};
HealthReport assess_all(const Snapshot& snapshot, int64_t now_ms, const HealthOptions& options, const FdUsage& fds,
                        size_t upstreams_at_start, bool draining = false);

}  // namespace leanpoint
