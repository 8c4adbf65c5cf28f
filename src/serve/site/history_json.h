// /api/history: the rounds a snapshot's history keeps, as
//   {"capacity":N,"rounds":[{"round":N,"started_ms":MS,...,"upstreams":[{"name":...},...]},...]}
// oldest first, compact. The document is rendered once per history (so once
// per snapshot), and only the rounds it has not rendered before are rendered
// anew: the rest is copied from the last document. `?since=MS` is a slice of
// it. Bodies are shared bytes, sent by reference (body.h), so a slow reader
// holds no worker.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "snapshot.h"

namespace leanpoint {

// One round, as one compact JSON object.
std::string round_json(const RoundRecord& r);

struct HistoryBody {
  SharedBytes bytes;
  std::string etag;  // quoted; changes with the newest round and with `since`
};

class HistoryBodies {
 public:
  // The document for `history` (null: no rounds yet), or, given `since_ms`,
  // one with only the rounds that started after it.
  HistoryBody get(const std::shared_ptr<const RoundHistory>& history, std::optional<int64_t> since_ms) const;

  struct Rendered;  // a document and where each round is in it (history_json.cpp)

 private:
  std::shared_ptr<const Rendered> rendered(const std::shared_ptr<const RoundHistory>& history) const;

  mutable std::mutex mutex_;  // held only to swap last_
  mutable std::shared_ptr<const Rendered> last_;
};

}  // namespace leanpoint
