// The connection gate: one thread owns every connection that is waiting for
// a request head or idle between keep-alive requests, so no worker is ever
// held while a head trickles in (a slowloris costs a socket, not a worker).
//
//   accept (the Listener's thread, listener.h) -> adopt()
//     over --max-connections, or over --max-connections-per-client for its
//     address: fast 503, closed
//   gate thread (epoll): read the head under one absolute deadline
//     (--head-timeout-ms) and a cap of kMaxRequestHead (431); read_head
//     screens it (request_head.h); hand the complete request to `dispatch`
//   worker: answers it, then resume()s the connection here if it stays open,
//     or if part of the response is still queued (conn_stream.h)
//   gate thread: sends the queued output as the socket takes it, under the
//     stall rule, fairly: a slice per connection in turn, round a ring of
//     those the socket has room for; then waits for the next request, or
//     closes
//
// Every path closes the socket exactly once: a Connection closes it when the
// last owner drops it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cidr.h"
#include "connection.h"
#include "expected.h"
#include "fd.h"
#include "request_head.h"
#include "sys_error.h"

namespace leanpoint {

// Connections past --max-connections kept for probes (/livez, /readyz): one
// of these may ask only for a probe route, and is closed after it.
constexpr size_t kProbeReserve = 8;
// So that no client can hold the reserve: at most this many of its
// connections per client address (a prober's liveness and readiness checks
// at once), each closed unless its head is complete within kProbeHeadTimeout
// (a probe sends its request at once).
constexpr size_t kProbeReservePerClient = 2;
constexpr std::chrono::milliseconds kProbeHeadTimeout{1000};
// Draining, a head still to come must be complete within this (or its own
// deadline, if sooner): a client whose connection was accepted just before
// the stop sends its request at once, and a silent one must not hold the
// drain for a whole --head-timeout-ms.
constexpr std::chrono::milliseconds kDrainHeadTimeout{1000};

// The gate's settings, each default here and nowhere else (the flags of the
// same names bind to these fields).
struct GateOptions {
  int64_t head_timeout_ms = 10000;   // a whole request head, from the connection or the last answer
  int64_t stall_timeout_ms = 10000;  // the stall rule's window (connection.h), for every transfer
  // Open connections beyond which new ones get a fast 503. 0: derived at
  // start from RLIMIT_NOFILE (HttpServer::start, default_max_connections).
  uint64_t max_connections = 0;
  // Connections from one client address beyond which new ones get a fast
  // 503, so that one address cannot take every slot; 0: no cap. Trusted
  // proxies carry many clients and are not capped.
  uint64_t max_connections_per_client = 64;
  std::vector<Cidr> trusted_proxies;  // also whose X-Forwarded-For names the client (client_address.h)
  std::string real_ip_header;         // from trusted proxies, names the client instead; empty: X-Forwarded-For
};

// Open connections per client address, for max_connections_per_client.
class PeerCounts : public std::enable_shared_from_this<PeerCounts> {
 public:
  // A token the connection holds for its life (it counts until released),
  // or null when `ip` already has `cap` connections.
  std::shared_ptr<void> admit(const std::string& ip, size_t cap);
  size_t count(const std::string& ip) const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, size_t> open_;
};

// A response the gate (or a full pool) sends itself, then closes.
std::string canned_response(int status, const std::string& body, const std::string& extra_headers = "");

// The answer past --max-connections.
std::string too_many_connections();

// The answer to a head refused (request_head.h): the status its kind calls
// for, the detail as the body; then the connection closes.
std::string head_refusal(const HeadError& error);

// A step that fails for every connection for a while (epoll_ctl or fcntl
// under descriptor or memory pressure) is logged when the run of failures
// starts and when it ends, never once per connection.
class FailureEpisode {
 public:
  explicit FailureEpisode(const char* what) : what_(what) {}
  void failed(const SysError& error);  // logs the first of a run
  void succeeded();                    // logs the end of a run

 private:
  const char* what_;  // "gate: system calls on client connections"
  std::atomic<bool> failing_{false};
};

// A response the gate sends itself, no route having run: a refused head, or
// a 503 shed (past --max-connections, or a full pool). What the transport
// knows of it, for a hook that logs it (HttpServer::on_gate_answer); the
// views hold only during the call.
struct GateAnswer {
  std::string_view ip;                   // the peer's address (no header was read, or trusted)
  std::string_view method;               // the client's raw bytes as far as read: empty when none were
  std::string_view target;               // the same: raw, possibly cut at the head's cap
  int status = 0;                        // as sent
  std::optional<HeadErrorKind> refused;  // why the head was refused; none: shed
  uint64_t body_bytes = 0;               // of the reply's body, handed to the socket
  Clock::time_point began{};             // the head's first byte read, else the connection's accept
};

class Gate {
 public:
  // `dispatch` runs on the gate thread with a connection whose input starts
  // with the complete, screened request head `head`; it must not block.
  using Dispatch = std::function<void(std::shared_ptr<Connection>, RequestHead)>;
  // Told of every GateAnswer, on the thread that sends it (the listen
  // thread, the gate's, a worker's): it must only enqueue. May be empty.
  using Answered = std::function<void(const GateAnswer&)>;

