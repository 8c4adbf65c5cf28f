// agreement.h: the majority rule as a table.
#include "agreement.h"

#include <algorithm>

#include "testing.h"

using leanpoint::agree;
using leanpoint::lean::Checkpoint;

namespace {

Checkpoint cp(uint64_t slot, uint8_t root) { return {leanpoint::ssz::Root{root}, slot}; }

}  // namespace

TEST_CASE("agreement table") {
  const Checkpoint A = cp(100, 1), B = cp(100, 2) /* same slot, another root */, C = cp(96, 3);
  struct Row {
    const char* name;
    std::vector<Checkpoint> answers;
    size_t min_agree;
    std::optional<Checkpoint> expect;
    size_t votes;
  };
  const Row rows[] = {
      {"nobody answered", {}, 1, std::nullopt, 0},
      {"one answer", {A}, 1, A, 1},
      {"one answer, two required", {A}, 2, std::nullopt, 1},
      {"unanimous", {A, A, A}, 1, A, 3},
      {"strict majority", {A, A, B}, 1, A, 2},
      {"majority 3 of 5", {A, B, A, C, A}, 1, A, 3},
      {"exactly half is not a majority", {A, A, B, B}, 1, std::nullopt, 2},
      {"exactly half, the rest split", {A, A, B, C}, 1, std::nullopt, 2},
      {"plurality is not a majority", {A, A, B, C, C, B, A}, 1, std::nullopt, 3},  // 3 of 7
      {"tie of two", {A, B}, 1, std::nullopt, 1},
      {"same slot, different roots never pool", {A, B, B, A, C}, 1, std::nullopt, 2},
      {"lagging nodes are outvoted", {A, A, A, C, C}, 1, A, 3},
      {"min_agree raises the floor", {A, A, A, B}, 4, std::nullopt, 3},
      {"min_agree met", {A, A, A, A, B}, 4, A, 4},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    const auto got = agree(r.answers, r.min_agree);
    CHECK(got.checkpoint == r.expect);
    CHECK(got.votes == r.votes);
    CHECK(got.answered == r.answers.size());
  }
}

TEST_CASE("agreement does not depend on the order of answers") {
  std::vector<Checkpoint> answers = {cp(5, 1), cp(5, 2), cp(5, 1), cp(4, 9), cp(5, 1)};
  const auto first = agree(answers);
  std::sort(answers.begin(), answers.end(), [](auto& a, auto& b) { return a.root[0] > b.root[0]; });
  CHECK(agree(answers).checkpoint == first.checkpoint);
  CHECK(first.checkpoint == cp(5, 1));
}

namespace {

using leanpoint::AgreementRule;
using leanpoint::NoAgreement;
using leanpoint::Vote;

Vote vote(const Checkpoint& c, const char* client) { return {c, client}; }

}  // namespace

