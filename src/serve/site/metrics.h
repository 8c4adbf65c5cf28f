// /metrics in the Prometheus text format, clean under `promtool check metrics`.
//
// The Zig leanpoint's gauges keep their names where promtool accepts them
// (leanpoint_justified_slot, leanpoint_finalized_slot, leanpoint_error_total);
// its three millisecond gauges fail promtool's unit lint, so they are
// exported in seconds (..._seconds), and under their old names too when
// `zig_names` is set (--zig-metrics), for dashboards built on them.
#pragma once

#include <string>

#include "server_stats.h"
#include "status.h"

namespace leanpoint {

std::string render_metrics(const Snapshot& s, const ProcessView& process, const HealthReport& health,
                           const RequestCounts& requests, bool zig_names);

}  // namespace leanpoint
