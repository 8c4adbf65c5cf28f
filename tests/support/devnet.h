// An in-process simulated devnet for poller tests: nodes on 127.0.0.1 with
// chosen faults, all following a head slot the test moves by hand.
#pragma once

#include <atomic>
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
    nodes_.push_back(std::make_unique<leanpoint::sim::Node>(
        canonical_, fork_, [this] { return head_.load(); }, o));
    return nodes_.size() - 1;
  }

  std::vector<leanpoint::Upstream> upstreams() const {
    std::vector<leanpoint::Upstream> ups;
    for (size_t i = 0; i < nodes_.size(); ++i)
      ups.push_back(*leanpoint::parse_upstream_url("node" + std::to_string(i), nodes_[i]->url(), "test"));
    return ups;
  }

  void set_head(uint64_t slot) { head_ = slot; }
  uint64_t head() const { return head_; }
  // The finalized checkpoint of the honest chain at the current head.
  leanpoint::lean::Checkpoint finalized() const {
    return canonical_->checkpoint_at(leanpoint::sim::finalized_slot(head_));
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
  std::vector<std::unique_ptr<leanpoint::sim::Node>> nodes_;
};

}  // namespace testing
