// Benchmark driver for the poller: runs ROUNDS rounds on the real schedule
// (one every POLL_MS) against the upstreams in UPSTREAMS_JSON and prints each
// round's duration, the bytes read from the upstreams and this process's open
// descriptors, then a summary line. PROBE_BYTES is --fork-choice-probe-bytes
// (default: its default). RESUME_MS (unix ms) is when the simulated
// finality resumes: the summary then also says how many rounds, from the
// first that started after it, the agreement took to move, and the bytes
// figures cover only the rounds before it.
// scripts/bench-poller runs it against lean-devnet-sim; not a test.
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
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

// When the agreement moved past the stalled one after finality resumed: in
// rounds counted from the first that started after (1: that round), and in
// ms from the resumption to the end of that round. -1: not within the run.
struct Resumption {
  std::optional<uint64_t> stalled;  // the agreement before
  int first = 0;                    // the first round after
  int rounds = -1;
  int64_t ms = -1;
  void note(int round, bool after, std::optional<uint64_t> agreed, int64_t since_resume_ms) {
    if (!after) {
      if (agreed) stalled = agreed;
      return;
    }
    if (!first) first = round;
    if (rounds < 0 && agreed && (!stalled || *agreed > *stalled)) {
      rounds = round - first + 1;
      ms = since_resume_ms;
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 7) {
    std::fprintf(stderr, "usage: poller_bench UPSTREAMS_JSON ROUNDS POLL_MS TIMEOUT_MS [PROBE_BYTES [RESUME_MS]]\n");
    return 2;
  }
  leanpoint::set_log_level(leanpoint::LogLevel::error);
  leanpoint::PollerOptions o;
  const int rounds = std::atoi(argv[2]);
  o.poll_ms = std::atoll(argv[3]);
  o.timeout_ms = std::atoll(argv[4]);
  if (argc > 5) o.fork_choice_probe_bytes = std::strtoull(argv[5], nullptr, 10);
  const int64_t resume_ms = argc > 6 ? std::atoll(argv[6]) : 0;
  auto upstreams = leanpoint::load_upstreams_file(argv[1]);
  if (!upstreams) {
    std::fprintf(stderr, "poller_bench: %s\n", upstreams.error().what());
    return 2;
  }
  leanpoint::SnapshotStore store;
  leanpoint::Poller poller(o, std::move(*upstreams), store);

  std::vector<double> durations, before_resume_ms, bytes_per_upstream;
  size_t fds_min = SIZE_MAX, fds_max = 0;
  Resumption resumption;
  auto next = leanpoint::Clock::now();
  for (int r = 1; r <= rounds; ++r) {
    const auto start = leanpoint::Clock::now();
    const int64_t start_unix = leanpoint::unix_ms();
    poller.run_round();
    const double ms = std::chrono::duration<double, std::milli>(leanpoint::Clock::now() - start).count();
    const size_t fds = open_fds();
    durations.push_back(ms);
    fds_min = std::min(fds_min, fds);
    fds_max = std::max(fds_max, fds);
    const auto s = store.load();
    uint64_t bytes = 0;
    for (const auto& u : s->upstreams) bytes += u.round_bytes;
    const std::optional<uint64_t> agreed =
        s->agreement.checkpoint ? std::optional(s->agreement.checkpoint->slot) : std::nullopt;
    if (r > 1 && (!resume_ms || start_unix < resume_ms)) {
      before_resume_ms.push_back(ms);
      bytes_per_upstream.push_back(static_cast<double>(bytes) / static_cast<double>(s->upstreams.size()));
    }
    if (resume_ms) resumption.note(r, start_unix >= resume_ms, agreed, leanpoint::unix_ms() - resume_ms);
    std::printf("round %3d  %8.1f ms  fds %zu  read %10llu bytes  agreed %s\n", r, ms, fds,
                static_cast<unsigned long long>(bytes), agreed ? std::to_string(*agreed).c_str() : "-");
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
  if (!bytes_per_upstream.empty()) {
    double sum = 0;
    for (double b : bytes_per_upstream) sum += b;
    std::printf(
        "nonfinal rounds=%zu bytes_per_upstream_p50=%.0f bytes_per_upstream_mean=%.0f round_p50_ms=%.1f "
        "round_max_ms=%.1f\n",
        bytes_per_upstream.size(), percentile(bytes_per_upstream, 0.5),
        sum / static_cast<double>(bytes_per_upstream.size()), percentile(before_resume_ms, 0.5),
        *std::max_element(before_resume_ms.begin(), before_resume_ms.end()));
  }
  if (resume_ms)
    std::printf("resume rounds_to_agree=%d ms_to_agree=%lld\n", resumption.rounds,
                static_cast<long long>(resumption.ms));
  return 0;
}
