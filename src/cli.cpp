#include "cli.h"

#include <CLI/CLI.hpp>
#include <map>
#include <ostream>

#include "cidr.h"
#include "exit_codes.h"
#include "fd_usage.h"
#include "probe.h"
#include "version.h"

namespace leanpoint {

namespace {

// Where the upstreams are, and how they are polled (PollerOptions). The
// listening address comes first, as the Zig leanpoint listed it.
void add_polling_flags(CLI::App& app, Config& config, std::vector<std::string>& upstream_flags) {
  app.add_option("--bind", config.server.bind, "Address to listen on")->envname("LEANPOINT_BIND_ADDR");
  app.add_option("--port", config.server.port, "Port to listen on (1-65535)")->envname("LEANPOINT_BIND_PORT");
  app.add_option("--upstreams-config", config.upstreams_config,
                 "Upstreams file: {\"upstreams\":[{\"name\":..,\"url\":\"http://host:port\"}]}, or "
                 "lean-quickstart's validator-config.yaml")
      ->envname("LEANPOINT_UPSTREAMS_CONFIG");
  app.add_option("--upstream-host", config.upstream_host,
                 "Reach every upstream at this host instead, same port (leanpoint in a container, devnet on the host)")
      ->envname("LEANPOINT_UPSTREAM_HOST");
  app.add_option("--upstream", upstream_flags, "Upstream as NAME=URL (repeatable; instead of --upstreams-config)")
      ->type_name("NAME=URL")
      ->default_str("");
  app.add_option("--poll-ms", config.poller.poll_ms, "Interval between polling rounds, ms")
      ->envname("LEANPOINT_POLL_MS");
  app.add_option("--timeout-ms", config.poller.timeout_ms, "Deadline for one upstream request, ms (< --poll-ms)")
      ->envname("LEANPOINT_TIMEOUT_MS");
  app.add_option("--stale-ms", config.site.health.stale_ms, "Agreed checkpoint older than this fails /healthz, ms")
      ->envname("LEANPOINT_STALE_MS");
  app.add_option("--max-backoff-ms", config.poller.max_backoff_ms,
                 "Longest wait before retrying a failing upstream, ms")
      ->envname("LEANPOINT_MAX_BACKOFF_MS");
  app.add_option("--max-state-bytes", config.poller.max_state_bytes,
                 "Largest state or block accepted from an upstream, bytes")
      ->envname("LEANPOINT_MAX_STATE_BYTES");
  app.add_option(
         "--max-json-bytes", config.poller.max_json_bytes,
         "Largest fork_choice accepted from an upstream, bytes (parsed as a stream; larger: read from the state)")
      ->envname("LEANPOINT_MAX_JSON_BYTES");
  app.add_option(
         "--fork-choice-probe-bytes", config.poller.fork_choice_probe_bytes,
         "Ask an upstream whose last fork_choice was larger for its justified checkpoint first, bytes (0: never)")
      ->envname("LEANPOINT_FORK_CHOICE_PROBE_BYTES");
  app.add_option("--fork-choice-refresh-rounds", config.poller.fork_choice_refresh_rounds,
                 "Read a probed upstream's fork_choice again at least this often, rounds (>= 1)")
      ->envname("LEANPOINT_FORK_CHOICE_REFRESH_ROUNDS");
  app.add_option("--history-rounds", config.poller.history_rounds,
                 "Rounds /api/history and the dashboard's charts keep (default: an hour at the default --poll-ms; "
                 "0: none)")
      ->envname("LEANPOINT_HISTORY_ROUNDS");
  app.add_option("--min-agree", config.poller.min_agree,
                 "Upstreams that must report the same finalized checkpoint (besides a majority)")
      ->envname("LEANPOINT_MIN_AGREE");
  app.add_option("--min-agreeing-clients", config.poller.min_agreeing_clients,
                 "Client implementations the agreeing upstreams must run between them (unknown ones count as one)")
      ->envname("LEANPOINT_MIN_AGREEING_CLIENTS");
  app.add_option("--genesis-time", config.poller.genesis_time,
                 "Refuse anchors whose state has another genesis time (unix s)")
      ->envname("LEANPOINT_GENESIS_TIME");
}

// How clients are served (ServerOptions).
void add_server_flags(CLI::App& app, Config& config) {
  app.add_option("--head-timeout-ms", config.server.gate.head_timeout_ms,
                 "Deadline for a client's complete request head, ms")
      ->envname("LEANPOINT_HEAD_TIMEOUT_MS");
  app.add_option("--stall-timeout-ms", config.server.gate.stall_timeout_ms,
                 "Abort a response when the client accepts no bytes for this long, ms")
      ->envname("LEANPOINT_STALL_TIMEOUT_MS");
  app.add_option("--artifact-workers", config.server.artifact_workers,
                 "Workers serving states, blocks and static files")
      ->envname("LEANPOINT_ARTIFACT_WORKERS");
  app.add_option("--api-workers", config.server.api_workers, "Workers serving everything else")
      ->envname("LEANPOINT_API_WORKERS");
  app.add_option("--max-connections", config.server.gate.max_connections,
                 "Client connections beyond which new ones get a fast 503 (0: 3/4 of RLIMIT_NOFILE less headroom)")
      ->envname("LEANPOINT_MAX_CONNECTIONS");
  app.add_option("--max-connections-per-client", config.server.gate.max_connections_per_client,
                 "Connections from one client address beyond which new ones get a fast 503 (0: no cap)")
      ->envname("LEANPOINT_MAX_CONNECTIONS_PER_CLIENT");
  app.add_option("--drain-ms", config.server.drain_ms,
                 "On SIGTERM or SIGINT, accept nothing more and finish the responses in flight for up to this long, "
                 "ms (0: stop at once)")
      ->envname("LEANPOINT_DRAIN_MS");
}

// Who a client is behind proxies (GateOptions::trusted_proxies, client_address.h).
void add_proxy_flags(CLI::App& app, Config& config) {
  app.add_option_function<std::string>(
         "--trusted-proxies",
         [&config](const std::string& text) { config.server.gate.trusted_proxies = *parse_cidr_list(text); },
         "Proxies (CIDR,...) whose X-Forwarded-For names the client; never capped per address")
      ->check(CLI::Validator(
          [](const std::string& text) -> std::string {
            return parse_cidr_list(text) ? std::string()
                                         : "'" + text +
                                               "' is not a comma-separated list of addresses or CIDR ranges "
                                               "(10.0.0.0/8,::1)";
          },
          "CIDR,...", "trusted proxies"))
      ->envname("LEANPOINT_TRUSTED_PROXIES");
  app.add_option("--real-ip-header", config.server.gate.real_ip_header,
                 "From --trusted-proxies, read the client from this one header (X-Real-IP) instead of "
                 "X-Forwarded-For")
      ->envname("LEANPOINT_REAL_IP_HEADER");
}

// What is answered (SiteOptions).
void add_site_flags(CLI::App& app, Config& config) {
  app.add_option("--pin-window-ms", config.site.pin_window_ms,
                 "Serve each client address the anchor it first got for this long, so its state and block match "
                 "(0: off)")
      ->envname("LEANPOINT_PIN_WINDOW_MS");
  app.add_option("--fd-threshold", config.site.health.fd_threshold_percent,
                 "/healthz fails at this percent of RLIMIT_NOFILE in use")
      ->envname("LEANPOINT_FD_THRESHOLD");
  app.add_flag("--zig-metrics", config.site.zig_metrics,
               "Also export the Zig leanpoint's millisecond gauges under their old names (not promtool-clean)")
      ->envname("LEANPOINT_ZIG_METRICS");
  app.add_option("--static-dir", config.site.static_dir, "Directory of files to serve at /")
      ->envname("LEANPOINT_STATIC_DIR");
  app.add_option("--access-log", config.site.access_log,
                 "Write one JSON line per response to this file (- for stdout; reopened on SIGUSR1)")
      ->envname("LEANPOINT_ACCESS_LOG");
}

// The process's own: --data-dir and the log level.
void add_process_flags(CLI::App& app, Config& config) {
  app.add_option("--data-dir", config.data_dir,
                 "Directory keeping the newest verified anchor across restarts (created if missing; empty: none)")
      ->envname("LEANPOINT_DATA_DIR");
  app.add_option("--data-dir-wait-ms", config.data_dir_wait_ms,
                 "Wait this long for --data-dir's lock while the leanpoint this one replaces stops (0: do not wait)")
      ->envname("LEANPOINT_DATA_DIR_WAIT_MS");
  app.add_option_function<std::string>(
         "--log-level", [&config](const std::string& name) { config.log_level = *parse_log_level(name); },
         "Log verbosity")
      ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
      ->default_str(std::string(to_string(config.log_level)))
      ->envname("LEANPOINT_LOG_LEVEL");
}

// `leanpoint inspect FILE`: the type is set by the option's callback.
CLI::App* add_inspect(CLI::App& app, Invocation& result) {
  auto* inspect =
      app.add_subcommand("inspect", "Describe an anchor file (SSZ State or SignedBlock) as one JSON object, then exit");
  const std::map<std::string, ArtifactType> types = {
      {"state", ArtifactType::state}, {"block", ArtifactType::block}, {"auto", ArtifactType::detect}};
  inspect
      ->add_option_function<std::string>(
          "--type", [&result, types](const std::string& name) { result.inspect_type = types.at(name); },
          "What the file holds")
      ->check(CLI::IsMember({"state", "block", "auto"}))
      ->default_str("auto");
  inspect->add_option("FILE", result.inspect_path, "The file to read, - for stdin")->required();
  return inspect;
}

// `leanpoint probe URL`.
CLI::App* add_probe(CLI::App& app, Invocation& result) {
  auto* probe = app.add_subcommand(
      "probe", "GET a URL once; exit 0 on a 200 and 1 otherwise (a health check for images without curl)");
  result.probe_timeout_ms = kDefaultProbeTimeoutMs;
  probe->add_option("URL", result.probe_url, "http://host[:port][/path], e.g. http://127.0.0.1:5555/livez")->required();
  probe->add_option("--timeout-ms", result.probe_timeout_ms, "Deadline for the whole request, ms")
      ->check(CLI::Range(int64_t{1}, int64_t{600000}));
  return probe;
}

}  // namespace

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
  std::vector<std::string> upstream_flags;
  add_polling_flags(app, config, upstream_flags);
  add_server_flags(app, config);
  add_proxy_flags(app, config);
  add_site_flags(app, config);
  add_process_flags(app, config);
  auto* inspect = add_inspect(app, result);
  auto* probe = add_probe(app, result);
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
      return result;
    }
    auto completed = complete(std::move(config), upstream_flags, reachable_fd_limit());
    if (!completed) {
      err << "leanpoint: " << completed.error().what() << "\n";
      result.exit_code = kExitUsage;
      return result;
    }
    result.config = std::move(*completed);
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
  }
  result.action = Invocation::Action::serve;
  return result;
}

}  // namespace leanpoint
