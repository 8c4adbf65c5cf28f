#include "service.h"

#include <csignal>
#include <filesystem>
#include <thread>

#include "fd.h"
#include "fd_usage.h"
#include "http_server.h"
#include "log.h"
#include "poller.h"
#include "routes.h"
#include "snapshot.h"
#include "version.h"

namespace leanpoint {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

PollerOptions poller_options(const Config& c) {
  PollerOptions o;
  o.upstreams = c.upstreams;
  o.poll_interval = std::chrono::milliseconds(c.poll_ms);
  o.timeout = std::chrono::milliseconds(c.timeout_ms);
  o.max_backoff = std::chrono::milliseconds(c.max_backoff_ms);
  o.max_state_bytes = c.max_state_bytes;
  o.max_json_bytes = c.max_json_bytes;
  o.min_agree = c.min_agree;
  o.genesis_time = c.genesis_time;
  return o;
}

}  // namespace

size_t default_max_connections(size_t fd_limit, size_t artifact_workers) {
  // Stay under the /healthz threshold with room for the poller's socket,
  // static files being served, logs and the listening socket.
  const size_t headroom = 32 + artifact_workers;
  const size_t three_quarters = fd_limit / 4 * 3;
  return three_quarters > headroom + 16 ? three_quarters - headroom : 16;
}

void block_stop_signals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away mid-response must cost an EPIPE, not the process.
  std::signal(SIGPIPE, SIG_IGN);
}

int run_service(const Config& config) {
  log(LogLevel::info, "leanpoint ", LEANPOINT_VERSION, " starting: ", config.upstreams.size(),
      " upstream(s), poll every ", config.poll_ms, " ms, request deadline ", config.timeout_ms, " ms, stale after ",
      config.stale_ms, " ms");
  if (config.stale_ms <= config.poll_ms)
    log(LogLevel::warn, "--stale-ms (", config.stale_ms, ") is not above --poll-ms (", config.poll_ms,
        "): /healthz will report stale between rounds");
  for (const auto& up : config.upstreams) log(LogLevel::info, "polling ", up.name, " at ", up.url);

  const size_t fd_limit = raise_fd_limit();
  ServerOptions server_options;
  server_options.bind = config.bind_addr;
  server_options.port = config.port;
  server_options.head_timeout = std::chrono::milliseconds(config.head_timeout_ms);
  server_options.stall_timeout = std::chrono::milliseconds(config.stall_timeout_ms);
  server_options.artifact_workers = config.artifact_workers;
  server_options.api_workers = config.api_workers;
  server_options.max_connections =
      config.max_connections ? config.max_connections : default_max_connections(fd_limit, config.artifact_workers);
  RoutesOptions routes;
  routes.health = {config.stale_ms, static_cast<int>(config.fd_threshold)};
  routes.poll_ms = config.poll_ms;
  routes.min_agree = config.min_agree;
  routes.zig_metrics = config.zig_metrics;
  if (!config.static_dir.empty()) routes.static_dir = std::filesystem::canonical(config.static_dir).string();
  log(LogLevel::info, "descriptor limit ", fd_limit, "; /healthz fails at ", config.fd_threshold, "%");

  SnapshotStore store;
  ServerStats stats;
  HttpServer server(server_options, stats);
  server.set_routes(leanpoint_routes(store, server, stats, routes));
  try {
    server.start();
  } catch (const std::exception& e) {
    log(LogLevel::error, e.what());
    return 1;
  }

  // Readable once notified: every wait in the poller watches it, so a stop
  // ends a request in flight instead of waiting out its deadline.
  const EventFd stop;
  Poller poller(poller_options(config), store);
  std::thread poller_thread([&] { poller.run(stop.fd()); });
  log(LogLevel::info, "ready; waiting for SIGINT or SIGTERM");

  const sigset_t set = stop_signals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  log(LogLevel::info, "received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", stopping");
  stop.notify();
  server.stop();
  poller_thread.join();
  log(LogLevel::info, "stopped");
  return 0;
}

}  // namespace leanpoint
