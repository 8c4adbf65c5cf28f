// /metrics in the Prometheus text format, clean under `promtool check metrics`.
//
// The Zig leanpoint's gauges keep their names where promtool accepts them
// (leanpoint_justified_slot, leanpoint_finalized_slot, leanpoint_error_total);
// its three millisecond gauges fail promtool's unit lint, so they are
// exported in seconds (..._seconds), and under their old names too when
// `zig_names` is set (--zig-metrics), for dashboards built on them.
#pragma once

#include <string>
#include <string_view>

#include "server_stats.h"
#include "status.h"

namespace leanpoint {

// A label value per the exposition format: valid UTF-8 (untrusted_text.h
// escapes control characters, a newline among them, and invalid bytes as
// \xNN), then backslash and double quote escaped with a backslash.
std::string escape_label_value(std::string_view value);

std::string render_metrics(const Snapshot& s, const ProcessView& process, const HealthReport& health,
                           const RequestCounts& requests, bool zig_names);

}  // namespace leanpoint
