// The image as lean-quickstart runs it (scripts/test --image): its
// sync-leanpoint-upstreams.sh writes upstreams.json (names like zeam_0, URLs
// http://host.docker.internal:PORT with --docker, each with "path":
// "/v0/health") and runs, with no arguments for the image,
//
//   docker pull $LEANPOINT_IMAGE
//   docker stop leanpoint; docker rm leanpoint
//   docker run -d --name leanpoint --restart unless-stopped -p ${LEANPOINT_HOST_PORT:-5555}:5555
//     -v $upstreams:/etc/leanpoint/upstreams.json:ro $LEANPOINT_IMAGE   (one line)
//
// Here those lines run as written, through the `docker` of Debian's
// podman-docker (a podman wrapper), pulling from a registry on 127.0.0.1
// (Debian's docker-registry) that holds leanpoint:latest. What the wrapper
// needs on this machine goes in config files, never on the command lines:
// containers.conf (CONTAINERS_CONF: scripts/image's runtime, cgroup manager
// and ulimits; slirp4netns with the host's loopback at 10.0.2.2, so that the
// container reaches lean-devnet-sim on 127.0.0.1 and -p publishes; a hosts
// file naming 10.0.2.2 host.docker.internal, as Docker Desktop does) and
// registries.conf (CONTAINERS_REGISTRIES_CONF: the local registry is plain
// http). The container's name is made unique per run instead of `leanpoint`,
// so that a developer's own leanpoint container is never stopped by a test.
//
// Then the sequence runs again with one upstream removed, as quickstart does
// after a devnet change. Each time the container serves, on the published
// port, a state and block that verify against each other and are the
// simulated devnet's own finalized checkpoint.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "anchor.h"
#include "chain.h"
#include "hex.h"
#include "image_engine.h"
#include "local_registry.h"
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

// containers.conf(5) for the `docker` wrapper: scripts/image's flags for this
// machine (--runtime, --cgroup-manager, --ulimit) as settings, plus the network.
std::string containers_conf(const testing::ImageEngine& e, const std::string& hosts_file) {
  std::string runtime, cgroups, ulimits = "\"nofile=1024:1024\"";  // Docker's default descriptor limit
  std::vector<std::string> flags(e.base.begin() + 1, e.base.end());
  flags.insert(flags.end(), e.run_flags.begin(), e.run_flags.end());
  for (size_t i = 0; i < flags.size(); ++i) {
    const std::string& f = flags[i];
    if (f == "--runtime" && i + 1 < flags.size()) runtime = flags[++i];
    if (f.rfind("--cgroup-manager=", 0) == 0) cgroups = f.substr(17);
    if (f == "--ulimit" && i + 1 < flags.size() && flags[i + 1].rfind("nofile=", 0) != 0)
      ulimits += ", \"" + flags[++i] + "\"";
  }
  std::string conf = "[containers]\nnetns = \"slirp4netns\"\ndefault_ulimits = [" + ulimits +
                     "]\nbase_hosts_file = \"" + hosts_file + "\"\n[engine]\n" +
                     "network_cmd_options = [\"allow_host_loopback=true\"]\n";
  if (!runtime.empty()) conf += "runtime = \"" + runtime + "\"\n";
  if (!cgroups.empty()) conf += "cgroup_manager = \"" + cgroups + "\"\n";
  return conf;
}

// The upstreams.json quickstart writes with --docker.
std::string upstreams_json(const std::vector<std::pair<std::string, uint16_t>>& nodes) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [name, port] : nodes)
    list.push_back(
        {{"name", name}, {"url", "http://host.docker.internal:" + std::to_string(port)}, {"path", "/v0/health"}});
  return nlohmann::json{{"upstreams", list}}.dump(2) + "\n";
}

// quickstart's lines, as they are, but for the container's name.
std::string sequence(const std::string& name) {
  std::string s =
      "docker pull $LEANPOINT_IMAGE\n"
      "docker stop leanpoint; docker rm leanpoint\n"
      "docker run -d --name leanpoint --restart unless-stopped -p ${LEANPOINT_HOST_PORT:-5555}:5555 "
      "-v $upstreams:/etc/leanpoint/upstreams.json:ro $LEANPOINT_IMAGE\n";
  for (const std::string word : {"stop leanpoint;", "rm leanpoint\n", "--name leanpoint "}) {
    const size_t at = s.find(word);
    REQUIRE(at != std::string::npos);
    s.replace(at + word.find("leanpoint"), 9, name);
  }
  return s;
}

// Polls until `path` answers 200 or `deadline`; the last answer's status.
int await_200(uint16_t port, const std::string& path, Clock::time_point deadline) {
  int status = 0;
  for (; Clock::now() < deadline; std::this_thread::sleep_for(250ms)) {
    const auto r = testing::get(port, path);
    status = r ? r->status : 0;
    if (status == 200) break;
  }
  return status;
}

