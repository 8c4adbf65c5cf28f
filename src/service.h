// The always-on service: starts the server and the poller, waits for SIGINT
// or SIGTERM, stops them (threads joined, sockets closed).
#pragma once

#include "config.h"

namespace leanpoint {

// Must be called before any thread is started: blocks SIGINT, SIGTERM,
// SIGHUP and the stray signals whose default would end the process (SIGUSR1,
// SIGUSR2, SIGALRM, ...), so every thread inherits the mask and only the
// waiting thread receives them.
void block_stop_signals();

// Runs until SIGINT or SIGTERM; SIGHUP reloads the upstreams file, other
// stray signals are logged and ignored. Returns the process exit status
// (exit_codes.h): a service that cannot start (the port taken, eventfd or
// epoll refused) logs one line and returns kExitFailure.
int run_service(const Config& config);

}  // namespace leanpoint
