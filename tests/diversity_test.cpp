// --min-agreeing-clients: a majority that runs too few client implementations
// is no agreement. First the poller's rounds against an in-process devnet
// (5 nodes of one implementation on a fork against 3 of three others; a
// reload that changes the implementations), then the binary against
// lean-devnet-sim: /status, /api/upstreams, /metrics and /healthz.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "devnet.h"
#include "health.h"
#include "poller.h"
#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using leanpoint::NoAgreement;
using leanpoint::Poller;
using leanpoint::PollerOptions;
using leanpoint::Snapshot;
using leanpoint::SnapshotStore;
using leanpoint::Upstream;
using leanpoint::sim::Fault;
using testing::Clock;
using namespace std::chrono_literals;

namespace {

// Nodes 0-4 on the fork, 5-7 on the honest chain.
constexpr size_t kForked = 5;

// The devnet's upstreams, the forked ones running `fork_clients[i]`, the
// others ream, lantern and ethlambda.
std::vector<Upstream> with_clients(const testing::Devnet& net, const std::vector<std::string>& fork_clients) {
  std::vector<Upstream> ups = net.upstreams();
  const char* const honest[] = {"ream", "lantern", "ethlambda"};
  for (size_t i = 0; i < ups.size(); ++i) ups[i].client = i < kForked ? fork_clients[i] : honest[i - kForked];
  return ups;
}

struct Harness {
  testing::Devnet net;
  SnapshotStore store;
  std::unique_ptr<Poller> poller;

  Harness() {
    for (size_t i = 0; i < 8; ++i) net.add(i < kForked ? Fault::fork : Fault::none);
  }
  void start(uint64_t min_clients, const std::vector<std::string>& fork_clients) {
    PollerOptions o = net.poller_options();
    o.min_agreeing_clients = min_clients;
    poller = std::make_unique<Poller>(o, with_clients(net, fork_clients), store);
  }
  std::shared_ptr<const Snapshot> round() {
    poller->run_round();
    return store.load();
  }
  leanpoint::lean::Checkpoint fork_finalized() const {
    return net.fork().checkpoint_at(leanpoint::sim::finalized_slot(net.head()));
  }
};

const std::vector<std::string> kAllZeam(kForked, "zeam");
const std::vector<std::string> kZeamAndQlean = {"zeam", "zeam", "zeam", "qlean", "qlean"};

}  // namespace

TEST_CASE("K = 1 is today's rule: five nodes of one implementation on a fork win the vote") {
  Harness h;
  h.start(1, kAllZeam);
  const auto s = h.round();
  REQUIRE(s->agreement.checkpoint);
  CHECK(*s->agreement.checkpoint == h.fork_finalized());
  CHECK(s->agreement.votes == 5);
  CHECK(s->agreement.clients == std::vector<std::string>{"zeam"});
  CHECK(s->rounds_insufficient_client_diversity_total == 0);
  CHECK(s->settings.min_clients == 1);
  REQUIRE(s->anchor);
  CHECK(s->anchor->checkpoint == h.fork_finalized());
}

TEST_CASE("K = 2: the one-implementation majority is no agreement, and says why") {
  Harness h;
  h.start(2, kAllZeam);
  const auto s = h.round();
  CHECK_FALSE(s->agreement.checkpoint);
  CHECK(s->agreement.why == NoAgreement::insufficient_client_diversity);
  REQUIRE(s->agreement.majority);
  CHECK(*s->agreement.majority == h.fork_finalized());
  CHECK(s->agreement.clients == std::vector<std::string>{"zeam"});
  CHECK(s->rounds_insufficient_client_diversity_total == 1);
  CHECK(s->rounds_without_agreement_total == 1);
  CHECK(s->last_error.find("insufficient client diversity: the 5 of 8 answering upstreams on ") == 0);
  CHECK(s->last_error.find("run 1 implementation(s) (zeam), below --min-agreeing-clients 2") != std::string::npos);
  CHECK(s->anchor == nullptr);
  CHECK(s->agreed_at_ms == 0);
  for (const auto& u : s->upstreams) CHECK_FALSE(u.agrees);
  CHECK(s->upstreams[0].client == "zeam");
  CHECK(s->upstreams[7].client == "ethlambda");
  CHECK(h.round()->rounds_insufficient_client_diversity_total == 2);
}

