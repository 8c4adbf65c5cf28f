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
