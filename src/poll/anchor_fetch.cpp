#include "anchor_fetch.h"

#include <chrono>
#include <utility>

#include "deadline.h"
#include "lean_api.h"
#include "log.h"

namespace leanpoint {
namespace {

// Where the bytes read from `source` for `endpoint` are counted; null: nowhere.
uint64_t* counter(const AnchorSource& source, UpstreamEndpoint endpoint) {
  return source.read ? &(*source.read)[endpoint] : nullptr;
}

struct SummarizedState {
  SharedBytes bytes;
  StateSummary summary;
};

// A source's state: the one it was observed through this round (already
// hashed), or downloaded and summarized now.
Expected<SummarizedState, Failure> state_of(const AnchorSource& source, const PollerOptions& options, int cancel_fd) {
  if (source.state) return SummarizedState{source.state, source.summary};
  auto fetched = fetch_ssz(source.upstream, kStatePath, options.max_state_bytes, deadline_after(options.timeout_ms),
                           cancel_fd, counter(source, UpstreamEndpoint::state));
  if (!fetched) return Unexpected(std::move(fetched.error()));
  auto bytes = std::make_shared<const std::vector<uint8_t>>(std::move(*fetched));
  auto summary = summarize_state(*bytes);
  if (!summary) return Unexpected(std::move(summary.error()));
  return SummarizedState{std::move(bytes), *summary};
}

// One fetch in progress: the anchor so far and the verdicts on the sources.
class Fetch {
 public:
  Fetch(const lean::Checkpoint& checkpoint, const PollerOptions& options, int cancel_fd)
      : checkpoint_(checkpoint), options_(options), cancel_fd_(cancel_fd) {}

  FetchedAnchor& result() { return out_; }

  // True when source `i`'s state verified: the anchor now has a state.
  bool prove_state(size_t i, const AnchorSource& source) {
    auto state = state_of(source, options_, cancel_fd_);
    if (!state) return refuse(i, std::move(state.error()));
    const auto verified = verify_state(state->summary, checkpoint_, options_.genesis_time);
    if (!verified && verified.error().kind == FailureKind::slot_mismatch && state->summary.slot > checkpoint_.slot) {
      // Finality moved on between the node's fork_choice answer and this
      // download: not the node's fault. The next round agrees on the newer
      // checkpoint; these bytes are still refused for this one.
      log(LogLevel::info, "upstream ", source.upstream.name, " is already at finalized slot ", state->summary.slot,
          "; anchoring the newer checkpoint once the upstreams agree on it");
      return false;
    }
    if (!verified) return refuse(i, verified.error());
    out_.verdicts.push_back({i, {}});
    auto anchor = std::make_shared<VerifiedAnchor>();
    anchor->checkpoint = checkpoint_;
    anchor->state = std::move(state->bytes);
    anchor->state_root = verified->state_root;
    anchor->state_source = source.upstream.name;
    anchor->verified_at_ms = unix_ms();
    anchor->genesis_time = verified->genesis_time;
    out_.anchor = std::move(anchor);
    out_.summary = *verified;
    return true;
  }

  // True when source `i`'s block verified: the anchor is whole.
  bool prove_block(size_t i, const AnchorSource& source) {
    auto block = fetch_ssz(source.upstream, kBlockPath, options_.max_state_bytes, deadline_after(options_.timeout_ms),
                           cancel_fd_, counter(source, UpstreamEndpoint::block));
    if (!block) {
      // 404: a node that serves no blocks (qlean-mini); not a fault.
      if (block.error().not_found()) return false;
      return refuse(i, std::move(block.error()));
    }
    const auto verified = verify_block(out_.summary, *block, checkpoint_);
    if (!verified) return refuse(i, verified.error());
    out_.verdicts.push_back({i, {}});
    auto whole = std::make_shared<VerifiedAnchor>(*out_.anchor);
    whole->block = std::make_shared<const std::vector<uint8_t>>(std::move(*block));
    whole->block_source = source.upstream.name;
    out_.anchor = std::move(whole);
    return true;
  }

 private:
  bool refuse(size_t i, Failure failure) {
    out_.verdicts.push_back({i, Unexpected(std::move(failure))});
    return false;
  }

  const lean::Checkpoint& checkpoint_;
  const PollerOptions& options_;
  int cancel_fd_;
  FetchedAnchor out_;
};

}  // namespace

Expected<FetchedAnchor, Failure> fetch_anchor(const lean::Checkpoint& checkpoint,
                                              const std::vector<AnchorSource>& sources, const PollerOptions& options,
                                              int cancel_fd, std::shared_ptr<const VerifiedAnchor> held,
                                              const StateSummary& held_summary) {
  Fetch fetch(checkpoint, options, cancel_fd);
  fetch.result().anchor = std::move(held);
  fetch.result().summary = held_summary;
  for (size_t i = 0; i < sources.size(); ++i) {
    if (cancelled(cancel_fd)) return Unexpected(Failure{FailureKind::cancelled, "anchor fetch: stop requested"});
    if (!fetch.result().anchor && !fetch.prove_state(i, sources[i])) continue;
    if (fetch.prove_block(i, sources[i])) break;
  }
  return std::move(fetch.result());
}

}  // namespace leanpoint
