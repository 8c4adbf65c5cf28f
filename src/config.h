// leanpoint's configuration: what the operator asked for, validated.
//
// Config is one tree of the layers' own options (PollerOptions, ServerOptions,
// SiteOptions), each default written once, in the layer's header; the flags
// (cli.cpp) bind straight to these fields and the service hands each layer its
// part whole. What is here besides: where the upstreams came from, and the
// process's own settings.
//
// Flag names, environment variables, defaults and the upstreams file format are
// those of the Zig leanpoint, so a deployment can swap binaries. Everything an
// operator can get wrong is a ConfigError (config_error.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config_error.h"
#include "http_server.h"
#include "log.h"
#include "poller.h"
#include "routes.h"
#include "upstream.h"

namespace leanpoint {

struct Config {
  std::string upstreams_config;  // the file the upstreams came from, if any
  std::string upstream_host;     // --upstream-host: replaces every upstream's host
  std::vector<Upstream> upstreams;
  PollerOptions poller;
  ServerOptions server;
  SiteOptions site;
  std::string data_dir;  // empty: anchors are not persisted
  // How long a starting leanpoint waits for --data-dir's lock while the one
  // it replaces stops (data_dir.h): its drain and a margin.
  int64_t data_dir_wait_ms = 15000;
  LogLevel log_level = LogLevel::info;
};

// Bounds validate() holds flags to.
constexpr uint64_t kMinStateBytes = 1 << 20;  // --max-state-bytes
constexpr uint64_t kMinJsonBytes = 64 << 10;  // --max-json-bytes: a fork_choice of some 300 blocks
constexpr uint64_t kMaxWorkers = 1024;        // --artifact-workers, --api-workers
constexpr int64_t kMaxPinWindowMs = 3'600'000;
constexpr int64_t kMaxDataDirWaitMs = 600'000;  // --data-dir-wait-ms
constexpr int64_t kMaxDrainMs = 3'600'000;      // --drain-ms
constexpr uint64_t kMaxHistoryRounds = 86'400;  // --history-rounds: a day of 1 s rounds

// Parses one --upstream value, "NAME=URL".
Expected<Upstream, ConfigError> parse_upstream_flag(const std::string& value);

// Parses the text of an upstreams file:
//   {"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:8081","path":"/v0/health"}]}
// `path` is accepted and ignored (leanpoint polls the lean API, not a health
// path). `client` (optional) names the node's implementation; without it a
// lean-quickstart name gives it (client_from_name, upstream_url.h).
// `source` names the file in error messages.
Expected<std::vector<Upstream>, ConfigError> parse_upstreams_json(std::string_view text, const std::string& source);

// Reads and parses an upstreams file: the JSON above, or lean-quickstart's
// validator-config.yaml (quickstart_config.h).
Expected<std::vector<Upstream>, ConfigError> load_upstreams_file(const std::string& path);

// --upstream-host: every upstream at `host` instead, same port (leanpoint in a
// container reaching a devnet on the host). Empty: unchanged.
Expected<std::vector<Upstream>, ConfigError> override_hosts(std::vector<Upstream> upstreams, const std::string& host);

// Checks what no single flag can: at least one upstream, unique names, timeout
// below the poll interval, positive durations, a reachable --min-agree, a
// usable bind address, and a --max-connections that fits `fd_limit`
// descriptors with the service's own (fd_usage.h; 0: not checked).
Expected<void, ConfigError> validate(const Config& config, size_t fd_limit = 0);

// The upstreams, as flags and environment gave them, into `config`: the file
// (--upstreams-config) or the --upstream values, never both, then
// --upstream-host; then validate().
Expected<Config, ConfigError> complete(Config config, const std::vector<std::string>& upstream_flags, size_t fd_limit);

// SIGHUP: the upstreams file again, validated exactly as at start.
Expected<std::vector<Upstream>, ConfigError> reload_upstreams(const Config& running);

}  // namespace leanpoint
