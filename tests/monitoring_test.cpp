// contrib/prometheus and contrib/grafana: the alert rules pass `promtool check
// rules` and their unit tests (`promtool test rules`), the Grafana dashboard
// has the shape Grafana imports, and every metric either names is one a
// running leanpoint (polling lean-devnet-sim) exports.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::Clock;

namespace {

const char* const kPromtool = "/usr/bin/promtool";

std::string contrib(const std::string& path) { return testing::source_dir() + "/contrib/" + path; }

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  CAPTURE(path);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every leanpoint_* name in `text`.
std::set<std::string> metric_names(const std::string& text) {
  std::set<std::string> names;
  const std::regex name(R"(leanpoint_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator(); ++it)
    names.insert(it->str());
  return names;
}

// The metric families a running leanpoint exports: its /metrics' TYPE lines,
// with --data-dir (whose families appear only with it) against lean-devnet-sim.
std::set<std::string> exported_families() {
  testing::TempDir dir;
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "3", "--base-port", "0", "--slot-ms", "60000",
                           "--upstreams-out", dir.path() + "/upstreams.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  // Named as lean-quickstart names nodes, and one not: clients zeam and ream, and one unknown.
  auto upstreams = nlohmann::json::parse(read(dir.path() + "/upstreams.json"));
  const char* const names[] = {"zeam_0", "ream_0", "box"};
  for (size_t i = 0; i < 3; ++i) upstreams["upstreams"][i]["name"] = names[i];
  dir.write("upstreams.json", upstreams.dump());
  const uint16_t port = testing::free_port();
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstreams-config", dir.path() + "/upstreams.json", "--bind",
                          "127.0.0.1", "--port", std::to_string(port), "--poll-ms", "500", "--timeout-ms", "300",
                          "--data-dir", dir.path() + "/data"});
  REQUIRE(lp.wait_for_stderr("verified anchor", Clock::now() + 20s));
  // The anchor is logged as it verifies, before its round publishes the
  // upstreams' rows: wait for a snapshot in which every upstream is up.
  const auto every_up = [](const std::string& body) {
    return body.find(R"(leanpoint_upstream_up{upstream="zeam_0",client="zeam"} 1)") != std::string::npos &&
           body.find(R"(leanpoint_upstream_up{upstream="box"} 1)") != std::string::npos;
  };
  auto metrics = testing::get(port, "/metrics");
  for (const auto until = Clock::now() + 10s; metrics && !every_up(metrics->body) && Clock::now() < until;) {
    std::this_thread::sleep_for(50ms);  // polled: a round's publication has no event to wait on
    metrics = testing::get(port, "/metrics");
  }
  REQUIRE(metrics);
  REQUIRE(metrics->status == 200);
  // With `client` labels (and an upstream without one) and head slots, still promtool-clean.
  CHECK(metrics->body.find(R"(leanpoint_upstream_up{upstream="zeam_0",client="zeam"} 1)") != std::string::npos);
  CHECK(metrics->body.find(R"(leanpoint_upstream_up{upstream="box"} 1)") != std::string::npos);
  const auto lint =
      testing::run({"/bin/sh", "-c", std::string(kPromtool) + " check metrics < " + dir.write("m.txt", metrics->body)});
  CAPTURE(lint.out);
  CAPTURE(lint.err);
  CHECK(lint.status == 0);
  std::set<std::string> families;
  std::istringstream lines(metrics->body);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("# TYPE ", 0) == 0) families.insert(line.substr(7, line.find(' ', 7) - 7));
  lp.send_signal(SIGTERM);
  CHECK(lp.wait(Clock::now() + 10s) == 0);
  sim.send_signal(SIGTERM);
  CHECK(sim.wait(Clock::now() + 10s) == 0);
  return families;
}

void check_all_exported(const std::set<std::string>& named, const std::set<std::string>& exported) {
  for (const auto& name : named) {
    CAPTURE(name);
    CHECK(exported.count(name) == 1);
  }
}

// The PromQL of every target of every panel (rows hold none).
std::string dashboard_queries(const nlohmann::json& dash) {
  std::string queries;
  for (const auto& panel : dash["panels"])
    if (panel.contains("targets"))
      for (const auto& target : panel["targets"]) queries += target.value("expr", "") + "\n";
  for (const auto& variable : dash["templating"]["list"])
    if (variable.contains("definition")) queries += variable["definition"].get<std::string>() + "\n";
  return queries;
}

}  // namespace

