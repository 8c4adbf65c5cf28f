#include "agreement.h"

#include <map>

namespace leanpoint {

Agreement agree(std::span<const lean::Checkpoint> answers, size_t min_agree) {
  std::map<std::pair<uint64_t, ssz::Root>, size_t> counts;
  Agreement result;
  result.answered = answers.size();
  const lean::Checkpoint* top = nullptr;
  for (const auto& c : answers) {
    const size_t n = ++counts[{c.slot, c.root}];
    if (n > result.votes) {
      result.votes = n;
      top = &c;
    }
  }
  if (top && 2 * result.votes > result.answered && result.votes >= min_agree) result.checkpoint = *top;
  return result;
}

}  // namespace leanpoint
