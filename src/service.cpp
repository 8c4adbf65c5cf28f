#include "service.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <system_error>
#include <thread>

#include "access_log.h"
#include "data_dir.h"
#include "deadline.h"
#include "exit_codes.h"
#include "fd.h"
#include "fd_usage.h"
#include "http_server.h"
#include "log.h"
#include "pin_store.h"
#include "poller.h"
#include "routes.h"
#include "snapshot.h"
#include "socket_activation.h"
#include "version.h"

namespace leanpoint {
namespace {

// Signals whose default action would end the process, other than the two
// that should: waited for like them, and reloaded on (SIGHUP) or logged.
constexpr int kStraySignals[] = {SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR};

// The listen thread's wake-up for main when the listening socket failed for
// good: a real-time signal nobody sends from outside, so that SIGUSR1 stays
// free for the access log's reopen (nginx's convention).
int listener_stopped_signal() { return SIGRTMIN; }

// Every signal the main thread waits for. Blocked in all threads, so that as
// PID 1 in a container, where a default action never happens, they still end
// or reload the process through sigwait.
sigset_t waited_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  for (const int s : kStraySignals) sigaddset(&set, s);
  sigaddset(&set, listener_stopped_signal());
  return set;
}

// SIGHUP: the upstreams file again, validated exactly as at start; on any
// error the running upstreams stay.
void reload(const Config& config, Poller& poller) {
  auto upstreams = reload_upstreams(config);
  if (!upstreams) {
    log(LogLevel::error, "SIGHUP: keeping the running upstreams: ", upstreams.error().what());
    return;
  }
  log(LogLevel::info, "SIGHUP: reloaded ", config.upstreams_config, ": ", upstreams->size(), " upstream(s)");
  poller.set_upstreams(std::move(*upstreams));
}

void log_start(const Config& config) {
  const PollerOptions& p = config.poller;
  const int64_t stale_ms = config.site.health.stale_ms;
  log(LogLevel::info, "leanpoint ", LEANPOINT_VERSION, " starting: ", config.upstreams.size(),
      " upstream(s), poll every ", p.poll_ms, " ms, request deadline ", p.timeout_ms, " ms, stale after ", stale_ms,
      " ms");
  if (stale_ms <= p.poll_ms)
    log(LogLevel::warn, "--stale-ms (", stale_ms, ") is not above --poll-ms (", p.poll_ms,
        "): /healthz will report stale between rounds");
  // The lock is released after the drain (§8): a leanpoint started while the
  // one it replaces drains must wait longer than that drain may last.
  if (!config.data_dir.empty() && config.data_dir_wait_ms > 0 && config.data_dir_wait_ms <= config.server.drain_ms)
    log(LogLevel::warn, "--data-dir-wait-ms (", config.data_dir_wait_ms, ") is not above --drain-ms (",
        config.server.drain_ms, "): a leanpoint started while the one it replaces drains may give up on the lock");
  for (const auto& up : config.upstreams) log(LogLevel::info, "polling ", up.name, " at ", up.url);
}

// --data-dir: the directory locked, and the stored anchor read back (and
// verified again) before the server starts, so the first request can be
// answered with it; then the writer thread that keeps it.
struct Persistence {
  std::unique_ptr<DataDir> dir;
  std::unique_ptr<AnchorWriter> writer;
  std::unique_ptr<PinStore> pins;  // the pair rule's table on disk (pin_store.h)
  PersistHooks hooks;

