// The last rounds, as the poller recorded them: per round the agreement and,
// per upstream, what became of it (ok, a failure kind, not polled, backing
// off), its latency and the slots it reported. /api/history and the
// dashboard's charts read it (ARCHITECTURE.md §1, §9).
//
// A RoundHistory is immutable and structurally shared: each snapshot holds
// one, and the next round's is the last one with a record appended and the
// oldest dropped past the capacity. Records are never copied, only the
// pointers of one chunk of at most kChunk of them and the list of chunks, so
// publishing a round costs O(kChunk + capacity / kChunk) pointer copies,
// whatever the rounds hold. At most `capacity` records are held.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "failure.h"
#include "lean.h"

namespace leanpoint {

// What became of one upstream in one round.
enum class RoundResult : uint8_t {
  ok,           // it answered; it voted
  failed,       // it was asked and failed (UpstreamRound::failure says how)
  not_polled,   // not asked for want of local resources (FailureKind::local): no fault of its own
  backing_off,  // not asked: it failed before and waits for its retry (ARCHITECTURE.md §4 Backoff)
};

inline std::string_view to_string(RoundResult r) {
  switch (r) {
    case RoundResult::ok: return "ok";
    case RoundResult::failed: return "failed";
    case RoundResult::not_polled: return "not_polled";
    case RoundResult::backing_off: return "backing_off";
  }
  return "not_polled";
}

// One upstream in one round. The slots are what it reported this round, so
// they are empty unless it answered.
struct UpstreamRound {
  RoundResult result = RoundResult::not_polled;
  FailureKind failure = FailureKind::malformed;  // when failed
  bool agrees = false;                           // its finalized is the round's agreed checkpoint
  std::optional<uint32_t> latency_ms;            // when it was asked
  std::optional<uint64_t> head_slot;
  std::optional<uint64_t> justified_slot;
  std::optional<uint64_t> finalized_slot;
};

struct RoundRecord {
  uint64_t round = 0;
  int64_t started_ms = 0;  // unix ms
  int64_t duration_ms = 0;
  std::optional<lean::Checkpoint> agreed;  // this round's agreement; empty: none
  std::optional<uint64_t> justified_slot;  // the agreed justified checkpoint's
  uint32_t votes = 0;                      // for the most reported finalized checkpoint
  uint32_t answered = 0;
  // The upstreams' names in config order, shared by the rounds between two
  // reloads that change them; `upstreams` is in the same order.
  std::shared_ptr<const std::vector<std::string>> names;
  std::vector<UpstreamRound> upstreams;
};

class RoundHistory {
 public:
  // Records per chunk: the pointers an append copies besides the chunk list.
  static constexpr size_t kChunk = 64;

  explicit RoundHistory(size_t capacity = 0) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The i-th record kept, oldest first.
  const std::shared_ptr<const RoundRecord>& at(size_t i) const {
    const size_t at = skip_ + i;
    return (*chunks_[at / kChunk])[at % kChunk];
  }
  const std::shared_ptr<const RoundRecord>& newest() const { return at(size_ - 1); }

  // This history with `record` as its newest round, and its oldest dropped
  // past the capacity (a capacity of 0 keeps nothing). This one is unchanged.
  RoundHistory appended(std::shared_ptr<const RoundRecord> record) const {
    RoundHistory next = *this;  // the chunk list: shared_ptrs, not records
    if (capacity_ == 0) return next;
    const size_t used = skip_ + size_;
    if (used % kChunk == 0) {
      auto chunk = std::make_shared<Chunk>();
      chunk->reserve(kChunk);
      chunk->push_back(std::move(record));
      next.chunks_.push_back(std::move(chunk));
    } else {
      // The last chunk is shared with older histories: copy its pointers.
      auto chunk = std::make_shared<Chunk>(*chunks_.back());
      chunk->push_back(std::move(record));
      next.chunks_.back() = std::move(chunk);
    }
    if (++next.size_ > capacity_) next.drop_oldest();
    return next;
  }

 private:
  using Chunk = std::vector<std::shared_ptr<const RoundRecord>>;

  // The dropped record is released at once (its pointer reset in a copy of
  // the first chunk), so at most `capacity` records are held, not a chunk more.
  void drop_oldest() {
    --size_;
    if (++skip_ == kChunk) {
      chunks_.erase(chunks_.begin());
      skip_ = 0;
      return;
    }
    auto first = std::make_shared<Chunk>(*chunks_.front());
    (*first)[skip_ - 1].reset();
    chunks_.front() = std::move(first);
  }

  std::vector<std::shared_ptr<const Chunk>> chunks_;  // oldest first; all but the last full
  size_t skip_ = 0;                                   // records of the first chunk already dropped
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace leanpoint