TEST_CASE("a reload that changes the implementations: agreement forms, then breaks with the anchor kept") {
  Harness h;
  h.start(2, kAllZeam);
  CHECK_FALSE(h.round()->agreement.checkpoint);

  // The operator says two of the forked nodes run qlean: two implementations.
  h.poller->set_upstreams(with_clients(h.net, kZeamAndQlean));
  auto s = h.round();
  REQUIRE(s->agreement.checkpoint);
  CHECK(s->agreement.why == NoAgreement::none);
  CHECK(s->agreement.clients == std::vector<std::string>{"qlean", "zeam"});
  CHECK(s->upstreams[3].client == "qlean");  // the row kept (same name and URL), its client changed
  REQUIRE(s->anchor);
  const auto agreed = *s->agreement.checkpoint;
  CHECK(s->anchor->checkpoint == agreed);
  const int64_t agreed_at = s->agreed_at_ms;
  const auto& health_options = leanpoint::HealthOptions{};
  CHECK(leanpoint::assess(*s, agreed_at, health_options, {}).ok());

  // Finality moves on; then a reload says they all run zeam after all.
  h.net.set_head(h.net.head() + 8);
  h.poller->set_upstreams(with_clients(h.net, kAllZeam));
  s = h.round();
  CHECK_FALSE(s->agreement.checkpoint);
  CHECK(s->agreement.why == NoAgreement::insufficient_client_diversity);
  REQUIRE(s->agreement.majority);
  CHECK(*s->agreement.majority == h.fork_finalized());
  CHECK(s->agreement.majority->slot > agreed.slot);  // a newer majority checkpoint, not taken
  CHECK(s->upstreams[3].client == "zeam");
  // The last verified anchor is still served; nothing new agreed.
  REQUIRE(s->anchor);
  CHECK(s->anchor->checkpoint == agreed);
  CHECK(s->agreed_at_ms == agreed_at);
  REQUIRE(s->history.size() == 1);
  CHECK(s->history.back().checkpoint == agreed);
  // /healthz treats it as a disagreeing round: healthy until --stale-ms has passed, then stale.
  CHECK(leanpoint::assess(*s, agreed_at + health_options.stale_ms, health_options, {}).ok());
  const auto later = leanpoint::assess(*s, agreed_at + health_options.stale_ms + 1, health_options, {});
  CHECK(later.failing == std::vector<leanpoint::HealthReason>{leanpoint::HealthReason::stale});
}

TEST_CASE("upstreams of no known implementation count as one together") {
  Harness h;
  // The forked nodes' implementations are not known: one implementation.
  h.start(2, std::vector<std::string>(kForked, ""));
  auto s = h.round();
  CHECK(s->agreement.why == NoAgreement::insufficient_client_diversity);
  CHECK(s->agreement.clients == std::vector<std::string>{""});
  CHECK(s->last_error.find("(unknown)") != std::string::npos);
  // One known beside them makes two.
  h.poller->set_upstreams(with_clients(h.net, {"", "", "", "", "gean"}));
  s = h.round();
  REQUIRE(s->agreement.checkpoint);
  CHECK(s->agreement.clients == std::vector<std::string>{"", "gean"});
}

namespace {

// lean-devnet-sim's upstreams file with the nodes renamed as lean-quickstart
// would name them: forked nodes zeam_0-4 (`clients` overriding some), the
// others ream_0, lantern_0, ethlambda_0.
std::string quickstart_file(const std::string& sim_file, const std::map<std::string, std::string>& clients) {
  std::ifstream in(sim_file);
  nlohmann::json doc = nlohmann::json::parse(in);
  const char* const honest[] = {"ream_0", "lantern_0", "ethlambda_0"};
  auto& ups = doc["upstreams"];
  for (size_t i = 0; i < ups.size(); ++i) {
    const std::string name = i < kForked ? "zeam_" + std::to_string(i) : honest[i - kForked];
    ups[i]["name"] = name;
    if (clients.count(name)) ups[i]["client"] = clients.at(name);
  }
  return doc.dump();
}

nlohmann::json get_json(uint16_t port, const std::string& path) {
  const auto r = testing::get(port, path);
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return nlohmann::json::parse(r->body);
}

// Polls /status until `pred` holds or 20 s pass.
nlohmann::json status_when(uint16_t port, const std::function<bool(const nlohmann::json&)>& pred) {
  nlohmann::json s;
  for (const auto by = Clock::now() + 20s; Clock::now() < by;) {
    s = get_json(port, "/status");
    if (pred(s)) break;
    std::this_thread::sleep_for(20ms);  // a poll's pause, not a wait for the event: the loop checks it
  }
  return s;
}

bool undiverse(const nlohmann::json& s) { return s["agreement"]["reason"] == "insufficient_client_diversity"; }

}  // namespace

