#include "health.h"

#include <algorithm>

namespace leanpoint {

std::string_view to_string(HealthReason reason) {
  switch (reason) {
    case HealthReason::no_agreement:
      return "no_agreement";
    case HealthReason::stale:
      return "stale";
    case HealthReason::no_verified_anchor:
      return "no_verified_anchor";
    case HealthReason::fd_pressure:
      return "fd_pressure";
  }
  return "unknown";
}

bool Health::fails(HealthReason reason) const {
  return std::find(failing.begin(), failing.end(), reason) != failing.end();
}

Health assess(const Snapshot& s, int64_t now_ms, const HealthRules& rules, const FdUsage& fds) {
  Health h;
  if (s.agreed_at_ms == 0)
    h.failing.push_back(HealthReason::no_agreement);
  else if (now_ms - s.agreed_at_ms > rules.stale_ms)
    h.failing.push_back(HealthReason::stale);
  if (!s.anchor || s.history.empty() || s.anchor->checkpoint != s.history.back().checkpoint)
    h.failing.push_back(HealthReason::no_verified_anchor);
  if (fds.limit > 0 && fds.open * 100 >= fds.limit * static_cast<size_t>(rules.fd_threshold_percent))
    h.failing.push_back(HealthReason::fd_pressure);
  return h;
}

}  // namespace leanpoint
