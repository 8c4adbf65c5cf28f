// `leanpoint probe URL`: one GET under a deadline, for health checks that
// run inside an image without curl (a container HEALTHCHECK on /livez).
// Exit status 0 on a 200, 1 on anything else (another status, no answer in
// time, no connection), 2 for a URL it cannot use.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>

namespace leanpoint {

constexpr int64_t kDefaultProbeTimeoutMs = 2000;

// Prints the status line's code and the first line of the body to `out`, or
// the reason to `err`.
int run_probe(const std::string& url, int64_t timeout_ms, std::ostream& out, std::ostream& err);

}  // namespace leanpoint
