#include "agreement.h"

#include <map>
#include <set>

namespace leanpoint {

std::string_view to_string(NoAgreement why) {
  switch (why) {
    case NoAgreement::none: return "none";
    case NoAgreement::no_answers: return "no_answers";
    case NoAgreement::no_majority: return "no_majority";
    case NoAgreement::below_min_agree: return "below_min_agree";
    case NoAgreement::insufficient_client_diversity: return "insufficient_client_diversity";
  }
  return "none";
}

Agreement agree(std::span<const Vote> votes, const AgreementRule& rule) {
  std::map<std::pair<uint64_t, ssz::Root>, size_t> counts;
  Agreement result;
  result.answered = votes.size();
  const lean::Checkpoint* top = nullptr;
  for (const Vote& v : votes) {
    const size_t n = ++counts[{v.checkpoint.slot, v.checkpoint.root}];
    if (n > result.votes) {
      result.votes = n;
      top = &v.checkpoint;
    }
  }
  if (!top) {
    result.why = NoAgreement::no_answers;
    return result;
  }
  // A strict majority names one checkpoint, whatever the order of the votes.
  if (2 * result.votes <= result.answered) {
    result.why = NoAgreement::no_majority;
    return result;
  }
  result.majority = *top;
  std::set<std::string> clients;  // "" (not known) is one implementation
  for (const Vote& v : votes)
    if (v.checkpoint == *top) clients.insert(v.client);
  result.clients.assign(clients.begin(), clients.end());
  if (result.votes < rule.min_agree)
    result.why = NoAgreement::below_min_agree;
  else if (clients.size() < rule.min_clients)
    result.why = NoAgreement::insufficient_client_diversity;
  else
    result.checkpoint = *top;
  return result;
}

Agreement agree(std::span<const lean::Checkpoint> answers, size_t min_agree) {
  std::vector<Vote> votes;
  votes.reserve(answers.size());
  for (const auto& c : answers) votes.push_back({c, {}});
  return agree(votes, AgreementRule{min_agree, 1});
}

}  // namespace leanpoint
