// pins.h: the pair rule's table; client_address.h: who a request comes from
// behind trusted proxies; cidr.h: ranges and client keys.
#include "pins.h"

#include <map>
#include <optional>

#include "cidr.h"
#include "client_address.h"
#include "testing.h"

using leanpoint::Artifact;
using leanpoint::Cidr;
using leanpoint::Pins;
using leanpoint::VerifiedAnchor;
using Anchor = std::shared_ptr<const VerifiedAnchor>;
using namespace std::chrono_literals;

namespace {

Anchor anchor(uint64_t slot, bool block = true) {
  auto a = std::make_shared<VerifiedAnchor>();
  a->checkpoint = {leanpoint::ssz::Root{static_cast<uint8_t>(slot)}, slot};
  a->state = std::make_shared<const std::vector<uint8_t>>(1, 1);
  if (block) a->block = std::make_shared<const std::vector<uint8_t>>(1, 2);
  return a;
}

// Pins on a clock the test moves; each snapshot one round newer unless told.
struct Table {
  explicit Table(std::chrono::milliseconds window, size_t max = Pins::kMaxClients,
                 leanpoint::PinJournal journal = nullptr, std::vector<leanpoint::PinEvent> restored = {},
                 int64_t start = 0)
      : now(start),
        pins(
            window, max, [this] { return now; }, std::move(journal), std::move(restored)) {}

  // A HEAD (no body): the anchor that client would get.
  Anchor head(const std::string& client, const Anchor& newest, int64_t at) {
    now = at;
    return pins.serve(client, Artifact::state, false, newest, ++round).anchor;
  }
  // A GET whose transfer is still running while the lease is held.
  leanpoint::Served get(const std::string& client, Artifact what, const Anchor& newest, int64_t at) {
    now = at;
    return pins.serve(client, what, true, newest, ++round);
  }
  // A GET that finishes at once.
  Anchor fetch(const std::string& client, Artifact what, const Anchor& newest, int64_t at) {
    return get(client, what, newest, at).anchor;
  }

  int64_t now = 0;
  uint64_t round = 0;
  Pins pins;
};

}  // namespace

TEST_CASE("a client keeps the anchor it first got for the window, from its first request, not extended") {
  Table t(8000ms);  // the current anchor changes at most every 1000 ms
  const auto a = anchor(10), b = anchor(14), c = anchor(18);
  CHECK(t.head("x", a, 0) == a);
  CHECK(t.head("x", b, 5000) == a);  // pinned; b is current for new clients
  CHECK(t.head("y", b, 5000) == b);
  CHECK(t.head("x", c, 7999) == a);  // still pinned: requests do not extend the pin...
  CHECK(t.head("x", c, 8000) == c);  // ...which runs out 8 s after it was set
  t.now = 8000;
  const auto v = t.pins.view();
  CHECK(v.clients == 2);
  CHECK(v.anchors == 2);  // b (y's) and c
}

TEST_CASE("the current anchor changes at most once per window/8; a pinned anchor gains its block") {
  Table t(8000ms);
  const auto a = anchor(10, false), a_block = anchor(10, true), b = anchor(14);
  CHECK(t.head("x", a, 0) == a);
  CHECK(t.head("x", a_block, 10) == a_block);  // same checkpoint: the newer copy
  CHECK(t.head("new1", b, 500) == a_block);    // held: changed 500 ms ago
  CHECK(t.head("new2", b, 1000) == b);         // window/8 passed
  CHECK(t.pins.view().current == b);
}

TEST_CASE("no anchor at all drops every pin; window 0 turns pins off") {
  Table t(8000ms);
  const auto a = anchor(10), b = anchor(14);
  CHECK(t.head("x", a, 0) == a);
  CHECK(t.head("x", nullptr, 1) == nullptr);
  CHECK(t.head("x", b, 2) == b);
  Pins off(0ms);
  CHECK(off.serve("x", Artifact::state, true, a, 1).anchor == a);
  CHECK(off.serve("x", Artifact::state, true, b, 2).anchor == b);
  CHECK_FALSE(off.serve("x", Artifact::state, true, b, 2).lease);
}

TEST_CASE("the table is bounded: the pin due soonest gives way when full") {
  Table t(8000ms, 3);
  const auto a = anchor(10);
  for (int i = 0; i < 5; ++i) t.head("c" + std::to_string(i), a, i);
  CHECK(t.pins.view().clients == 3);
}

