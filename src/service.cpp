#include "service.h"

#include <csignal>
#include <cstring>
#include <thread>

#include "cli.h"
#include "data_dir.h"
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

// Signals whose default action would end the process, other than the two
// that should: waited for like them, and reloaded on (SIGHUP) or logged.
constexpr int kStraySignals[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR};

// Every signal the main thread waits for. Blocked in all threads, so that as
// PID 1 in a container, where a default action never happens, they still end
// or reload the process through sigwait.
sigset_t waited_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  for (const int s : kStraySignals) sigaddset(&set, s);
  return set;
}

// SIGHUP: the upstreams file again, validated exactly as at start; on any
// error the running upstreams stay.
void reload_upstreams(const Config& config, Poller& poller) {
  if (config.upstreams_config.empty()) {
    log(LogLevel::warn, "SIGHUP: the upstreams came from --upstream flags; there is no file to reload");
    return;
  }
  Config next = config;
  try {
    next.upstreams = load_upstreams_file(config.upstreams_config);
    override_hosts(next.upstreams, config.upstream_host);
    validate(next);
  } catch (const ConfigError& e) {
    log(LogLevel::error, "SIGHUP: keeping the running upstreams: ", e.what());
    return;
  }
  log(LogLevel::info, "SIGHUP: reloaded ", config.upstreams_config, ": ", next.upstreams.size(), " upstream(s)");
  poller.set_upstreams(next.upstreams);
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

void check_descriptor_budget(const Config& config, size_t fd_limit) {
  if (config.max_connections == 0) return;  // derived from the limit: always fits
  const size_t need = config.max_connections + fd_headroom(config.artifact_workers);
  if (need <= fd_limit) return;
  throw ConfigError("--max-connections " + std::to_string(config.max_connections) + " needs " + std::to_string(need) +
                    " descriptors with the service's own " + std::to_string(fd_headroom(config.artifact_workers)) +
                    ", but RLIMIT_NOFILE is " + std::to_string(fd_limit) +
                    "; raise the limit (ulimit -n, LimitNOFILE=) or lower --max-connections (0 derives it from the "
                    "limit)");
}

void block_stop_signals() {
  const sigset_t set = waited_signals();
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
  server_options.gate.head_timeout_ms = config.head_timeout_ms;
  server_options.gate.stall_timeout_ms = config.stall_timeout_ms;
  server_options.artifact_workers = config.artifact_workers;
  server_options.api_workers = config.api_workers;
  server_options.gate.max_connections = config.max_connections;  // 0: derived by HttpServer::start
  server_options.gate.max_connections_per_client = config.max_connections_per_client;
  server_options.gate.trusted_proxies = *parse_cidr_list(config.trusted_proxies);  // validated
  SiteOptions site;
  site.pin_window_ms = config.pin_window_ms;
  site.health.stale_ms = config.stale_ms;
  site.health.fd_threshold_percent = config.fd_threshold;
  site.zig_metrics = config.zig_metrics;
  site.static_dir = config.static_dir;
  log(LogLevel::info, "descriptor limit ", fd_limit, "; /healthz fails at ", config.fd_threshold, "%");

  // --data-dir: read back (and verify again) the stored anchor before the
  // server starts, so the first request can be answered with it.
  PollerOptions poll_options = poller_options(config);
  std::unique_ptr<DataDir> data_dir;
  std::unique_ptr<AnchorWriter> writer;
  if (!config.data_dir.empty()) {
    auto opened = DataDir::open(config.data_dir);
    if (!opened) {
      log(LogLevel::error, opened.error());
      return kExitUsage;
    }
    data_dir = std::move(*opened);
    DataDirStatus initial;
    initial.path = data_dir->path();
    if (auto restored = data_dir->restore(config.max_state_bytes, config.genesis_time, initial)) {
      poll_options.restored = std::move(restored->anchor);
      poll_options.restored_summary = restored->summary;
    }
    writer = std::make_unique<AnchorWriter>(*data_dir, std::move(initial));
    poll_options.on_anchor = [w = writer.get()](std::shared_ptr<const VerifiedAnchor> a) {
      a ? w->save(std::move(a)) : w->drop();
    };
    poll_options.data_dir_status = [w = writer.get()] { return w->status(); };
  }

  SnapshotStore store;
  ServerStats stats;
  // Built before the server starts: it publishes a restored anchor at once.
  Poller poller(std::move(poll_options), store);
  HttpServer server(server_options, stats);
  server.set_routes(leanpoint_routes(store, server, stats, site));
  if (auto started = server.start(); !started) {
    log(LogLevel::error, "cannot listen on ", config.bind_addr, ":", config.port, ": ", started.error().text());
    return 1;
  }

  // Readable once notified: every wait in the poller watches it, so a stop
  // ends a request in flight instead of waiting out its deadline.
  const EventFd stop;
  std::thread poller_thread([&] { poller.run(stop.fd()); });
  log(LogLevel::info, "ready; waiting for SIGINT or SIGTERM");

  const sigset_t set = waited_signals();
  for (int signal = 0;;) {
    if (sigwait(&set, &signal) != 0) continue;
    if (signal == SIGINT || signal == SIGTERM) {
      log(LogLevel::info, "received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", stopping");
      break;
    }
    if (signal == SIGHUP) {
      reload_upstreams(config, poller);
      continue;
    }
    const char* name = sigabbrev_np(signal);
    log(LogLevel::info, "received ", name ? "SIG" + std::string(name) : "signal " + std::to_string(signal),
        "; ignored (SIGHUP reloads the upstreams file, SIGINT and SIGTERM stop)");
  }
  stop.notify();
  server.stop();
  poller_thread.join();
  log(LogLevel::info, "stopped");
  return 0;
}

}  // namespace leanpoint
