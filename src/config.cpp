#include "config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cidr.h"
#include "quickstart_config.h"
#include "text.h"

namespace leanpoint {
namespace {

std::string single_quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// nlohmann's messages start with "[json.exception.parse_error.101] parse error
// at line 3, column 5: ..."; keep the part from the position on.
std::string describe_parse_error(const nlohmann::json::parse_error& e) {
  std::string what = e.what();
  const auto at = what.find("at line ");
  if (at != std::string::npos) return "invalid JSON " + what.substr(at);
  return "invalid JSON at byte " + std::to_string(e.byte) + ": " + what;
}

}  // namespace

Upstream parse_upstream_url(std::string name, const std::string& url, const std::string& where) {
  const std::string bad = where + ": url " + single_quoted(url) + " ";
  if (starts_with_nocase(url, "https://"))
    throw ConfigError(bad +
                      "uses https, which leanpoint does not support; poll the node's plain "
                      "http port, or put a TLS-terminating proxy (e.g. stunnel or nginx) on "
                      "this host in front of it and give its http://host:port");
  if (!starts_with_nocase(url, "http://")) throw ConfigError(bad + "is not of the form http://host:port");

  std::string_view rest = std::string_view(url).substr(7);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos && rest.substr(end) != "/")
    throw ConfigError(bad + "has a path, query or fragment; give only http://host:port");
  if (authority.find('@') != std::string_view::npos)
    throw ConfigError(bad + "has user information; give only http://host:port");

  Upstream up;
  up.name = std::move(name);
  up.url = url;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) throw ConfigError(bad + "has an unclosed '[' in its host");
    up.host = std::string(authority.substr(1, close - 1));
    in6_addr addr6{};
    if (inet_pton(AF_INET6, up.host.c_str(), &addr6) != 1)
      throw ConfigError(bad + "has an invalid IPv6 address " + single_quoted(up.host));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw ConfigError(bad + "is not of the form http://host:port");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    up.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (char c : up.host)
      if (!is_host_char(c)) throw ConfigError(bad + "has an invalid host " + single_quoted(up.host));
  }
  if (up.host.empty()) throw ConfigError(bad + "has no host");
  if (port_text.empty())
    throw ConfigError(bad +
                      "has no port; lean nodes serve their API on a port of their own, "
                      "e.g. http://" +
                      (up.host.find(':') == std::string::npos ? up.host : "[" + up.host + "]") + ":5052");
  unsigned long port = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535)
    throw ConfigError(bad + "has port " + single_quoted(port_text) + "; it must be 1-65535");
  up.port = static_cast<uint16_t>(port);
  return up;
}

Upstream parse_upstream_flag(const std::string& value) {
  const std::string where = "--upstream " + single_quoted(value);
  const size_t eq = value.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError(where + ": expected NAME=URL, e.g. zeam_0=http://127.0.0.1:5052");
  return parse_upstream_url(value.substr(0, eq), value.substr(eq + 1), where);
}

std::vector<Upstream> parse_upstreams_json(std::string_view text, const std::string& source) {
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
    if (name != entry.end()) where += " (" + name->get<std::string>() + ")";
    const auto url = entry.find("url");
    if (url == entry.end()) throw ConfigError(where + ": \"url\" is missing");
    if (!url->is_string()) throw ConfigError(where + ": \"url\" must be a string");
    const auto path = entry.find("path");
    if (path != entry.end() && !path->is_string()) throw ConfigError(where + ": \"path\" must be a string");

    Upstream up = parse_upstream_url("", url->get<std::string>(), where);
    if (path != entry.end()) up.path = path->get<std::string>();
    // A nameless entry is named after its address, as the operator would.
    up.name = name != entry.end() ? name->get<std::string>() : up.url.substr(7);
    if (up.name.empty()) throw ConfigError(where + ": \"name\" is empty");
    upstreams.push_back(std::move(up));
  }
  return upstreams;
}

std::vector<Upstream> load_upstreams_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  struct stat st {};
  if (!in || (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))) {
    const int err = in ? EISDIR : errno;
    throw ConfigError("--upstreams-config: cannot read " + single_quoted(path) + ": " + std::strerror(err));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError("--upstreams-config: error reading " + single_quoted(path));
  if (is_validator_config(path, text.str())) return parse_validator_config(text.str(), path);
  return parse_upstreams_json(text.str(), path);
}