TEST_CASE("finding 1: expired pins are swept as they expire, and release their anchors") {
  Table t(800ms);
  std::vector<std::weak_ptr<const VerifiedAnchor>> held;
  // 2,000 clients over 50 anchors, none of which comes back.
  Anchor a;
  for (int i = 0; i < 2000; ++i) {
    if (i % 40 == 0) held.push_back(a = anchor(10 + i / 10));
    t.head("c" + std::to_string(i), a, i * 5);
  }
  a.reset();
  Anchor last = anchor(5000);
  // Later traffic (one client) sweeps a bounded number per request.
  for (int i = 0; i < 100; ++i) t.head("late", last, 20000 + i);
  int alive = 0;
  for (auto& w : held) alive += !w.expired();
  CHECK(alive == 0);
  const auto v = t.pins.view();
  CHECK(v.clients == 1);
  CHECK(v.anchors == 1);
}

TEST_CASE("a sweep does not drop a pin that is alive: one half-served keeps its anchor") {
  Table t(1000ms);
  const auto a = anchor(10), b = anchor(14);
  auto s = t.get("x", Artifact::state, a, 0);  // a state download longer than the window
  for (int i = 1; i <= 30; ++i) t.head("other" + std::to_string(i), b, i * 100);
  CHECK(t.head("x", b, 3000) == a);                    // in flight: alive past the window
  s.lease.reset();                                     // the state ends at 3000
  CHECK(t.fetch("x", Artifact::block, b, 3999) == a);  // a window after the end of the state: its block
}

TEST_CASE("expiry between the two requests of a pair: past the window, the half-served pin lives on") {
  Table t(1000ms);
  const auto a = anchor(10), b = anchor(14);
  CHECK(t.fetch("x", Artifact::state, a, 0) == a);    // the state ends at once
  CHECK(t.fetch("x", Artifact::block, b, 999) == a);  // within the window
  Table u(1000ms);
  CHECK(u.fetch("x", Artifact::state, a, 500) == a);
  CHECK(u.fetch("x", Artifact::block, b, 1400) == a);  // past set + window, within end + window
  Table w(1000ms);
  CHECK(w.fetch("x", Artifact::state, a, 0) == a);
  CHECK(w.head("x", b, 1000) == b);  // half-served, but a window after the state's end: over
}

TEST_CASE("a HEAD does not half-serve: the pin runs out a window after it was set") {
  Table t(1000ms);
  const auto a = anchor(10), b = anchor(14);
  CHECK(t.head("x", a, 0) == a);
  CHECK(t.head("x", b, 999) == a);
  CHECK(t.head("x", b, 1000) == b);
}

TEST_CASE("a full pair does not extend the pin") {
  Table t(1000ms);
  const auto a = anchor(10), b = anchor(14);
  CHECK(t.fetch("x", Artifact::state, a, 0) == a);
  CHECK(t.fetch("x", Artifact::block, b, 900) == a);
  CHECK(t.head("x", b, 1000) == b);
}

TEST_CASE("the 4-window cap: a transfer in flight, or a half-served client, keeps a pin 4 windows at most") {
  Table t(1000ms);
  const auto a = anchor(10), b = anchor(14);
  auto s = t.get("x", Artifact::state, a, 0);  // never ends
  CHECK(t.head("x", b, 3999) == a);
  CHECK(t.head("x", b, 4000) == b);
  s.lease.reset();  // the end of a pin gone: nothing to record
  Table u(1000ms);
  CHECK(u.fetch("x", Artifact::state, a, 0) == a);
  for (int at = 900; at < 4000; at += 900) CHECK(u.fetch("x", Artifact::state, b, at) == a);  // re-fetching
  CHECK(u.head("x", b, 4000) == b);
}

TEST_CASE("blockless anchors: current keeps one with a block for a window; a pin with no state moves") {
  Table t(8000ms);
  const auto a = anchor(10, true), b = anchor(14, false), b_block = anchor(14, true), c = anchor(18, false);
  CHECK(t.head("x", a, 0) == a);
  CHECK(t.head("y", b, 2000) == a);  // past the hold, but b has no block
  CHECK(t.head("y", b, 7999) == a);
  CHECK(t.head("z", b, 8000) == b);  // a current with a block for a window: a devnet with no blocks moves
  // z asked for the block: 503 (no lease); not sent its state, it moves once current has a block.
  const auto z_block = t.get("z", Artifact::block, b, 8001);
  CHECK(z_block.anchor == b);
  CHECK_FALSE(z_block.lease);
  CHECK(t.fetch("w", Artifact::state, b, 8002) == b);  // w has b's state
  t.round += 5;
  CHECK(t.head("new", c, 9500) == c);  // both without a block: the hold alone
  const auto d = anchor(22, true);
  CHECK(t.head("new2", d, 10700) == d);
  CHECK(t.fetch("z", Artifact::block, d, 10701) == d);              // moved: its pair is d's
  CHECK(t.head("w", d, 10702) == b);                                // has b's state: stays, for b's block
  CHECK(t.fetch("w", Artifact::block, b_block, 10703) == b_block);  // b's block, found in the snapshot
}

