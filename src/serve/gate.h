// The connection gate: one thread owns every connection that is waiting for
// a request head or idle between keep-alive requests, so no worker is ever
// held while a head trickles in (a slowloris costs a socket, not a worker).
//
//   accept (cpp-httplib's listen thread) -> adopt()
//     over --max-connections: fast 503, closed
//   gate thread (epoll): read the head under one absolute deadline
//     (--head-timeout-ms) and a cap of kMaxRequestHead (431); screen it (GET/HEAD only,
//     no bodies); hand the complete request to `dispatch`
//   worker: answers it, then resume()s the connection here if it stays open
//
// Every path closes the socket exactly once: a Connection closes it when the
// last owner drops it.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "connection.h"
#include "fd.h"

namespace leanpoint {

constexpr size_t kMaxRequestHead = 16 * 1024;
// Connections past --max-connections kept for probes (/livez, /readyz): one
// of these may ask only for a probe route, and is closed after it.
constexpr size_t kProbeReserve = 8;

struct GateOptions {
  std::chrono::milliseconds head_timeout{10000};
  size_t max_connections = 1024;
};

// A response the gate (or a full pool) sends itself, then closes.
std::string canned_response(int status, const std::string& body, const std::string& extra_headers = "");

// The answer past --max-connections.
std::string too_many_connections();

// Checks a complete request head before any worker sees it: the request line
// parses, the method is GET or HEAD, and there is no body. Returns the
// response to send instead (and close), or nullopt if the request may proceed.
std::optional<std::string> screen_head(std::string_view head);

class Gate {
 public:
  // `dispatch` runs on the gate thread with a connection whose input starts
  // with a complete, screened request head; it must not block.
  using Dispatch = std::function<void(std::shared_ptr<Connection>)>;

  Gate(GateOptions options, ServerStats& stats, Dispatch dispatch);
  ~Gate();  // stop()
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  // Takes a newly accepted socket, and with it the duty to close it (any thread).
  void adopt(int socket);
  // Takes back a connection after a response, to wait for its next request (any thread).
  void resume(std::shared_ptr<Connection> conn);
  // Closes every connection the gate holds and joins its thread.
  void stop();

  // Sends `response` (small: best effort, never blocks) and drops the connection.
  static void reply_and_close(const std::shared_ptr<Connection>& conn, const std::string& response);

 private:
  void loop();
  void take_inbox();
  void on_readable(const std::shared_ptr<Connection>& conn);
  void release(int fd);              // stop watching fd and drop the gate's reference
  Clock::time_point expire_heads();  // closes overdue ones; returns the next deadline

  GateOptions options_;
  ServerStats& stats_;
  Dispatch dispatch_;
  UniqueFd epoll_;
  EventFd wake_;  // readable when the inbox has connections, or on stop
  std::atomic<bool> stopping_{false};
  std::mutex inbox_mutex_;
  std::vector<std::shared_ptr<Connection>> inbox_;
  std::unordered_map<int, std::shared_ptr<Connection>> waiting_;  // gate thread only
  std::thread thread_;
};

}  // namespace leanpoint
