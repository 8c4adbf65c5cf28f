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

// Raises the soft RLIMIT_NOFILE to the hard limit (at most 1,048,576);
// returns the soft limit in force afterwards.
size_t raise_fd_limit();

}  // namespace leanpoint
