// What the poller keeps of a round for /api/history: the snapshot it
// publishes, reduced to a RoundRecord (round_history.h).
#pragma once

#include <memory>

#include "snapshot.h"

namespace leanpoint {

// The record of the round `s` publishes. The names are shared with
// `previous`'s (the history's newest; null: none) while they are the same.
std::shared_ptr<const RoundRecord> record_round(const Snapshot& s, const RoundRecord* previous);

// What became of `u` in the round that left it so.
UpstreamRound upstream_round(const UpstreamStatus& u);

}  // namespace leanpoint