  // For the site's Pins: the journal hook and what the last process left.
  PinPersistence pin_persistence() const {
    if (!pins) return {};
    return PinPersistence{pins->journal(), pins->take_restored()};
  }
  // Once nothing is served any more: the last records written, then the
  // lock released for the leanpoint that replaces this one (data_dir.h).
  void close() {
    if (!dir) return;
    pins->stop();
    writer->stop();
    dir->release();
    log(LogLevel::info, "--data-dir: written and released");
  }
};

Expected<Persistence, PersistError> open_persistence(const Config& config) {
  Persistence p;
  if (config.data_dir.empty()) return p;
  auto opened = DataDir::open(config.data_dir, config.data_dir_wait_ms);
  if (!opened) return Unexpected(opened.error());
  p.dir = std::move(*opened);
  auto restored = p.dir->restore(config.poller.max_state_bytes, config.poller.genesis_time);
  if (restored.anchor) {
    p.hooks.restored = std::move(restored.anchor->anchor);
    p.hooks.restored_summary = restored.anchor->summary;
  }
  p.pins = std::make_unique<PinStore>(*p.dir, config.poller.max_state_bytes, config.poller.genesis_time,
                                      p.hooks.restored, unix_ms());
  p.writer = std::make_unique<AnchorWriter>(*p.dir, std::move(restored.status));
  p.hooks.on_anchor = [w = p.writer.get()](std::shared_ptr<const VerifiedAnchor> a) {
    a ? w->save(std::move(a)) : w->drop();
  };
  p.hooks.data_dir_status = [w = p.writer.get(), pins = p.pins.get()] {
    DataDirStatus status = w->status();
    pins->add_to(status);
    return status;
  };
  return p;
}

// --access-log, opened before anything is served; null without it.
Expected<std::shared_ptr<AccessLog>, SysError> open_access_log(const Config& config) {
  if (config.site.access_log.empty()) return std::shared_ptr<AccessLog>();
  return AccessLog::open(config.site.access_log);
}

// Set when the server's listening socket failed for good (listener.h); the
// listen thread then wakes the main thread with listener_stopped_signal().
std::atomic<bool> g_listener_stopped{false};

void on_listener_stopped() {
  g_listener_stopped = true;
  (void)::kill(::getpid(), listener_stopped_signal());  // blocked in every thread: main's sigwait takes it
}

// SIGUSR1 with --access-log: reopens it (log rotation), while serving and
// while draining alike. False for any other signal, or without a log.
bool reopened_access_log(int signal, AccessLog* access_log) {
  if (signal != SIGUSR1 || !access_log) return false;
  log(LogLevel::info, "SIGUSR1: reopening the access log");
  access_log->reopen();
  return true;
}

// Why the service stops.
enum class StopReason : uint8_t { signal, listener };

// Waits for SIGINT or SIGTERM, or the listener's end; reloads on SIGHUP;
// reopens the access log on SIGUSR1 (without one, SIGUSR1 is stray); logs
// stray signals.
StopReason wait_for_stop(const Config& config, Poller& poller, AccessLog* access_log) {
  const sigset_t set = waited_signals();
  for (int signal = 0;;) {
    if (sigwait(&set, &signal) != 0) continue;
    if (g_listener_stopped) {
      log(LogLevel::error, "no longer accepting connections; stopping, to be restarted by a supervisor");
      return StopReason::listener;
    }
    if (signal == SIGINT || signal == SIGTERM) {
      log(LogLevel::info, "received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", stopping");
      return StopReason::signal;
    }
    if (signal == SIGHUP) {
      reload(config, poller);
      continue;
    }
    if (reopened_access_log(signal, access_log)) continue;
    if (signal == listener_stopped_signal()) continue;  // sent only with the flag set, seen above
    const char* name = sigabbrev_np(signal);
    log(LogLevel::info, "received ", name ? "SIG" + std::string(name) : "signal " + std::to_string(signal),
        "; ignored (SIGHUP reloads the upstreams file, SIGINT and SIGTERM stop)");
  }
}

// The graceful stop (HttpServer::drain): nothing more accepted, responses in
// flight finished, for at most --drain-ms; a second SIGINT or SIGTERM ends
// it at once; SIGUSR1 still reopens the access log. Returns when no
// connection is open, or on either.
void drain(HttpServer& server, const ServerStats& stats, int64_t drain_ms, AccessLog* access_log) {
  if (drain_ms <= 0) return;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::milliseconds(drain_ms);
  server.drain();
  log(LogLevel::info, "draining: accepting no more connections; ", stats.connections_open.load(),
      " open, finishing their responses for at most ", drain_ms, " ms");
  const sigset_t set = waited_signals();
  while (stats.connections_open > 0) {
    const auto left = deadline - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      log(LogLevel::warn, "drain: --drain-ms (", drain_ms, ") passed with ", stats.connections_open.load(),
          " connection(s) open; aborting them");
      return;
    }
    // Connections only close from here: a short wait for a signal is the poll.
    const timespec wait{0, std::min<long>(20'000'000, std::chrono::nanoseconds(left).count())};
    const int signal = sigtimedwait(&set, nullptr, &wait);
    if (signal == SIGINT || signal == SIGTERM) {
      log(LogLevel::info, "received ", signal == SIGINT ? "SIGINT" : "SIGTERM", " while draining; stopping at once");
      return;
    }
    if (reopened_access_log(signal, access_log)) continue;  // the lines still to come go to the new file
    const char* name = signal > 0 ? sigabbrev_np(signal) : nullptr;
    if (name) log(LogLevel::info, "received SIG", name, " while draining; ignored");
  }
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  log(LogLevel::info, "drained in ", took.count(), " ms");
}

}  // namespace

