#include "service.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include "log.h"
#include "poller.h"
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

// Readable once stop() is called: every wait in the poller watches it, so a
// stop ends a request in flight instead of waiting out its deadline.
class StopSignal {
 public:
  StopSignal() : fd_(::eventfd(0, EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("eventfd failed");
  }
  ~StopSignal() { ::close(fd_); }
  void stop() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

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
  for (const auto& up : config.upstreams) log(LogLevel::info, "polling ", up.name, " at ", up.url);

  SnapshotStore store;
  StopSignal stop;
  Poller poller(poller_options(config), store);
  std::thread poller_thread([&] { poller.run(stop.fd()); });
  log(LogLevel::info, "ready; waiting for SIGINT or SIGTERM");

  const sigset_t set = stop_signals();
  int signal = 0;
  while (sigwait(&set, &signal) != 0) {
  }
  log(LogLevel::info, "received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", stopping");
  stop.stop();
  poller_thread.join();
  log(LogLevel::info, "stopped");
  return 0;
}

}  // namespace leanpoint