TEST_CASE("the binary against lean-devnet-sim: reported in /status, /api/upstreams, /metrics, /healthz; reloads") {
  testing::TempDir dir;
  // Slots of a minute: finality stands still while the test looks.
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "8", "--base-port", "0", "--slot-ms", "60000", "--fault",
                           "0=fork", "--fault", "1=fork", "--fault", "2=fork", "--fault", "3=fork", "--fault", "4=fork",
                           "--upstreams-out", dir.path() + "/sim.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  const std::string file = dir.write("upstreams.json", quickstart_file(dir.path() + "/sim.json", {}));
  const uint16_t port = testing::free_port();
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstreams-config", file, "--bind", "127.0.0.1", "--port",
                          std::to_string(port), "--poll-ms", "200", "--timeout-ms", "150", "--stale-ms", "2000"},
                         {"LEANPOINT_MIN_AGREEING_CLIENTS=2"});
  REQUIRE(lp.wait_for_stderr("ready; waiting for SIGINT or SIGTERM", Clock::now() + 10s));

  // 1. The zeam majority is refused; nothing was ever agreed.
  auto s = status_when(port, undiverse);
  REQUIRE(undiverse(s));
  CHECK(s["has_consensus"] == false);
  CHECK(s["agreement"]["clients"] == nlohmann::json::array({"zeam"}));
  CHECK(s["agreement"]["min_clients"] == 2);
  CHECK(s["agreement"]["votes"] == 5);
  CHECK(s["round"]["rounds_insufficient_client_diversity_total"].get<uint64_t>() >= 1);
  CHECK(s["anchor"].is_null());
  CHECK(s["last_error"].get<std::string>().find("(zeam), below --min-agreeing-clients 2") != std::string::npos);
  const auto ups = get_json(port, "/api/upstreams");
  CHECK(ups["upstreams"][0]["client"] == "zeam");
  CHECK(ups["upstreams"][5]["client"] == "ream");
  CHECK(ups["upstreams"][7]["client"] == "ethlambda");
  CHECK(ups["upstreams"][0]["head_slot"].is_number());
  CHECK(ups["consensus"]["reason"] == "insufficient_client_diversity");
  const std::string metrics = testing::get(port, "/metrics")->body;
  CHECK(metrics.find(R"(leanpoint_upstream_up{upstream="zeam_0",client="zeam"} 1)") != std::string::npos);
  CHECK(metrics.find(R"(leanpoint_upstream_head_slot{upstream="ream_0",client="ream"} )") != std::string::npos);
  CHECK(metrics.find("leanpoint_agreement_clients 1\n") != std::string::npos);
  CHECK(metrics.find("leanpoint_min_agreeing_clients 2\n") != std::string::npos);
  CHECK(metrics.find("leanpoint_rounds_insufficient_client_diversity_total 0\n") == std::string::npos);
  CHECK(testing::get(port, "/healthz")->body.find("no_agreement") != std::string::npos);

  // 2. A reload: zeam_3 and zeam_4 run qlean. Two implementations agree; the fork's anchor is served.
  dir.write("upstreams.json", quickstart_file(dir.path() + "/sim.json", {{"zeam_3", "qlean"}, {"zeam_4", "qlean"}}));
  lp.send_signal(SIGHUP);
  s = status_when(port, [](const nlohmann::json& j) { return j["has_consensus"] == true && !j["anchor"].is_null(); });
  REQUIRE(s["has_consensus"] == true);
  CHECK(s["agreement"]["reason"].is_null());
  CHECK(s["agreement"]["clients"] == nlohmann::json::array({"qlean", "zeam"}));
  const auto anchored = s["anchor"]["slot"];
  CHECK(get_json(port, "/api/upstreams")["upstreams"][3]["client"] == "qlean");
  CHECK(testing::get(port, "/metrics")->body.find(R"(leanpoint_upstream_up{upstream="zeam_3",client="qlean"} 1)") !=
        std::string::npos);

  // 3. A reload back: refused again, the anchor kept; /healthz like a disagreeing round (stale only later).
  dir.write("upstreams.json", quickstart_file(dir.path() + "/sim.json", {}));
  lp.send_signal(SIGHUP);
  s = status_when(port, undiverse);
  REQUIRE(undiverse(s));
  REQUIRE(!s["anchor"].is_null());
  CHECK(s["anchor"]["slot"] == anchored);
  CHECK(testing::get(port, "/lean/v0/states/finalized")->status == 200);
  const auto failing = s["health"]["failing"];
  CHECK((failing.empty() || failing == nlohmann::json::array({"stale"})));
  s = status_when(port, [](const nlohmann::json& j) { return !j["health"]["failing"].empty(); });
  CHECK(s["health"]["failing"] == nlohmann::json::array({"stale"}));
  CHECK(testing::get(port, "/healthz")->body == "stale\n");

  lp.send_signal(SIGTERM);
  CHECK(lp.wait(Clock::now() + 10s) == 0);
  // Warned once per episode (two here; one more should finality move meanwhile), not once per round.
  size_t warnings = 0;
  for (size_t at = 0; (at = lp.err().find("WARN round ", at)) != std::string::npos; ++at)
    warnings += lp.err().compare(lp.err().find(": ", at) + 2, 30, "insufficient client diversity:") == 0;
  CHECK(s["round"]["number"].get<uint64_t>() > 10);
  CHECK(warnings >= 2);
  CHECK(warnings <= 4);
  sim.send_signal(SIGTERM);
  CHECK(sim.wait(Clock::now() + 10s) == 0);
}

