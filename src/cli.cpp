#include "cli.h"

#include <CLI/CLI.hpp>
#include <ostream>

#include "fd_usage.h"
#include "probe.h"
#include "service.h"
#include "version.h"

namespace leanpoint {

Invocation parse_command_line(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
  Invocation result;
  Config& config = result.config;

  CLI::App app{"leanpoint " LEANPOINT_VERSION
               " - checkpoint-sync provider for lean Ethereum devnets.\n"
               "Polls the upstream lean nodes, serves the finalized anchor a majority agrees on.",
               "leanpoint"};
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(40);
  app.set_version_flag("--version", "leanpoint " LEANPOINT_VERSION);

  app.add_option("--bind", config.bind_addr, "Address to listen on")->envname("LEANPOINT_BIND_ADDR");
  app.add_option("--port", config.port, "Port to listen on (1-65535)")->envname("LEANPOINT_BIND_PORT");
  auto* file_opt = app.add_option("--upstreams-config", config.upstreams_config,
                                  "Upstreams file: {\"upstreams\":[{\"name\":..,\"url\":\"http://host:port\"}]}, or "
                                  "lean-quickstart's validator-config.yaml")
                       ->envname("LEANPOINT_UPSTREAMS_CONFIG");
  app.add_option("--upstream-host", config.upstream_host,
                 "Reach every upstream at this host instead, same port (leanpoint in a container, devnet on the host)")
      ->envname("LEANPOINT_UPSTREAM_HOST");
  std::vector<std::string> upstream_flags;
  auto* flag_opt =
      app.add_option("--upstream", upstream_flags, "Upstream as NAME=URL (repeatable; instead of --upstreams-config)")
          ->type_name("NAME=URL")
          ->default_str("");
  app.add_option("--poll-ms", config.poll_ms, "Interval between polling rounds, ms")->envname("LEANPOINT_POLL_MS");
  app.add_option("--timeout-ms", config.timeout_ms, "Deadline for one upstream request, ms (< --poll-ms)")
      ->envname("LEANPOINT_TIMEOUT_MS");
  app.add_option("--stale-ms", config.stale_ms, "Agreed checkpoint older than this fails /healthz, ms")
      ->envname("LEANPOINT_STALE_MS");
  app.add_option("--max-backoff-ms", config.max_backoff_ms, "Longest wait before retrying a failing upstream, ms")
      ->envname("LEANPOINT_MAX_BACKOFF_MS");
  app.add_option("--max-state-bytes", config.max_state_bytes, "Largest state or block accepted from an upstream, bytes")
      ->envname("LEANPOINT_MAX_STATE_BYTES");
  app.add_option(
         "--max-json-bytes", config.max_json_bytes,
         "Largest fork_choice accepted from an upstream, bytes (parsed as a stream; larger: read from the state)")
      ->envname("LEANPOINT_MAX_JSON_BYTES");
  app.add_option("--min-agree", config.min_agree,
                 "Upstreams that must report the same finalized checkpoint (besides a majority)")
      ->envname("LEANPOINT_MIN_AGREE");
  app.add_option("--genesis-time", config.genesis_time, "Refuse anchors whose state has another genesis time (unix s)")
      ->envname("LEANPOINT_GENESIS_TIME");
  app.add_option("--head-timeout-ms", config.head_timeout_ms, "Deadline for a client's complete request head, ms")
      ->envname("LEANPOINT_HEAD_TIMEOUT_MS");
  app.add_option("--stall-timeout-ms", config.stall_timeout_ms,
                 "Abort a response when the client accepts no bytes for this long, ms")
      ->envname("LEANPOINT_STALL_TIMEOUT_MS");
  app.add_option("--artifact-workers", config.artifact_workers, "Workers serving states, blocks and static files")
      ->envname("LEANPOINT_ARTIFACT_WORKERS");
  app.add_option("--api-workers", config.api_workers, "Workers serving everything else")
      ->envname("LEANPOINT_API_WORKERS");
  app.add_option("--max-connections", config.max_connections,
                 "Client connections beyond which new ones get a fast 503 (0: 3/4 of RLIMIT_NOFILE less headroom)")
      ->envname("LEANPOINT_MAX_CONNECTIONS");
  app.add_option("--max-connections-per-client", config.max_connections_per_client,
                 "Connections from one client address beyond which new ones get a fast 503 (0: no cap)")
      ->envname("LEANPOINT_MAX_CONNECTIONS_PER_CLIENT");
  app.add_option("--pin-window-ms", config.pin_window_ms,
                 "Serve each client address the anchor it first got for this long, so its state and block match "
                 "(0: off)")
      ->envname("LEANPOINT_PIN_WINDOW_MS");
  app.add_option("--trusted-proxies", config.trusted_proxies,
                 "Proxies (CIDR,...) whose X-Forwarded-For / X-Real-IP name the client; never capped per address")
      ->envname("LEANPOINT_TRUSTED_PROXIES");
  app.add_option("--fd-threshold", config.fd_threshold, "/healthz fails at this percent of RLIMIT_NOFILE in use")
      ->envname("LEANPOINT_FD_THRESHOLD");
  app.add_flag("--zig-metrics", config.zig_metrics,
               "Also export the Zig leanpoint's millisecond gauges under their old names (not promtool-clean)")
      ->envname("LEANPOINT_ZIG_METRICS");
  app.add_option("--static-dir", config.static_dir, "Directory of files to serve at /")
      ->envname("LEANPOINT_STATIC_DIR");
  app.add_option("--data-dir", config.data_dir,
                 "Directory keeping the newest verified anchor across restarts (created if missing; empty: none)")
      ->envname("LEANPOINT_DATA_DIR");
  std::string level_name{to_string(config.log_level)};
  app.add_option("--log-level", level_name, "Log verbosity")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->envname("LEANPOINT_LOG_LEVEL");
  auto* inspect =
      app.add_subcommand("inspect", "Describe an anchor file (SSZ State or SignedBlock) as one JSON object, then exit");
  std::string inspect_type = "auto";
  inspect->add_option("--type", inspect_type, "What the file holds")->check(CLI::IsMember({"state", "block", "auto"}));
  inspect->add_option("FILE", result.inspect_path, "The file to read, - for stdin")->required();
  auto* probe = app.add_subcommand(
      "probe", "GET a URL once; exit 0 on a 200 and 1 otherwise (a health check for images without curl)");
  result.probe_timeout_ms = kDefaultProbeTimeoutMs;
  probe->add_option("URL", result.probe_url, "http://host[:port][/path], e.g. http://127.0.0.1:5555/livez")->required();
  probe->add_option("--timeout-ms", result.probe_timeout_ms, "Deadline for the whole request, ms")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}));
  app.require_subcommand(0, 1);

  app.footer(
      "Flags override environment variables. Give the upstreams either as a file or as "
      "--upstream flags, not both.");

  try {
    app.parse(argc, argv);
    if (probe->parsed()) {
      result.action = Invocation::Action::probe;
      return result;
    }
    if (inspect->parsed()) {
      result.action = Invocation::Action::inspect;
      result.inspect_type = inspect_type == "state"   ? ArtifactType::state
                            : inspect_type == "block" ? ArtifactType::block
                                                      : ArtifactType::detect;
      return result;
    }
    if (file_opt->count() > 0 && flag_opt->count() > 0)
      throw ConfigError(
          "--upstream conflicts with --upstreams-config (or LEANPOINT_UPSTREAMS_CONFIG): "
          "give the upstreams one way");
    if (file_opt->count() > 0) config.upstreams = load_upstreams_file(config.upstreams_config);
    for (const auto& value : upstream_flags) config.upstreams.push_back(parse_upstream_flag(value));
    override_hosts(config.upstreams, config.upstream_host);
    config.log_level = *parse_log_level(level_name);
    validate(config);
    check_descriptor_budget(config, raise_fd_limit());
  } catch (const CLI::Success& e) {  // --help, --version
    if (e.get_name() == "CallForVersion")
      out << e.what() << "\n";
    else
      out << (inspect->parsed() ? inspect->help() : probe->parsed() ? probe->help() : app.help());
    return result;
  } catch (const CLI::ParseError& e) {
    err << "leanpoint: " << e.what() << "\n";
    result.exit_code = kExitUsage;
    return result;
  } catch (const ConfigError& e) {
    err << "leanpoint: " << e.what() << "\n";
    result.exit_code = kExitUsage;
    return result;
  }
  result.action = Invocation::Action::serve;
  return result;
}

}  // namespace leanpoint
