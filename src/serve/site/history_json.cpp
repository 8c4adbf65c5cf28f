#include "history_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "hex.h"
#include "status.h"

namespace leanpoint {
namespace {

using nlohmann::ordered_json;

// The document's start: how many rounds the server keeps, then the rounds.
std::string head_of(const RoundHistory* h) {
  return R"({"capacity":)" + std::to_string(h ? h->capacity() : 0) + R"(,"rounds":[)";
}
constexpr std::string_view kTail = "]}";

template <typename T>
ordered_json or_null(const std::optional<T>& v) {
  return v ? ordered_json(*v) : ordered_json(nullptr);
}

ordered_json upstream_json(const std::string& name, const UpstreamRound& u) {
  return {
      {"name", name},
      {"result", u.result == RoundResult::failed ? to_string(u.failure) : to_string(u.result)},
      {"agrees", u.agrees},
      {"latency_ms", or_null(u.latency_ms)},
      {"head_slot", or_null(u.head_slot)},
      {"justified_slot", or_null(u.justified_slot)},
      {"finalized_slot", or_null(u.finalized_slot)},
  };
}

SharedBytes bytes_of(std::string_view text) {
  return std::make_shared<const std::vector<uint8_t>>(text.begin(), text.end());
}

}  // namespace

std::string round_json(const RoundRecord& r) {
  ordered_json upstreams = ordered_json::array();
  for (size_t i = 0; i < r.upstreams.size(); ++i)
    upstreams.push_back(upstream_json(r.names && i < r.names->size() ? (*r.names)[i] : std::string(), r.upstreams[i]));
  ordered_json agreed = nullptr;
  if (r.agreed) agreed = {{"slot", r.agreed->slot}, {"root", to_hex(r.agreed->root)}};
  return json_text({
      {"round", r.round},
      {"started_ms", r.started_ms},
      {"duration_ms", r.duration_ms},
      {"agreed", agreed},
      {"justified_slot", or_null(r.justified_slot)},
      {"votes", r.votes},
      {"answered", r.answered},
      {"upstreams", upstreams},
  });
}

// The whole document for one history, and where each round is in it.
struct HistoryBodies::Rendered {
  std::shared_ptr<const RoundHistory> history;  // keeps the records (and so their addresses) alive
  SharedBytes body;
  std::vector<size_t> starts, ends;  // round i is body[starts[i], ends[i])
};

std::shared_ptr<const HistoryBodies::Rendered> HistoryBodies::rendered(
    const std::shared_ptr<const RoundHistory>& history) const {
  std::shared_ptr<const Rendered> last;
  {
    std::lock_guard lock(mutex_);
    last = last_;
  }
  if (last && last->history == history) return last;
  auto next = std::make_shared<Rendered>();
  next->history = history;
  const size_t n = history ? history->size() : 0;
  // The rounds the last document has: the new history's oldest is one of its,
  // and those after it follow in the same order.
  size_t reused_from = 0, reused = 0;
  if (last && last->history && n > 0) {
    const RoundHistory& before = *last->history;
    for (size_t j = 0; j < before.size(); ++j)
      if (before.at(j) == history->at(0)) {
        reused_from = j;
        while (reused < n && j + reused < before.size() && before.at(j + reused) == history->at(reused)) ++reused;
        break;
      }
  }
  std::string text = head_of(history.get());
  const auto* old = last ? reinterpret_cast<const char*>(last->body->data()) : nullptr;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) text += ',';
    next->starts.push_back(text.size());
    if (i < reused)
      text.append(old + last->starts[reused_from + i], last->ends[reused_from + i] - last->starts[reused_from + i]);
    else
      text += round_json(*history->at(i));
    next->ends.push_back(text.size());
  }
  text += kTail;
  next->body = bytes_of(text);
  std::lock_guard lock(mutex_);
  last_ = next;
  return next;
}

HistoryBody HistoryBodies::get(const std::shared_ptr<const RoundHistory>& history,
                               std::optional<int64_t> since_ms) const {
  const auto r = rendered(history);
  const size_t n = r->starts.size();
  HistoryBody out;
  out.etag = "\"h";
  if (n > 0) {
    const RoundRecord& newest = *history->newest();
    out.etag += std::to_string(newest.started_ms) + "-" + std::to_string(newest.round);
  }
  // The first round started after since_ms (rounds start in order).
  size_t first = 0;
  if (since_ms) {
    first = n;
    while (first > 0 && history->at(first - 1)->started_ms > *since_ms) --first;
    out.etag += "-" + std::to_string(*since_ms);
  }
  out.etag += "\"";
  if (first == 0) {
    out.bytes = r->body;
    return out;
  }
  const auto* body = reinterpret_cast<const char*>(r->body->data());
  std::string text = head_of(history.get());
  if (first < n) text.append(body + r->starts[first], r->ends[n - 1] - r->starts[first]);
  text += kTail;
  out.bytes = bytes_of(text);
  return out;
}

}  // namespace leanpoint
