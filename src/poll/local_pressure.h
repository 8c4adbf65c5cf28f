// FailureKind::local: this process ran out of something (descriptors,
// memory), not the upstream's doing. Such failures are counted and logged once
// per episode, which ends with a round without one; no upstream is blamed.
#pragma once

#include <cstdint>

#include "failure.h"

namespace leanpoint {

class LocalPressure {
 public:
  // Counts a local failure; the first of an episode is logged.
  void note(const Failure& failure);
  // Called at the end of each round: a round without a local failure ends the episode.
  void end_round();
  uint64_t total() const { return total_; }

 private:
  uint64_t total_ = 0;
  uint64_t this_round_ = 0;
  bool in_episode_ = false;
};

}  // namespace leanpoint
