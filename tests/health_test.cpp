// health.h: each failing reason, alone and together.
#include "health.h"

#include "testing.h"

using leanpoint::assess;
using leanpoint::FdUsage;
using leanpoint::HealthOptions;
using leanpoint::HealthReason;
using leanpoint::Snapshot;

namespace {

constexpr int64_t kNow = 1'800'000'000'000;

Snapshot healthy() {
  Snapshot s;
  const leanpoint::lean::Checkpoint c{leanpoint::ssz::Root{7}, 96};
  s.agreement.checkpoint = c;
  s.agreed_at_ms = kNow - 1000;
  s.history.push_back({c, kNow - 5000});
  auto anchor = std::make_shared<leanpoint::VerifiedAnchor>();
  anchor->checkpoint = c;
  s.anchor = anchor;
  return s;
}

const FdUsage kFew{40, 1024};

}  // namespace

TEST_CASE("healthy: fresh agreement, verified anchor, few descriptors") {
  CHECK(assess(healthy(), kNow, HealthOptions{}, kFew).ok());
}

TEST_CASE("no_agreement before any round agreed, with no anchor either") {
  const auto h = assess(Snapshot{}, kNow, HealthOptions{}, kFew);
  CHECK(h.failing == std::vector<HealthReason>{HealthReason::no_agreement, HealthReason::no_verified_anchor});
}

TEST_CASE("stale: the last agreement is older than --stale-ms") {
  Snapshot s = healthy();
  s.agreed_at_ms = kNow - 30'001;
  CHECK(assess(s, kNow, HealthOptions{}, kFew).failing == std::vector<HealthReason>{HealthReason::stale});
  s.agreed_at_ms = kNow - 30'000;
  CHECK(assess(s, kNow, HealthOptions{}, kFew).ok());
}

TEST_CASE("a round without agreement is not unhealthy while the last agreement is fresh") {
  Snapshot s = healthy();
  s.agreement.checkpoint.reset();
  CHECK(assess(s, kNow, HealthOptions{}, kFew).ok());
}

TEST_CASE("no_verified_anchor: the newest agreed checkpoint is not the anchor served") {
  Snapshot s = healthy();
  s.history.push_back({{leanpoint::ssz::Root{8}, 100}, kNow});
  CHECK(assess(s, kNow, HealthOptions{}, kFew).failing == std::vector<HealthReason>{HealthReason::no_verified_anchor});
  s = healthy();
  s.anchor.reset();
  CHECK(assess(s, kNow, HealthOptions{}, kFew).failing == std::vector<HealthReason>{HealthReason::no_verified_anchor});
}

TEST_CASE("fd_pressure at the threshold percent of the limit") {
  CHECK(assess(healthy(), kNow, HealthOptions{}, {818, 1024}).ok());
  CHECK(assess(healthy(), kNow, HealthOptions{}, {820, 1024}).failing ==
        std::vector<HealthReason>{HealthReason::fd_pressure});
  HealthOptions strict;
  strict.fd_threshold_percent = 50;
  CHECK(assess(healthy(), kNow, strict, {512, 1024}).failing == std::vector<HealthReason>{HealthReason::fd_pressure});
}

TEST_CASE("every reason at once") {
  Snapshot s = healthy();
  s.agreed_at_ms = kNow - 60'000;
  s.anchor.reset();
  CHECK(assess(s, kNow, HealthOptions{}, {1000, 1024}).failing ==
        std::vector<HealthReason>{HealthReason::stale, HealthReason::no_verified_anchor, HealthReason::fd_pressure});
}

TEST_CASE("each reason has its name") {
  std::vector<std::string> names;
  for (const HealthReason r : leanpoint::kHealthReasons) names.emplace_back(leanpoint::to_string(r));
  CHECK(names == std::vector<std::string>{"no_agreement", "stale", "no_verified_anchor", "fd_pressure"});
}

TEST_CASE("fd_usage reads this process") {
  const auto u = leanpoint::fd_usage();
  CHECK(u.open >= 3);  // stdin, stdout, stderr at least
  CHECK(u.limit >= u.open);
}

TEST_CASE("/livez: only a stalled poller or descriptors at the threshold; never an upstream outage") {
  const HealthOptions rules;
  const size_t at_start = 3;  // upstreams: stalled after 30 s + 7 x 4 s = 58 s
  Snapshot s;                 // no round yet: counted from the start
  s.settings.poll_ms = 10'000;
  s.settings.timeout_ms = 4000;
  s.settings.started_ms = kNow - 5000;
  CHECK(leanpoint::assess_liveness(s, kNow, rules, kFew, at_start).ok());
  CHECK(leanpoint::assess_liveness(s, kNow + 52'000, rules, kFew, at_start).ok());
  CHECK(leanpoint::assess_liveness(s, kNow + 54'000, rules, kFew, at_start).failing ==
        std::vector<HealthReason>{HealthReason::poller_stalled});
  s.round = 7;  // rounds finish, agreeing on nothing, with nothing to serve
  s.round_started_ms = kNow - 2000;
  s.round_duration_ms = 1000;
  CHECK(leanpoint::assess_liveness(s, kNow, rules, kFew, at_start).ok());
  CHECK_FALSE(leanpoint::assess(s, kNow, rules, kFew).ok());
  CHECK(leanpoint::assess_liveness(s, kNow + 60'000, rules, kFew, at_start).failing ==
        std::vector<HealthReason>{HealthReason::poller_stalled});
  s.upstreams.resize(10);  // a reload added upstreams: rounds may take longer
  CHECK(leanpoint::assess_liveness(s, kNow + 60'000, rules, kFew, at_start).ok());
  s.upstreams.resize(1);  // a reload removed some: the count at start still holds
  CHECK(leanpoint::assess_liveness(s, kNow + 56'000, rules, kFew, at_start).ok());
  CHECK(leanpoint::assess_liveness(s, kNow, rules, {1000, 1024}, at_start).failing ==
        std::vector<HealthReason>{HealthReason::fd_pressure});
}

TEST_CASE("/readyz: a verified state and its block, whatever the agreement says") {
  Snapshot s = healthy();
  auto with_block = std::make_shared<leanpoint::VerifiedAnchor>(*s.anchor);
  with_block->state = std::make_shared<const std::vector<uint8_t>>(100);
  with_block->block = std::make_shared<const std::vector<uint8_t>>(10);
  s.anchor = with_block;
  CHECK(leanpoint::assess_readiness(s).ok());
  s.agreed_at_ms = 0;  // no agreement any more: still a valid pair to serve
  s.history.clear();
  CHECK(leanpoint::assess_readiness(s).ok());
  auto no_block = std::make_shared<leanpoint::VerifiedAnchor>(*s.anchor);
  no_block->block.reset();
  s.anchor = no_block;
  CHECK(leanpoint::assess_readiness(s).failing == std::vector<HealthReason>{HealthReason::no_block});
  s.anchor.reset();
  CHECK(leanpoint::assess_readiness(s).failing == std::vector<HealthReason>{HealthReason::no_anchor});
}