TEST_CASE("the binary: a --min-agreeing-clients that can never be met exits 2 naming the implementations") {
  const auto r = testing::run({testing::leanpoint_bin(), "--upstream", "zeam_0=http://127.0.0.1:1", "--upstream",
                               "zeam_1=http://127.0.0.1:2", "--upstream", "box=http://127.0.0.1:3",
                               "--min-agreeing-clients", "3"});
  CHECK(r.status == 2);
  CHECK(r.err ==
        "leanpoint: --min-agreeing-clients 3 can never be met: the upstreams run 2 implementation(s) (unknown, zeam); "
        "give 1-2, or name each upstream's \"client\"\n");
  testing::TempDir dir;
  const auto bad =
      testing::run({testing::leanpoint_bin(), "--upstreams-config",
                    dir.write("u.json", R"({"upstreams":[{"name":"a","url":"http://127.0.0.1:1","client":"Zeam"}]})")});
  CHECK(bad.status == 2);
  CHECK(bad.err.find("upstreams[0] (a): client 'Zeam' refused: a client is 1-32 bytes of lowercase letters") !=
        std::string::npos);
}

TEST_CASE("the dashboard in headless Chromium: each upstream's client and head, and why nothing was agreed") {
  const std::string chromium = "/usr/bin/chromium";
  REQUIRE_MESSAGE(std::filesystem::exists(chromium), "chromium missing: scripts/setup --test installs it");
  testing::TempDir dir;
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "8", "--base-port", "0", "--slot-ms", "60000", "--fault",
                           "0=fork", "--fault", "1=fork", "--fault", "2=fork", "--fault", "3=fork", "--fault", "4=fork",
                           "--upstreams-out", dir.path() + "/sim.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  const std::string file = dir.write("upstreams.json", quickstart_file(dir.path() + "/sim.json", {}));
  const uint16_t port = testing::free_port();
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstreams-config", file, "--bind", "127.0.0.1", "--port",
                          std::to_string(port), "--poll-ms", "500", "--timeout-ms", "300", "--min-agreeing-clients",
                          "2"});
  REQUIRE(lp.wait_for_stderr("ready; waiting for SIGINT or SIGTERM", Clock::now() + 10s));
  REQUIRE(undiverse(status_when(port, undiverse)));
  const auto dom = testing::run(
      {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
       "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + dir.path() + "/profile",
       "--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:" + std::to_string(port) + "/"},
      {}, 60s);
  REQUIRE(dom.status == 0);
  CHECK(dom.out.find("insufficient client diversity: the majority runs zeam, below 2 implementations") !=
        std::string::npos);
  CHECK(dom.out.find(R"(<td data-label="Client">zeam</td>)") != std::string::npos);
  CHECK(dom.out.find(R"(<td data-label="Client">ethlambda</td>)") != std::string::npos);
  const std::regex head(R"re(<td data-label="Head">(\d+)</td>)re");
  CHECK(std::distance(std::sregex_iterator(dom.out.begin(), dom.out.end(), head), std::sregex_iterator()) == 8);
  lp.send_signal(SIGTERM);
  CHECK(lp.wait(Clock::now() + 10s) == 0);
  sim.send_signal(SIGTERM);
  CHECK(sim.wait(Clock::now() + 10s) == 0);
}
