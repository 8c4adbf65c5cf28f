#include "health.h"

namespace leanpoint {

Health assess(const Snapshot& s, int64_t now_ms, const HealthRules& rules, const FdUsage& fds) {
  Health h;
  if (s.agreed_at_ms == 0)
    h.failing.push_back("no_agreement");
  else if (now_ms - s.agreed_at_ms > rules.stale_ms)
    h.failing.push_back("stale");
  if (!s.anchor || s.history.empty() || s.anchor->checkpoint != s.history.back().checkpoint)
    h.failing.push_back("no_verified_anchor");
  if (fds.limit > 0 && fds.open * 100 >= fds.limit * static_cast<size_t>(rules.fd_threshold_percent))
    h.failing.push_back("fd_pressure");
  return h;
}

}  // namespace leanpoint
