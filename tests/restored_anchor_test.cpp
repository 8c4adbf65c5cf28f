// restored_anchor.h: the first agreement settles a restored anchor:
// confirmed, kept until replaced, or dropped (ARCHITECTURE.md §8).
#include "restored_anchor.h"

#include <memory>

#include "testing.h"

using leanpoint::RestoreOutcome;
using leanpoint::VerifiedAnchor;
using leanpoint::lean::Checkpoint;

namespace {

Checkpoint at(uint64_t slot, uint8_t root_byte) {
  Checkpoint c;
  c.slot = slot;
  c.root.fill(root_byte);
  return c;
}

std::shared_ptr<const VerifiedAnchor> restored(const Checkpoint& c) {
  auto a = std::make_shared<VerifiedAnchor>();
  a->checkpoint = c;
  a->state = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{1, 2, 3});
  a->block = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>{4, 5});
  a->state_source = "disk";
  a->restored = true;
  return a;
}

}  // namespace

TEST_CASE("the same checkpoint confirms it: served on, no longer marked restored, the bytes shared") {
  const auto stored = restored(at(16, 0xaa));
  const auto s = leanpoint::settle_restored(stored, at(16, 0xaa));
  CHECK(s.outcome == RestoreOutcome::confirmed);
  REQUIRE(s.anchor);
  CHECK(s.anchor != stored);  // a copy: snapshots holding the restored one keep it as it was
  CHECK_FALSE(s.anchor->restored);
  CHECK(stored->restored);
  CHECK(s.anchor->checkpoint == stored->checkpoint);
  CHECK(s.anchor->state == stored->state);
  CHECK(s.anchor->block == stored->block);
  CHECK(s.detail.empty());
}

TEST_CASE("a higher slot: still served, still restored, until the newer anchor verifies") {
  const auto stored = restored(at(16, 0xaa));
  const auto s = leanpoint::settle_restored(stored, at(20, 0xbb));
  CHECK(s.outcome == RestoreOutcome::serving);
  CHECK(s.anchor == stored);
  CHECK(s.detail.empty());
}

TEST_CASE("another chain drops it: a lower slot, or the same slot with another root") {
  const auto stored = restored(at(16, 0xaa));
  for (const Checkpoint& agreed : {at(12, 0xaa), at(16, 0xbb)}) {
    CAPTURE(agreed.slot);
    const auto s = leanpoint::settle_restored(stored, agreed);
    CHECK(s.outcome == RestoreOutcome::dropped);
    CHECK(s.anchor == nullptr);
    CHECK(s.detail.find("another chain") != std::string::npos);
    CHECK(s.detail.find(std::to_string(agreed.slot) + "/") != std::string::npos);
  }
}

TEST_CASE("a newer verified anchor replaces a restored one, and only a restored one") {
  const auto stored = restored(at(16, 0xaa));
  CHECK(leanpoint::outcome_after_new_anchor(stored.get(), RestoreOutcome::serving) == RestoreOutcome::replaced);
  const auto confirmed = leanpoint::settle_restored(stored, at(16, 0xaa));
  CHECK(leanpoint::outcome_after_new_anchor(confirmed.anchor.get(), RestoreOutcome::confirmed) ==
        RestoreOutcome::confirmed);
  CHECK(leanpoint::outcome_after_new_anchor(nullptr, RestoreOutcome::dropped) == RestoreOutcome::dropped);
  CHECK(leanpoint::outcome_after_new_anchor(nullptr, RestoreOutcome::none) == RestoreOutcome::none);
}
