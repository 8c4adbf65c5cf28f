// An in-process simulated devnet for poller tests: nodes on 127.0.0.1 with
// chosen faults, all following a head slot the test moves by hand.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "config.h"
#include "node.h"
#include "poller.h"
#include "upstream_url.h"

namespace testing {

class Devnet {
 public:
  Devnet()
      : canonical_(std::make_shared<leanpoint::sim::Chain>(1)), fork_(std::make_shared<leanpoint::sim::Chain>(2)) {}

  // Adds a node; returns its index.
  size_t add(leanpoint::sim::Fault fault = leanpoint::sim::Fault::none) {
    leanpoint::sim::NodeOptions o;
    o.fault = fault;
    return add(std::move(o));
  }
  // Adds a node with these options; unless they say otherwise, its finality
  // follows stall_finality().
  size_t add(leanpoint::sim::NodeOptions o) {
    if (!o.finality_from) o.finality_from = [this](uint64_t head) { return std::min(head, stalled_at_.load()); };
    nodes_.push_back(std::make_unique<leanpoint::sim::Node>(
        canonical_, fork_, [this] { return head_.load(); }, std::move(o)));
    return nodes_.size() - 1;
  }

  std::vector<leanpoint::Upstream> upstreams() const {
    std::vector<leanpoint::Upstream> ups;
    for (size_t i = 0; i < nodes_.size(); ++i)
      ups.push_back(*leanpoint::parse_upstream_url("node" + std::to_string(i), nodes_[i]->url(), "test"));
    return ups;
  }

  void set_head(uint64_t slot) { head_ = slot; }
  // Finality stands where it was at head slot `slot` (every node's
  // fork_choice then grows a block per slot), until resume_finality().
  void stall_finality(uint64_t slot) { stalled_at_ = slot; }
  void resume_finality() { stalled_at_ = UINT64_MAX; }
  uint64_t head() const { return head_; }
  // The finalized checkpoint of the honest chain at the current head.
  leanpoint::lean::Checkpoint finalized() const {
    return canonical_->checkpoint_at(leanpoint::sim::finalized_slot(std::min(head_.load(), stalled_at_.load())));
  }
  const leanpoint::sim::Chain& canonical() const { return *canonical_; }
  const leanpoint::sim::Chain& fork() const { return *fork_; }
  leanpoint::sim::Node& node(size_t i) { return *nodes_[i]; }

  // Options for polling this devnet (its upstreams()): short rounds and deadlines.
  leanpoint::PollerOptions poller_options() const {
    leanpoint::PollerOptions o;
    o.poll_ms = 1000;
    o.timeout_ms = 300;
    o.max_backoff_ms = 60000;
    return o;
  }

 private:
  std::shared_ptr<leanpoint::sim::Chain> canonical_, fork_;
  std::atomic<uint64_t> head_{20};
  std::atomic<uint64_t> stalled_at_{UINT64_MAX};
  std::vector<std::unique_ptr<leanpoint::sim::Node>> nodes_;
};

}  // namespace testing
