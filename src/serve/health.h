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

struct HealthRules {
  int64_t stale_ms = 30000;
  int fd_threshold_percent = 80;
};

// The rules /healthz checks, in the order they are reported.
enum class HealthReason : uint8_t {
  no_agreement,        // the upstreams have never agreed on a finalized checkpoint
  stale,               // no agreement for --stale-ms (a round that briefly disagrees is fine)
  no_verified_anchor,  // nothing verified for the newest agreed checkpoint
  fd_pressure,         // descriptors at --fd-threshold percent of the limit
};

inline constexpr HealthReason kHealthReasons[] = {HealthReason::no_agreement, HealthReason::stale,
                                                  HealthReason::no_verified_anchor, HealthReason::fd_pressure};

// The names, as /healthz, /status and /metrics show them.
std::string_view to_string(HealthReason reason);

struct Health {
  std::vector<HealthReason> failing;  // in the order of HealthReason
  bool ok() const { return failing.empty(); }
  bool fails(HealthReason reason) const;
};

// `now_ms` is unix ms.
Health assess(const Snapshot& snapshot, int64_t now_ms, const HealthRules& rules, const FdUsage& fds);

}  // namespace leanpoint
