// The route table: every path the server answers, in one list. Each entry
// holds everything about its route (how the path matches, the methods, the
// pool that serves it, its label in leanpoint_requests_total, the handler),
// and everything about routing is derived from it: the gate thread picks the
// pool from the table, the worker runs the handler of the same entry, and
// the request is counted under its label. All of it on the percent-decoded
// path, so `/lean%2fv0%2fstates%2ffinalized` is the state route everywhere.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "request_head.h"

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace leanpoint {

// The two worker pools (ARCHITECTURE.md §6): long transfers never queue
// behind each other's small answers, and the reverse.
enum class PoolClass : uint8_t { artifact, api };

class ResponseWatch;  // connection.h

// What the worker learned about a request before cpp-httplib parsed it.
struct RequestContext {
  std::optional<std::string> range;  // the client's Range header (several joined by ','), hidden from cpp-httplib
  // Where a handler names the shared body it streams, so that what the socket
  // cannot take at once is queued by reference, not copied (connection.h).
  std::shared_ptr<const std::vector<uint8_t>>* body_owner = nullptr;
  // Where a handler attaches a watch, told how its response ended (connection.h).
  std::shared_ptr<ResponseWatch>* watch = nullptr;
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&, const RequestContext&)>;

struct Route {
  // exact: the path itself. prefix: any path that starts with it ("" matches
  // every path). suffix: any path that ends with it, or with it and a "/"
  // (operators paste one URL; clients derive the paths from it differently).
  enum class Match : uint8_t { exact, prefix, suffix };

  std::string path;  // the decoded path
  Match match = Match::exact;
  uint8_t methods = kGet | kHead;  // Method bits (request_head.h)
  PoolClass pool = PoolClass::api;
  std::string label;  // bounded: never the path of a request that matched a prefix
  Handler handler;
  // Answered even when --max-connections is reached, on a few reserved
  // connections (gate.h): an orchestrator's probe must not fail because
  // clients filled the slots.
  bool probe = false;
};

class RouteTable {
 public:
  // The first entry that matches wins; the last must match every path.
  explicit RouteTable(std::vector<Route> routes);

  const Route& find(std::string_view decoded_path) const;

 private:
  std::vector<Route> routes_;
};

}  // namespace leanpoint
