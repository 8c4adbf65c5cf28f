#include "local_pressure.h"

#include "log.h"

namespace leanpoint {

void LocalPressure::note(const Failure& failure) {
  ++total_;
  ++this_round_;
  if (in_episode_) return;  // logged once per episode
  in_episode_ = true;
  log(LogLevel::warn, "local resource error: ", failure.detail,
      "; no upstream is blamed for it (no backoff) until it passes");
}

void LocalPressure::end_round() {
  const bool clear = this_round_ == 0;
  this_round_ = 0;
  if (!in_episode_ || !clear) return;
  in_episode_ = false;
  log(LogLevel::info, "local resource pressure ended (", total_, " local errors so far)");
}

}  // namespace leanpoint
