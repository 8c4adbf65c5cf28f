// The dashboard served at / (when there is no --static-dir): one HTML page,
// embedded in the binary, no external assets, that polls /status and
// /api/upstreams every 2 s and renders them.
#pragma once

namespace leanpoint {

extern const char kDashboardHtml[];

}  // namespace leanpoint
