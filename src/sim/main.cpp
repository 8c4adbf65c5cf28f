// lean-devnet-sim: N simulated lean nodes on consecutive 127.0.0.1 ports, for
// trying leanpoint without a devnet and for its integration tests. Slots tick
// every --slot-ms; finality advances every 4 slots; each node may carry one
// fault. Not part of the service.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "node.h"
#include "version.h"

using namespace leanpoint::sim;

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string fault_names() {
  std::string names;
  for (int f = static_cast<int>(Fault::none); f <= static_cast<int>(Fault::deep_json); ++f)
    names += (names.empty() ? "" : ", ") + to_string(static_cast<Fault>(f));
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"lean-devnet-sim " LEANPOINT_VERSION
               " - simulated lean nodes on 127.0.0.1 for trying and testing leanpoint",
               "lean-devnet-sim"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(36);
  size_t nodes = 8;
  uint16_t base_port = 19080;
  int64_t slot_ms = 4000;
  uint64_t start_slot = 24;
  int64_t genesis_time = -1;
  size_t validators = 8;
  uint64_t lag = 3;
  int64_t flap_ms = 10000;
  int64_t drip_ms = 200;
  std::vector<std::string> faults;
  std::string upstreams_out;
  app.add_option("--nodes", nodes, "Number of nodes")->check(CLI::Range(1, 1000));
  app.add_option("--base-port", base_port, "Port of node 0; node i listens on base+i (0: any free ports)");
  app.add_option("--slot-ms", slot_ms, "Slot duration, ms")->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  app.add_option("--start-slot", start_slot, "Head slot at start (unless --genesis-time is given)");
  app.add_option("--genesis-time", genesis_time, "Genesis, unix seconds (default: --start-slot slots ago)")
      ->default_str("");
  app.add_option("--validators", validators, "Validators in the state")->check(CLI::Range(1, 4096));
  app.add_option("--fault", faults, "Fault of one node, INDEX=KIND (repeatable). Kinds: " + fault_names())
      ->type_name("I=KIND")
      ->default_str("");
  app.add_option("--lag", lag, "Slots behind, for lag nodes");
  app.add_option("--flap-ms", flap_ms, "Down/up period, for flap nodes")->check(CLI::PositiveNumber);
  app.add_option("--drip-ms", drip_ms, "Pause between bytes, for drip nodes")->check(CLI::PositiveNumber);
  size_t fork_choice_nodes = 0;
  app.add_option("--fork-choice-nodes", fork_choice_nodes,
                 "Older blocks every fork_choice lists besides its own (a long non-finality; ~210 bytes each)");
  app.add_option("--upstreams-out", upstreams_out, "Write a leanpoint upstreams file here")->default_str("");
  app.set_version_flag("--version", "lean-devnet-sim " LEANPOINT_VERSION);

  std::vector<NodeOptions> options(1);
  try {
    app.parse(argc, argv);
    options.assign(nodes, NodeOptions{});
    for (const auto& f : faults) {
      const size_t eq = f.find('=');
      size_t index = 0;
      const auto fault = eq == std::string::npos ? std::nullopt : parse_fault(f.substr(eq + 1));
      try {
        index = std::stoul(f.substr(0, eq));
      } catch (...) {
        index = nodes;
      }
      if (!fault || index >= nodes)
        throw CLI::ValidationError(
            "--fault", "'" + f + "': expected INDEX=KIND with INDEX below --nodes and KIND one of " + fault_names());
      options[index].fault = *fault;
    }
    if (base_port != 0 && base_port + nodes - 1 > 65535)
      throw CLI::ValidationError("--base-port", "nodes would run past port 65535");
  } catch (const CLI::Success& e) {
    std::cout << (e.get_name() == "CallForVersion" ? std::string(e.what()) + "\n" : app.help());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "lean-devnet-sim: " << e.what() << "\n";
    return 2;
  }

  const int64_t genesis_ms =
      genesis_time >= 0 ? genesis_time * 1000 : now_ms() - static_cast<int64_t>(start_slot) * slot_ms;
  const uint64_t genesis_s = static_cast<uint64_t>(genesis_ms / 1000);
  // Slots count from the genesis second, as the state's genesis_time says.
  auto head = [genesis_s, slot_ms] {
    const int64_t since = now_ms() - static_cast<int64_t>(genesis_s) * 1000;
    return since > 0 ? static_cast<uint64_t>(since / slot_ms) : 0;
  };
  auto canonical = std::make_shared<Chain>(1, genesis_s, validators);
  auto fork = std::make_shared<Chain>(2, genesis_s, validators);

  const auto extra_nodes = fork_choice_nodes ? synthetic_nodes(fork_choice_nodes) : nullptr;
  std::vector<std::unique_ptr<Node>> running;
  try {
    for (size_t i = 0; i < nodes; ++i) {
      options[i].lag = lag;
      options[i].flap_period = std::chrono::milliseconds(flap_ms);
      options[i].drip_interval = std::chrono::milliseconds(drip_ms);
      options[i].extra_nodes = extra_nodes;
      running.push_back(std::make_unique<Node>(canonical, fork, head, options[i],
                                               base_port ? static_cast<uint16_t>(base_port + i) : 0));
    }
  } catch (const std::exception& e) {
    std::cerr << "lean-devnet-sim: " << e.what() << "\n";
    return 1;
  }

  nlohmann::json upstreams = nlohmann::json::array();
  for (size_t i = 0; i < nodes; ++i) {
    const std::string name = "node" + std::to_string(i) + "_" + to_string(options[i].fault);
    upstreams.push_back({{"name", name}, {"url", running[i]->url()}, {"path", "/lean/v0/health"}});
    std::cout << name << " " << running[i]->url() << "\n";
  }
  if (!upstreams_out.empty()) {
    std::ofstream out(upstreams_out);
    out << nlohmann::json{{"upstreams", upstreams}}.dump(2) << "\n";
    if (!out) {
      std::cerr << "lean-devnet-sim: cannot write " << upstreams_out << "\n";
      return 1;
    }
  }
  std::cout << "ready: " << nodes << " nodes, genesis " << genesis_s << ", slot " << slot_ms << " ms, head at slot "
            << head() << std::endl;

  int signal = 0;
  while (sigwait(&stop, &signal) != 0) {
  }
  std::cout << "stopping on " << (signal == SIGINT ? "SIGINT" : "SIGTERM") << std::endl;
  running.clear();  // each node stops and joins its connections
  return 0;
}
