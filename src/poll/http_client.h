// A GET-only HTTP/1.1 client for polling upstreams, in which one absolute
// deadline bounds everything: name lookup, connect, every send and every
// read, the status line and headers, and the whole body. It is checked
// before each read, so an upstream that keeps sending cannot stretch it.
//
// This is the answer to the Zig leanpoint's fd leak: there is no thread to
// detach and nothing outlives the call. The socket is nonblocking, every wait
// is a poll() under the deadline, and the socket is closed on every path
// before http_get returns. Every part of a response is capped
// (http_response.h), and a body can be read as a stream, never held whole.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <vector>

#include "deadline.h"
#include "expected.h"
#include "failure.h"
#include "http_response.h"

namespace leanpoint {

struct HttpRequest {
  std::string host;  // name, IPv4 or IPv6 literal (no brackets)
  uint16_t port = 0;
  std::string target;  // sent as is: lean nodes match it exactly, never add a query
  std::string accept = "application/json";
  size_t max_body = 0;  // a longer body fails too_large
  // When set, every byte received for this request is added to it, whatever
  // the outcome: what the upstream cost, for leanpoint_upstream_bytes_total.
  uint64_t* read_bytes = nullptr;
};

struct HttpResponse {
  int status = 0;
  std::string content_type;   // lowercased, parameters stripped
  std::vector<uint8_t> body;  // empty for non-2xx statuses (not read), and when a BodyConsumer read it
};

// Reads a 200's body as it arrives: `body` yields its bytes (framing undone,
// under the deadline and the cap); a failure reading it ends the call with
// that failure. Returns nothing, or its own failure, which http_get returns.
using BodyConsumer = std::function<Expected<void, Failure>(std::istream& body)>;

// Performs one GET under `deadline`. Fails with one of the transport kinds
// of FailureKind (dns ... cancelled, local); a readable `cancel_fd` (if >= 0)
// aborts it with `cancelled`. Any status is a response, not a failure. With
// `consume`, a 200's body goes to it instead of HttpResponse::body (other
// statuses are returned unread).
Expected<HttpResponse, Failure> http_get(const HttpRequest& request, Clock::time_point deadline, int cancel_fd = -1,
                                         const BodyConsumer& consume = {});

}  // namespace leanpoint
