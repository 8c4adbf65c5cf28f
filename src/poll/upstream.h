// A lean node the poller asks: where it is, and how the operator named it.
// Parsed and validated from flags or the upstreams file by config.h.
#pragma once

#include <cstdint>
#include <string>

namespace leanpoint {

// Only plain http://host:port is supported.
struct Upstream {
  std::string name;
  std::string url;   // as configured, for display
  std::string host;  // IPv6 literals without brackets
  uint16_t port = 0;
  std::string path;  // from the upstreams file: accepted, echoed in /api/upstreams, not polled
  // Its client implementation ("zeam", "ream", ...): the upstreams file's
  // `client`, else read from a lean-quickstart name (upstream_url.h
  // client_from_name); empty: not known. --min-agreeing-clients counts these.
  std::string client;
};

}  // namespace leanpoint
