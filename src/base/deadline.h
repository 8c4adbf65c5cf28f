// One absolute deadline for a whole piece of work, and waiting on a socket
// under it. Every blocking step in the poller goes through wait_fd, so no step
// can outlive the deadline, and a stop request (a readable `cancel_fd`) ends
// any of them at once.
#pragma once

#include <chrono>
#include <cstdint>

namespace leanpoint {

using Clock = std::chrono::steady_clock;

// Wall-clock time, unix milliseconds: for what is shown to people (the
// deadlines above run on the monotonic clock).
int64_t unix_ms();

// `ms` milliseconds from now.
Clock::time_point deadline_after(int64_t ms);

// Milliseconds from now until `deadline`, rounded up, at least 0.
int ms_until(Clock::time_point deadline);

enum class WaitResult { ready, timeout, cancelled };

// Waits until `fd` has one of `events` (POLLIN/POLLOUT), the deadline passes,
// or `cancel_fd` (if >= 0) becomes readable. Retries on EINTR.
WaitResult wait_fd(int fd, short events, Clock::time_point deadline, int cancel_fd);

// True if `cancel_fd` (if >= 0) is readable now.
bool cancelled(int cancel_fd);

}  // namespace leanpoint