TEST_CASE("an older snapshot never moves current backwards; a newer round at a lower slot does") {
  Table t(800ms);
  const auto a = anchor(10), b = anchor(14), other = anchor(12);
  t.pins.serve("x", Artifact::state, false, a, 5);
  t.now = 200;
  CHECK(t.pins.serve("y", Artifact::state, false, b, 7).anchor == b);
  t.now = 400;
  CHECK(t.pins.serve("z", Artifact::state, false, a, 6).anchor == b);  // a handler holding round 6
  CHECK(t.pins.view().current == b);
  CHECK(t.pins.serve("z2", Artifact::state, false, nullptr, 6).anchor == b);  // nor drops the pins
  t.now = 600;
  CHECK(t.pins.serve("v", Artifact::state, false, other, 8).anchor == other);  // another chain agreed
}

TEST_CASE("a lease released after the pins are gone is harmless") {
  std::shared_ptr<const void> lease;
  {
    Pins pins(1000ms);
    lease = pins.serve("x", Artifact::state, true, anchor(10), 1).lease;
    REQUIRE(lease);
  }
  lease.reset();
}

TEST_CASE("client_address: forwarded headers only from trusted proxies, read from the right") {
  const auto trusted = *leanpoint::parse_cidr_list("127.0.0.1,10.0.0.0/8");
  auto from = [&trusted](const std::string& peer, std::vector<std::string> lines) {
    leanpoint::ForwardedHeaders h;
    h.forwarded_for = std::move(lines);
    return leanpoint::client_address(peer, h, trusted);
  };
  CHECK(from("192.0.2.7", {"198.51.100.1"}) == "192.0.2.7");  // not a proxy
  CHECK(from("127.0.0.1", {"198.51.100.1"}) == "198.51.100.1");
  CHECK(from("127.0.0.1", {"203.0.113.9, 198.51.100.1, 10.1.2.3"}) == "198.51.100.1");
  CHECK(from("127.0.0.1", {"garbage"}) == "127.0.0.1");
  CHECK(from("127.0.0.1", {"10.0.0.1"}) == "10.0.0.1");  // only proxies: the last trusted hop
  CHECK(from("127.0.0.1", {}) == "127.0.0.1");
  // Finding 2: every line, in order; the client's own line comes first.
  CHECK(from("127.0.0.1", {"6.6.6.6", "198.51.100.1"}) == "198.51.100.1");
  CHECK(from("127.0.0.1", {"6.6.6.6", "198.51.100.1, 10.0.0.5"}) == "198.51.100.1");
  // Not an address: the walk stops at the last trusted hop, never reading left of it.
  CHECK(from("127.0.0.1", {"6.6.6.6, unknown"}) == "127.0.0.1");
  CHECK(from("127.0.0.1", {"6.6.6.6, unknown, 10.0.0.5"}) == "10.0.0.5");
  CHECK(from("127.0.0.1", {"6.6.6.6,, 10.0.0.5"}) == "10.0.0.5");
  CHECK(from("127.0.0.1", {"6.6.6.6, 10.0.0.0/8"}) == "127.0.0.1");
  // Ports and brackets.
  CHECK(from("127.0.0.1", {"198.51.100.1:5555"}) == "198.51.100.1");
  CHECK(from("127.0.0.1", {"[2001:db8::1]"}) == "2001:db8::1");
  CHECK(from("127.0.0.1", {"[2001:db8::1]:443"}) == "2001:db8::1");
  CHECK(from("127.0.0.1", {" 2001:db8::2 "}) == "2001:db8::2");
  for (const char* bad : {"[2001:db8::1", "[198.51.100.1]", "198.51.100.1:", "198.51.100.1:123456", "[::1]x",
                          "198.51.100.1:80:80", "1.2.3.4/32", ""}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(leanpoint::forwarded_address(bad));
  }
}

