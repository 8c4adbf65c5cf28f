#include "service.h"

#include <csignal>

#include "log.h"
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

}  // namespace

void block_stop_signals() {
  const sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away mid-response must cost an EPIPE, not the process.
  std::signal(SIGPIPE, SIG_IGN);
}

int run_service(const Config& config) {
  log(LogLevel::info, "leanpoint ", LEANPOINT_VERSION, " starting: ", config.upstreams.size(),
      " upstream(s), poll every ", config.poll_ms, " ms, request deadline ", config.timeout_ms,
      " ms, stale after ", config.stale_ms, " ms");
  if (config.stale_ms <= config.poll_ms)
    log(LogLevel::warn, "--stale-ms (", config.stale_ms, ") is not above --poll-ms (", config.poll_ms,
        "): /healthz will report stale between rounds");
  for (const auto& up : config.upstreams) log(LogLevel::info, "would poll ", up.name, " at ", up.url);
  log(LogLevel::info, "would serve on ", config.bind_addr, ":", config.port,
      config.static_dir.empty() ? "" : " with static files from ", config.static_dir);
  log(LogLevel::info, "ready; waiting for SIGINT or SIGTERM");

  const sigset_t set = stop_signals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  log(LogLevel::info, "received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", stopping");
  log(LogLevel::info, "stopped");
  return 0;
}

}  // namespace leanpoint
