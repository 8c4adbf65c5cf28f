// The HTTP server: cpp-httplib behind a connection gate (ARCHITECTURE.md §6).
//
// cpp-httplib's listen thread accepts; its per-socket work is replaced by
// handing the socket to the Gate, which reads the request head without
// holding a worker. Each complete request goes to the pool its route names
// (route_table.h), and a worker drives cpp-httplib's request parsing and
// response writing over a ConnStream: reading and the stall rule are ours.
// cpp-httplib itself stays inside http_server.cpp.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cidr.h"
#include "pool.h"
#include "route_table.h"
#include "server_stats.h"

namespace leanpoint {

struct ServerOptions {
  std::string bind = "0.0.0.0";
  int port = 5555;  // 0: any free port (tests)
  std::chrono::milliseconds head_timeout{10000};
  std::chrono::milliseconds stall_timeout{10000};
  size_t artifact_workers = 8;
  size_t api_workers = 2;
  size_t queue_per_worker = 8;  // the api pool queues at most this many requests per worker
  size_t artifact_queue = 0;    // the artifact pool's queue; 0: max_connections (never shed before the limit)
  size_t max_connections = 1024;
  size_t max_connections_per_client = 0;  // 0: no cap (gate.h)
  std::vector<Cidr> trusted_proxies;      // not capped per address
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, ServerStats& stats);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The table every request is routed by; once, before start().
  void set_routes(RouteTable routes);
  // Binds and starts listening; throws std::runtime_error naming the address
  // if it cannot bind.
  void start();
  // Stops accepting, closes waiting connections, aborts transfers in flight,
  // joins every thread.
  void stop();

  int port() const;
  const WorkerPool& artifact_pool() const;
  const WorkerPool& api_pool() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leanpoint