  // Creates the gate's epoll instance and wake-up eventfd and starts its
  // thread. `options.max_connections` is resolved (not 0).
  static Expected<std::unique_ptr<Gate>, SysError> open(GateOptions options, ServerStats& stats, Dispatch dispatch,
                                                        Answered answered = {});
  ~Gate();  // stop()
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // Takes a newly accepted socket, and with it the duty to close it (any thread).
  void adopt(int socket);
  // Takes back a connection after a response (any thread): sends what is
  // queued in conn->out, then closes it (close_after_output) or waits for
  // its next request.
  void resume(std::shared_ptr<Connection> conn);
  // Closes every connection the gate holds and joins its thread.
  void stop();
  // Answers nothing new (HttpServer::drain): from now on a connection idle
  // between requests (one answered, nothing of the next received) is closed,
  // and so is each connection once its queued output is out. A head already
  // arriving, or a new connection's first, is still read and answered
  // (Connection: close): its client sent it to this process. Any thread.
  void drain();

  // Answers a refused head (counted when it is too large or late) and drops
  // the connection; the one place refusals are answered (any thread).
  void refuse(const std::shared_ptr<Connection>& conn, const HeadError& error);
  // Sends a 503 `response` (counted in shed_total) and drops the
  // connection; the one place sheds are answered (any thread).
  void shed(const std::shared_ptr<Connection>& conn, const std::string& response);

 private:
  Gate(GateOptions options, ServerStats& stats, Dispatch dispatch, Answered answered, UniqueFd epoll, EventFd wake);
  // Sends `response` (small: best effort, never blocks), drops the
  // connection, and tells answered_.
  void reply_and_close(const std::shared_ptr<Connection>& conn, const std::string& response, int status,
                       std::optional<HeadErrorKind> refused);
  void loop();
  void adopt_probe(std::shared_ptr<Connection> conn);  // past --max-connections, within the reserve
  // Drops a connection a system call failed on: counted, and logged once per episode.
  void drop(const SysError& error);
  // Registers `conn` with epoll for `events`; on failure it is dropped.
  bool watch(const std::shared_ptr<Connection>& conn, uint32_t events);
  void take_inbox();
  void on_readable(const std::shared_ptr<Connection>& conn);
  void on_writable(int fd);  // the socket has room again: back in the ring
  void send_turn();          // a slice to each connection in the ring in turn, up to the turn's budget
  size_t send_slice(const std::shared_ptr<Connection>& conn);  // bytes sent
  void output_sent(std::shared_ptr<Connection> conn);          // all queued output is out
  void wait_for_head(std::shared_ptr<Connection> conn);
  void close_if_idle(int fd);        // draining: a waiting connection with no request coming
  void start_draining();             // on the gate thread, once: every idle connection closed
  void release(int fd);              // stop watching fd and drop the gate's reference
  void stop_sending(int fd);         // the same, for a connection in sending_
  Clock::time_point expire_heads();  // closes overdue ones; returns the next deadline
  Clock::time_point check_stalls();  // aborts stalled transfers; returns the next sample time

  const GateOptions options_;
  const std::chrono::milliseconds head_timeout_;
  const std::chrono::milliseconds stall_timeout_;
  ServerStats& stats_;
  std::shared_ptr<PeerCounts> peers_ = std::make_shared<PeerCounts>();
  std::shared_ptr<PeerCounts> reserve_peers_ = std::make_shared<PeerCounts>();  // probe reserve, per address
  Dispatch dispatch_;
  const Answered answered_;
  UniqueFd epoll_;
  EventFd wake_;  // readable when the inbox has connections, or on stop
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  bool drained_idle_ = false;  // start_draining() ran (gate thread only)
  std::mutex inbox_mutex_;
  std::vector<std::shared_ptr<Connection>> inbox_;
  // Gate thread only, all four.
  std::unordered_map<int, std::shared_ptr<Connection>> waiting_;
  std::set<std::pair<Clock::time_point, int>> head_deadlines_;    // waiting_, by deadline: idle ones are not walked
  std::unordered_map<int, std::shared_ptr<Connection>> sending_;  // every connection with queued output
  // The ring: the connections of sending_ whose socket has room, in turn
  // order. A connection leaves it when its socket is full (EAGAIN) and joins
  // at the back when epoll reports room again (edge-triggered), or after its
  // slice: its place never depends on epoll's ready list.
  std::deque<int> ring_;
  Clock::time_point next_stall_check_{};
  FailureEpisode drops_{"gate: system calls on client connections"};
  FailureEpisode wait_errors_{"gate: epoll_wait"};
  std::thread thread_;
};

}  // namespace leanpoint
