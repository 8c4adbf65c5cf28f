// The binary as a daemon: signals (SIGHUP reloads the upstreams file, stray
// signals are logged and ignored), `leanpoint probe`, /livez and /readyz from
// outside, and a --max-connections that cannot fit the descriptor limit.
#include <signal.h>
#include <string.h>

#include <string>
#include <vector>

#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

using testing::Clock;
using testing::leanpoint_bin;
using namespace std::chrono_literals;

namespace {

std::string file_of(const std::vector<std::pair<std::string, int>>& upstreams) {
  std::string out = R"({"upstreams":[)";
  for (size_t i = 0; i < upstreams.size(); ++i)
    out += (i ? "," : "") + std::string(R"({"name":")") + upstreams[i].first + R"(","url":"http://127.0.0.1:)" +
           std::to_string(upstreams[i].second) + R"("})";
  return out + "]}";
}

// leanpoint on a free port, polling every 100 ms upstreams that refuse.
struct Running {
  explicit Running(const std::string& upstreams_file)
      : port(testing::free_port()),
        process({leanpoint_bin(), "--upstreams-config", upstreams_file, "--bind", "127.0.0.1", "--port",
                 std::to_string(port), "--poll-ms", "100", "--timeout-ms", "50", "--stale-ms", "1000"}) {
    REQUIRE(process.wait_for_stderr("ready; waiting for SIGINT or SIGTERM", Clock::now() + 10s));
  }
  testing::Result probe(const std::string& path) const {
    return testing::run({leanpoint_bin(), "probe", "http://127.0.0.1:" + std::to_string(port) + path});
  }
  uint16_t port;
  testing::Subprocess process;
};

}  // namespace

TEST_CASE("stray signals are logged and ignored; SIGTERM still stops cleanly") {
  testing::TempDir dir;
  Running lp(dir.write("u.json", file_of({{"a", 1}})));
  for (const int sig : {SIGUSR1, SIGUSR2, SIGALRM, SIGPROF}) {
    lp.process.send_signal(sig);
    CHECK(lp.process.wait_for_stderr(std::string("received SIG") + sigabbrev_np(sig) + "; ignored", Clock::now() + 5s));
  }
  CHECK(lp.probe("/livez").status == 0);  // still serving
  lp.process.send_signal(SIGTERM);
  CHECK(lp.process.wait(Clock::now() + 5s) == 0);
}

TEST_CASE("SIGHUP reloads the upstreams file: added, removed, and a bad file refused") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", file_of({{"a", 1}}));
  Running lp(path);

  dir.write("u.json", file_of({{"a", 1}, {"b", 2}}));
  lp.process.send_signal(SIGHUP);
  CHECK(lp.process.wait_for_stderr("upstreams now: 2 (1 kept, 1 added, 0 removed)", Clock::now() + 5s));

  dir.write("u.json", R"({"upstreams":[{"name":"a","url":"https://127.0.0.1:1"}]})");
  lp.process.send_signal(SIGHUP);
  CHECK(lp.process.wait_for_stderr("SIGHUP: keeping the running upstreams: ", Clock::now() + 5s));
  CHECK(lp.process.err().find("uses https") != std::string::npos);

  dir.write("u.json", file_of({{"b", 2}}));
  lp.process.send_signal(SIGHUP);
  CHECK(lp.process.wait_for_stderr("upstreams now: 1 (1 kept, 0 added, 1 removed)", Clock::now() + 5s));
  lp.process.send_signal(SIGTERM);
  CHECK(lp.process.wait(Clock::now() + 5s) == 0);
  // Between the two reloads the bad file changed nothing.
  CHECK(lp.process.err().find("upstreams now: 1 (0 kept") == std::string::npos);
}

TEST_CASE("probe, /livez and /readyz: an outage of every upstream is not a reason to restart") {
  testing::TempDir dir;
  Running lp(dir.write("u.json", file_of({{"a", 1}, {"b", 2}})));
  const auto live = lp.probe("/livez");
  CHECK(live.status == 0);
  CHECK(live.out == "200 ok\n");
  const auto ready = lp.probe("/readyz");
  CHECK(ready.status == 1);  // nothing verified to serve
  CHECK(ready.out == "503\n");
  CHECK(lp.probe("/healthz").status == 1);  // unchanged: no agreement
  lp.process.send_signal(SIGTERM);
  CHECK(lp.process.wait(Clock::now() + 5s) == 0);
}

TEST_CASE("probe: no answer is 1, a URL it cannot use is 2") {
  const auto closed =
      testing::run({leanpoint_bin(), "probe", "http://127.0.0.1:" + std::to_string(testing::free_port()) + "/livez"});
  CHECK(closed.status == 1);
  CHECK(closed.err.find("refused") != std::string::npos);
  for (const std::string url : {"https://127.0.0.1:1/", "127.0.0.1:1", "http://:1/", "http://127.0.0.1:99999/"}) {
    CAPTURE(url);
    const auto bad = testing::run({leanpoint_bin(), "probe", url});
    CHECK(bad.status == 2);
    CHECK(bad.err.find("is not of the form http://host[:port][/path]") != std::string::npos);
  }
}

TEST_CASE("--max-connections beyond the descriptor limit: exit 2 naming both") {
  const auto r = testing::run(
      {"/bin/sh", "-c",
       "ulimit -n 256 && exec " + leanpoint_bin() + " --upstream a=http://127.0.0.1:1 --max-connections 1000"});
  CAPTURE(r.err);
  CHECK(r.status == 2);
  CHECK(r.err.find("--max-connections 1000 needs 1040 descriptors") != std::string::npos);
  CHECK(r.err.find("RLIMIT_NOFILE is 256") != std::string::npos);
}
