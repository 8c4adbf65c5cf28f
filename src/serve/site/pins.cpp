#include "pins.h"

#include <algorithm>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "deadline.h"

namespace leanpoint {

// How far a pin's life can be stretched, in windows from when it was set.
constexpr int64_t kMaxPinWindows = 4;

struct Pins::Table {
  struct Pin {
    std::shared_ptr<const VerifiedAnchor> anchor;
    uint64_t id = 0;           // tells a pin from a later one of the same client
    int64_t set_ms = 0;        // given this anchor
    int64_t last_end_ms = 0;   // the end of the last transfer; 0: none yet
    uint32_t in_flight = 0;    // transfers running
    uint32_t states_sent = 0;  // GETs of the state answered with its bytes
    uint32_t blocks_sent = 0;  // (a client may fetch several pairs, or one twice)
  };
  // When to look at a pin again: never later than it can expire.
  struct Due {
    int64_t at_ms;
    uint64_t id;
    std::string client;
    bool operator>(const Due& o) const { return at_ms > o.at_ms; }
  };

  Table(int64_t window, size_t max, std::function<int64_t()> clock)
      : window_ms(window), hold_ms(window / 8), max_clients(max), now(clock ? std::move(clock) : unix_ms) {}

  int64_t expiry(const Pin& p) const {
    const int64_t cap = p.set_ms + kMaxPinWindows * window_ms;
    if (p.in_flight > 0) return cap;
    int64_t end = p.set_ms + window_ms;
    // Half-served: a pair begun and not finished.
    if (p.states_sent != p.blocks_sent && p.last_end_ms > 0) end = std::max(end, p.last_end_ms + window_ms);
    return std::min(end, cap);
  }
  bool live(const Pin& p, int64_t t) const { return t < expiry(p); }
  // A transfer in flight ends at some time after `t`: until it does, a pin
  // is looked at every window (its expiry is then at least a window away).
  int64_t next_look(const Pin& p, int64_t t) const {
    return p.in_flight > 0 ? std::min(t + window_ms, expiry(p)) : expiry(p);
  }

  void push(int64_t at_ms, uint64_t id, const std::string& client) {
    due.push_back(Due{at_ms, id, client});
    std::push_heap(due.begin(), due.end(), std::greater<>());
  }
  Due pop() {
    std::pop_heap(due.begin(), due.end(), std::greater<>());
    Due d = std::move(due.back());
    due.pop_back();
    return d;
  }

  // Drops up to `budget` pins expired by `t`, and looks again later at those
  // that turned out to be alive.
  void sweep(int64_t t, size_t budget) {
    while (budget-- > 0 && !due.empty() && due.front().at_ms <= t) {
      Due d = pop();
      const auto it = pins.find(d.client);
      if (it == pins.end() || it->second.id != d.id) continue;  // gone or replaced
      if (!live(it->second, t)) {
        pins.erase(it);
        continue;
      }
      d.at_ms = next_look(it->second, t);
      push(d.at_ms, d.id, d.client);
    }
  }

  // The table is full of live pins: the one due soonest gives way.
  void make_room() {
    while (!due.empty()) {
      const Due d = pop();
      const auto it = pins.find(d.client);
      if (it == pins.end() || it->second.id != d.id) continue;
      pins.erase(it);
      return;
    }
  }

  void advance(const std::shared_ptr<const VerifiedAnchor>& newest, int64_t t) {
    if (current && current->checkpoint == newest->checkpoint) {
      if (newest->block || !current->block) current = newest;  // perhaps with its block now
      return;
    }
    if (current && t - current_since_ms < hold_ms) return;
    // A pin is not handed a blockless anchor while one with a block is current,
    // unless that has been current for a window (nodes that serve no blocks).
    if (current && current->block && !newest->block && t - current_since_ms < window_ms) return;
    current = newest;
    current_since_ms = t;
  }

  Pin& pin_for(const std::string& client, int64_t t) {
    auto it = pins.find(client);
    if (it != pins.end() && live(it->second, t)) return it->second;
    if (it == pins.end() && pins.size() >= max_clients) make_room();
    Pin& pin = pins[client];
    pin = Pin{current, next_id++, t};
    push(t + window_ms, pin.id, client);
    return pin;
  }

