// cpp-httplib with a connection gate in front (DESIGN §5).
//
// cpp-httplib's listen thread accepts; its per-socket work is replaced
// (process_and_close_socket) by handing the socket to the Gate, which reads
// the request head without holding a worker. Complete requests go to one of
// two bounded pools, artifact downloads and everything else, and a worker
// drives cpp-httplib's process_request over a ConnStream: routing and
// response writing are cpp-httplib's, reading and the stall rule are ours.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "gate.h"
#include "pool.h"
#include "server_stats.h"

namespace leanpoint {

struct ServerOptions {
  std::string bind = "0.0.0.0";
  int port = 5555;  // 0: any free port (tests)
  std::chrono::milliseconds head_timeout{10000};
  std::chrono::milliseconds stall_timeout{10000};
  size_t artifact_workers = 8;
  size_t api_workers = 2;
  size_t queue_per_worker = 8;  // each pool queues at most this many requests per worker
  size_t max_connections = 1024;
  // Paths served by the artifact pool (anchors, static files); the rest go to the api pool.
  std::function<bool(std::string_view path)> is_artifact;
};

// What the worker learned about the request before cpp-httplib parsed it.
struct RequestContext {
  std::optional<std::string> range;  // the client's Range header (several joined by ','), hidden from cpp-httplib
};

class HttpServer : public httplib::Server {
 public:
  HttpServer(ServerOptions options, ServerStats& stats);
  ~HttpServer() override;

  // Binds and starts listening; throws std::runtime_error naming the address
  // if it cannot bind.
  void start();
  // Stops accepting, closes waiting connections, aborts transfers in flight,
  // joins every thread.
  void stop();

  int port() const { return port_; }
  const WorkerPool& artifact_pool() const { return artifacts_; }
  const WorkerPool& api_pool() const { return api_; }

  // The context of the request the calling worker is answering.
  static const RequestContext& context();

 private:
  bool process_and_close_socket(socket_t sock) override;
  void dispatch(std::shared_ptr<Connection> conn);  // on the gate thread
  void serve(std::shared_ptr<Connection> conn);     // on a worker

  ServerOptions options_;
  ServerStats& stats_;
  int stop_fd_ = -1;
  std::atomic<bool> stopping_{false};
  int port_ = 0;
  WorkerPool artifacts_;
  WorkerPool api_;
  Gate gate_;
  std::thread listener_;
};

// Removes the Range headers from the request head at the start of `input`
// (renaming them, in place, so cpp-httplib never sees one) and returns their
// values joined by ','.
std::optional<std::string> take_range_header(std::string& input, size_t head_size);

}  // namespace leanpoint