TEST_CASE("client diversity: K distinct implementations among the majority") {
  const Checkpoint A = cp(100, 1), B = cp(100, 2);
  struct Row {
    const char* name;
    std::vector<Vote> votes;
    size_t min_clients;
    std::optional<Checkpoint> expect;
    NoAgreement why;
    std::vector<std::string> clients;
  };
  const Row rows[] = {
      {"K = 1 is today's rule: one implementation suffices",
       {vote(A, "zeam"), vote(A, "zeam"), vote(A, "zeam")},
       1,
       A,
       NoAgreement::none,
       {"zeam"}},
      {"K = the implementations behind the majority: agreed",
       {vote(A, "zeam"), vote(A, "ream"), vote(A, "lantern"), vote(B, "gean")},
       3,
       A,
       NoAgreement::none,
       {"lantern", "ream", "zeam"}},
      {"K one above them: not agreed",
       {vote(A, "zeam"), vote(A, "ream"), vote(A, "lantern"), vote(B, "gean")},
       4,
       std::nullopt,
       NoAgreement::insufficient_client_diversity,
       {"lantern", "ream", "zeam"}},
      {"the minority's implementations do not count for the majority",
       {vote(A, "zeam"), vote(A, "zeam"), vote(A, "zeam"), vote(B, "ream"), vote(B, "gean")},
       2,
       std::nullopt,
       NoAgreement::insufficient_client_diversity,
       {"zeam"}},
      {"5 of one implementation on a fork against 3 of three others",
       {vote(B, "zeam"), vote(B, "zeam"), vote(B, "zeam"), vote(B, "zeam"), vote(B, "zeam"), vote(A, "ream"),
        vote(A, "lantern"), vote(A, "ethlambda")},
       2,
       std::nullopt,
       NoAgreement::insufficient_client_diversity,
       {"zeam"}},
      {"unknown implementations count as one together",
       {vote(A, ""), vote(A, ""), vote(A, ""), vote(A, "zeam")},
       2,
       A,
       NoAgreement::none,
       {"", "zeam"}},
      {"unknown implementations never make up the difference",
       {vote(A, ""), vote(A, ""), vote(A, ""), vote(A, "zeam")},
       3,
       std::nullopt,
       NoAgreement::insufficient_client_diversity,
       {"", "zeam"}},
      {"all unknown: one implementation",
       {vote(A, ""), vote(A, "")},
       2,
       std::nullopt,
       NoAgreement::insufficient_client_diversity,
       {""}},
      {"a tie is no majority, however diverse each side",
       {vote(A, "zeam"), vote(A, "ream"), vote(B, "lantern"), vote(B, "gean")},
       2,
       std::nullopt,
       NoAgreement::no_majority,
       {}},
      {"a tie with K = 1 is still no majority",
       {vote(A, "zeam"), vote(B, "zeam")},
       1,
       std::nullopt,
       NoAgreement::no_majority,
       {}},
      {"nobody answered", {}, 2, std::nullopt, NoAgreement::no_answers, {}},
  };
  for (const Row& r : rows) {
    CAPTURE(r.name);
    const auto got = agree(r.votes, AgreementRule{1, r.min_clients});
    CHECK(got.checkpoint == r.expect);
    CHECK(got.why == r.why);
    CHECK(got.clients == r.clients);
    CHECK(got.answered == r.votes.size());
    // The majority is named whether or not it was enough.
    CHECK(got.majority.has_value() ==
          (r.why == NoAgreement::none || r.why == NoAgreement::insufficient_client_diversity));
  }
}

TEST_CASE("client diversity with --min-agree: the vote floor is checked first") {
  const Checkpoint A = cp(7, 1);
  const std::vector<Vote> votes = {vote(A, "zeam"), vote(A, "zeam")};
  CHECK(agree(votes, AgreementRule{3, 2}).why == NoAgreement::below_min_agree);
  CHECK(agree(votes, AgreementRule{2, 2}).why == NoAgreement::insufficient_client_diversity);
  CHECK(agree(votes, AgreementRule{2, 1}).checkpoint == A);
}

TEST_CASE("client diversity does not depend on the order of votes") {
  const Checkpoint A = cp(9, 1), B = cp(9, 2);
  std::vector<Vote> votes = {vote(A, "zeam"), vote(B, "ream"), vote(A, ""), vote(A, "qlean"), vote(B, "gean")};
  const auto first = agree(votes, AgreementRule{1, 3});
  for (int i = 0; i < 5; ++i) {
    std::rotate(votes.begin(), votes.begin() + 1, votes.end());
    const auto again = agree(votes, AgreementRule{1, 3});
    CHECK(again.checkpoint == first.checkpoint);
    CHECK(again.clients == first.clients);
  }
  CHECK(first.checkpoint == A);
  CHECK(first.clients == std::vector<std::string>{"", "qlean", "zeam"});
}

TEST_CASE("no_agreement reasons have names for /status") {
  CHECK(to_string(NoAgreement::insufficient_client_diversity) == "insufficient_client_diversity");
  CHECK(to_string(NoAgreement::no_majority) == "no_majority");
  CHECK(to_string(NoAgreement::below_min_agree) == "below_min_agree");
  CHECK(to_string(NoAgreement::no_answers) == "no_answers");
}