// The upstream names leanpoint polls, from /api/upstreams, and each one's path.
std::map<std::string, std::string> polled(uint16_t port) {
  const auto r = testing::get(port, "/api/upstreams");
  REQUIRE(r);
  REQUIRE(r->status == 200);
  const auto doc = nlohmann::json::parse(r->body);
  std::map<std::string, std::string> names;
  for (const auto& u : doc.at("upstreams")) names[u.at("name")] = u.at("path").is_string() ? u.at("path") : "";
  return names;
}

// The served pair verifies, and is the simulated devnet's finalized
// checkpoint (canonical chain, seed 1) at a slot finality has reached.
void check_anchor(uint16_t port, uint64_t genesis) {
  const auto state = testing::get(port, "/lean/v0/states/finalized");
  const auto block = testing::get(port, "/lean/v0/blocks/finalized");
  REQUIRE(state);
  REQUIRE(block);
  REQUIRE(state->status == 200);
  REQUIRE(block->status == 200);
  const std::string slot_text = state->get_header_value("X-Leanpoint-Slot");
  CHECK(block->get_header_value("X-Leanpoint-Slot") == slot_text);
  const auto root = leanpoint::lean::parse_root(state->get_header_value("X-Leanpoint-Block-Root"));
  REQUIRE(root);
  const uint64_t slot = std::stoull(slot_text);
  const leanpoint::lean::Checkpoint served{*root, slot};

  const auto bytes = [](const std::string& s) {
    return leanpoint::ssz::Bytes(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  const auto verified = leanpoint::verify_anchor(bytes(state->body), bytes(block->body), served, genesis);
  CHECK_MESSAGE(verified.has_value(), (verified ? "" : verified.error().detail));

  const leanpoint::sim::Chain canonical(1, genesis);
  CHECK(canonical.checkpoint_at(slot) == served);
  CHECK(slot > 0);
  CHECK(slot % 4 == 0);  // the sim justifies, and so finalizes, every 4 slots
  const auto now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  CHECK(slot <= leanpoint::sim::finalized_slot(static_cast<uint64_t>(now_s.count()) - genesis));  // 1 s slots
  MESSAGE("served slot " << slot << " root " << leanpoint::to_hex(*root) << ": verified, the sims' finalized chain");
}

}  // namespace

TEST_CASE("lean-quickstart's docker sequence, twice, with podman-docker and a local registry") {
  const auto engine = testing::image_engine();
  auto cmd = [&engine](const std::vector<std::string>& args) { return engine.cmd(args); };
  REQUIRE(testing::run(cmd({"image", "exists", "leanpoint:latest"})).status == 0);
  // The `docker` quickstart calls is podman-docker's wrapper.
  const auto docker_version = testing::run({"/usr/bin/docker", "--version"});
  REQUIRE_MESSAGE(docker_version.out.find("podman") != std::string::npos,
                  "/usr/bin/docker is not podman-docker's wrapper (scripts/setup --image)");
  REQUIRE(fs::exists(testing::LocalRegistry::kBinary));

  testing::TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  testing::LocalRegistry registry;
  const std::string hosts = dir.write("hosts", "10.0.2.2 host.docker.internal\n");
  const std::vector<std::string> env = {
      "CONTAINERS_CONF=" + dir.write("containers.conf", containers_conf(engine, hosts)),
      "CONTAINERS_REGISTRIES_CONF=" + dir.write("registries.conf", registry.registries_conf())};
  auto with_env = [&env](std::vector<std::string> more) {
    more.insert(more.begin(), env.begin(), env.end());
    return more;
  };
  auto podman = [&](const std::vector<std::string>& args, std::chrono::seconds timeout = 60s) {
    std::vector<std::string> argv = {"/usr/bin/podman"};
    argv.insert(argv.end(), args.begin(), args.end());
    return testing::run(argv, env, timeout);
  };

  const std::string tag = "quickstart-" + std::to_string(::getpid());
  const std::string image = registry.address() + "/leanpoint:" + tag;
  const auto pushed = podman({"push", "-q", "leanpoint:latest", image}, 120s);
  REQUIRE_MESSAGE(pushed.status == 0, pushed.err);
  REQUIRE(podman({"image", "exists", image}).status != 0);  // only the pull can bring it

  testing::Subprocess sim({testing::sim_bin(), "--nodes", "4", "--base-port", "0", "--slot-ms", "1000"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  std::vector<uint16_t> ports;
  uint64_t genesis = 0;
  {
    std::istringstream lines(sim.out());
    for (std::string line; std::getline(lines, line);) {
      const size_t colon = line.rfind(':');
      if (line.rfind("node", 0) == 0 && colon != std::string::npos) ports.push_back(std::stoi(line.substr(colon + 1)));
      if (const size_t g = line.find("genesis "); line.rfind("ready:", 0) == 0 && g != std::string::npos)
        genesis = std::stoull(line.substr(g + 8));
    }
  }
  REQUIRE(ports.size() == 4);
  REQUIRE(genesis > 0);
  const std::vector<std::pair<std::string, uint16_t>> nodes = {
      {"zeam_0", ports[0]}, {"ream_0", ports[1]}, {"qlean_0", ports[2]}, {"ethlambda_0", ports[3]}};

  const std::string name = "leanpoint-quickstart-" + std::to_string(::getpid());
  const uint16_t host_port = testing::free_port();
  std::vector<std::string> volumes;
  struct Cleanup {
    std::function<void()> f;
    ~Cleanup() { f(); }
  } cleanup{[&] {
    podman({"rm", "-f", "-v", name}, 60s);
    for (const auto& v : volumes) podman({"volume", "rm", "-f", v});
    podman({"rmi", image});
  }};
  const std::string upstreams = dir.path() + "/upstreams.json";

  // One run of quickstart's sequence with `listed` upstreams; returns the
  // container's id.
  auto run_sequence = [&](const std::vector<std::pair<std::string, uint16_t>>& listed) {
    dir.write("upstreams.json", upstreams_json(listed));
    fs::permissions(upstreams,
                    fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
    const auto r =
        testing::run({"/bin/sh", "-c", sequence(name)},
                     with_env({"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "LEANPOINT_IMAGE=" + image,
                               "LEANPOINT_HOST_PORT=" + std::to_string(host_port), "upstreams=" + upstreams}),
                     180s);
    const auto returned = Clock::now();
    INFO("sequence stdout: " << r.out << "\nstderr: " << r.err);
    REQUIRE(r.status == 0);
    REQUIRE(podman({"image", "exists", image}).status == 0);  // pulled from the registry
    const std::string id = trimmed(podman({"inspect", "-f", "{{.Id}}", name}).out);
    REQUIRE(!id.empty());
    CHECK(trimmed(podman({"inspect", "-f", "{{.State.Status}}", name}).out) == "running");
    CHECK(trimmed(podman({"inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", name}).out) == "unless-stopped");
    std::istringstream mounts(podman({"inspect", "-f", "{{range .Mounts}}{{.Name}} {{end}}", name}).out);
    for (std::string v; mounts >> v;) volumes.push_back(v);

    // Ready on the published port once an anchor verified; then what it serves.
    const int ready = await_200(host_port, "/readyz", returned + 60s);
    if (ready != 200) MESSAGE("container log:\n" << podman({"logs", name}).err);
    REQUIRE(ready == 200);
    MESSAGE(listed.size() << " upstreams: /readyz 200 on the published port "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - returned).count()
                          << " ms after `docker run` returned");
    // --data-dir (LEANPOINT_DATA_DIR) on the image's volume, which user 10001 can write.
    nlohmann::json data_dir;
    for (const auto by = Clock::now() + 30s; Clock::now() < by; std::this_thread::sleep_for(250ms)) {
      const auto r = testing::get(host_port, "/status");
      if (r && r->status == 200) data_dir = nlohmann::json::parse(r->body).at("data_dir");
      if (data_dir.is_object() && data_dir.at("writes_total").get<int>() >= 1) break;
    }
    REQUIRE_MESSAGE(data_dir.is_object(), data_dir.dump());
    CHECK(data_dir.at("path") == "/var/lib/leanpoint");
    CHECK_MESSAGE(data_dir.at("writes_total").get<int>() >= 1, data_dir.dump());
    CHECK_MESSAGE(data_dir.at("write_errors_total").get<int>() == 0, data_dir.dump());
    MESSAGE("anchor written to the volume "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - returned).count()
            << " ms after `docker run` returned");
    const auto names = polled(host_port);
    CHECK(names.size() == listed.size());
    for (const auto& [n, port] : listed) {
      REQUIRE(names.count(n) == 1);
      CHECK(names.at(n) == "/v0/health");
    }
    check_anchor(host_port, genesis);
    // The image's HEALTHCHECK (leanpoint probe .../livez inside the container).
    const auto health = podman({"healthcheck", "run", name});
    CHECK_MESSAGE(health.status == 0, health.out << health.err);
    return id;
  };

  MESSAGE("registry " << registry.address() << ", published port " << host_port << " -> 5555 (slirp4netns)");
  const std::string first = run_sequence(nodes);
  // A devnet change: ethlambda_0 leaves; quickstart recreates the container.
  const std::string second = run_sequence({nodes.begin(), nodes.end() - 1});
  CHECK(second != first);
  CHECK(podman({"container", "exists", first}).status != 0);  // the sequence removed the first
}
