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
#include "text.h"
#include "version.h"

using namespace leanpoint::sim;

namespace {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string fault_names() {
  std::string names;
  for (int f = static_cast<int>(Fault::none); f <= static_cast<int>(Fault::stale_justified); ++f)
    names += (names.empty() ? "" : ", ") + to_string(static_cast<Fault>(f));
  return names;
}

// What the command line asks for.
struct Flags {
  size_t nodes = 8;
  uint16_t base_port = 19080;
  int64_t slot_ms = 4000;
  uint64_t start_slot = 24;
  int64_t genesis_time = -1;
  size_t validators = 8;
  uint64_t lag = 3;
  int64_t flap_ms = 10000;
  int64_t drip_ms = 200;
  size_t fork_choice_nodes = 0;
  std::string stall_finality;
  std::vector<std::string> faults;
  std::string upstreams_out;
};

void add_flags(CLI::App& app, Flags& f) {
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(36);
  app.add_option("--nodes", f.nodes, "Number of nodes")->check(CLI::Range(1, 1000));
  app.add_option("--base-port", f.base_port, "Port of node 0; node i listens on base+i (0: any free ports)");
  app.add_option("--slot-ms", f.slot_ms, "Slot duration, ms")->check(CLI::Range(int64_t{1}, int64_t{3600000}));
  app.add_option("--start-slot", f.start_slot, "Head slot at start (unless --genesis-time is given)");
  app.add_option("--genesis-time", f.genesis_time, "Genesis, unix seconds (default: --start-slot slots ago)")
      ->default_str("");
  app.add_option("--validators", f.validators, "Validators in the state")->check(CLI::Range(1, 4096));
  app.add_option("--fault", f.faults, "Fault of one node, INDEX=KIND (repeatable). Kinds: " + fault_names())
      ->type_name("I=KIND")
      ->default_str("");
  app.add_option("--lag", f.lag, "Slots behind, for lag nodes");
  app.add_option("--flap-ms", f.flap_ms, "Down/up period, for flap nodes")->check(CLI::PositiveNumber);
  app.add_option("--drip-ms", f.drip_ms, "Pause between bytes, for drip nodes")->check(CLI::PositiveNumber);
  app.add_option("--fork-choice-nodes", f.fork_choice_nodes,
                 "Older blocks every fork_choice lists besides its own (a long non-finality; ~210 bytes each; with "
                 "--stall-finality, only while finality stands still)");
  app.add_option("--stall-finality", f.stall_finality,
                 "Finality stands still from head slot FROM until UNTIL: fork_choice grows a block per slot")
      ->type_name("FROM:UNTIL")
      ->default_str("");
  app.add_option("--upstreams-out", f.upstreams_out, "Write a leanpoint upstreams file here")->default_str("");
  app.set_version_flag("--version", "lean-devnet-sim " LEANPOINT_VERSION);
}

// Each node's options from the flags; throws CLI::ValidationError.
std::vector<NodeOptions> node_options(const Flags& f) {
  std::vector<NodeOptions> options(f.nodes);
  for (const auto& text : f.faults) {
    const size_t eq = text.find('=');
    const auto fault = eq == std::string::npos ? std::nullopt : parse_fault(text.substr(eq + 1));
    const auto index = leanpoint::parse_decimal(std::string_view(text).substr(0, std::min(eq, text.size())));
    if (!fault || !index || *index >= f.nodes)
      throw CLI::ValidationError(
          "--fault", "'" + text + "': expected INDEX=KIND with INDEX below --nodes and KIND one of " + fault_names());
    options[*index].fault = *fault;
  }
  if (!f.stall_finality.empty()) {
    const size_t colon = f.stall_finality.find(':');
    const std::string_view text(f.stall_finality);
    const auto from = leanpoint::parse_decimal(text.substr(0, std::min(colon, text.size())));
    const auto until = colon == std::string::npos ? std::nullopt : leanpoint::parse_decimal(text.substr(colon + 1));
    if (!from || !until || *until < *from)
      throw CLI::ValidationError("--stall-finality", "'" + f.stall_finality + "': expected FROM:UNTIL, FROM <= UNTIL");
    for (auto& o : options)
      o.finality_from = [from = *from, until = *until](uint64_t head) {
        return head >= from && head < until ? from : head;
      };
  }
  if (f.base_port != 0 && f.base_port + f.nodes - 1 > 65535)
    throw CLI::ValidationError("--base-port", "nodes would run past port 65535");
  for (auto& o : options) {
    o.lag = f.lag;
    o.flap_period = std::chrono::milliseconds(f.flap_ms);
    o.drip_interval = std::chrono::milliseconds(f.drip_ms);
  }
  return options;
}

// The upstreams file leanpoint reads, and one line per node on stdout.
bool write_upstreams(const Flags& f, const std::vector<NodeOptions>& options,
                     const std::vector<std::unique_ptr<Node>>& running) {
  nlohmann::json upstreams = nlohmann::json::array();
  for (size_t i = 0; i < running.size(); ++i) {
    const std::string name = "node" + std::to_string(i) + "_" + to_string(options[i].fault);
    upstreams.push_back({{"name", name}, {"url", running[i]->url()}, {"path", "/lean/v0/health"}});
    std::cout << name << " " << running[i]->url() << "\n";
  }
  if (f.upstreams_out.empty()) return true;
  std::ofstream out(f.upstreams_out);
  out << nlohmann::json{{"upstreams", upstreams}}.dump(2) << "\n";
  return static_cast<bool>(out);
}

// SIGINT and SIGTERM, blocked in every thread and waited for by main.
sigset_t block_stop_signals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return stop;
}

}  // namespace

