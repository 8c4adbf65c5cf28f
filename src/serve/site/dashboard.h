// The dashboard served at / (when there is no --static-dir): one HTML page,
// embedded in the binary, no external assets, that polls /status and
// /api/upstreams every 2 s and renders them, and /api/history for its charts.
#pragma once

#include <string>

namespace leanpoint {

// The page, with "<!--charts-->" where the charts go (dashboard.cpp).
extern const char kDashboardHtml[];
// The charts: markup, style and script (dashboard_charts.cpp).
extern const char kDashboardCharts[];

// The page as served: kDashboardHtml with the charts in place; built once.
const std::string& dashboard_page();

}  // namespace leanpoint
