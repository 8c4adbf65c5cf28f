#include "config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "fd_usage.h"
#include "quickstart_config.h"
#include "text.h"
#include "untrusted_text.h"
#include "upstream_url.h"

namespace leanpoint {
namespace {

// nlohmann's messages start with "[json.exception.parse_error.101] parse error
// at line 3, column 5: ..."; keep the part from the position on.
std::string describe_parse_error(const nlohmann::json::parse_error& e) {
  // Escaped: nlohmann quotes the bytes it last read, whatever they are.
  std::string what = untrusted_text(e.what(), 512);
  const auto at = what.find("at line ");
  if (at != std::string::npos) return "invalid JSON " + what.substr(at);
  return "invalid JSON at byte " + std::to_string(e.byte) + ": " + what;
}

Upstream upstream_from_flag(const std::string& value) {
  const std::string where = "--upstream " + single_quoted(untrusted_text(value));
  const size_t eq = value.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(where + ": expected NAME=URL, e.g. zeam_0=http://127.0.0.1:5052");
  Upstream up = upstream_url_or_throw(upstream_name_or_throw(value.substr(0, eq), where), value.substr(eq + 1), where);
  up.client = client_from_name(up.name);
  return up;
}

std::vector<Upstream> upstreams_from_json(std::string_view text, const std::string& source) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(source + ": " + describe_parse_error(e));
  }
  if (!doc.is_object()) throw ConfigError(source + ": expected a JSON object with \"upstreams\"");
  const auto list = doc.find("upstreams");
  if (list == doc.end()) throw ConfigError(source + ": \"upstreams\" is missing");
  if (!list->is_array()) throw ConfigError(source + ": \"upstreams\" must be an array");
  if (list->empty()) throw ConfigError(source + ": \"upstreams\" is empty; list at least one node");

  std::vector<Upstream> upstreams;
  for (size_t i = 0; i < list->size(); ++i) {
    const auto& entry = (*list)[i];
    std::string where = source + ": upstreams[" + std::to_string(i) + "]";
    if (!entry.is_object()) throw ConfigError(where + " must be an object");
    const auto name = entry.find("name");
    if (name != entry.end() && !name->is_string()) throw ConfigError(where + ": \"name\" must be a string");
    if (name != entry.end()) where += " (" + untrusted_text(name->get<std::string>(), 80) + ")";
    const auto url = entry.find("url");
    if (url == entry.end()) throw ConfigError(where + ": \"url\" is missing");
    if (!url->is_string()) throw ConfigError(where + ": \"url\" must be a string");
    const auto path = entry.find("path");
    if (path != entry.end() && !path->is_string()) throw ConfigError(where + ": \"path\" must be a string");
    const auto client = entry.find("client");
    if (client != entry.end() && !client->is_string()) throw ConfigError(where + ": \"client\" must be a string");

    Upstream up = upstream_url_or_throw("", url->get<std::string>(), where);
    if (path != entry.end()) up.path = path->get<std::string>();
    // A nameless entry is named after its address, as the operator would.
    up.name = name != entry.end() ? upstream_name_or_throw(name->get<std::string>(), where) : up.url.substr(7);
    // The operator's word, else what a lean-quickstart name says.
    up.client =
        client != entry.end() ? upstream_client_or_throw(client->get<std::string>(), where) : client_from_name(up.name);
    upstreams.push_back(std::move(up));
  }
  return upstreams;
}

