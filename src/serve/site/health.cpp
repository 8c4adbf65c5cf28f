#include "health.h"

#include <algorithm>

namespace leanpoint {

std::string_view to_string(HealthReason reason) {
  switch (reason) {
    case HealthReason::no_agreement: return "no_agreement";
    case HealthReason::stale: return "stale";
    case HealthReason::no_verified_anchor: return "no_verified_anchor";
    case HealthReason::fd_pressure: return "fd_pressure";
    case HealthReason::poller_stalled: return "poller_stalled";
    case HealthReason::no_anchor: return "no_anchor";
    case HealthReason::no_block: return "no_block";
    case HealthReason::draining: return "draining";
  }
  return "unknown";
}

namespace {

bool at_fd_threshold(const FdUsage& fds, const HealthOptions& options) {
  return fds.limit > 0 && fds.open * 100 >= fds.limit * options.fd_threshold_percent;
}

}  // namespace

bool Health::fails(HealthReason reason) const {
  return std::find(failing.begin(), failing.end(), reason) != failing.end();
}

int64_t poller_stall_ms(const PollSettings& settings, size_t upstreams) {
  return 3 * settings.poll_ms + static_cast<int64_t>(upstreams + 4) * settings.timeout_ms;
}

Health assess(const Snapshot& s, int64_t now_ms, const HealthOptions& options, const FdUsage& fds) {
  Health h;
  if (s.agreed_at_ms == 0)
    h.failing.push_back(HealthReason::no_agreement);
  else if (now_ms - s.agreed_at_ms > options.stale_ms)
    h.failing.push_back(HealthReason::stale);
  if (!s.anchor || s.history.empty() || s.anchor->checkpoint != s.history.back().checkpoint)
    h.failing.push_back(HealthReason::no_verified_anchor);
  if (at_fd_threshold(fds, options)) h.failing.push_back(HealthReason::fd_pressure);
  return h;
}

Health assess_liveness(const Snapshot& s, int64_t now_ms, const HealthOptions& options, const FdUsage& fds,
                       size_t upstreams_at_start) {
  Health h;
  const int64_t last_round = s.round ? s.round_started_ms + s.round_duration_ms : s.settings.started_ms;
  const int64_t stall = poller_stall_ms(s.settings, std::max(upstreams_at_start, s.upstreams.size()));
  if (now_ms - last_round > stall) h.failing.push_back(HealthReason::poller_stalled);
  if (at_fd_threshold(fds, options)) h.failing.push_back(HealthReason::fd_pressure);
  return h;
}

Health assess_readiness(const Snapshot& s, bool draining) {
  Health h;
  if (!s.anchor)
    h.failing.push_back(HealthReason::no_anchor);
  else if (!s.anchor->block)
    h.failing.push_back(HealthReason::no_block);
  if (draining) h.failing.push_back(HealthReason::draining);
  return h;
}

HealthReport assess_all(const Snapshot& s, int64_t now_ms, const HealthOptions& options, const FdUsage& fds,
                        size_t upstreams_at_start, bool draining) {
  return {assess(s, now_ms, options, fds), assess_liveness(s, now_ms, options, fds, upstreams_at_start),
          assess_readiness(s, draining)};
}

}  // namespace leanpoint
