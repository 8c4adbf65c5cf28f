// Counters the server keeps for /metrics and /status. Written by the gate
// and the workers, read by the api handlers; atomics, no locks on the hot
// path (the per-route table takes a short lock per request).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace leanpoint {

struct ServerStats {
  std::atomic<uint64_t> connections_total{0};  // accepted
  std::atomic<int64_t> connections_open{0};    // all open client connections
  std::atomic<int64_t> connections_waiting{0}; // held by the gate: head arriving, or idle keep-alive
  std::atomic<uint64_t> shed_total{0};         // answered 503 at once: pool queue full or --max-connections
  std::atomic<uint64_t> stalled_total{0};      // transfers aborted by the stall rule
  std::atomic<uint64_t> head_timeouts_total{0};
  std::atomic<uint64_t> heads_too_large_total{0};
  std::atomic<uint64_t> bytes_served_total{0};

  void count_request(const std::string& route, int code) {
    std::lock_guard lock(mutex_);
    ++requests_[{route, code}];
  }
  std::map<std::pair<std::string, int>, uint64_t> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
};

}  // namespace leanpoint
