// A GET-only HTTP/1.1 client for polling upstreams, in which one absolute
// deadline bounds everything: name lookup, connect, sending, the status line
// and headers, and the whole body.
//
// This is the answer to the Zig leanpoint's fd leak: there is no thread to
// detach and nothing outlives the call. The socket is nonblocking, every wait
// is a poll() under the deadline, and the socket is closed on every path
// before http_get returns. Responses are bounded: kMaxResponseHead of status
// line and headers, `max_body` of body.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deadline.h"
#include "expected.h"
#include "failure.h"

namespace leanpoint {

constexpr size_t kMaxResponseHead = 16 * 1024;

struct HttpRequest {
  std::string host;  // name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 0;
  std::string target;  // sent as is: lean nodes match it exactly, never add a query
  std::string accept = "application/json";
  size_t max_body = 0;  // a longer body fails too_large
};

struct HttpResponse {
  int status = 0;
  std::string content_type;   // lowercased, parameters stripped
  std::vector<uint8_t> body;  // empty for non-2xx statuses: not read
};

// Performs one GET under `deadline`. Fails with one of the transport kinds
// of FailureKind (dns ... cancelled); a readable `cancel_fd` (if >= 0)
// aborts it with `cancelled`. Any status is a response, not a failure.
Expected<HttpResponse, Failure> http_get(const HttpRequest& request, Clock::time_point deadline, int cancel_fd = -1);

}  // namespace leanpoint
