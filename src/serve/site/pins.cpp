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

  Table(int64_t window, size_t max, std::function<int64_t()> clock, PinJournal j)
      : window_ms(window),
        hold_ms(window / 8),
        max_clients(max),
        now(clock ? std::move(clock) : unix_ms),
        journal(std::move(j)) {}

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
      if (current == newest || (!newest->block && current->block)) return;
      current = newest;  // perhaps with its block now
      record_current();
      return;
    }
    if (current && t - current_since_ms < hold_ms) return;
    // A pin is not handed a blockless anchor while one with a block is current,
    // unless that has been current for a window (nodes that serve no blocks).
    if (current && current->block && !newest->block && t - current_since_ms < window_ms) return;
    current = newest;
    current_since_ms = t;
    record_current();
  }

  // The client's live pin, or a new one (`created`).
  Pin& pin_for(const std::string& client, int64_t t, bool& created) {
    auto it = pins.find(client);
    created = it == pins.end() || !live(it->second, t);
    if (!created) return it->second;
    if (it == pins.end() && pins.size() >= max_clients) make_room();
    Pin& pin = pins[client];
    pin = Pin{current, next_id++, t};
    push(t + window_ms, pin.id, client);
    return pin;
  }

  // --- the journal (pin_journal.h): each change, as it is made ---

  void record_current() const {
    if (journal) journal(PinEvent{PinEventKind::current, {}, current->checkpoint, current_since_ms, 0, 0, 0, current});
  }
  void record_pin(const std::string& client, const Pin& p) const {
    if (journal)
      journal(PinEvent{PinEventKind::pin, client, p.anchor->checkpoint, p.set_ms, p.states_sent, p.blocks_sent,
                       expiry(p), p.anchor});
  }
  void record_clear() const {
    if (journal) journal(PinEvent{PinEventKind::clear, {}, {}, 0, 0, 0, 0, nullptr});
  }

  // The events a stopped process left (Pins' constructor says which count).
  void restore(std::vector<PinEvent> events, int64_t t) {
    for (PinEvent& e : events) {
      if (!e.anchor || e.anchor->checkpoint != e.checkpoint) continue;
      if (e.kind == PinEventKind::current) {
        current = std::move(e.anchor);
        current_since_ms = e.at_ms;
        continue;
      }
      if (e.kind != PinEventKind::pin || e.client.empty() || pins.size() >= max_clients) continue;
      // Whatever the old process was sending ended by now, at the latest.
      Pin p{std::move(e.anchor), next_id++,    e.at_ms, e.states_sent + e.blocks_sent > 0 ? t : 0, 0,
            e.states_sent,       e.blocks_sent};
      if (!live(p, t)) continue;
      push(next_look(p, t), p.id, e.client);
      pins[e.client] = std::move(p);
    }
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
  const PinJournal journal;  // empty: nothing recorded
  std::mutex mutex;
  std::shared_ptr<const VerifiedAnchor> current;
  int64_t current_since_ms = 0;
  uint64_t round = 0;  // the newest round seen
  uint64_t next_id = 1;
  std::unordered_map<std::string, Pin> pins;
  std::vector<Due> due;  // a min-heap on at_ms; one entry per pin, and some of pins gone
};

Pins::Pins(std::chrono::milliseconds window, size_t max_clients, std::function<int64_t()> clock, PinJournal journal,
           std::vector<PinEvent> restored)
    : table_(std::make_shared<Table>(window.count(), max_clients, std::move(clock), std::move(journal))) {
  if (window.count() > 0 && !restored.empty()) table_->restore(std::move(restored), table_->now());
}

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
      if (t.current || !t.pins.empty()) t.record_clear();
      t.pins.clear();
      t.due.clear();
      t.current.reset();
      return {};
    }
    t.advance(newest, now);
  }
  if (!t.current) return {};
  bool created = false;
  Table::Pin& pin = t.pin_for(client, now, created);
  const VerifiedAnchor* const was = pin.anchor.get();
  t.refresh(pin, round >= t.round ? newest : nullptr, now);
  Served served{pin.anchor, nullptr, !created};  // pinned: a live pin from an earlier request chose it
  const bool sends = body && (what == Artifact::state || pin.anchor->block);
  if (sends) {
    ++(what == Artifact::state ? pin.states_sent : pin.blocks_sent);
    ++pin.in_flight;
    served.lease = std::make_shared<const Table::Lease>(table_, client, pin.id);
  }
  // Before the response starts: a client that got its first half from this
  // process gets the second from the next one.
  if (created || sends || pin.anchor.get() != was) t.record_pin(client, pin);
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