std::vector<Upstream> upstreams_from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  struct stat st {};
  if (!in || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
    const int err = in ? EISDIR : errno;
    throw ConfigError("--upstreams-config: cannot read " + single_quoted(path) + ": " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError("--upstreams-config: error reading " + single_quoted(path));
  if (is_validator_config(path, text.str())) return upstreams_from_validator_config(text.str(), path);
  return upstreams_from_json(text.str(), path);
}

std::vector<Upstream> with_host(std::vector<Upstream> upstreams, const std::string& host) {
  if (host.empty()) return upstreams;
  const bool v6 = host.find(':') != std::string::npos;
  for (Upstream& up : upstreams) {
    std::string path = std::move(up.path);
    std::string client = std::move(up.client);
    up = upstream_url_or_throw(up.name, "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(up.port),
                               "--upstream-host");
    up.path = std::move(path);
    up.client = std::move(client);
  }
  return upstreams;
}

// A --min-agreeing-clients above the implementations configured could never
// be met: no agreement, ever. (Upstreams of no known implementation are one.)
void check_client_diversity(const Config& config) {
  std::set<std::string> clients;
  for (const Upstream& up : config.upstreams) clients.insert(up.client);
  const uint64_t k = config.poller.min_agreeing_clients;
  if (k >= 1 && k <= clients.size()) return;
  std::string list;
  for (const auto& c : clients) list += (list.empty() ? "" : ", ") + (c.empty() ? std::string("unknown") : c);
  throw ConfigError("--min-agreeing-clients " + std::to_string(k) + " can never be met: the upstreams run " +
                    std::to_string(clients.size()) + " implementation(s) (" + list + "); give 1-" +
                    std::to_string(clients.size()) + ", or name each upstream's \"client\"");
}

void check_upstreams(const Config& config) {
  if (config.upstreams.empty())
    throw ConfigError(
        "no upstreams: give --upstreams-config FILE (or LEANPOINT_UPSTREAMS_CONFIG) or "
        "--upstream NAME=URL");
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < config.upstreams.size(); ++i) {
    const auto [it, fresh] = seen.emplace(config.upstreams[i].name, i);
    if (!fresh) {
      const std::string source = config.upstreams_config.empty() ? std::string("--upstream") : config.upstreams_config;
      throw ConfigError(source + ": duplicate upstream name " + single_quoted(config.upstreams[i].name) + " (entries " +
                        std::to_string(it->second) + " and " + std::to_string(i) + ")");
    }
  }
  const uint64_t min_agree = config.poller.min_agree;
  if (min_agree < 1 || min_agree > config.upstreams.size())
    throw ConfigError("--min-agree " + std::to_string(min_agree) + " can never be met by " +
                      std::to_string(config.upstreams.size()) + " upstream(s); give 1-" +
                      std::to_string(config.upstreams.size()));
  check_client_diversity(config);
}

void check_durations(const Config& config) {
  const PollerOptions& p = config.poller;
  const std::pair<const char*, int64_t> durations[] = {{"--poll-ms", p.poll_ms},
                                                       {"--timeout-ms", p.timeout_ms},
                                                       {"--stale-ms", config.site.health.stale_ms},
                                                       {"--max-backoff-ms", p.max_backoff_ms},
                                                       {"--head-timeout-ms", config.server.gate.head_timeout_ms},
                                                       {"--stall-timeout-ms", config.server.gate.stall_timeout_ms}};
  for (const auto& [flag, value] : durations)
    if (value <= 0) throw ConfigError(std::string(flag) + ": must be positive, got " + std::to_string(value));
  if (p.timeout_ms >= p.poll_ms)
    throw ConfigError("--timeout-ms (" + std::to_string(p.timeout_ms) + ") must be smaller than --poll-ms (" +
                      std::to_string(p.poll_ms) + "): a request may not outlive its round");
  if (p.max_backoff_ms < p.poll_ms)
    throw ConfigError("--max-backoff-ms (" + std::to_string(p.max_backoff_ms) + ") must be at least --poll-ms (" +
                      std::to_string(p.poll_ms) + ")");
  const int64_t pin_window = config.site.pin_window_ms;
  if (pin_window < 0 || pin_window > kMaxPinWindowMs)
    throw ConfigError("--pin-window-ms: " + std::to_string(pin_window) + " is outside 0-" +
                      std::to_string(kMaxPinWindowMs) +
                      " (a client's anchor may lag the agreement by about that much)");
  if (config.data_dir_wait_ms < 0 || config.data_dir_wait_ms > kMaxDataDirWaitMs)
    throw ConfigError("--data-dir-wait-ms: " + std::to_string(config.data_dir_wait_ms) + " is outside 0-" +
                      std::to_string(kMaxDataDirWaitMs));
  const int64_t drain = config.server.drain_ms;
  if (drain < 0 || drain > kMaxDrainMs)
    throw ConfigError("--drain-ms: " + std::to_string(drain) + " is outside 0-" + std::to_string(kMaxDrainMs) +
                      " (0: stop at once)");
}

void check_sizes(const Config& config) {
  const PollerOptions& p = config.poller;
  if (p.max_json_bytes < kMinJsonBytes)
    throw ConfigError("--max-json-bytes " + std::to_string(p.max_json_bytes) + " is below " +
                      describe_size(kMinJsonBytes) + "; fork_choice lists every block since finality");
  if (p.history_rounds > kMaxHistoryRounds)
    throw ConfigError("--history-rounds: " + std::to_string(p.history_rounds) + " is outside 0-" +
                      std::to_string(kMaxHistoryRounds) + " (each round keeps a record per upstream)");
  if (p.fork_choice_refresh_rounds < 1)
    throw ConfigError("--fork-choice-refresh-rounds must be at least 1 (1: fork_choice every round)");
  if (p.max_state_bytes < kMinStateBytes)
    throw ConfigError("--max-state-bytes " + std::to_string(p.max_state_bytes) + " is below " +
                      describe_size(kMinStateBytes) + "; real finalized states pass 2 MB within days");
  for (const auto& [flag, workers] : {std::pair{"--artifact-workers", config.server.artifact_workers},
                                      std::pair{"--api-workers", config.server.api_workers}})
    if (workers < 1 || workers > kMaxWorkers)
      throw ConfigError(std::string(flag) + ": " + std::to_string(workers) + " is outside 1-" +
                        std::to_string(kMaxWorkers));
  const uint64_t threshold = config.site.health.fd_threshold_percent;
  if (threshold < 1 || threshold > 100)
    throw ConfigError("--fd-threshold: " + std::to_string(threshold) + " is not a percentage (1-100)");
}