TEST_CASE("client_address: --real-ip-header, only when named, one address") {
  const auto trusted = *leanpoint::parse_cidr_list("127.0.0.1");
  auto real = [&trusted](const std::string& peer, std::vector<std::string> lines) {
    leanpoint::ForwardedHeaders h;
    h.use_real_ip = true;
    h.forwarded_for = {"203.0.113.1"};  // not read
    h.real_ip = std::move(lines);
    return leanpoint::client_address(peer, h, trusted);
  };
  CHECK(real("127.0.0.1", {" 198.51.100.2 "}) == "198.51.100.2");
  CHECK(real("127.0.0.1", {"[2001:db8::1]:80"}) == "2001:db8::1");
  CHECK(real("127.0.0.1", {"unknown"}) == "127.0.0.1");
  CHECK(real("127.0.0.1", {}) == "127.0.0.1");
  CHECK(real("127.0.0.1", {"198.51.100.2", "198.51.100.3"}) == "127.0.0.1");
  CHECK(real("192.0.2.7", {"198.51.100.2"}) == "192.0.2.7");
}

TEST_CASE("client_key: an IPv4 address, an IPv6 /64, mapped addresses as IPv4") {
  using leanpoint::client_key;
  CHECK(client_key("192.0.2.7") == "192.0.2.7");
  CHECK(client_key("::ffff:192.0.2.7") == "192.0.2.7");
  CHECK(client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9"));
  CHECK(client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1"));
  CHECK(client_key("?") == "?");
}

TEST_CASE("cidr: IPv4, IPv6, mapped addresses, bad input") {
  CHECK(Cidr::parse("10.0.0.0/8")->contains("10.255.1.2"));
  CHECK_FALSE(Cidr::parse("10.0.0.0/8")->contains("11.0.0.1"));
  CHECK(Cidr::parse("10.0.0.0/8")->contains("::ffff:10.1.1.1"));
  CHECK(Cidr::parse("127.0.0.1")->contains("127.0.0.1"));
  CHECK_FALSE(Cidr::parse("127.0.0.1")->contains("127.0.0.2"));
  CHECK(Cidr::parse("fd00::/8")->contains("fd12::1"));
  CHECK_FALSE(Cidr::parse("fd00::/8")->contains("fe80::1"));
  CHECK(Cidr::parse("0.0.0.0/0")->contains("8.8.8.8"));
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0/8", "x", "::/129", "1.2.3.4/", "1.2.3.4/8x"}) {
    CAPTURE(std::string(bad));
    CHECK_FALSE(Cidr::parse(bad));
  }
  CHECK(leanpoint::parse_cidr_list("")->empty());
  CHECK(leanpoint::parse_cidr_list("127.0.0.1, ::1")->size() == 2);
  CHECK_FALSE(leanpoint::parse_cidr_list("127.0.0.1,nope"));
}

TEST_CASE("a client fetching pair after pair: the pair begun before the window ended is finished from its anchor") {
  Table t(1000ms);
  const auto a = anchor(10), b = anchor(14);
  for (int at = 0; at < 900; at += 300) {
    CHECK(t.fetch("x", Artifact::state, a, at) == a);
    CHECK(t.fetch("x", Artifact::block, b, at + 100) == a);
  }
  CHECK(t.fetch("x", Artifact::state, b, 950) == a);   // a third pair begins before the window ends...
  CHECK(t.fetch("x", Artifact::block, b, 1100) == a);  // ...and ends after it: the same anchor
  CHECK(t.head("x", b, 1101) == b);                    // complete: the pin is over
}

// --- the table outlives the process (pin_journal.h) -------------------------

namespace {

// A Pins that records its events, and one built from what it left, as the
// next process would be (the PinStore in between is pin_journal_test's).
struct Journaled {
  explicit Journaled(std::chrono::milliseconds w) : window(w) {}

  leanpoint::PinJournal journal() {
    return [this](leanpoint::PinEvent e) { events.push_back(std::move(e)); };
  }
  // The live events, folded as PinStore folds them: the newest per client.
  std::vector<leanpoint::PinEvent> left(int64_t at) const {
    std::vector<leanpoint::PinEvent> out;
    std::map<std::string, leanpoint::PinEvent> pins;
    std::optional<leanpoint::PinEvent> current;
    for (const auto& e : events) {
      if (e.kind == leanpoint::PinEventKind::clear) pins.clear(), current.reset();
      if (e.kind == leanpoint::PinEventKind::current) current = e;
      if (e.kind == leanpoint::PinEventKind::pin) pins.insert_or_assign(e.client, e);
    }
    if (current) out.push_back(*current);
    for (const auto& [client, e] : pins)
      if (e.expires_ms > at) out.push_back(e);
    return out;
  }
  // The next process, started at `at`.
  std::unique_ptr<Table> restart(int64_t at) {
    auto t = std::make_unique<Table>(window, Pins::kMaxClients, nullptr, left(at), at);
    return t;
  }

  std::chrono::milliseconds window;
  std::vector<leanpoint::PinEvent> events;
};

}  // namespace

TEST_CASE(
    "events: a new pin, each GET, and each change of current are recorded before the answer; a HEAD of a pin is not") {
  Journaled j(8000ms);
  Table t(8000ms, Pins::kMaxClients, j.journal());
  const auto a = anchor(10), b = anchor(14);
  t.head("x", a, 0);
  REQUIRE(j.events.size() == 2);
  CHECK(j.events[0].kind == leanpoint::PinEventKind::current);
  CHECK(j.events[0].anchor == a);
  CHECK(j.events[1].kind == leanpoint::PinEventKind::pin);
  CHECK(j.events[1].client == "x");
  CHECK(j.events[1].expires_ms == 8000);  // nothing sent: a window
  t.head("x", a, 10);
  CHECK(j.events.size() == 2);  // nothing changed
  const auto lease = t.get("x", Artifact::state, a, 20).lease;
  REQUIRE(j.events.size() == 3);  // recorded while the transfer is still to start
  CHECK(j.events[2].states_sent == 1);
  CHECK(j.events[2].expires_ms == 4 * 8000);  // in flight: the cap
  t.head("y", b, 2000);                       // current moves to b
  REQUIRE(j.events.size() == 5);
  CHECK(j.events[3].kind == leanpoint::PinEventKind::current);
  CHECK(j.events[3].checkpoint == b->checkpoint);
  CHECK(j.events[3].at_ms == 2000);
}

TEST_CASE("restored: a client half-served by the old process gets the other half of the same anchor from the new") {
  Journaled j(8000ms);
  const auto a = anchor(10), b = anchor(14), c = anchor(18);
  {
    Table old(8000ms, Pins::kMaxClients, j.journal());
    CHECK(old.fetch("x", Artifact::state, a, 0) == a);
    CHECK(old.fetch("z", Artifact::block, a, 0) == a);
    CHECK(old.head("y", b, 1500) == b);  // current moved to b
  }
  // Finality moved on while the process restarted: the snapshot holds c.
  auto next = j.restart(2000);
  CHECK(next->fetch("x", Artifact::block, c, 2000) == a);  // the other half, same checkpoint
  CHECK(next->fetch("z", Artifact::state, c, 2000) == a);  // either order
  CHECK(next->head("y", c, 2000) == b);                    // a pin of no transfer yet: kept too
  CHECK(next->head("new", c, 2000) == b);                  // current restored, held since 1500: b for now
  CHECK(next->head("new2", c, 1500 + 1000) == c);          // ...until the hold (window/8) is over
}

TEST_CASE("restored: expired pins are not restored; a half-served one lives a window past the restart") {
  Journaled j(8000ms);
  const auto a = anchor(10), b = anchor(14);
  {
    Table old(8000ms, Pins::kMaxClients, j.journal());
    old.fetch("half", Artifact::state, a, 0);  // half-served
    old.head("seen", a, 0);                    // nothing sent: a window
  }
  auto next = j.restart(9000);  // past the window: "seen" is over, "half" is not (in flight when recorded)
  next->now = 9000;
  CHECK(next->pins.view().clients == 1);
  CHECK(next->head("seen", b, 9000) == b);
  CHECK(next->head("half", b, 9000) == a);
  CHECK(next->head("half", b, 9000 + 7999) == a);  // the old transfer ended at the restart, at the latest
  CHECK(next->head("half", b, 9000 + 8000) == b);  // a window after it: over
}

TEST_CASE("restored: a clear (the anchor withdrawn) forgets what came before; an event without its anchor is skipped") {
  Journaled j(8000ms);
  const auto a = anchor(10), b = anchor(14);
  {
    Table old(8000ms, Pins::kMaxClients, j.journal());
    old.fetch("x", Artifact::state, a, 0);
    old.head("x", nullptr, 10);  // no anchor: every pin dropped
    old.fetch("y", Artifact::state, b, 20);
  }
  auto left = j.left(30);
  REQUIRE(left.size() == 2);  // current b, and y
  left.push_back(left.back());
  left.back().client = "w";
  left.back().anchor = nullptr;  // its anchor could not be read back
  Table next(8000ms, Pins::kMaxClients, nullptr, std::move(left), 30);
  next.now = 30;
  CHECK(next.pins.view().clients == 1);
  CHECK(next.head("x", b, 30) == b);
}
