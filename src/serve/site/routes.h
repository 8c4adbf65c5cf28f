// Every route leanpoint serves, as one table (route_table.h). Handlers read
// the newest snapshot (once per request, so one response never mixes two
// rounds) and the server's counters; nothing here ever calls an upstream.
//
//   .../lean/v0/states/finalized, .../lean/v0/blocks/finalized   the verified anchor, one pair per
//                                                           client (pins.h; artifact pool)
//   /lean/v0/checkpoints/finalized, .../justified, /lean/v0/health, /lean/v0/fork_choice
//   /status, /api/upstreams, /healthz, /livez, /readyz, /metrics
//   /  and other paths: --static-dir files (artifact pool), else the built-in dashboard (dashboard.h)
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "cidr.h"
#include "health.h"
#include "http_server.h"
#include "route_table.h"
#include "server_stats.h"
#include "snapshot.h"

namespace leanpoint {

struct RoutesOptions {
  HealthRules health;
  std::chrono::milliseconds pin_window{120000};  // the pair rule (pins.h); 0: off
  std::vector<Cidr> trusted_proxies;             // whose X-Forwarded-For names the client
  int64_t poll_ms = 10000;
  size_t min_agree = 1;
  bool zig_metrics = false;
  std::string static_dir;  // canonical; empty: none
};

// The table for `server`: its pools and `stats` appear in /status and /metrics.
RouteTable leanpoint_routes(const SnapshotStore& store, const HttpServer& server, const ServerStats& stats,
                            RoutesOptions options);

}  // namespace leanpoint
