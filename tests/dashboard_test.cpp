// The newcomer's view: the dashboard rendered by headless Chromium against
// leanpoint and a simulated devnet, and scripts/demo from start to Ctrl-C.
#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>

#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::Clock;

namespace {

const char* const kChromium = "/usr/bin/chromium";

// The flags a headless Chromium needs on this machine (no network, root).
std::vector<std::string> chromium(const std::string& profile, std::vector<std::string> extra) {
  std::vector<std::string> argv = {kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--no-first-run",
                                   "--user-data-dir=" + profile,
                                   "--virtual-time-budget=5000"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

// data-upstream -> data-state, from the rendered DOM.
std::map<std::string, std::string> row_states(const std::string& dom) {
  std::map<std::string, std::string> rows;
  const std::regex row(R"re(data-upstream="([^"]+)" data-state="([^"]+)")re");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), row); it != std::sregex_iterator(); ++it)
    rows[(*it)[1]] = (*it)[2];
  return rows;
}

}  // namespace

TEST_CASE("the dashboard in headless Chromium: the agreed slot, every upstream, the faulty ones marked") {
  REQUIRE_MESSAGE(std::filesystem::exists(kChromium), "chromium missing: scripts/setup installs it");
  testing::TempDir dir;
  // Slots of a minute: finality stands still while the test looks at it.
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "8", "--base-port", "0", "--slot-ms", "60000", "--fault",
                           "5=fork", "--fault", "6=black-hole", "--fault", "7=flap", "--flap-ms", "600000",
                           "--upstreams-out", dir.path() + "/upstreams.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  const std::string port = std::to_string(testing::free_port());
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstreams-config", dir.path() + "/upstreams.json", "--bind",
                          "127.0.0.1", "--port", port, "--poll-ms", "1000", "--timeout-ms", "300"});
  // The first round has polled everyone (the black hole included) once the anchor is verified.
  REQUIRE(lp.wait_for_stderr("verified anchor", Clock::now() + 20s));
  const std::string url = "http://127.0.0.1:" + port + "/";

  const auto dom = testing::run(chromium(dir.path() + "/profile", {"--dump-dom", url}), {}, 60s);
  REQUIRE(dom.status == 0);
  std::smatch m;
  REQUIRE(std::regex_search(dom.out, m, std::regex(R"re(data-testid="agreed-slot">(\d+)<)re")));
  CHECK(m[1] == "20");  // lean-devnet-sim starts at slot 24: finalized 20
  CHECK(dom.out.find(R"(data-testid="anchor">verified<)") != std::string::npos);
  const auto rows = row_states(dom.out);
  REQUIRE(rows.size() == 8);
  for (int i = 0; i < 5; ++i) CHECK(rows.at("node" + std::to_string(i) + "_healthy") == "ok");
  CHECK(rows.at("node5_fork") == "disagrees");
  CHECK(rows.at("node6_black-hole") == "faulty");
  CHECK(rows.at("node7_flap") == "ok");  // up for its first ten minutes
  CHECK(dom.out.find(">timeout<") != std::string::npos);
  // How each was observed, and what that cost (fork_choice here: the sim's are small).
  CHECK(dom.out.find(">fork_choice, read ") != std::string::npos);

  // Screenshots for people: desktop and phone width.
  const std::string shot = testing::build_dir() + "/dashboard.png",
                    phone = testing::build_dir() + "/dashboard-phone.png";
  std::filesystem::remove(shot);
  std::filesystem::remove(phone);
  CHECK(testing::run(chromium(dir.path() + "/p2", {"--window-size=1200,1000", "--screenshot=" + shot, url}), {}, 60s)
            .status == 0);
  CHECK(testing::run(chromium(dir.path() + "/p3", {"--window-size=390,1600", "--screenshot=" + phone, url}), {}, 60s)
            .status == 0);
  CHECK(std::filesystem::file_size(shot) > 20000);
  CHECK(std::filesystem::file_size(phone) > 20000);
  MESSAGE("screenshots: ", shot, ", ", phone);

  lp.send_signal(SIGTERM);
  const int status = lp.wait(Clock::now() + 5s);
  CAPTURE(lp.err());  // a sanitizer's report, if it has one
  CHECK(status == 0);
  sim.send_signal(SIGTERM);
  CHECK(sim.wait(Clock::now() + 5s) == 0);
}

TEST_CASE("scripts/demo: the devnet and leanpoint come up; Ctrl-C leaves no process") {
  const std::string port = std::to_string(testing::free_port());
  // Any free ports for the nodes: a fixed block may be taken by a test running alongside.
  testing::Subprocess demo({"/bin/bash", testing::source_dir() + "/scripts/demo", "--build-dir", testing::build_dir(),
                            "--port", port, "--base-port", "0", "--slot-ms", "1000"},
                           {}, "/dev/null", /*own_group=*/true);
  const bool up = demo.wait_for_stdout("Open the dashboard:   http://127.0.0.1:" + port + "/", Clock::now() + 120s);
  CAPTURE(demo.out());
  CAPTURE(demo.err());
  REQUIRE(up);
  CHECK(demo.out().find("node5_fork") != std::string::npos);
  CHECK(demo.out().find("leanpoint inspect /tmp/state.ssz") != std::string::npos);
  // Within two poll intervals (1 s here) of starting: agreement and a verified anchor.
  REQUIRE(demo.wait_for_stdout("verified anchor", Clock::now() + 10s));
  // Its processes are the ones whose command lines name its work directory.
  std::smatch work;
  const std::string out = demo.out();
  REQUIRE(std::regex_search(out, work, std::regex(R"(Logs: (\S+)/ )")));
  const std::string marker = work[1];
  CHECK(testing::processes_matching(marker).size() == 3);  // lean-devnet-sim, leanpoint, the log tail
  demo.signal_group(SIGINT);                               // what Ctrl-C in the terminal sends
  CHECK(demo.wait(Clock::now() + 10s) == 0);
  CHECK(demo.out().find("demo: stopping") != std::string::npos);
  CHECK(testing::processes_matching(marker).empty());
  CHECK(testing::processes_matching("--port " + port).empty());
  CHECK_FALSE(std::filesystem::exists(marker));
}
