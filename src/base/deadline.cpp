#include "deadline.h"

#include <poll.h>

#include <cerrno>

namespace leanpoint {

int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

Clock::time_point deadline_after(int64_t ms) { return Clock::now() + std::chrono::milliseconds(ms); }

int ms_until(Clock::time_point deadline) {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

WaitResult wait_fd(int fd, short events, Clock::time_point deadline, int cancel_fd) {
  for (;;) {
    pollfd fds[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
    const int n = ::poll(fds, cancel_fd >= 0 ? 2 : 1, ms_until(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return WaitResult::ready;  // let the caller's I/O report the error
    if (cancel_fd >= 0 && fds[1].revents) return WaitResult::cancelled;
    if (n > 0 && fds[0].revents) return WaitResult::ready;
    if (Clock::now() >= deadline) return WaitResult::timeout;
  }
}

bool cancelled(int cancel_fd) {
  if (cancel_fd < 0) return false;
  pollfd p{cancel_fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && p.revents;
}

}  // namespace leanpoint