// A --max-connections that, with the service's own descriptors, does not fit
// the limit: the process would run out of descriptors under load and its
// upstream polls would fail with EMFILE.
void check_descriptor_budget(const ServerOptions& server, size_t fd_limit) {
  const uint64_t max = server.gate.max_connections;
  if (max == 0 || fd_limit == 0) return;  // derived from the limit: always fits
  const size_t headroom = fd_headroom(server.artifact_workers);
  if (max + headroom <= fd_limit) return;
  throw ConfigError("--max-connections " + std::to_string(max) + " needs " + std::to_string(max + headroom) +
                    " descriptors with the service's own " + std::to_string(headroom) + ", but RLIMIT_NOFILE is " +
                    std::to_string(fd_limit) +
                    "; raise the limit (ulimit -n, LimitNOFILE=) or lower --max-connections (0 derives it from the "
                    "limit)");
}

void check_server(const Config& config, size_t fd_limit) {
  const ServerOptions& s = config.server;
  if (s.port < 1 || s.port > 65535) throw ConfigError("--port: " + std::to_string(s.port) + " is outside 1-65535");
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, s.bind.c_str(), &a4) != 1 && inet_pton(AF_INET6, s.bind.c_str(), &a6) != 1)
    throw ConfigError("--bind: " + single_quoted(s.bind) + " is not an IPv4 or IPv6 address");
  check_descriptor_budget(s, fd_limit);
  const std::string& dir = config.site.static_dir;
  if (!dir.empty()) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
      throw ConfigError("--static-dir: " + single_quoted(dir) + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw ConfigError("--static-dir: " + single_quoted(dir) + " is not a directory");
  }
}

void check(const Config& config, size_t fd_limit) {
  check_upstreams(config);
  check_server(config, fd_limit);
  check_durations(config);
  check_sizes(config);
}

}  // namespace

Expected<Upstream, ConfigError> parse_upstream_flag(const std::string& value) {
  return config_result([&] { return upstream_from_flag(value); });
}

Expected<std::vector<Upstream>, ConfigError> parse_upstreams_json(std::string_view text, const std::string& source) {
  return config_result([&] { return upstreams_from_json(text, source); });
}

Expected<std::vector<Upstream>, ConfigError> load_upstreams_file(const std::string& path) {
  return config_result([&] { return upstreams_from_file(path); });
}

Expected<std::vector<Upstream>, ConfigError> override_hosts(std::vector<Upstream> upstreams, const std::string& host) {
  return config_result([&] { return with_host(std::move(upstreams), host); });
}

Expected<void, ConfigError> validate(const Config& config, size_t fd_limit) {
  return config_result([&] { check(config, fd_limit); });
}

Expected<Config, ConfigError> complete(Config config, const std::vector<std::string>& upstream_flags, size_t fd_limit) {
  return config_result([&] {
    if (!config.upstreams_config.empty() && !upstream_flags.empty())
      throw ConfigError(
          "--upstream conflicts with --upstreams-config (or LEANPOINT_UPSTREAMS_CONFIG): "
          "give the upstreams one way");
    if (!config.upstreams_config.empty()) config.upstreams = upstreams_from_file(config.upstreams_config);
    for (const auto& value : upstream_flags) config.upstreams.push_back(upstream_from_flag(value));
    config.upstreams = with_host(std::move(config.upstreams), config.upstream_host);
    check(config, fd_limit);
    return config;
  });
}

Expected<std::vector<Upstream>, ConfigError> reload_upstreams(const Config& running) {
  return config_result([&] {
    if (running.upstreams_config.empty())
      throw ConfigError("the upstreams came from --upstream flags; there is no file to reload");
    Config next = running;
    next.upstreams = with_host(upstreams_from_file(running.upstreams_config), running.upstream_host);
    check(next, 0);
    return next.upstreams;
  });
}

}  // namespace leanpoint
