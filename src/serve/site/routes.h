// Every route leanpoint serves, as one table (route_table.h). Handlers read
// the newest snapshot (once per request, so one response never mixes two
// rounds) and the server's counters; nothing here ever calls an upstream.
//
//   .../lean/v0/states/finalized, .../lean/v0/blocks/finalized   the verified anchor, one pair per
//                                                           client (pins.h; artifact pool)
//   /lean/v0/checkpoints/finalized, .../justified, /lean/v0/health, /lean/v0/fork_choice
//   /status, /api/upstreams, /api/history, /healthz, /livez, /readyz, /metrics
//   /  and other paths: --static-dir files (artifact pool), else the built-in dashboard (dashboard.h)
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "access_log.h"
#include "health.h"
#include "http_server.h"
#include "pins.h"
#include "route_table.h"
#include "server_stats.h"
#include "snapshot.h"

namespace leanpoint {

// What is served, and how, each default here and nowhere else (the flags
// of the same names bind to these fields). The poller's settings come with
// each snapshot (PollSettings); the trusted proxies are the server's
// (GateOptions::trusted_proxies).
struct SiteOptions {
  HealthOptions health;
  int64_t pin_window_ms = 120000;  // the pair rule (pins.h); 0: off
  bool zig_metrics = false;        // the Zig leanpoint's millisecond gauges too (metrics.h)
  std::string static_dir;          // served at / and other paths; empty: the built-in dashboard
  std::string access_log;          // one JSON line per response to this file ("-": stdout); empty: off
};

// The table for `server`: its pools and `stats` appear in /status and
// /metrics. `options.static_dir` is made canonical here.
// `pins`: with --data-dir, the pair rule's journal and what it restored (pins.h).
// With `access_log` (--access-log, opened by the service), every response a
// handler answers gets a line there.
RouteTable leanpoint_routes(const SnapshotStore& store, const HttpServer& server, const ServerStats& stats,
                            const SiteOptions& options, PinPersistence pins = {},
                            std::shared_ptr<AccessLog> access_log = nullptr);

}  // namespace leanpoint
