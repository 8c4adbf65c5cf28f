// One client connection: its socket (closed with the object), its peer, and
// the bytes received but not yet consumed. Owned by exactly one of: the gate
// (waiting for a complete request head), a pool queue, or a worker.
#pragma once

#include <sys/socket.h>

#include <string>

#include "deadline.h"
#include "fd.h"
#include "server_stats.h"

namespace leanpoint {

struct Connection {
  Connection(UniqueFd socket, std::string peer, ServerStats& stats)
      : peer(std::move(peer)), stats(stats), socket_(std::move(socket)) {
    ++stats.connections_open;
    stats.add(Counter::connections);
  }
  ~Connection() {
    if (reset_on_close) {
      // Discard what the client never read: a reset frees the kernel's send
      // buffer at once instead of retrying it to a peer that is not reading.
      const linger abort{1, 0};
      ::setsockopt(fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    socket_.reset();
    --stats.connections_open;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return socket_.get(); }

  const std::string peer;  // "ip:port", for logs
  ServerStats& stats;
  std::string input;             // received, not yet consumed: the head being read, pipelined requests
  Clock::time_point deadline{};  // for the next complete head
  unsigned requests = 0;         // answered on this connection
  bool reset_on_close = false;   // set when a transfer stalled
  bool probe_only = false;       // adopted past --max-connections: a probe route, then closed

 private:
  UniqueFd socket_;
};

// Where the request head in `input` ends (just past the blank line), or 0.
size_t head_end(const std::string& input);

}  // namespace leanpoint
