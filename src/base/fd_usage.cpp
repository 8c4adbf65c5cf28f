#include "fd_usage.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>

namespace leanpoint {

namespace {

FdUsage count_now() {
  FdUsage u;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec); !ec && it != std::filesystem::end(it);
       it.increment(ec))
    ++u.open;
  if (u.open > 0) --u.open;  // the directory iterator's own descriptor
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) u.limit = static_cast<size_t>(rl.rlim_cur);
  return u;
}

}  // namespace

FdUsage fd_usage() {
  static std::mutex mutex;
  static FdUsage cached;
  static std::chrono::steady_clock::time_point counted;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex);
  if (cached.limit == 0 || now - counted >= std::chrono::milliseconds(250)) {
    cached = count_now();
    counted = now;
  }
  return cached;
}

size_t reachable_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  return static_cast<size_t>(std::max(rl.rlim_cur, std::min<rlim_t>(rl.rlim_max, kMaxFdLimit)));
}

size_t raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  const rlim_t want = std::min<rlim_t>(rl.rlim_max, kMaxFdLimit);
  if (rl.rlim_cur < want) {
    rl.rlim_cur = want;
    // A refusal leaves the limit as it was, which the second read reports.
    (void)setrlimit(RLIMIT_NOFILE, &rl);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  }
  return static_cast<size_t>(rl.rlim_cur);
}

size_t fd_headroom(size_t artifact_workers) { return 32 + artifact_workers; }

size_t default_max_connections(size_t fd_limit, size_t artifact_workers) {
  // Stay under the /healthz threshold with room for the poller's socket,
  // static files being served, logs and the listening socket.
  const size_t headroom = fd_headroom(artifact_workers);
  const size_t three_quarters = fd_limit / 4 * 3;
  return three_quarters > headroom + 16 ? three_quarters - headroom : 16;
}

}  // namespace leanpoint
