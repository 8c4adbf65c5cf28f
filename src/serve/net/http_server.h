// The HTTP server: cpp-httplib behind a connection gate (ARCHITECTURE.md §6).
//
// The Listener (listener.h) accepts, in place of cpp-httplib's loop, and
// hands each socket to the Gate, which reads the request head without
// holding a worker. Each complete request goes to the pool its route names
// (route_table.h), pipelined ones too, and a worker drives cpp-httplib's
// request parsing and response writing over a ConnStream: reading and the
// stall rule are ours. cpp-httplib itself stays inside http_server.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "expected.h"
#include "gate.h"
#include "pool.h"
#include "route_table.h"
#include "server_stats.h"
#include "socket_activation.h"
#include "sys_error.h"

namespace leanpoint {

// The server's settings, each default here and nowhere else (the flags of
// the same names bind to these fields).
struct ServerOptions {
  std::string bind = "0.0.0.0";
  int port = 5555;  // 0: any free port (tests)
  uint64_t artifact_workers = 8;
  uint64_t api_workers = 2;
  size_t queue_per_worker = 8;  // the api pool queues at most this many requests per worker
  size_t artifact_queue = 0;    // the artifact pool's queue; 0: max_connections (never shed before the limit)
  // On SIGTERM or SIGINT the service drains (drain()) for at most this long
  // before it stops; 0: it stops at once, aborting what is in flight.
  int64_t drain_ms = 10000;
  GateOptions gate;
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, ServerStats& stats);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The table every request is routed by; once, before start().
  void set_routes(RouteTable routes);
  // Called (on the listen thread) if the listening socket fails for good
  // (listener.h); it has been logged. Before start().
  void on_listener_stopped(std::function<void(const SysError&)> stopped);
  // Called for each response the gate sends itself, no route having run (a
  // refused head, a 503 shed: GateAnswer, gate.h), on the thread that sends
  // it (the listen thread, the gate's, a worker's): it must only enqueue.
  // The server never learns what it is for (the access log). Before start().
  void on_gate_answer(std::function<void(const GateAnswer&)> answered);
  // Serve on this listening socket (socket activation) instead of binding
  // bind:port. It is never closed before the server is destroyed, nor shut
  // down. Before start().
  void use_inherited_socket(InheritedSocket socket);
  // Resolves gate.max_connections 0 from the descriptor limit (raised to the
  // hard limit), starts the gate and the pools, binds and listens (or takes
  // the inherited socket). An error names what failed ("bind 0.0.0.0:5555",
  // "listen", "gate: epoll_create1").
  Expected<void, SysError> start();
  // The graceful stop's first half (ARCHITECTURE.md §3, "Stopping"): accepts
  // no more connections (a bound socket is closed once the connections
  // already queued are taken, an inherited one left to its backlog), closes
  // connections idle between requests, and answers
  // nothing new: a response in flight is finished, then its connection
  // closed; a head already arriving is answered with Connection: close.
  // Connections then only close; the owner waits for ServerStats'
  // connections_open to reach 0, then calls stop(). Returns at once.
  void drain();
  // Since drain() (or stop()): /readyz says `draining`.
  bool draining() const;
  // Stops accepting, closes waiting connections, aborts transfers in flight,
  // joins every thread.
  void stop();

  int port() const;
  // As given, with max_connections resolved once started.
  const ServerOptions& options() const;
  // The pools, once started.
  const WorkerPool& artifact_pool() const;
  const WorkerPool& api_pool() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace leanpoint
