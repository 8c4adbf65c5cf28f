// The pair rule: every client gets a state and a block of one checkpoint.
//
// Clients download the state and the block in two requests, in either order,
// over one connection or two, or both at once, and most refuse to start when
// block.state_root != hash_tree_root(state). Nothing in the requests ties the
// two together, so leanpoint remembers, per client (its client_key: an IPv4
// address, an IPv6 /64), the anchor it serves that client: a pin.
//
// `current`, what a new pin gets, follows the snapshot's newest anchor, but
//  - changes at most once per window/8 (the hold), so pins alive at once hold
//    few anchors whatever the rate of finality;
//  - never goes back to an older round's anchor (a handler holding an older
//    snapshot); a newer round's is taken even at a lower slot (another chain);
//  - moves from an anchor with a block to one without only after it has been
//    current for a window (a devnet whose nodes serve no blocks still moves);
//  - takes a newer copy of its own checkpoint (its block arrived) at once.
//
// A pin lives a window (--pin-window-ms) from when it was set; requests do
// not extend it. Past that it lives on while its client is half-served (sent
// more states than blocks, or the reverse: a pair begun and not finished; a
// GET of an artifact the anchor has counts, a HEAD does not), until a window
// after the end of the last transfer to it, and while a transfer is in
// flight; never past 4 windows from when it was set. A pin whose anchor has no block, and
// whose client has not been sent the state, moves to `current` once that has
// one (the block of an anchor finality has passed cannot be had: upstreams
// serve only their current finalized block). A pinned anchor that gains its
// block (a newer VerifiedAnchor of the same checkpoint) is served with it.
// When the snapshot has no anchor at all (a restored anchor dropped as
// another chain) every pin is dropped too.
//
// Expired pins are swept as they expire (an expiry-ordered heap, a bounded
// number each request, all that are due on view()), so the anchors held are
// those of live pins and `current`. Clients behind one key (a NAT, a proxy that is not trusted)
// share a pin: harmless, each still gets a consistent pair.
//
// With --data-dir the table outlives the process (pin_journal.h): every
// change to a pin or to `current` is handed to a PinJournal as it is made,
// before the response starts, and a new process is built with the events the
// old one left (`restored`), so a client whose first request went to the old
// process gets the matching second half from the new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pin_journal.h"
#include "snapshot.h"

namespace leanpoint {

struct PinsView {
  std::shared_ptr<const VerifiedAnchor> current;  // what a new client gets
  int64_t current_since_ms = 0;
  size_t clients = 0;  // pins in force
  size_t anchors = 0;  // distinct anchors those pins and `current` hold
  int64_t window_ms = 0;
};

enum class Artifact : uint8_t { state, block };

// What the wiring gives the pair rule with --data-dir (pin_journal.h): the
// hook each change is told to, and the events the last process left.
struct PinPersistence {
  PinJournal journal;
  std::vector<PinEvent> restored;
};

// What to answer one request with.
struct Served {
  std::shared_ptr<const VerifiedAnchor> anchor;  // null: none
  // Set when the artifact's bytes are to be sent (a GET, and the anchor has
  // them): held for as long as the transfer runs (BodySource::lease), its
  // release is the end of the transfer.
  std::shared_ptr<const void> lease;
  bool pinned = false;  // the client's pin, set by an earlier request, chose the anchor (the access log)
};

class Pins {
 public:
  // Pins alive at once at most: past this the one due soonest gives way
  // (its client may then get a pair of two anchors).
  static constexpr size_t kMaxClients = 65536;
  // Expired pins dropped per serve() at most: more than one call creates, so
  // the backlog drains, and no request waits on a sweep of the whole table.
  // view() (/status, /metrics) drops all that are due.
  static constexpr size_t kSweepPerCall = 64;

  // `window` 0: no pins, every request gets the newest anchor. `clock`: unix ms.
  // `journal`: told of every change (pin_journal.h). `restored`: the events
  // a stopped process left, each with its anchor, folded (the newest per
  // client, one current): pins past their expiry, or without their anchor,
  // are not restored; transfers the old process had in flight count as
  // ended now.
  explicit Pins(std::chrono::milliseconds window, size_t max_clients = kMaxClients,
                std::function<int64_t()> clock = nullptr, PinJournal journal = nullptr,
                std::vector<PinEvent> restored = {});
  ~Pins();
  Pins(const Pins&) = delete;
  Pins& operator=(const Pins&) = delete;

  // What to serve `client` (its client_key) asking for `what`, given the
  // newest verified anchor of the snapshot of `round`; `body`: a GET, whose
  // answer carries the bytes.
  Served serve(const std::string& client, Artifact what, bool body, const std::shared_ptr<const VerifiedAnchor>& newest,
               uint64_t round);

  PinsView view();

 private:
  struct Table;
  std::shared_ptr<Table> table_;  // shared with the leases, which may outlive this
};

}  // namespace leanpoint