int main(int argc, char** argv) {
  const sigset_t stop = block_stop_signals();

  CLI::App app{"lean-devnet-sim " LEANPOINT_VERSION
               " - simulated lean nodes on 127.0.0.1 for trying and testing leanpoint",
               "lean-devnet-sim"};
  Flags f;
  add_flags(app, f);
  std::vector<NodeOptions> options;
  try {
    app.parse(argc, argv);
    options = node_options(f);
  } catch (const CLI::Success& e) {
    std::cout << (e.get_name() == "CallForVersion" ? std::string(e.what()) + "\n" : app.help());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "lean-devnet-sim: " << e.what() << "\n";
    return 2;
  }

  const int64_t genesis_ms =
      f.genesis_time >= 0 ? f.genesis_time * 1000 : now_ms() - static_cast<int64_t>(f.start_slot) * f.slot_ms;
  const uint64_t genesis_s = static_cast<uint64_t>(genesis_ms / 1000);
  // Slots count from the genesis second, as the state's genesis_time says.
  auto head = [genesis_s, slot_ms = f.slot_ms] {
    const int64_t since = now_ms() - static_cast<int64_t>(genesis_s) * 1000;
    return since > 0 ? static_cast<uint64_t>(since / slot_ms) : 0;
  };
  auto canonical = std::make_shared<Chain>(1, genesis_s, f.validators);
  auto fork = std::make_shared<Chain>(2, genesis_s, f.validators);

  const auto extra_nodes = f.fork_choice_nodes ? synthetic_nodes(f.fork_choice_nodes) : nullptr;
  std::vector<std::unique_ptr<Node>> running;
  try {
    for (size_t i = 0; i < f.nodes; ++i) {
      options[i].extra_nodes = extra_nodes;
      running.push_back(std::make_unique<Node>(canonical, fork, head, options[i],
                                               f.base_port ? static_cast<uint16_t>(f.base_port + i) : 0));
    }
  } catch (const std::exception& e) {  // a node could not listen: the sim's own, it ends here
    std::cerr << "lean-devnet-sim: " << e.what() << "\n";
    return 1;
  }
  if (!write_upstreams(f, options, running)) {
    std::cerr << "lean-devnet-sim: cannot write " << f.upstreams_out << "\n";
    return 1;
  }
  std::cout << "ready: " << f.nodes << " nodes, genesis " << genesis_s << ", slot " << f.slot_ms << " ms, head at slot "
            << head() << std::endl;

  int signal = 0;
  while (sigwait(&stop, &signal) != 0) {
  }
  std::cout << "stopping on " << (signal == SIGINT ? "SIGINT" : "SIGTERM") << std::endl;
  running.clear();  // each node stops and joins its connections
  return 0;
}
