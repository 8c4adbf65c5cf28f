// What the server counts, for /status and /metrics. Written by the gate and
// the workers, read by the api handlers: atomics, no locks on the hot path
// (the per-route request table takes a short lock per request).
//
// kCounters is the one list of the server's counters: /status and /metrics
// both render it, so a counter added here appears in both.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace leanpoint {

enum class Counter : uint8_t {
  connections,
  shed,
  stalled,
  head_timeouts,
  heads_too_large,
  bytes_served,
  dropped,
  accept_resource_errors,
  accept_connection_errors,
};

struct CounterInfo {
  Counter counter;
  std::string_view status_field;  // in /status, under "process"
  std::string_view metric;        // in /metrics, a counter
  std::string_view help;
};

// In the order of Counter.
inline constexpr CounterInfo kCounters[] = {
    {Counter::connections, "connections_total", "leanpoint_connections_total", "Client connections accepted."},
    {Counter::shed, "shed_total", "leanpoint_shed_total",
     "Requests answered 503 at once: a full pool or --max-connections."},
    {Counter::stalled, "stalled_total", "leanpoint_stalled_total",
     "Transfers aborted: the client accepted no bytes for the stall window."},
    {Counter::head_timeouts, "head_timeouts_total", "leanpoint_head_timeouts_total",
     "Connections closed: no complete request head in time."},
    {Counter::heads_too_large, "heads_too_large_total", "leanpoint_heads_too_large_total",
     "Requests refused with 431: the request head, or one of its lines, was over its cap."},
    {Counter::bytes_served, "bytes_served_total", "leanpoint_served_bytes_total", "Bytes written to clients."},
    {Counter::dropped, "connections_dropped_total", "leanpoint_connections_dropped_total",
     "Client connections dropped because a system call on them failed (fcntl, setsockopt, epoll_ctl)."},
    {Counter::accept_resource_errors, "accept_resource_errors_total", "leanpoint_accept_resource_errors_total",
     "Accepts that failed for want of descriptors or kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM); retried "
     "after a short backoff."},
    {Counter::accept_connection_errors, "accept_connection_errors_total", "leanpoint_accept_connection_errors_total",
     "Accepts that failed for the waiting connection's sake (ECONNABORTED, EPROTO, EPERM, network errors); "
     "retried."},
};
inline constexpr size_t kCounterCount = std::size(kCounters);

using CounterValues = std::array<uint64_t, kCounterCount>;
// Requests answered, by route label and status code.
using RequestCounts = std::map<std::pair<std::string, int>, uint64_t>;

class ServerStats {
 public:
  std::atomic<int64_t> connections_open{0};     // all open client connections
  std::atomic<int64_t> connections_waiting{0};  // held by the gate: head arriving, or idle keep-alive
  std::atomic<int64_t> connections_sending{0};  // held by the gate: sending a response's queued bytes

  void add(Counter c, uint64_t n = 1) { counters_[index(c)].fetch_add(n, std::memory_order_relaxed); }
  uint64_t get(Counter c) const { return counters_[index(c)].load(std::memory_order_relaxed); }
  CounterValues counters() const {
    CounterValues v{};
    for (size_t i = 0; i < kCounterCount; ++i) v[i] = counters_[i].load(std::memory_order_relaxed);
    return v;
  }

  void count_request(std::string_view route, int code) {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(route), code}];
  }
  RequestCounts requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  static size_t index(Counter c) { return static_cast<size_t>(c); }

  std::array<std::atomic<uint64_t>, kCounterCount> counters_{};
  mutable std::mutex mutex_;
  RequestCounts requests_;
};

}  // namespace leanpoint
