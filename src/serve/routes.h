// Every route leanpoint serves. Handlers read the newest snapshot (once per
// request, so one response never mixes two rounds) and the server's counters;
// nothing here ever calls an upstream.
//
//   /lean/v0/states/finalized, /lean/v0/blocks/finalized   the verified anchor (artifact pool)
//   /lean/v0/checkpoints/finalized, .../justified, /lean/v0/health, /lean/v0/fork_choice
//   /status, /api/upstreams, /healthz, /metrics
//   /  and other paths: --static-dir files, else the built-in dashboard (dashboard.h)
#pragma once

#include <string>
#include <string_view>

#include "health.h"
#include "http_server.h"
#include "snapshot.h"

namespace leanpoint {

struct RoutesOptions {
  HealthRules health;
  int64_t poll_ms = 10000;
  size_t min_agree = 1;
  bool zig_metrics = false;
  std::string static_dir;  // canonical; empty: none
};

void install_routes(HttpServer& server, const SnapshotStore& store, ServerStats& stats, RoutesOptions options);

// True for paths the artifact pool serves: the anchor, and static files.
bool is_artifact_path(std::string_view path, bool static_files);

}  // namespace leanpoint
