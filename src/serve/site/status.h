// The JSON documents the server answers with, built from one snapshot (and
// the server's own counters): /status, /api/upstreams, and the lean API
// subset that lets a node, or another leanpoint, sync from this one.
//
// Every field name of the Zig leanpoint is kept, with its bugs fixed:
// `healthy` is the last attempt's outcome (it stuck at true after the first
// success), `has_consensus` is agreement (it was "more than half ever
// answered").
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "access_log.h"
#include "fd_usage.h"
#include "health.h"
#include "json_text.h"  // json_text(), which every document here is written with
#include "pins.h"
#include "server_stats.h"
#include "snapshot.h"

namespace leanpoint {

struct PoolView {
  std::string name;
  size_t workers = 0, active = 0, queued = 0, capacity = 0;
};

// The server's side of /status and /metrics.
struct ProcessView {
  FdUsage fds;
  int64_t connections_open = 0;
  int64_t connections_waiting = 0;
  int64_t connections_sending = 0;
  std::vector<PoolView> pools;
  CounterValues counters{};  // ServerStats' counters, in the order of kCounters
  int64_t started_ms = 0;
  PinsView pins;
  std::optional<AccessLogStatus> access_log;  // without --access-log: none
};

// The poller's settings shown (poll_ms, min_agree) are the snapshot's.
nlohmann::ordered_json status_json(const Snapshot& s, const ProcessView& process, const HealthReport& health);
nlohmann::ordered_json upstreams_json(const Snapshot& s);

// The lean API: the checkpoint of the anchor served, the agreed justified
// checkpoint, and a minimal fork_choice. nullopt when there is none yet.
std::optional<nlohmann::ordered_json> finalized_checkpoint_json(const Snapshot& s);
std::optional<nlohmann::ordered_json> justified_checkpoint_json(const Snapshot& s);
std::optional<nlohmann::ordered_json> fork_choice_json(const Snapshot& s);

// Why there is no verified anchor to serve yet, for a 503 body.
std::string no_anchor_reason(const Snapshot& s);

}  // namespace leanpoint
