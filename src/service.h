// The always-on service: starts the parts, waits for SIGINT or SIGTERM, stops
// them. The poller and the server arrive with their issues; until then the
// service logs what it would poll and waits.
#pragma once

#include "config.h"

namespace leanpoint {

// Must be called before any thread is started: blocks SIGINT and SIGTERM so
// every thread inherits the mask and only the waiting thread receives them.
void block_stop_signals();

// Runs until SIGINT or SIGTERM; returns the process exit status.
int run_service(const Config& config);

}  // namespace leanpoint
