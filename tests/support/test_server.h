// An in-process leanpoint server on 127.0.0.1 with a snapshot the test sets,
// and raw-socket clients for what httplib::Client cannot do (stall, trickle,
// pipeline).
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "hex.h"
#include "http_server.h"
#include "routes.h"
#include "rss.h"

namespace testing {

inline leanpoint::ServerOptions test_server_options() {
  leanpoint::ServerOptions o;
  o.bind = "127.0.0.1";
  o.port = 0;
  o.gate.head_timeout_ms = 2000;
  o.gate.stall_timeout_ms = 1000;
  o.artifact_workers = 4;
  o.api_workers = 2;
  o.gate.max_connections = 2000;
  o.gate.max_connections_per_client = 0;  // every test client comes from 127.0.0.1
  return o;
}

// What a poller publishes with every snapshot (its defaults), from its start.
inline leanpoint::PollSettings test_poll_settings() {
  leanpoint::PollSettings p;
  p.poll_ms = 10000;
  p.timeout_ms = 5000;
  p.min_agree = 1;
  p.started_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  return p;
}

class TestServer {
 public:
  explicit TestServer(leanpoint::ServerOptions o = test_server_options(), leanpoint::SiteOptions r = {}) {
    // As a poller does when it is built: its settings, before any round.
    auto initial = std::make_shared<leanpoint::Snapshot>();
    initial->settings = settings_;
    store_.publish(initial);
    server_ = std::make_unique<leanpoint::HttpServer>(o, stats_);
    server_->set_routes(leanpoint::leanpoint_routes(store_, *server_, stats_, r));
    if (auto started = server_->start(); !started) throw std::runtime_error(started.error().text());
  }
  ~TestServer() { server_->stop(); }

  uint16_t port() const { return static_cast<uint16_t>(server_->port()); }
  leanpoint::ServerStats& stats() { return stats_; }
  leanpoint::SnapshotStore& store() { return store_; }
  leanpoint::HttpServer& server() { return *server_; }

  // Publishes a healthy snapshot whose anchor has a state of `state_size`
  // bytes (a known pattern) and, if `block_size`, a block.
  // Another `slot` gives another checkpoint, with other bytes.
  std::shared_ptr<const leanpoint::VerifiedAnchor> publish_anchor(size_t state_size, size_t block_size = 1000,
                                                                  uint64_t slot = 96) {
    auto a = std::make_shared<leanpoint::VerifiedAnchor>();
    a->checkpoint = {leanpoint::ssz::Root{0xab, 0xcd, static_cast<uint8_t>(slot), static_cast<uint8_t>(slot >> 8)},
                     slot};
    a->state_root = leanpoint::ssz::Root{0x5a, static_cast<uint8_t>(slot)};
    const auto seed = static_cast<uint8_t>(slot == 96 ? 0 : slot * 3);
    a->state = std::make_shared<const std::vector<uint8_t>>(pattern(state_size, static_cast<uint8_t>(1 + seed)));
    if (block_size)
      a->block = std::make_shared<const std::vector<uint8_t>>(pattern(block_size, static_cast<uint8_t>(2 + seed)));
    a->state_source = a->block_source = "node0";
    auto s = std::make_shared<leanpoint::Snapshot>();
    s->settings = settings_;
    s->round = 1;
    s->round_started_ms = now_ms();
    s->agreement.checkpoint = a->checkpoint;
    s->agreement.votes = s->agreement.answered = 1;
    s->justified = leanpoint::lean::Checkpoint{leanpoint::ssz::Root{0xee}, 100};
    s->agreed_at_ms = now_ms();
    s->history.push_back({a->checkpoint, now_ms()});
    s->anchor = a;
    store_.publish(s);
    return a;
  }

  static std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(i * 7 + seed + (i >> 12));
    return v;
  }
  static int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }

 private:
  const leanpoint::PollSettings settings_ = test_poll_settings();
  leanpoint::SnapshotStore store_;
  leanpoint::ServerStats stats_;
  std::unique_ptr<leanpoint::HttpServer> server_;
};

// A GET with cpp-httplib's client, for what needs no raw socket.
inline httplib::Result get(uint16_t port, const std::string& path, httplib::Headers headers = {}) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  return c.Get(path, headers);
}

// A blocking client socket; `rcvbuf` > 0 shrinks its receive buffer (so a
// client that does not read makes the server block quickly); `source`, an
// address in 127.0.0.0/8, is the client's own (a client of its own address).
inline int connect_to(uint16_t port, int rcvbuf = 0, const std::string& source = "") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (!source.empty()) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    if (::inet_pton(AF_INET, source.c_str(), &from.sin_addr) != 1 ||
        ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads until the peer closes or `ms` pass; keeps the first `keep` bytes and
// returns the count of all in `total` (so a big body costs the test nothing).
inline std::string drain(int fd, int ms, size_t& total, size_t keep = 512) {
  std::string head;
  total = 0;
  char buf[65536];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    if (head.size() < keep) head.append(buf, std::min(static_cast<size_t>(n), keep - head.size()));
    total += static_cast<size_t>(n);
  }
  return head;
}

// Reads until the peer closes or `ms` pass; returns what arrived.
inline std::string read_until_close(int fd, int ms) {
  size_t total = 0;
  return drain(fd, ms, total, std::string::npos);
}

// Waits up to `ms` for the connection to be reset or closed by the peer
// without reading its data (poll with no events reports only HUP/ERR).
inline bool wait_reset(int fd, int ms) {
  pollfd p{fd, 0, 0};
  return ::poll(&p, 1, ms) > 0 && (p.revents & (POLLHUP | POLLERR));
}

}  // namespace testing
