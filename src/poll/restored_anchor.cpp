#include "restored_anchor.h"

#include <utility>

#include "hex.h"
#include "log.h"

namespace leanpoint {
namespace {}  // namespace

Settlement settle_restored(std::shared_ptr<const VerifiedAnchor> restored, const lean::Checkpoint& agreed) {
  const lean::Checkpoint stored = restored->checkpoint;
  Settlement s;
  if (agreed == stored) {
    auto confirmed = std::make_shared<VerifiedAnchor>(*restored);
    confirmed->restored = false;
    s.outcome = RestoreOutcome::confirmed;
    s.anchor = std::move(confirmed);
    log(LogLevel::info, "the upstreams agree on the restored anchor ", describe(stored));
    return s;
  }
  if (agreed.slot > stored.slot) {
    s.anchor = std::move(restored);  // served until the newer anchor verifies
    return s;
  }
  s.outcome = RestoreOutcome::dropped;
  s.detail = "the upstreams agree on " + describe(agreed) + ", another chain than the restored " + describe(stored);
  log(LogLevel::warn, s.detail, "; the restored anchor is dropped and not served again");
  return s;
}

RestoreOutcome outcome_after_new_anchor(const VerifiedAnchor* served, RestoreOutcome now) {
  return served && served->restored ? RestoreOutcome::replaced : now;
}

}  // namespace leanpoint
