// /healthz: what orchestrators restart on (DESIGN §6). Healthy only when the
// agreed checkpoint is fresher than --stale-ms, the anchor served is verified
// for it, and descriptors are below --fd-threshold percent of the limit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fd_usage.h"
#include "snapshot.h"

namespace leanpoint {

struct HealthRules {
  int64_t stale_ms = 30000;
  int fd_threshold_percent = 80;
};

struct Health {
  std::vector<std::string> failing;  // in order: no_agreement, stale, no_verified_anchor, fd_pressure
  bool ok() const { return failing.empty(); }
};

// `now_ms` is unix ms. A round that briefly disagrees does not fail health;
// no agreement for --stale-ms does (`stale`), and never having agreed is
// `no_agreement`. `no_verified_anchor`: nothing verified for the newest agreed
// checkpoint.
Health assess(const Snapshot& snapshot, int64_t now_ms, const HealthRules& rules, const FdUsage& fds);

}  // namespace leanpoint