  // A pinned anchor that gained its block, or one without a block the client
  // has no state of yet while `current` has a block.
  void refresh(Pin& pin, const std::shared_ptr<const VerifiedAnchor>& newest, int64_t t) const {
    for (const auto* other : {&current, &newest})
      if (*other && (*other)->block && !pin.anchor->block && (*other)->checkpoint == pin.anchor->checkpoint)
        pin.anchor = *other;
    if (pin.anchor->block || pin.states_sent > 0 || !current->block) return;
    pin.anchor = current;
    pin.set_ms = t;  // starts over: the client has nothing of the old anchor
  }

  void ended(const std::string& client, uint64_t id) {
    std::lock_guard lock(mutex);
    const auto it = pins.find(client);
    if (it == pins.end() || it->second.id != id) return;  // expired at the cap, or replaced
    --it->second.in_flight;
    it->second.last_end_ms = std::max(it->second.last_end_ms, now());
  }

  // Held by a transfer; its release records the transfer's end.
  class Lease {
   public:
    Lease(std::shared_ptr<Table> table, std::string client, uint64_t id)
        : table_(std::move(table)), client_(std::move(client)), id_(id) {}
    ~Lease() { table_->ended(client_, id_); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    std::shared_ptr<Table> table_;
    std::string client_;
    uint64_t id_;
  };

  const int64_t window_ms;
  const int64_t hold_ms;
  const size_t max_clients;
  const std::function<int64_t()> now;
  std::mutex mutex;
  std::shared_ptr<const VerifiedAnchor> current;
  int64_t current_since_ms = 0;
  uint64_t round = 0;  // the newest round seen
  uint64_t next_id = 1;
  std::unordered_map<std::string, Pin> pins;
  std::vector<Due> due;  // a min-heap on at_ms; one entry per pin, and some of pins gone
};

Pins::Pins(std::chrono::milliseconds window, size_t max_clients, std::function<int64_t()> clock)
    : table_(std::make_shared<Table>(window.count(), max_clients, std::move(clock))) {}

Pins::~Pins() = default;

Served Pins::serve(const std::string& client, Artifact what, bool body,
                   const std::shared_ptr<const VerifiedAnchor>& newest, uint64_t round) {
  Table& t = *table_;
  if (t.window_ms <= 0) return {newest, nullptr};
  const int64_t now = t.now();
  std::lock_guard lock(t.mutex);
  t.sweep(now, kSweepPerCall);
  if (round >= t.round) {  // an older snapshot moves nothing
    t.round = round;
    if (!newest) {
      t.pins.clear();
      t.due.clear();
      t.current.reset();
      return {};
    }
    t.advance(newest, now);
  }
  if (!t.current) return {};
  const auto held = t.pins.find(client);
  const bool pinned = held != t.pins.end() && t.live(held->second, now);
  Table::Pin& pin = t.pin_for(client, now);
  t.refresh(pin, round >= t.round ? newest : nullptr, now);
  Served served{pin.anchor, nullptr, pinned};
  if (!body || (what == Artifact::block && !pin.anchor->block)) return served;
  ++(what == Artifact::state ? pin.states_sent : pin.blocks_sent);
  ++pin.in_flight;
  served.lease = std::make_shared<const Table::Lease>(table_, client, pin.id);
  return served;
}

PinsView Pins::view() {
  Table& t = *table_;
  PinsView v;
  v.window_ms = t.window_ms;
  const int64_t now = t.now();
  std::lock_guard lock(t.mutex);
  t.sweep(now, t.due.size());  // all that are due: /status and /metrics are asked for seldom
  v.current = t.current;
  v.current_since_ms = t.current_since_ms;
  std::set<const VerifiedAnchor*> anchors;
  if (t.current) anchors.insert(t.current.get());
  for (const auto& [client, pin] : t.pins) {
    if (!t.live(pin, now)) continue;
    ++v.clients;
    anchors.insert(pin.anchor.get());
  }
  v.anchors = anchors.size();
  return v;
}

}  // namespace leanpoint