TEST_CASE("the alert rules: promtool check rules, and their unit tests fire and hold as they must") {
  REQUIRE_MESSAGE(std::filesystem::exists(kPromtool), "promtool missing: scripts/setup --test installs it");
  const auto check = testing::run({kPromtool, "check", "rules", contrib("prometheus/leanpoint.rules.yml")});
  CAPTURE(check.out);
  CAPTURE(check.err);
  CHECK(check.status == 0);
  CHECK(check.out.find("SUCCESS: 8 rules found") != std::string::npos);
  const auto test = testing::run({kPromtool, "test", "rules", contrib("prometheus/leanpoint.rules.test.yml")}, {}, 60s);
  CAPTURE(test.out);
  CAPTURE(test.err);
  CHECK(test.status == 0);
  CHECK(test.out.find("SUCCESS") != std::string::npos);
}

TEST_CASE("every alert is unit-tested, and has a runbook line in the README") {
  const std::string rules = read(contrib("prometheus/leanpoint.rules.yml"));
  const std::string tests = read(contrib("prometheus/leanpoint.rules.test.yml"));
  const std::string readme = read(testing::source_dir() + "/README.md");
  const std::regex alert(R"(- alert: (\w+))");
  size_t alerts = 0;
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), alert); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1];
    CAPTURE(name);
    ++alerts;
    CHECK(tests.find("alertname: " + name + "\n") != std::string::npos);
    CHECK(readme.find("| `" + name + "` |") != std::string::npos);
  }
  CHECK(alerts == 8);
}

TEST_CASE("the Grafana dashboard: Grafana's dashboard shape") {
  const auto dash = nlohmann::json::parse(read(contrib("grafana/leanpoint.json")));
  REQUIRE(dash.is_object());
  CHECK(dash["title"].is_string());
  CHECK(dash["uid"] == "leanpoint");
  CHECK(dash["schemaVersion"].is_number_integer());
  // The data source is a variable, so any Prometheus can be picked at import.
  const auto& variables = dash["templating"]["list"];
  REQUIRE(variables.is_array());
  bool datasource_variable = false;
  for (const auto& v : variables)
    datasource_variable |= v["type"] == "datasource" && v["name"] == "datasource" && v["query"] == "prometheus";
  CHECK(datasource_variable);
  REQUIRE(dash["panels"].is_array());
  std::set<int> ids;
  size_t graphs = 0;
  for (const auto& p : dash["panels"]) {
    CAPTURE(p.value("title", ""));
    CHECK(p["id"].is_number_integer());
    CHECK(ids.insert(p["id"].get<int>()).second);
    const auto& g = p["gridPos"];
    REQUIRE(g.is_object());
    for (const char* k : {"x", "y", "w", "h"}) CHECK(g[k].is_number_integer());
    CHECK(g["x"].get<int>() + g["w"].get<int>() <= 24);
    if (p["type"] == "row") continue;
    ++graphs;
    CHECK(p["datasource"]["uid"] == "${datasource}");
    REQUIRE(p["targets"].is_array());
    CHECK_FALSE(p["targets"].empty());
    for (const auto& t : p["targets"]) {
      CHECK(t["expr"].is_string());
      CHECK(t["refId"].is_string());
      CHECK(t["datasource"]["uid"] == "${datasource}");
    }
  }
  CHECK(graphs >= 20);
}

TEST_CASE("every metric the rules and the dashboard name is one a running leanpoint exports") {
  const std::set<std::string> exported = exported_families();
  REQUIRE(exported.size() > 40);
  CHECK(exported.count("leanpoint_upstream_head_slot") == 1);
  const auto rules = metric_names(read(contrib("prometheus/leanpoint.rules.yml")));
  CHECK(rules.size() >= 8);
  check_all_exported(rules, exported);
  const auto dashboard =
      metric_names(dashboard_queries(nlohmann::json::parse(read(contrib("grafana/leanpoint.json")))));
  CHECK(dashboard.size() >= 30);
  check_all_exported(dashboard, exported);
  // The dashboard shows what the issue asks: finality, upstreams, agreement, anchor, serving, descriptors.
  for (const char* name : {"leanpoint_finalized_slot", "leanpoint_upstream_latency_seconds",
                           "leanpoint_upstream_errors_total", "leanpoint_agreement_votes", "leanpoint_anchor_slot",
                           "leanpoint_requests_total", "leanpoint_pool_queued", "leanpoint_open_fds"}) {
    CAPTURE(name);
    CHECK(dashboard.count(name) == 1);
  }
}
