// What the pair rule (src/serve/site/pins.h) tells --data-dir, and what it is
// given back at start: the one vocabulary the site and persist share, so that
// neither sees the other (ARCHITECTURE.md §2, §6 "The pair rule", §8).
//
// Every change to a pin, or to `current`, is one PinEvent, handed to the
// PinJournal hook the wiring installs (persist's PinStore writes it to
// DIR/pins.journal on a thread of its own). At the next start the events are
// read back, folded into the pins still alive, and given to the new Pins,
// each with the anchor it names (read back from the disk and verified again).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lean.h"
#include "snapshot.h"

namespace leanpoint {

enum class PinEventKind : uint8_t {
  pin = 1,      // a client's pin, as it now is (the newest event of a client wins)
  current = 2,  // what new clients get, since when
  clear = 3,    // every pin dropped (the snapshot has no anchor: another chain)
};

struct PinEvent {
  PinEventKind kind = PinEventKind::pin;
  std::string client;           // pin: its client_key (cidr.h); at most kMaxPinClientBytes
  lean::Checkpoint checkpoint;  // pin, current: the anchor's
  int64_t at_ms = 0;            // pin: when it was set; current: since when it is current
  uint32_t states_sent = 0;     // pin: GETs of the state answered with its bytes
  uint32_t blocks_sent = 0;     //      ... and of the block
  // pin: the latest the pin can live as it is now (its cap while a transfer
  // runs): past this the event is dead, and is neither kept nor restored.
  // current: 0 (it lives until the next current event).
  int64_t expires_ms = 0;
  // Given to the journal: the anchor named, whose bytes must be on disk for
  // the event to be restored. Given back at start: that anchor, read back.
  // Never part of the event's bytes on disk.
  std::shared_ptr<const VerifiedAnchor> anchor;
};

// An IPv6 /64 as text is at most 43 bytes; more than this is not a client key.
inline constexpr size_t kMaxPinClientBytes = 64;

// Called with each event, under the pair rule's mutex: it must return at
// once (queue, never write). Empty: nothing is recorded.
using PinJournal = std::function<void(PinEvent)>;

}  // namespace leanpoint
