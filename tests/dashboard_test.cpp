// The newcomer's view: the dashboard rendered by headless Chromium against
// leanpoint and a simulated devnet, and scripts/demo from start to Ctrl-C.
#include <httplib.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <thread>

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
                                   "--disable-quic",
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

namespace {

// The opening tag of the element with this id, from the rendered DOM.
std::string tag_of(const std::string& dom, const std::string& id) {
  const size_t at = dom.find("id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  const size_t open = dom.rfind('<', at);
  return dom.substr(open, dom.find('>', at) - open + 1);
}

// An attribute's value in a tag ("" when absent).
std::string attr(const std::string& tag, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(tag, m, std::regex("\\s" + name + "=\"([^\"]*)\""))) return "";
  return m[1];
}

// The points of each polyline of a series ("finalized", "agreed", ...) of one
// upstream ("" for the agreed line), in document order.
std::vector<std::pair<double, double>> points(const std::string& dom, const std::string& series,
                                              const std::string& upstream = "") {
  std::vector<std::pair<double, double>> out;
  const std::regex line("<polyline[^>]*>");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), line); it != std::sregex_iterator(); ++it) {
    const std::string tag = it->str();
    if (attr(tag, "data-series") != series || attr(tag, "data-upstream") != upstream) continue;
    std::istringstream in(attr(tag, "points"));
    for (std::string p; in >> p;) {
      const size_t comma = p.find(',');
      out.emplace_back(std::stod(p.substr(0, comma)), std::stod(p.substr(comma + 1)));
    }
  }
  return out;
}

// The rounds a track's rects of one kind cover (each rect a run of rounds).
size_t rounds_marked(const std::string& dom, const std::string& track, const std::string& kind) {
  const size_t at = dom.find("<g data-track=\"" + track + "\"");
  if (at == std::string::npos) return 0;
  const std::string g = dom.substr(at, dom.find("</g>", at) - at);
  size_t n = 0;
  const std::regex rect("<rect[^>]*>");
  for (auto it = std::sregex_iterator(g.begin(), g.end(), rect); it != std::sregex_iterator(); ++it)
    if (attr(it->str(), "data-result") == kind) n += std::stoul(attr(it->str(), "data-rounds"));
  return n;
}

// data-track -> the track's opening tag.
std::map<std::string, std::string> tracks(const std::string& dom) {
  std::map<std::string, std::string> out;
  const std::regex track(R"re(<g data-track="([^"]+)"[^>]*>)re");
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), track); it != std::sregex_iterator(); ++it)
    out[(*it)[1]] = it->str();
  return out;
}

}  // namespace

