// A syncing client's two downloads, from a source address of its own in
// 127.0.0.0/8: the state and the block, in one of the orders lean clients use
// (docs/clients.md §1), compared by the slot leanpoint names in each.
#pragma once

#include <unistd.h>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "test_server.h"

namespace testing {

// A connection to the server from `source` (any 127.0.0.0/8 address).
inline int connect_from(uint16_t port, const std::string& source) { return connect_to(port, 0, source); }

struct Reply {
  int status = 0;
  std::string head, body;
  std::string header(const std::string& name) const {
    const size_t at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    const size_t start = at + name.size() + 4;
    return head.substr(start, head.find("\r\n", start) - start);
  }
};

inline Reply parse(const std::string& raw) {
  Reply r;
  const size_t end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end + 2);
  r.body = raw.substr(end + 4);
  return r;
}

// One request on a new connection from `source`; the whole answer.
inline Reply fetch(uint16_t port, const std::string& source, const std::string& path,
                   const std::string& extra_headers = "") {
  const int fd = connect_from(port, source);
  if (fd < 0) return {};
  testing::send_all(fd, "GET " + path + " HTTP/1.1\r\nHost: x\r\n" + extra_headers + "Connection: close\r\n\r\n");
  const std::string raw = testing::read_until_close(fd, 10000);
  ::close(fd);
  return parse(raw);
}

enum class Order { state_first, block_first, together };

// Fetches a pair from `source` in `order`, with `gap` between the two
// requests; returns whether both came from one anchor (and were 200).
inline bool pair_matches(uint16_t port, const std::string& source, Order order, std::chrono::milliseconds gap) {
  const std::string state = "/lean/v0/states/finalized", block = "/lean/v0/blocks/finalized";
  Reply s, b;
  if (order == Order::together) {
    auto f = std::async(std::launch::async, [&] { return fetch(port, source, block); });
    s = fetch(port, source, state);
    b = f.get();
  } else {
    Reply& first = order == Order::state_first ? s : b;
    Reply& second = order == Order::state_first ? b : s;
    first = fetch(port, source, order == Order::state_first ? state : block);
    std::this_thread::sleep_for(gap);  // the client's own pace between its two requests
    second = fetch(port, source, order == Order::state_first ? block : state);
  }
  return s.status == 200 && b.status == 200 && !s.header("X-Leanpoint-Slot").empty() &&
         s.header("X-Leanpoint-Slot") == b.header("X-Leanpoint-Slot");
}

}  // namespace testing