void block_stop_signals() {
  const sigset_t set = waited_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away mid-response must cost an EPIPE, not the process.
  std::signal(SIGPIPE, SIG_IGN);
}

namespace {

// Starts the server. Returns the poller's stop eventfd (readable once
// notified: every wait in the poller watches it, so a stop ends a request in
// flight instead of waiting out its deadline), or none, logged.
std::optional<EventFd> start_serving(const Config& config, HttpServer& server) {
  auto stop = EventFd::open();
  if (!stop) {
    log(LogLevel::error, "cannot start: ", stop.error().text());
    return std::nullopt;
  }
  if (auto started = server.start(); !started) {
    log(LogLevel::error, started.error().text());
    return std::nullopt;
  }
  log(LogLevel::info, "descriptor limit ", reachable_fd_limit(), "; /healthz fails at ",
      config.site.health.fd_threshold_percent, "%");
  return std::move(*stop);
}

}  // namespace

int run_service(const Config& config) {
  log_start(config);
  // Socket activation (socket_activation.h): read before any thread starts,
  // as it unsets LISTEN_*.
  auto inherited = take_activated_socket();
  if (!inherited) {
    log(LogLevel::error, "cannot start: ", inherited.error().text());
    return kExitFailure;
  }
  auto persistence = open_persistence(config);
  if (!persistence) {  // another leanpoint holds the directory
    log(LogLevel::error, persistence.error().text());
    return kExitUsage;
  }
  SnapshotStore store;
  ServerStats stats;
  // Built before the server starts: it publishes its settings, and a
  // restored anchor, at once.
  Poller poller(config.poller, config.upstreams, store, persistence->hooks);
  // Its writer thread outlives the server, so the last responses' lines are written.
  auto access_log = open_access_log(config);
  if (!access_log) {
    log(LogLevel::error, "cannot start: ", access_log.error().text());
    return kExitUsage;  // the operator's path
  }
  HttpServer server(config.server, stats);
  if (*inherited) server.use_inherited_socket(std::move(**inherited));
  server.set_routes(leanpoint_routes(store, server, stats, config.site, persistence->pin_persistence(), *access_log));
  // The gate's own answers (refused heads, sheds) get lines too.
  if (*access_log)
    server.on_gate_answer([log = *access_log](const GateAnswer& answer) { log->add_gate_answer(answer); });
  // A leanpoint that serves nothing must not look alive: it exits non-zero.
  server.on_listener_stopped([](const SysError&) { on_listener_stopped(); });
  auto stop = start_serving(config, server);
  if (!stop) return kExitFailure;

  std::thread poller_thread;
  try {
    poller_thread = std::thread([&] { poller.run(stop->fd()); });
  } catch (const std::system_error& e) {  // std::thread's way to say the kernel refused; it ends here
    log(LogLevel::error, "cannot start the poller thread: ", e.what());
    server.stop();
    return kExitFailure;
  }
  log(LogLevel::info, "ready; waiting for SIGINT or SIGTERM");
  const StopReason why = wait_for_stop(config, poller, access_log->get());
  if (why == StopReason::signal) drain(server, stats, config.server.drain_ms, access_log->get());
  stop->notify();
  server.stop();
  if (*access_log) (*access_log)->stop();  // every response has ended: its line is queued
  poller_thread.join();
  persistence->close();
  log(LogLevel::info, "stopped");
  return why == StopReason::signal ? kExitOk : kExitFailure;
}

}  // namespace leanpoint
