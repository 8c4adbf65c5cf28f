// pins.h: the pair rule's table, client addresses behind trusted proxies,
// and cidr.h.
#include "pins.h"

#include "cidr.h"
#include "testing.h"

using leanpoint::Cidr;
using leanpoint::Pins;
using leanpoint::VerifiedAnchor;

namespace {

std::shared_ptr<const VerifiedAnchor> anchor(uint64_t slot, bool block = true) {
  auto a = std::make_shared<VerifiedAnchor>();
  a->checkpoint = {leanpoint::ssz::Root{static_cast<uint8_t>(slot)}, slot};
  a->state = std::make_shared<const std::vector<uint8_t>>(1, 1);
  if (block) a->block = std::make_shared<const std::vector<uint8_t>>(1, 2);
  return a;
}

}  // namespace

TEST_CASE("a client keeps the anchor it first got for the window, from its first request, not extended") {
  Pins pins(std::chrono::milliseconds(8000));  // the current anchor changes at most every 1000 ms
  const auto a = anchor(10), b = anchor(14), c = anchor(18);
  CHECK(pins.serve("x", a, 0) == a);
  CHECK(pins.serve("x", b, 5000) == a);  // pinned; b is current for new clients
  CHECK(pins.serve("y", b, 5000) == b);
  CHECK(pins.serve("x", c, 7999) == a);  // still pinned: requests do not extend the pin...
  CHECK(pins.serve("x", c, 8000) == c);  // ...which runs out 8 s after it was set
  const auto v = pins.view(8000);
  CHECK(v.clients == 2);
  CHECK(v.anchors == 2);  // b (y's) and c
}

TEST_CASE("the current anchor changes at most once per window/8; a pinned anchor gains its block") {
  Pins pins(std::chrono::milliseconds(8000));
  const auto a = anchor(10, false), a_block = anchor(10, true), b = anchor(14);
  CHECK(pins.serve("x", a, 0) == a);
  CHECK(pins.serve("x", a_block, 10) == a_block);  // same checkpoint: the newer copy
  CHECK(pins.serve("new1", b, 500) == a_block);    // held: changed 500 ms ago
  CHECK(pins.serve("new2", b, 1000) == b);         // window/8 passed
  CHECK(pins.view(1000).current == b);
}

TEST_CASE("no anchor at all drops every pin; window 0 turns pins off") {
  Pins pins(std::chrono::milliseconds(8000));
  const auto a = anchor(10), b = anchor(14);
  CHECK(pins.serve("x", a, 0) == a);
  CHECK(pins.serve("x", nullptr, 1) == nullptr);
  CHECK(pins.serve("x", b, 2) == b);
  Pins off(std::chrono::milliseconds(0));
  CHECK(off.serve("x", a, 0) == a);
  CHECK(off.serve("x", b, 1) == b);
}

TEST_CASE("the table is bounded: the oldest pin gives way when full") {
  Pins pins(std::chrono::milliseconds(8000), 3);
  const auto a = anchor(10);
  for (int i = 0; i < 5; ++i) pins.serve("c" + std::to_string(i), a, i);
  CHECK(pins.view(10).clients == 3);
}

TEST_CASE("client_address: forwarded headers only from trusted proxies, read from the right") {
  const auto trusted = *leanpoint::parse_cidr_list("127.0.0.1,10.0.0.0/8");
  using leanpoint::client_address;
  CHECK(client_address("192.0.2.7", "198.51.100.1", "198.51.100.2", trusted) == "192.0.2.7");  // not a proxy
  CHECK(client_address("127.0.0.1", "198.51.100.1", "", trusted) == "198.51.100.1");
  CHECK(client_address("127.0.0.1", "203.0.113.9, 198.51.100.1, 10.1.2.3", "", trusted) == "198.51.100.1");
  CHECK(client_address("127.0.0.1", "", " 198.51.100.2 ", trusted) == "198.51.100.2");
  CHECK(client_address("127.0.0.1", "garbage", "", trusted) == "127.0.0.1");
  CHECK(client_address("127.0.0.1", "10.0.0.1", "", trusted) == "127.0.0.1");  // only proxies: the peer
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
