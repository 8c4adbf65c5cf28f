// The pair rule: every client gets a state and a block of one checkpoint.
//
// Clients download the state and the block in two requests, in either order,
// over one connection or two, or both at once, and most refuse to start when
// block.state_root != hash_tree_root(state). Nothing in the requests ties the
// two together, so leanpoint remembers, per client address, the anchor it
// first served that address, and serves that address the same anchor for a
// window (--pin-window-ms) that runs from the first request: later requests
// do not extend it. New clients get the current anchor, which follows the
// newest verified one but changes at most once per window/8, so at most about
// nine anchors are held for pins at once, whatever the rate of finality; a
// client's anchor lags the newest by at most window/8 plus one window.
//
// A pinned anchor that gains its block (a newer VerifiedAnchor of the same
// checkpoint) is served with it. When the snapshot has no anchor at all (a
// restored anchor dropped as another chain) every pin is dropped too.
//
// Clients behind one address (a NAT, a proxy that is not trusted) share a
// pin: harmless, each still gets a consistent pair.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cidr.h"
#include "snapshot.h"

namespace leanpoint {

struct PinsView {
  std::shared_ptr<const VerifiedAnchor> current;  // what a new client gets
  int64_t current_since_ms = 0;
  size_t clients = 0;  // pins in force
  size_t anchors = 0;  // distinct anchors those pins and `current` hold
  int64_t window_ms = 0;
};

class Pins {
 public:
  // `window` 0: no pins, every request gets the newest anchor.
  explicit Pins(std::chrono::milliseconds window, size_t max_clients = 65536);

  // The anchor to serve `client` now (null: none), given the newest verified.
  std::shared_ptr<const VerifiedAnchor> serve(const std::string& client,
                                              const std::shared_ptr<const VerifiedAnchor>& newest, int64_t now_ms);

  PinsView view(int64_t now_ms) const;

 private:
  struct Pin {
    std::shared_ptr<const VerifiedAnchor> anchor;
    int64_t set_ms = 0;
  };
  void advance(const std::shared_ptr<const VerifiedAnchor>& newest, int64_t now_ms);
  void make_room(int64_t now_ms);

  const int64_t window_ms_;
  const int64_t hold_ms_;
  const size_t max_clients_;
  mutable std::mutex mutex_;
  std::shared_ptr<const VerifiedAnchor> current_;
  int64_t current_since_ms_ = 0;
  std::unordered_map<std::string, Pin> pins_;
};

// The address a request comes from: the peer, or, when the peer is a trusted
// proxy, the client it names (X-Forwarded-For, read from the right past other
// trusted proxies; else X-Real-IP). Headers from any other peer are ignored.
std::string client_address(const std::string& peer_ip, const std::string& forwarded_for, const std::string& real_ip,
                           const std::vector<Cidr>& trusted_proxies);

}  // namespace leanpoint
