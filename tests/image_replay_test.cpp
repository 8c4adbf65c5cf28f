// The incident, replayed in its environment (scripts/test --image): the
// image (scripts/image) runs with Docker's default of 1024 descriptors and
// host networking against lean-devnet-sim with 4 healthy and 4 black-holed
// nodes for 60 s. The process's descriptors stay flat (read from the host,
// /proc/PID/fd), /readyz is 200, the user is not root, and `stop` ends it
// with exit status 0 within 2 s: leanpoint is PID 1 and handles SIGTERM.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "image_engine.h"
#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::Clock;
namespace fs = std::filesystem;

namespace {

using testing::trimmed;

size_t fds_of(int pid) {
  size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

std::string uid_of(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Uid:", 0) == 0) return line;
  return "";
}

}  // namespace

TEST_CASE("the image under the incident's conditions: 1024 descriptors, 4 black holes, 60 s") {
  const auto engine = testing::image_engine();
  const auto& run_flags = engine.run_flags;
  auto cmd = [&engine](const std::vector<std::string>& args) { return engine.cmd(args); };
  REQUIRE(testing::run(cmd({"image", "exists", "leanpoint:latest"})).status == 0);

  testing::TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "8", "--base-port", "0", "--slot-ms", "4000", "--fault",
                           "4=black-hole", "--fault", "5=black-hole", "--fault", "6=black-hole", "--fault",
                           "7=black-hole", "--upstreams-out", dir.path() + "/upstreams.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  fs::permissions(dir.path() + "/upstreams.json",
                  fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);

  const uint16_t port = testing::free_port();
  const std::string name = "leanpoint-replay-" + std::to_string(::getpid());
  std::vector<std::string> run_args = {"run",       "-d",   "--name",   name,
                                       "--network", "host", "--ulimit", "nofile=1024:1024"};
  run_args.insert(run_args.end(), run_flags.begin(), run_flags.end());
  const std::vector<std::string> image_args = {"-v",
                                               dir.path() + ":/etc/leanpoint:ro",
                                               "leanpoint:latest",
                                               "--upstreams-config",
                                               "/etc/leanpoint/upstreams.json",
                                               "--bind",
                                               "127.0.0.1",
                                               "--port",
                                               std::to_string(port),
                                               "--poll-ms",
                                               "1000",
                                               "--timeout-ms",
                                               "800"};
  run_args.insert(run_args.end(), image_args.begin(), image_args.end());
  const auto started = testing::run(cmd(run_args), {}, 60s);
  REQUIRE_MESSAGE(started.status == 0, started.err);
  struct Remove {
    std::function<void()> f;
    ~Remove() { f(); }
  } remove{[&] { testing::run(cmd({"rm", "-f", "-v", name}), {}, 30s); }};

  const int pid = std::stoi(trimmed(testing::run(cmd({"inspect", "-f", "{{.State.Pid}}", name})).out));
  REQUIRE(pid > 0);
  CHECK(uid_of(pid).find("\t0\t") == std::string::npos);  // not root, on the host either
  MESSAGE("container process " << pid << ", " << uid_of(pid));

  // Ready once a verified anchor and its block are served.
  bool ready = false;
  for (const auto by = Clock::now() + 30s; !ready && Clock::now() < by; std::this_thread::sleep_for(200ms)) {
    const auto r = testing::get(port, "/readyz");
    ready = r && r->status == 200;
  }
  REQUIRE(ready);

  // 60 s against the black holes: descriptors sampled every second.
  size_t low = SIZE_MAX, high = 0;
  int ready_ok = 0, samples = 0;
  for (const auto until = Clock::now() + 60s; Clock::now() < until; std::this_thread::sleep_for(1s)) {
    const size_t fds = fds_of(pid);
    low = std::min(low, fds);
    high = std::max(high, fds);
    const auto r = testing::get(port, "/readyz");
    ready_ok += r && r->status == 200;
    ++samples;
  }
  MESSAGE("descriptors over 60 s: " << low << " to " << high << "; /readyz 200 in " << ready_ok << " of " << samples);
  CHECK(high <= low + 2);  // flat: the poller's one socket, at most a probe in flight
  CHECK(high < 64);
  CHECK(ready_ok == samples);

  const auto stop_start = Clock::now();
  const auto stopped = testing::run(cmd({"stop", "-t", "10", name}), {}, 30s);
  const auto took = Clock::now() - stop_start;
  CHECK(stopped.status == 0);
  MESSAGE("stop took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < 2s);
  CHECK(trimmed(testing::run(cmd({"inspect", "-f", "{{.State.ExitCode}}", name})).out) == "0");
}
