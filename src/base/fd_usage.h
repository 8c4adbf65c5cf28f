// This process's file descriptors against RLIMIT_NOFILE: the number the Zig
// leanpoint ran out of. /healthz fails before it happens again.
#pragma once

#include <cstddef>

namespace leanpoint {

struct FdUsage {
  size_t open = 0;
  size_t limit = 0;  // the soft RLIMIT_NOFILE
};

// Counts /proc/self/fd, at most every 250 ms (a listing per /status or
// /healthz request would cost more than the request).
FdUsage fd_usage();

// Linux's default fs.nr_open: no process can hold more descriptors.
constexpr size_t kMaxFdLimit = 1 << 20;

// The soft RLIMIT_NOFILE raise_fd_limit() would reach (the hard limit, at
// most kMaxFdLimit), without raising it.
size_t reachable_fd_limit();

// Raises the soft RLIMIT_NOFILE to the hard limit (at most kMaxFdLimit);
// returns the soft limit in force afterwards.
size_t raise_fd_limit();

// Descriptors the service needs besides client connections: the poller's
// socket, static files being served, logs, eventfds, the listener.
size_t fd_headroom(size_t artifact_workers);

// --max-connections when not given: three quarters of the descriptor limit,
// less the headroom (at least 16).
size_t default_max_connections(size_t fd_limit, size_t artifact_workers);

}  // namespace leanpoint
