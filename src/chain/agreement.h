// Which finalized checkpoint the upstreams agree on.
//
// The rule: a strict majority (more than half) of the upstreams that answered
// this round report the exact same (slot, root), and at least `min_agree` of
// them. Ties and pluralities agree on nothing: leanpoint would rather serve no
// new anchor than pick between disagreeing nodes. (The Zig leanpoint counted
// slots without roots, accepted exactly half, and picked arbitrarily on ties.)
//
// Client diversity: with `min_clients` K above 1, the majority must also run
// at least K distinct client implementations. On a devnet where one
// implementation runs most nodes, a bug in it (a wrong finalized root) would
// otherwise win the vote. Upstreams whose implementation is not known count
// as one implementation together: not knowing must never look like diversity.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lean.h"

namespace leanpoint {

// One answering upstream's vote.
struct Vote {
  lean::Checkpoint checkpoint;
  std::string client;  // its implementation; empty: not known
};

// What an agreement needs besides a strict majority.
struct AgreementRule {
  size_t min_agree = 1;    // --min-agree: votes
  size_t min_clients = 1;  // --min-agreeing-clients: distinct implementations among them
};

// Why a round agreed on nothing.
enum class NoAgreement : uint8_t {
  none,                           // it agreed
  no_answers,                     // no upstream answered
  no_majority,                    // no checkpoint has more than half the answers
  below_min_agree,                // a majority, of fewer than --min-agree upstreams
  insufficient_client_diversity,  // a majority, of fewer than --min-agreeing-clients implementations
};

std::string_view to_string(NoAgreement why);

struct Agreement {
  std::optional<lean::Checkpoint> checkpoint;  // empty: no agreement
  size_t votes = 0;                            // upstreams behind the most reported checkpoint
  size_t answered = 0;                         // upstreams that answered this round
  // With a majority (whether or not it agreed): the majority checkpoint, and
  // the implementations behind it, sorted, "" (not known) first.
  std::optional<lean::Checkpoint> majority;
  std::vector<std::string> clients;
  NoAgreement why = NoAgreement::none;
};

Agreement agree(std::span<const Vote> votes, const AgreementRule& rule);

// Without implementations (the justified checkpoint; tests): every vote's is unknown.
Agreement agree(std::span<const lean::Checkpoint> answers, size_t min_agree = 1);

}  // namespace leanpoint
