// Why an upstream's answer was not taken: one kind per way a request or an
// anchor can fail, from the socket up to the proof. The poller records them,
// the snapshot carries them, and they become text only where logs, JSON and
// metrics are written (to_string). ARCHITECTURE.md §4.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace leanpoint {

enum class FailureKind : uint8_t {
  // The transport (http_client.h).
  dns,              // the name did not resolve, or not before the deadline
  refused,          // connection refused
  unreachable,      // no route to the host, network down
  connect_timeout,  // the TCP handshake did not finish before the deadline
  reset,            // the peer reset the connection
  timeout,          // connected, but the response did not finish before the deadline
  truncated,        // the peer closed before the whole response arrived
  too_large,        // the response head or body over its cap
  malformed,        // not HTTP/1.x, a bad header or chunk; or JSON that is not a fork_choice
  cancelled,        // stop requested
  local,            // this process ran out of something (descriptors, memory): not the upstream's fault
  // The answer (lean_api.h).
  http_status,  // anything but 200
  not_ssz,      // a 200 labelled as something other than SSZ
  // The anchor (anchor.h).
  layout,            // the bytes do not decode in the devnet4 layout
  genesis_time,      // state.config.genesis_time differs from --genesis-time
  slot_mismatch,     // state.slot differs from the checkpoint slot
  root_mismatch,     // the block root the state anchors differs from the checkpoint root
  block_slot,        // block.slot differs from the checkpoint slot
  block_parent,      // block.parent_root differs from the state's latest header
  block_state_root,  // block.state_root differs from hash_tree_root(state)
  block_root,        // hash_tree_root(block) differs from the checkpoint root (e.g. another body)
};

// The names, as logs, /status, /api/upstreams and /metrics show them.
std::string_view to_string(FailureKind kind);

// errno values that say this process, not the peer, ran out of something:
// descriptors, memory, buffers, local ports. They are FailureKind::local.
bool is_local_errno(int err);

// A failure and what to tell a person about it.
struct Failure {
  FailureKind kind = FailureKind::malformed;
  std::string detail;          // for logs and /status: what happened, with the values involved
  int http_status = 0;         // for http_status
  bool body_over_cap = false;  // too_large because the body passed its cap (not a flood of headers or trailers)

  // The node answered 404: it does not serve that endpoint.
  bool not_found() const { return kind == FailureKind::http_status && http_status == 404; }
};

}  // namespace leanpoint