void override_hosts(std::vector<Upstream>& upstreams, const std::string& host) {
  if (host.empty()) return;
  for (Upstream& up : upstreams) {
    const bool v6 = host.find(':') != std::string::npos;
    std::string path = std::move(up.path);
    up = parse_upstream_url(up.name, "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(up.port),
                            "--upstream-host");
    up.path = std::move(path);
  }
}

void validate(const Config& config) {
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
  if (config.port < 1 || config.port > 65535)
    throw ConfigError("--port: " + std::to_string(config.port) + " is outside 1-65535");
  const std::pair<const char*, int64_t> durations[] = {{"--poll-ms", config.poll_ms},
                                                       {"--timeout-ms", config.timeout_ms},
                                                       {"--stale-ms", config.stale_ms},
                                                       {"--max-backoff-ms", config.max_backoff_ms},
                                                       {"--head-timeout-ms", config.head_timeout_ms},
                                                       {"--stall-timeout-ms", config.stall_timeout_ms}};
  for (const auto& [flag, value] : durations)
    if (value <= 0) throw ConfigError(std::string(flag) + ": must be positive, got " + std::to_string(value));
  if (config.timeout_ms >= config.poll_ms)
    throw ConfigError("--timeout-ms (" + std::to_string(config.timeout_ms) + ") must be smaller than --poll-ms (" +
                      std::to_string(config.poll_ms) + "): a request may not outlive its round");
  if (config.max_backoff_ms < config.poll_ms)
    throw ConfigError("--max-backoff-ms (" + std::to_string(config.max_backoff_ms) + ") must be at least --poll-ms (" +
                      std::to_string(config.poll_ms) + ")");
  if (config.min_agree < 1 || config.min_agree > config.upstreams.size())
    throw ConfigError("--min-agree " + std::to_string(config.min_agree) + " can never be met by " +
                      std::to_string(config.upstreams.size()) + " upstream(s); give 1-" +
                      std::to_string(config.upstreams.size()));
  if (config.max_json_bytes < kMinJsonBytes)
    throw ConfigError("--max-json-bytes " + std::to_string(config.max_json_bytes) + " is below " +
                      describe_size(kMinJsonBytes) + "; fork_choice lists every block since finality");
  if (config.max_state_bytes < kMinStateBytes)
    throw ConfigError("--max-state-bytes " + std::to_string(config.max_state_bytes) + " is below " +
                      describe_size(kMinStateBytes) + "; real finalized states pass 2 MB within days");
  for (const auto& [flag, workers] :
       {std::pair{"--artifact-workers", config.artifact_workers}, std::pair{"--api-workers", config.api_workers}})
    if (workers < 1 || workers > kMaxWorkers)
      throw ConfigError(std::string(flag) + ": " + std::to_string(workers) + " is outside 1-" +
                        std::to_string(kMaxWorkers));
  if (config.fd_threshold < 1 || config.fd_threshold > 100)
    throw ConfigError("--fd-threshold: " + std::to_string(config.fd_threshold) + " is not a percentage (1-100)");
  if (config.pin_window_ms < 0 || config.pin_window_ms > 3'600'000)
    throw ConfigError("--pin-window-ms: " + std::to_string(config.pin_window_ms) +
                      " is outside 0-3600000 (a client's anchor may lag the agreement by about that much)");
  if (!parse_cidr_list(config.trusted_proxies))
    throw ConfigError("--trusted-proxies: " + single_quoted(config.trusted_proxies) +
                      " is not a comma-separated list of addresses or CIDR ranges (10.0.0.0/8,::1)");
  in_addr a4{};
  in6_addr a6{};
  if (inet_pton(AF_INET, config.bind_addr.c_str(), &a4) != 1 && inet_pton(AF_INET6, config.bind_addr.c_str(), &a6) != 1)
    throw ConfigError("--bind: " + single_quoted(config.bind_addr) + " is not an IPv4 or IPv6 address");
  if (!config.static_dir.empty()) {
    struct stat st {};
    if (::stat(config.static_dir.c_str(), &st) != 0)
      throw ConfigError("--static-dir: " + single_quoted(config.static_dir) + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
      throw ConfigError("--static-dir: " + single_quoted(config.static_dir) + " is not a directory");
  }
}

}  // namespace leanpoint
