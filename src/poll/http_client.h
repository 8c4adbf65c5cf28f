// A GET-only HTTP/1.1 client for polling upstreams, in which one absolute
// deadline bounds everything: name lookup, connect, sending, the status line
// and headers, and the whole body.
//
// This is the answer to the Zig leanpoint's fd leak: there is no thread to
// detach and nothing outlives the call. The socket is nonblocking, every wait
// is a poll() under the deadline, and the socket is closed on every path
// before http_get returns. Responses are bounded: 16 KiB of status line and
// headers, `max_body` of body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deadline.h"

namespace leanpoint {

// Why a request failed. The names appear in logs, /status and metrics.
enum class FetchError {
  dns,              // the name did not resolve, or not before the deadline
  refused,          // connection refused
  unreachable,      // no route to the host, network down
  connect_timeout,  // the TCP handshake did not finish before the deadline
  reset,            // the peer reset the connection
  timeout,          // connected, but the response did not finish before the deadline
  truncated,        // the peer closed before the whole body arrived
  too_large,        // the head is over 16 KiB or the body over its cap
  malformed,        // not HTTP/1.x, a bad header, a bad chunk
  cancelled,        // stop requested
};

std::string_view to_string(FetchError e);

constexpr size_t kMaxResponseHead = 16 * 1024;

struct HttpRequest {
  std::string host;    // name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 0;
  std::string target;  // sent as is: lean nodes match it exactly, never add a query
  std::string accept = "application/json";
  size_t max_body = 4 * 1024 * 1024;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;  // lowercased, parameters stripped
  std::vector<uint8_t> body;  // empty for non-2xx statuses: not read
};

struct HttpResult {
  std::optional<FetchError> error;
  std::string detail;  // for logs: what happened, e.g. "connect: No route to host"
  HttpResponse response;

  bool ok() const { return !error.has_value(); }
};

// Performs one GET under `deadline`. A readable `cancel_fd` (if >= 0) aborts
// it with FetchError::cancelled.
HttpResult http_get(const HttpRequest& request, Clock::time_point deadline, int cancel_fd = -1);

}  // namespace leanpoint
