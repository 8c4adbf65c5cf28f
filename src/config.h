// leanpoint's configuration: what the operator asked for, validated.
//
// Flag names, environment variables, defaults and the upstreams file format are
// those of the Zig leanpoint, so a deployment can swap binaries. Everything an
// operator can get wrong is reported as a ConfigError whose message is one line
// naming the flag or file (and, for JSON, the position); the process then exits
// with status 2.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lean_api.h"
#include "log.h"
#include "upstream.h"

namespace leanpoint {

struct Config {
  std::string bind_addr = "0.0.0.0";
  int port = 5555;
  std::string upstreams_config;  // the file the upstreams came from, if any
  std::string upstream_host;     // --upstream-host: replaces every upstream's host
  std::vector<Upstream> upstreams;
  int64_t poll_ms = 10000;
  int64_t timeout_ms = 5000;
  int64_t stale_ms = 30000;
  int64_t max_backoff_ms = 300000;
  uint64_t max_state_bytes = kDefaultMaxStateBytes;
  uint64_t max_json_bytes = kDefaultMaxJsonBytes;
  uint64_t min_agree = 1;
  std::optional<uint64_t> genesis_time;
  int64_t head_timeout_ms = 10000;
  int64_t stall_timeout_ms = 10000;
  uint64_t artifact_workers = 8;
  uint64_t api_workers = 2;
  uint64_t max_connections = 0;              // 0: derived from RLIMIT_NOFILE
  uint64_t max_connections_per_client = 64;  // 0: no cap
  std::string trusted_proxies;               // CIDR,...: whose X-Forwarded-For names the client
  int64_t pin_window_ms = 120000;            // the pair rule; 0: off
  uint64_t fd_threshold = 80;                // percent of RLIMIT_NOFILE
  bool zig_metrics = false;
  std::string static_dir;
  std::string data_dir;  // empty: anchors are not persisted
  LogLevel log_level = LogLevel::info;
};

// Bounds validate() holds flags to.
constexpr uint64_t kMinStateBytes = 1 << 20;  // --max-state-bytes
constexpr uint64_t kMinJsonBytes = 64 << 10;  // --max-json-bytes: a fork_choice of some 300 blocks
constexpr uint64_t kMaxWorkers = 1024;        // --artifact-workers, --api-workers

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Parses an upstream base URL, "http://host:port" with an optional trailing
// "/". `where` names the source in error messages (a flag, or file + index).
Upstream parse_upstream_url(std::string name, const std::string& url, const std::string& where);

// Parses one --upstream value, "NAME=URL".
Upstream parse_upstream_flag(const std::string& value);

// Parses the text of an upstreams file:
//   {"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:8081","path":"/v0/health"}]}
// `path` is accepted and ignored (leanpoint polls the lean API, not a health
// path). `source` names the file in error messages.
std::vector<Upstream> parse_upstreams_json(std::string_view text, const std::string& source);

// Reads and parses an upstreams file: the JSON above, or lean-quickstart's
// validator-config.yaml (quickstart_config.h).
std::vector<Upstream> load_upstreams_file(const std::string& path);

// --upstream-host: every upstream at `host` instead, same port (leanpoint in a
// container reaching a devnet on the host). Empty: unchanged.
void override_hosts(std::vector<Upstream>& upstreams, const std::string& host);

// Checks what no single flag can: at least one upstream, unique names, timeout
// below the poll interval, positive durations, a reachable --min-agree, a
// usable bind address.
void validate(const Config& config);

}  // namespace leanpoint
