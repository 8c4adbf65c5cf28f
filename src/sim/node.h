// A simulated lean node: the lean API routes real clients serve (ARCHITECTURE.md §5)
// over a ScriptedServer, answering from a Chain, with one fault if asked.
//
// Not part of the service.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "chain.h"
#include "scripted_server.h"

namespace leanpoint::sim {

enum class Fault {
  none,
  black_hole,   // accepts, reads the request, never answers
  syn,          // full listen backlog: connect() hangs
  drip,         // correct answers, one byte every 200 ms
  half_close,   // headers promising a body, then shutdown(SHUT_WR)
  short_body,   // half the promised body, then close
  chunked,      // correct answers, with chunked transfer encoding (healthy)
  reset,        // resets every connection
  oversize,     // claims 4 GiB and streams
  garbage,      // answers bytes that are not HTTP
  html,         // answers an HTML page to everything
  fork,         // a minority chain: other roots
  lag,          // `lag` slots behind
  flap,         // down (resets) and up every `flap_period`
  no_block,     // serves no /blocks/finalized, like qlean-mini
  old_client,   // 404 on /lean/v0/fork_choice: observed through its state
  wrong_state,  // reports the right checkpoint but serves another chain's state
  // Hostile: each tries to hold the poller past its deadline or grow its memory.
  trailer_flood,  // a chunked answer whose trailers never end
  header_flood,   // a status line, then headers that never end
  deep_json,      // fork_choice as 4 MB of '['
  // Older or odd lean API surfaces (the justified probe, observe.h).
  no_justified,     // 404 on /lean/v0/checkpoints/justified, like nodes before early 2026
  stale_justified,  // checkpoints/justified answers the first checkpoint it served, forever
};

// "black-hole" -> Fault::black_hole, ...; nullopt for an unknown name.
std::optional<Fault> parse_fault(const std::string& name);
std::string to_string(Fault f);

struct NodeOptions {
  Fault fault = Fault::none;
  uint64_t lag = 3;
  std::chrono::milliseconds flap_period{10000};
  std::chrono::milliseconds drip_interval{200};
  // Older blocks listed before the real ones in fork_choice, as through a
  // long non-finality (about 210 bytes each); shared between nodes. With
  // finality_from, only while finality stands still.
  std::shared_ptr<const std::string> extra_nodes;
  // The head slot whose finality the node reports (justified_slot and
  // finalized_slot of it); empty: the head's own. A stalled finality returns
  // a fixed slot: the fork_choice then lists every block since, growing by
  // one per slot, as through a real non-finality.
  std::function<uint64_t(uint64_t head)> finality_from;
  // When set and true, the node follows the fork chain (a node that switches
  // branches); Fault::fork follows it always.
  std::function<bool()> on_fork;
};

// `count` fork_choice nodes (JSON objects, comma-separated) for NodeOptions::extra_nodes.
std::shared_ptr<const std::string> synthetic_nodes(size_t count);

class Node {
 public:
  // `head` returns the current head slot of the devnet; `canonical` is the
  // honest chain, `fork` the chain a fork node follows.
  // Listens on 127.0.0.1:`port` (0: any free port).
  Node(std::shared_ptr<const Chain> canonical, std::shared_ptr<const Chain> fork, std::function<uint64_t()> head,
       NodeOptions options, uint16_t port = 0);

  uint16_t port() const { return server_->port(); }
  std::string url() const { return server_->url(); }
  const NodeOptions& options() const { return options_; }
  size_t requests() const { return server_->requests(); }
  size_t active() const { return server_->active(); }  // connections being served now

 private:
  Script handle(const std::string& target, const std::string& head);
  Script answer(const std::string& target, const std::string& head);
  bool down() const;

  std::shared_ptr<const Chain> canonical_;
  std::shared_ptr<const Chain> fork_;
  std::function<uint64_t()> head_;
  NodeOptions options_;
  std::chrono::steady_clock::time_point born_ = std::chrono::steady_clock::now();
  std::mutex stale_mutex_;
  std::optional<lean::Checkpoint> stale_justified_;  // Fault::stale_justified: the first one served
  std::unique_ptr<ScriptedServer> server_;
};

}  // namespace leanpoint::sim
