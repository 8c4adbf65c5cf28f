// One client connection: its socket (closed with the object), its peer, the
// bytes received but not yet consumed, and the response bytes the socket had
// no room for yet. Owned by exactly one of: the gate (waiting for a complete
// request head, or sending queued output), a pool queue, or a worker.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "deadline.h"
#include "fd.h"
#include "server_stats.h"
#include "snapshot.h"

namespace leanpoint {

// A piece of response not yet sent: a range of a shared immutable body (an
// anchor), by reference, or a small copy (a response head).
struct OutPiece {
  SharedBytes owner;  // keeps `data` alive; null for a copy
  std::string copy;
  const char* data = nullptr;
  size_t size = 0;
};

// Copies queued per connection at most; past this a worker waits (static
// files, whose bytes are read into buffers, stream so, as before).
constexpr size_t kMaxCopiedOutput = 64 * 1024;

// The stall rule's bookkeeping (conn_stream.h), for a worker waiting on a
// full socket and for the gate sending queued output alike: progress is
// bytes sent, or the socket's unacknowledged bytes (SIOCOUTQ) shrinking.
class StallWatch {
 public:
  // How often to sample within `window`: four times, so the cut comes
  // between one window and 1.25 windows after the last progress.
  static std::chrono::milliseconds sample_period(std::chrono::milliseconds window) {
    return std::max(window / 4, std::chrono::milliseconds(10));
  }

  void start(int fd, Clock::time_point now);
  void sent(int fd, Clock::time_point now);  // bytes went into the socket: progress
  // Samples the socket; true once there was no progress for `window`.
  bool stalled(int fd, Clock::time_point now, std::chrono::milliseconds window);

 private:
  Clock::time_point moved_{};
  int unacked_ = -1;
};

struct Connection;
// Counts, logs and marks (reset on close) a transfer the stall rule ends.
void abort_stalled(Connection& conn, std::chrono::milliseconds window);

// How a response ended, as only the transport sees it.
struct ResponseEnd {
  std::string_view route;        // the route's label (the route table outlives every connection)
  int status = 0;                // as sent; 0 if none was (the client left before the head)
  uint64_t body_bytes = 0;       // of its body, handed to the socket
  Clock::time_point received{};  // its request head complete
  Clock::time_point ended{};     // its last byte handed to the socket, or the connection gone
};

// Told once how a response ended: when its last byte is handed to the
// socket, or when the connection goes first. A handler attaches one to its
// response (RequestContext::watch) to learn what only the transport knows,
// so that the transport never learns what was answered (the access log,
// site/access_log.h). Called on a worker or the gate thread: must not block.
class ResponseWatch {
 public:
  virtual ~ResponseWatch() = default;
  virtual void ended(const ResponseEnd& end) = 0;
};

// What Connection::send_out did.
struct SendResult {
  size_t bytes = 0;     // sent
  bool broken = false;  // a socket error: a reset, the client gone
};

struct Connection {
  Connection(UniqueFd socket, std::string peer, ServerStats& stats)
      : peer(std::move(peer)), stats(stats), socket_(std::move(socket)) {
    ++stats.connections_open;
    stats.add(Counter::connections);
  }
  ~Connection() {
    end_response();  // the connection goes before the response's last byte
    if (reset_on_close) {
      // Discard what the client never read: a reset frees the kernel's send
      // buffer at once instead of retrying it to a peer that is not reading.
      // Should it fail, the close is an orderly one: the kernel keeps
      // retrying the unread bytes a while, which is all a reset saves.
      const linger abort{1, 0};
      (void)::setsockopt(fd(), SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    }
    socket_.reset();
    --stats.connections_open;
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return socket_.get(); }

  // Sends queued output without waiting, at most `budget` bytes, as the
  // socket takes it (counted in bytes_served).
  SendResult send_out(size_t budget);

  // The response being written or sent, while a handler watches it.
  struct Watched {
    std::shared_ptr<ResponseWatch> watch;  // set by the handler; null: nobody asked
    ResponseEnd end;
    uint64_t head = 0;       // bytes of the response head: cpp-httplib writes it first, in one write
    uint64_t sent = 0;       // bytes of the response handed to the socket, head included
    bool head_seen = false;  // the head was written
    bool sealed = false;     // the worker is done: it ends once `out` is empty
  };
  Watched watched;
  void count_sent(size_t n) {
    if (watched.watch) watched.sent += n;
  }
  // Tells the watch, if any, how the response ended; once.
  void end_response() {
    if (!watched.watch) return;
    Watched w = std::move(watched);
    watched = {};
    w.end.body_bytes = w.sent > w.head ? w.sent - w.head : 0;
    w.end.ended = Clock::now();
    w.watch->ended(w.end);
  }

  const std::string peer;           // "ip:port", for logs
  std::string ip;                   // the peer's address
  std::shared_ptr<void> peer_slot;  // counts this connection against its address (gate.h)
  ServerStats& stats;
  std::string input;             // received, not yet consumed: the head being read, pipelined requests
  Clock::time_point deadline{};  // for the next complete head
  unsigned requests = 0;         // answered on this connection
  bool reset_on_close = false;   // set when a transfer stalled
  bool probe_only = false;       // adopted past --max-connections: a probe route, then closed
  // The first byte of the head being read, else the accept: where a response
  // the gate sends itself began (GateAnswer, gate.h).
  Clock::time_point head_began{};

  // Output the gate sends (ARCHITECTURE.md §6): queued by the worker when the
  // socket is full, so that a slow reader holds a socket and a reference to
  // shared bytes, never a worker.
  std::deque<OutPiece> out;
  size_t out_copied = 0;   // bytes of `out` held as copies
  SharedBytes body_owner;  // the body the response being written comes from
  bool close_after_output = false;
  StallWatch stall;      // while the gate sends `out`
  bool in_ring = false;  // in the gate's ring of connections with room to send (gate thread only)

 private:
  UniqueFd socket_;
};

}  // namespace leanpoint