TEST_CASE("the dashboard's charts in headless Chromium: slots over time scale with the data, a fork is marked") {
  REQUIRE_MESSAGE(std::filesystem::exists(kChromium), "chromium missing: scripts/setup installs it");
  testing::TempDir dir;
  // Finality moves every 4 slots of 250 ms: a second; the fork answers on another chain.
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "6", "--base-port", "0", "--slot-ms", "250", "--fault",
                           "4=fork", "--fault", "5=black-hole", "--upstreams-out", dir.path() + "/upstreams.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  const uint16_t port = testing::free_port();
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstreams-config", dir.path() + "/upstreams.json", "--bind",
                          "127.0.0.1", "--port", std::to_string(port), "--poll-ms", "300", "--timeout-ms", "200"});
  REQUIRE(lp.wait_for_stderr("verified anchor", Clock::now() + 20s));
  // Some seconds of rounds: finality moves in them.
  nlohmann::json history;
  for (const auto by = Clock::now() + 30s; Clock::now() < by; std::this_thread::sleep_for(200ms)) {
    httplib::Client c("127.0.0.1", port);
    const auto r = c.Get("/api/history");
    if (r && r->status == 200) history = nlohmann::json::parse(r->body);
    if (history.is_object() && history["rounds"].size() >= 12) break;
  }
  REQUIRE(history["rounds"].size() >= 12);

  const auto dom = testing::run(chromium(dir.path() + "/profile", {"--window-size=1000,1600", "--dump-dom",
                                                                   "http://127.0.0.1:" + std::to_string(port) + "/"}),
                                {}, 60s);
  REQUIRE(dom.status == 0);
  const std::string slots = tag_of(dom.out, "chart-slots");
  REQUIRE_FALSE(slots.empty());
  REQUIRE_FALSE(tag_of(dom.out, "chart-lag").empty());
  REQUIRE_FALSE(tag_of(dom.out, "chart-tracks").empty());
  REQUIRE_FALSE(attr(slots, "data-rounds").empty());

  // The chart shows the rounds the server had, and its scale is their slots'.
  const uint64_t first = std::stoull(attr(slots, "data-first-round")),
                 last = std::stoull(attr(slots, "data-last-round"));
  const size_t shown = std::stoul(attr(slots, "data-rounds"));
  CHECK(shown == last - first + 1);
  httplib::Client c("127.0.0.1", port);
  const auto now = c.Get("/api/history");
  REQUIRE(now);
  uint64_t lo = UINT64_MAX, hi = 0;
  size_t node0_points = 0;
  std::map<std::string, size_t> disagreed, failed;  // what each track must mark
  const auto later = nlohmann::json::parse(now->body);
  for (const auto& r : later["rounds"]) {
    const uint64_t n = r["round"];
    if (n < first || n > last) continue;
    auto see = [&](const nlohmann::json& v) {
      if (!v.is_number()) return;
      lo = std::min<uint64_t>(lo, v);
      hi = std::max<uint64_t>(hi, v);
    };
    if (r["agreed"].is_object()) see(r["agreed"]["slot"]);
    for (const auto& u : r["upstreams"]) {
      see(u["finalized_slot"]);
      see(u["justified_slot"]);
      const std::string result = u["result"];
      disagreed[u["name"]] += result == "ok" && !u["agrees"].get<bool>() && r["agreed"].is_object();
      failed[u["name"]] += result != "ok" && result != "backing_off" && result != "not_polled";
    }
    node0_points += r["upstreams"][0]["finalized_slot"].is_number();
  }
  CHECK(std::to_string(lo) == attr(slots, "data-slot-min"));
  CHECK(std::to_string(hi) == attr(slots, "data-slot-max"));
  CHECK(hi > lo);  // finality moved while the rounds were kept
  const auto node0 = points(dom.out, "finalized", "node0_healthy");
  CHECK(node0.size() == node0_points);
  // Time runs left to right across the plot, and the higher slot is drawn higher.
  const auto agreed = points(dom.out, "agreed");
  REQUIRE(agreed.size() >= 2);
  CHECK(agreed.front().first < agreed.back().first);
  CHECK(agreed.front().second > agreed.back().second);
  for (const auto& [x, y] : agreed) {
    CHECK(x >= 52 - 0.5);
    CHECK(y >= 0);
  }
  CHECK_FALSE(points(dom.out, "justified", "node0_healthy").empty());
  CHECK_FALSE(points(dom.out, "lag", "node0_healthy").empty());

  // Each upstream's track: the fork marked disagreeing, the black hole failing.
  const auto t = tracks(dom.out);
  REQUIRE(t.size() == 6);
  for (const auto& [name, track] : t) {
    CAPTURE(name);
    CHECK(attr(track, "data-disagreements") == std::to_string(disagreed[name]));
    CHECK(attr(track, "data-failures") == std::to_string(failed[name]));
    CHECK(rounds_marked(dom.out, name, "disagrees") == disagreed[name]);
    CHECK(rounds_marked(dom.out, name, "failed") == failed[name]);
  }
  // The fork disagrees in every round that agreed (a healthy node only when
  // finality moved between two polls); the black hole fails.
  CHECK(disagreed["node4_fork"] > shown / 2);
  CHECK(disagreed["node4_fork"] > disagreed["node0_healthy"]);
  CHECK(failed["node0_healthy"] == 0);
  CHECK(failed["node5_black-hole"] > 0);
  CHECK(std::regex_search(dom.out, std::regex(R"re(<rect[^>]*fill="var\(--warn\)"[^>]*data-result="disagrees")re")));
  CHECK(std::regex_search(dom.out, std::regex(R"re(<rect[^>]*fill="var\(--ok\)"[^>]*data-result="agrees")re")));
  CHECK(dom.out.find(R"(data-result="failed")") != std::string::npos);

  // The hover: the round's time and number, and each upstream's values
  // ("#hover" shows the newest round's without a pointer).
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/#hover";
  const auto hovered =
      testing::run(chromium(dir.path() + "/p4", {"--window-size=1000,1600", "--dump-dom", url}), {}, 60s);
  REQUIRE(hovered.status == 0);
  const size_t tip = hovered.out.find("id=\"chart-tip\"");
  REQUIRE(tip != std::string::npos);
  const std::string tip_text = hovered.out.substr(tip, hovered.out.find("</table>", tip) - tip);
  CHECK(tag_of(hovered.out, "chart-tip").find("display: block") != std::string::npos);
  CHECK(std::regex_search(tip_text, std::regex(R"(\d+:\d\d:\d\d.*· round \d+ · agreed)")));
  CHECK(tip_text.find(">node4_fork<") != std::string::npos);
  CHECK(std::regex_search(tip_text, std::regex(R"(>fin \d+<)")));
  CHECK(std::regex_search(tip_text, std::regex(R"(>lag \d+<)")));
  CHECK(hovered.out.find(R"(class="cursor")") != std::string::npos);

  // Screenshots for people: desktop and phone width, charts and a hover included.
  const std::string shot = testing::build_dir() + "/dashboard-charts.png",
                    phone = testing::build_dir() + "/dashboard-charts-phone.png";
  CHECK(testing::run(chromium(dir.path() + "/p2", {"--window-size=1200,1400", "--screenshot=" + shot, url}), {}, 60s)
            .status == 0);
  CHECK(testing::run(chromium(dir.path() + "/p3", {"--window-size=390,2200", "--screenshot=" + phone, url}), {}, 60s)
            .status == 0);
  MESSAGE("screenshots: ", shot, ", ", phone);

  lp.send_signal(SIGTERM);
  CHECK(lp.wait(Clock::now() + 5s) == 0);
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
