// Benchmark driver for the poller: runs ROUNDS rounds on the real schedule
// (one every POLL_MS) against the upstreams in UPSTREAMS_JSON and prints each
// round's duration and this process's open descriptors, then a summary line.
// scripts/bench-poller runs it against lean-devnet-sim; not a test.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "config.h"
#include "poller.h"

namespace {

size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: poller_bench UPSTREAMS_JSON ROUNDS POLL_MS TIMEOUT_MS\n");
    return 2;
  }
  leanpoint::set_log_level(leanpoint::LogLevel::error);
  leanpoint::PollerOptions o;
  const int rounds = std::atoi(argv[2]);
  o.poll_ms = std::atoll(argv[3]);
  o.timeout_ms = std::atoll(argv[4]);
  auto upstreams = leanpoint::load_upstreams_file(argv[1]);
  if (!upstreams) {
    std::fprintf(stderr, "poller_bench: %s\n", upstreams.error().what());
    return 2;
  }
  leanpoint::SnapshotStore store;
  leanpoint::Poller poller(o, std::move(*upstreams), store);

  std::vector<double> durations;
  size_t fds_min = SIZE_MAX, fds_max = 0;
  auto next = leanpoint::Clock::now();
  for (int r = 1; r <= rounds; ++r) {
    const auto start = leanpoint::Clock::now();
    poller.run_round();
    const double ms = std::chrono::duration<double, std::milli>(leanpoint::Clock::now() - start).count();
    const size_t fds = open_fds();
    durations.push_back(ms);
    fds_min = std::min(fds_min, fds);
    fds_max = std::max(fds_max, fds);
    const auto s = store.load();
    std::printf("round %3d  %8.1f ms  fds %zu  agreed %s\n", r, ms, fds,
                s->agreement.checkpoint ? std::to_string(s->agreement.checkpoint->slot).c_str() : "-");
    std::fflush(stdout);
    next = std::max<leanpoint::Clock::time_point>(next + std::chrono::milliseconds(o.poll_ms), leanpoint::Clock::now());
    std::this_thread::sleep_until(next);
  }
  // Round 1 is special (nobody backs off yet, the first anchor is fetched).
  const std::vector<double> steady(durations.begin() + 1, durations.end());
  std::printf(
      "summary rounds=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f first_ms=%.1f fds_min=%zu fds_max=%zu overruns=%llu "
      "peak_rss_mib=%.1f\n",
      rounds, percentile(steady, 0.5), percentile(steady, 0.99), *std::max_element(steady.begin(), steady.end()),
      durations[0], fds_min, fds_max, static_cast<unsigned long long>(store.load()->rounds_overrun_total),
      peak_rss_mib());
  return 0;
}
