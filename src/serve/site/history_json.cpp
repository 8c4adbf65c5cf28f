#include "history_json.h"

#include <algorithm>
#include <deque>
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

// Bytes made of `parts`, allocated once at their size.
SharedBytes concatenated(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (const auto p : parts) size += p.size();
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  bytes->reserve(size);
  for (const auto p : parts) bytes->insert(bytes->end(), p.begin(), p.end());
  return bytes;
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

namespace {

// Each round's text for `history`: from `last`'s document where it has the
// round (the new history's oldest is one of its, and the rounds after it
// follow in the same order), else rendered anew into `fresh`.
std::vector<std::string_view> round_texts(const HistoryBodies::Rendered* last, const RoundHistory& history,
                                          std::deque<std::string>& fresh) {
  std::vector<std::string_view> texts;
  texts.reserve(history.size());
  if (last && last->history && !history.empty()) {
    const RoundHistory& before = *last->history;
    const auto* old = reinterpret_cast<const char*>(last->body->data());
    size_t j = 0;
    while (j < before.size() && before.at(j) != history.at(0)) ++j;
    for (; j < before.size() && texts.size() < history.size() && before.at(j) == history.at(texts.size()); ++j)
      texts.emplace_back(old + last->starts[j], last->ends[j] - last->starts[j]);
  }
  for (size_t i = texts.size(); i < history.size(); ++i)
    texts.push_back(fresh.emplace_back(round_json(*history.at(i))));
  return texts;
}

}  // namespace

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
  std::deque<std::string> fresh;
  const auto texts = history ? round_texts(last.get(), *history, fresh) : std::vector<std::string_view>{};
  // Allocated once, at its size: no regrowth of a buffer of megabytes.
  const std::string head = head_of(history.get());
  size_t size = head.size() + kTail.size() + texts.size();
  for (const auto t : texts) size += t.size();
  auto body = std::make_shared<std::vector<uint8_t>>();
  body->reserve(size);
  const auto append = [&body](std::string_view t) { body->insert(body->end(), t.begin(), t.end()); };
  append(head);
  for (const auto t : texts) {
    if (body->size() > head.size()) append(",");
    next->starts.push_back(body->size());
    append(t);
    next->ends.push_back(body->size());
  }
  append(kTail);
  next->body = std::move(body);
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
  const std::string_view rounds =
      first < n ? std::string_view(body + r->starts[first], r->ends[n - 1] - r->starts[first]) : std::string_view();
  out.bytes = concatenated({head_of(history.get()), rounds, kTail});
  return out;
}

}  // namespace leanpoint
