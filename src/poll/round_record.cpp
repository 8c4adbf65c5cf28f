#include "round_record.h"

#include <algorithm>
#include <limits>

namespace leanpoint {

UpstreamRound upstream_round(const UpstreamStatus& u) {
  UpstreamRound r;
  r.agrees = u.agrees;
  if (!u.polled) {
    // A failing upstream not asked waits for its retry; any other was left
    // out for want of local resources (poller.cpp).
    r.result = u.consecutive_failures > 0 ? RoundResult::backing_off : RoundResult::not_polled;
    return r;
  }
  r.latency_ms = static_cast<uint32_t>(std::clamp<int64_t>(u.latency_ms, 0, std::numeric_limits<uint32_t>::max()));
  if (!u.healthy) {
    r.result = RoundResult::failed;
    if (u.error) r.failure = *u.error;
    return r;
  }
  r.result = RoundResult::ok;
  r.head_slot = u.head_slot;
  if (u.justified) r.justified_slot = u.justified->slot;
  if (u.finalized) r.finalized_slot = u.finalized->slot;
  return r;
}

std::shared_ptr<const RoundRecord> record_round(const Snapshot& s, const RoundRecord* previous) {
  auto r = std::make_shared<RoundRecord>();
  r->round = s.round;
  r->started_ms = s.round_started_ms;
  r->duration_ms = s.round_duration_ms;
  r->agreed = s.agreement.checkpoint;
  if (s.justified) r->justified_slot = s.justified->slot;
  r->votes = static_cast<uint32_t>(s.agreement.votes);
  r->answered = static_cast<uint32_t>(s.agreement.answered);
  std::vector<std::string> names;
  names.reserve(s.upstreams.size());
  r->upstreams.reserve(s.upstreams.size());
  for (const UpstreamStatus& u : s.upstreams) {
    names.push_back(u.name);
    r->upstreams.push_back(upstream_round(u));
  }
  if (previous && previous->names && *previous->names == names)
    r->names = previous->names;
  else
    r->names = std::make_shared<const std::vector<std::string>>(std::move(names));
  return r;
}

}  // namespace leanpoint
