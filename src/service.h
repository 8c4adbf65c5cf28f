// The always-on service: starts the server and the poller, waits for SIGINT
// or SIGTERM, stops them (threads joined, sockets closed).
#pragma once

#include <cstddef>

#include "config.h"

namespace leanpoint {

// Must be called before any thread is started: blocks SIGINT and SIGTERM so
// every thread inherits the mask and only the waiting thread receives them.
void block_stop_signals();

// Runs until SIGINT or SIGTERM; returns the process exit status.
int run_service(const Config& config);

// --max-connections when not given: three quarters of the descriptor limit,
// less headroom for the poller, files and the listener.
size_t default_max_connections(size_t fd_limit, size_t artifact_workers);

}  // namespace leanpoint
