// The leanpoint binary's command line and process behaviour, driven as an
// operator would: real argv, real environment, real signals.
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ports.h"
#include "sanitizers.h"
#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

using testing::Clock;
using testing::leanpoint_bin;
using testing::run;

namespace {

const char* kValidFile = R"({"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:8081","path":"/v0/health"},
                                          {"name":"ream_0","url":"http://127.0.0.1:8082"}]})";

std::vector<std::string> args(std::initializer_list<std::string> rest) {
  std::vector<std::string> v{leanpoint_bin()};
  v.insert(v.end(), rest);
  return v;
}

// The last line of `s`, without its newline.
std::string last_line(const std::string& s) {
  const std::string body = s.empty() || s.back() != '\n' ? s : s.substr(0, s.size() - 1);
  const size_t nl = body.rfind('\n');
  return nl == std::string::npos ? body : body.substr(nl + 1);
}

size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Asserts exit status 2 with exactly one line on stderr, containing `needle`.
void expect_usage_error(const std::vector<std::string>& argv, const std::string& needle,
                        const std::vector<std::string>& env = {}) {
  const auto r = run(argv, env);
  CAPTURE(r.err);
  CHECK(r.status == 2);
  CHECK(count_lines(r.err) == 1);
  CHECK(r.err.rfind("leanpoint: ", 0) == 0);
  CHECK(r.err.find(needle) != std::string::npos);
  CHECK(r.out.empty());
}

}  // namespace

TEST_CASE("--version prints the version and exits 0") {
  const auto r = run(args({"--version"}));
  CHECK(r.status == 0);
  CHECK(r.out.rfind("leanpoint ", 0) == 0);
  CHECK(r.out.find('.') != std::string::npos);
}

TEST_CASE("--help lists every flag with its default and env var") {
  const auto r = run(args({"--help"}));
  CHECK(r.status == 0);
  struct Flag {
    std::string name;
    const char* default_value;
    const char* env;
  };
  const Flag flags[] = {
      {"--bind", "=0.0.0.0 ", "LEANPOINT_BIND_ADDR"},
      {"--port", "=5555 ", "LEANPOINT_BIND_PORT"},
      {"--upstreams-config", nullptr, "LEANPOINT_UPSTREAMS_CONFIG"},
      {"--upstream", nullptr, nullptr},
      {"--upstream-host", nullptr, "LEANPOINT_UPSTREAM_HOST"},
      {"--poll-ms", "=10000 ", "LEANPOINT_POLL_MS"},
      {"--timeout-ms", "=5000 ", "LEANPOINT_TIMEOUT_MS"},
      {"--stale-ms", "=30000 ", "LEANPOINT_STALE_MS"},
      {"--max-backoff-ms", "=300000 ", "LEANPOINT_MAX_BACKOFF_MS"},
      {"--max-state-bytes", "=67108864 ", "LEANPOINT_MAX_STATE_BYTES"},
      {"--max-json-bytes", "=67108864 ", "LEANPOINT_MAX_JSON_BYTES"},
      {"--fork-choice-probe-bytes", "=262144 ", "LEANPOINT_FORK_CHOICE_PROBE_BYTES"},
      {"--fork-choice-refresh-rounds", "=15 ", "LEANPOINT_FORK_CHOICE_REFRESH_ROUNDS"},
      {"--history-rounds", "=360 ", "LEANPOINT_HISTORY_ROUNDS"},
      {"--min-agree", "=1 ", "LEANPOINT_MIN_AGREE"},
      {"--min-agreeing-clients", "=1 ", "LEANPOINT_MIN_AGREEING_CLIENTS"},
      {"--genesis-time", nullptr, "LEANPOINT_GENESIS_TIME"},
      {"--head-timeout-ms", "=10000 ", "LEANPOINT_HEAD_TIMEOUT_MS"},
      {"--stall-timeout-ms", "=10000 ", "LEANPOINT_STALL_TIMEOUT_MS"},
      {"--artifact-workers", "=8 ", "LEANPOINT_ARTIFACT_WORKERS"},
      {"--api-workers", "=2 ", "LEANPOINT_API_WORKERS"},
      {"--max-connections", "=0 ", "LEANPOINT_MAX_CONNECTIONS"},
      {"--max-connections-per-client", "=64 ", "LEANPOINT_MAX_CONNECTIONS_PER_CLIENT"},
      {"--pin-window-ms", "=120000 ", "LEANPOINT_PIN_WINDOW_MS"},
      {"--trusted-proxies", nullptr, "LEANPOINT_TRUSTED_PROXIES"},
      {"--real-ip-header", nullptr, "LEANPOINT_REAL_IP_HEADER"},
      {"--fd-threshold", "=80 ", "LEANPOINT_FD_THRESHOLD"},
      {"--zig-metrics", nullptr, "LEANPOINT_ZIG_METRICS"},
      {"--static-dir", nullptr, "LEANPOINT_STATIC_DIR"},
      {"--data-dir", nullptr, "LEANPOINT_DATA_DIR"},
      {"--data-dir-wait-ms", "=15000 ", "LEANPOINT_DATA_DIR_WAIT_MS"},
      {"--log-level", "=info ", "LEANPOINT_LOG_LEVEL"},
      {"--version", nullptr, nullptr},
      {"-h,--help", nullptr, nullptr},
  };
  for (const auto& f : flags) {
    CAPTURE(f.name);
    // The flag's own line carries its default and env var.
    const size_t at = r.out.find("  " + f.name + " ");
    REQUIRE(at != std::string::npos);
    const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
    if (f.default_value) CHECK(line.find(f.default_value) != std::string::npos);
    if (f.env) CHECK(line.find(std::string("(Env:") + f.env + ")") != std::string::npos);
  }
}

// --- bad input: one line, exit status 2 -----------------------------------

TEST_CASE("a second leanpoint on the same --data-dir exits 2 after --data-dir-wait-ms, naming the directory") {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::vector<std::string> first_argv =
      args({"--upstream", "a=http://127.0.0.1:1", "--bind", "127.0.0.1", "--port", std::to_string(testing::free_port()),
            "--data-dir", data});
  testing::Subprocess first(first_argv);
  REQUIRE(first.wait_for_stderr("ready", Clock::now() + std::chrono::seconds(10)));
  const auto second =
      run(args({"--upstream", "a=http://127.0.0.1:1", "--bind", "127.0.0.1", "--port",
                std::to_string(testing::free_port()), "--data-dir", data, "--data-dir-wait-ms", "300"}));
  CHECK(second.status == 2);
  CHECK(second.err.find("waiting up to 300 ms") != std::string::npos);
  CHECK(second.err.find("--data-dir " + data + " is in use by another leanpoint") != std::string::npos);
  first.send_signal(SIGTERM);
  CHECK(first.wait(Clock::now() + std::chrono::seconds(5)) == 0);
}

TEST_CASE("bad input: no upstreams at all") {
  expect_usage_error(args({}), "no upstreams: give --upstreams-config FILE");
}

TEST_CASE("bad input: missing upstreams file") {
  testing::TempDir dir;
  expect_usage_error(args({"--upstreams-config", dir.path() + "/nope.json"}),
                     "--upstreams-config: cannot read '" + dir.path() + "/nope.json': No such file or directory");
}

TEST_CASE("bad input: unreadable upstreams file") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", kValidFile);
  chmod(path.c_str(), 0);
  if (geteuid() == 0) {
    // root reads anything; a directory is unreadable as a file for everyone.
    expect_usage_error(args({"--upstreams-config", dir.path()}), "cannot read '" + dir.path() + "': Is a directory");
  } else {
    expect_usage_error(args({"--upstreams-config", path}), "Permission denied");
  }
}

TEST_CASE("bad input: invalid JSON names the file and the position") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", "{\"upstreams\": [\n  {\"name\": \"a\" \"url\": 1}\n]}\n");
  expect_usage_error(args({"--upstreams-config", path}), path + ": invalid JSON at line 2, column 20");
}

TEST_CASE("bad input: upstreams missing") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", R"({"nodes":[]})");
  expect_usage_error(args({"--upstreams-config", path}), path + ": \"upstreams\" is missing");
}

TEST_CASE("bad input: upstreams empty") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", R"({"upstreams":[]})");
  expect_usage_error(args({"--upstreams-config", path}), path + ": \"upstreams\" is empty");
}

TEST_CASE("bad input: an entry without url") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", R"({"upstreams":[{"name":"zeam_0","path":"/v0/health"}]})");
  expect_usage_error(args({"--upstreams-config", path}), path + ": upstreams[0] (zeam_0): \"url\" is missing");
}

TEST_CASE("bad input: a URL that is not http://host:port") {
  expect_usage_error(args({"--upstream", "a=127.0.0.1:8081"}),
                     "url '127.0.0.1:8081' is not of the form http://host:port");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1"}), "has no port");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:8081/lean/v0"}), "has a path");
}

TEST_CASE("bad input: https URL says it is unsupported and suggests a proxy") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", R"({"upstreams":[{"name":"gean_0","url":"https://10.0.0.5:5052"}]})");
  expect_usage_error(args({"--upstreams-config", path}),
                     "upstreams[0] (gean_0): url 'https://10.0.0.5:5052' uses https, which leanpoint does not support");
  expect_usage_error(args({"--upstreams-config", path}), "TLS-terminating proxy");
}

TEST_CASE("bad input: duplicate names") {
  testing::TempDir dir;
  const std::string path = dir.write(
      "u.json", R"({"upstreams":[{"name":"a","url":"http://127.0.0.1:1"},{"name":"a","url":"http://127.0.0.1:2"}]})");
  expect_usage_error(args({"--upstreams-config", path}), path + ": duplicate upstream name 'a' (entries 0 and 1)");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--upstream", "a=http://127.0.0.1:2"}),
                     "--upstream: duplicate upstream name 'a'");
}

TEST_CASE("bad input: port outside 1-65535") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--port", "0"}), "--port: 0 is outside 1-65535");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--port", "70000"}),
                     "--port: 70000 is outside 1-65535");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1"}), "--port: 99999 is outside 1-65535",
                     {"LEANPOINT_BIND_PORT=99999"});
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:70000"}), "port '70000'; it must be 1-65535");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--port", "http"}), "--port");
}

TEST_CASE("bad input: non-positive timeouts") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--timeout-ms", "0"}),
                     "--timeout-ms: must be positive, got 0");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--poll-ms", "-10"}),
                     "--poll-ms: must be positive, got -10");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--stale-ms", "0"}),
                     "--stale-ms: must be positive, got 0");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1"}), "--timeout-ms: must be positive, got -1",
                     {"LEANPOINT_TIMEOUT_MS=-1"});
}

TEST_CASE("bad input: --timeout-ms not smaller than --poll-ms") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--poll-ms", "5000"}),
                     "--timeout-ms (5000) must be smaller than --poll-ms (5000)");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1"}),
                     "--timeout-ms (5000) must be smaller than --poll-ms (3000)", {"LEANPOINT_POLL_MS=3000"});
}

TEST_CASE("bad input: --min-agree that can never be met") {
  expect_usage_error(
      args({"--upstream", "a=http://127.0.0.1:1", "--upstream", "b=http://127.0.0.1:2", "--min-agree", "3"}),
      "--min-agree 3 can never be met by 2 upstream(s); give 1-2");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--min-agree", "0"}),
                     "--min-agree 0 can never be met");
}

TEST_CASE("bad input: --max-state-bytes below 1 MiB") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--max-state-bytes", "1000"}),
                     "--max-state-bytes 1000 is below 1 MiB");
}

TEST_CASE("bad input: --max-backoff-ms below --poll-ms") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--max-backoff-ms", "9999"}),
                     "--max-backoff-ms (9999) must be at least --poll-ms (10000)");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--max-backoff-ms", "0"}),
                     "--max-backoff-ms: must be positive, got 0");
}

TEST_CASE("bad input: --trusted-proxies that is not a list of ranges, --pin-window-ms out of range") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--trusted-proxies", "10.0.0.0/8,proxy.local"}),
                     "--trusted-proxies: '10.0.0.0/8,proxy.local' is not a comma-separated list");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--trusted-proxies", "10.0.0.0/33"}),
                     "--trusted-proxies");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--pin-window-ms", "-1"}),
                     "--pin-window-ms: -1 is outside 0-3600000");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--pin-window-ms", "3600001"}),
                     "--pin-window-ms: 3600001 is outside 0-3600000");
}

TEST_CASE("bad input: --genesis-time that is not a number") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--genesis-time", "yesterday"}), "--genesis-time");
}

TEST_CASE("bad input: server limits") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--artifact-workers", "0"}),
                     "--artifact-workers: 0 is outside 1-1024");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--api-workers", "5000"}),
                     "--api-workers: 5000 is outside 1-1024");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--fd-threshold", "120"}),
                     "--fd-threshold: 120 is not a percentage (1-100)");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--stall-timeout-ms", "0"}),
                     "--stall-timeout-ms: must be positive, got 0");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--head-timeout-ms", "-3"}),
                     "--head-timeout-ms: must be positive, got -3");
}

TEST_CASE("a port already in use: a clear error, exit 1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  const auto r = run(args({"--upstream", "a=http://127.0.0.1:1", "--bind", "127.0.0.1", "--port", port}));
  ::close(fd);
  CHECK(r.status == 1);
  CHECK(r.err.find("cannot listen on 127.0.0.1:" + port) != std::string::npos);
  CHECK(last_line(r.err).find(" ERROR ") != std::string::npos);
}

TEST_CASE("descriptors too few for the service's own eventfds and epoll: one clear line, exit 1, never a crash") {
  // The hard limit caps what leanpoint can raise its soft limit to. Past
  // stdin, stdout and stderr (and one the loader needs for a moment), each
  // limit leaves room for one more of the server's descriptors: the server's
  // stop eventfd fails at 4, the gate's epoll at 5, its eventfd at 6, the
  // listening socket at 7.
  if (testing::kAddressSanitizer) {
    // ASan and UBSan need descriptors of their own (UBSan's vptr check tests
    // memory through a pipe): without one they report valid objects as
    // invalid, so the process cannot fail cleanly here. The plain build checks it.
    MESSAGE("descriptor starvation not checked under AddressSanitizer/UBSan (their runtime needs descriptors)");
    return;
  }
  for (const char* limit : {"4", "5", "6", "7"}) {
    CAPTURE(limit);
    const auto r =
        run({"/usr/bin/prlimit", std::string("--nofile=") + limit + ":" + limit, "--", leanpoint_bin(), "--upstream",
             "a=http://127.0.0.1:1", "--bind", "127.0.0.1", "--port", std::to_string(testing::free_port())});
    CAPTURE(r.err);
    CHECK(r.status == 1);
    CHECK(last_line(r.err).find(" ERROR ") != std::string::npos);
    CHECK(last_line(r.err).find("Too many open files") != std::string::npos);
  }
}

TEST_CASE("a second leanpoint on the same port fails instead of sharing it") {
  const std::string port = std::to_string(testing::free_port());
  const std::vector<std::string> argv =
      args({"--upstream", "a=http://127.0.0.1:1", "--bind", "127.0.0.1", "--port", port});
  testing::Subprocess first(argv);
  REQUIRE(first.wait_for_stderr("ready", Clock::now() + std::chrono::seconds(10)));
  const auto second = run(argv);
  CHECK(second.status == 1);
  CHECK(second.err.find("cannot listen on 127.0.0.1:" + port) != std::string::npos);
  first.send_signal(SIGTERM);
  CHECK(first.wait(Clock::now() + std::chrono::seconds(5)) == 0);
}

TEST_CASE("bad input: unknown flags and stray arguments") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--workers", "4"}), "--workers");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "serve"}), "serve");
}

TEST_CASE("bad input: --upstream conflicts with --upstreams-config") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", kValidFile);
  expect_usage_error(args({"--upstreams-config", path, "--upstream", "a=http://127.0.0.1:1"}),
                     "--upstream conflicts with --upstreams-config");
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1"}), "--upstream conflicts with --upstreams-config",
                     {"LEANPOINT_UPSTREAMS_CONFIG=" + path});
}

TEST_CASE("bad input: --upstream without NAME=") {
  expect_usage_error(args({"--upstream", "http://127.0.0.1:1"}), "expected NAME=URL");
}

TEST_CASE("bad input: --log-level outside error|warn|info|debug") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--log-level", "trace"}), "--log-level");
}

TEST_CASE("bad input: --bind that is not an address") {
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--bind", "example.org"}),
                     "--bind: 'example.org' is not an IPv4 or IPv6 address");
}

TEST_CASE("bad input: --static-dir that does not exist") {
  testing::TempDir dir;
  expect_usage_error(args({"--upstream", "a=http://127.0.0.1:1", "--static-dir", dir.path() + "/www"}),
                     "--static-dir: '" + dir.path() + "/www': No such file or directory");
}

// --- running ---------------------------------------------------------------

namespace {

// Starts leanpoint, waits until it is ready, sends `sig`, and checks it exits
// 0 within 2 s. Returns what it logged.
std::string expect_clean_stop(std::vector<std::string> argv, const std::vector<std::string>& env, int sig) {
  argv.insert(argv.end(), {"--bind", "127.0.0.1", "--port", std::to_string(testing::free_port())});
  testing::Subprocess p(argv, env);
  REQUIRE(p.wait_for_stderr("ready; waiting for SIGINT or SIGTERM", Clock::now() + std::chrono::seconds(10)));
  const auto sent = Clock::now();
  p.send_signal(sig);
  const int status = p.wait(sent + std::chrono::seconds(5));
  CAPTURE(p.err());
  CHECK(status == 0);
  CHECK(Clock::now() - sent < std::chrono::seconds(2));
  CHECK(p.err().find("stopped") != std::string::npos);
  return p.err();
}

}  // namespace

TEST_CASE("runs from a file and stops cleanly on SIGTERM") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", kValidFile);
  const std::string err = expect_clean_stop(args({"--upstreams-config", path}), {}, SIGTERM);
  CHECK(err.find("polling zeam_0 at http://127.0.0.1:8081") != std::string::npos);
  CHECK(err.find("polling ream_0 at http://127.0.0.1:8082") != std::string::npos);
  CHECK(err.find("received SIGTERM") != std::string::npos);
  // Log lines carry a timestamp and a level.
  CHECK(err.find("Z INFO leanpoint ") != std::string::npos);
}

TEST_CASE("runs from lean-quickstart's validator-config.yaml, --upstream-host moving every upstream") {
  testing::TempDir dir;
  const std::string path =
      dir.write("validator-config.yaml",
                "validators:\n  - name: zeam_0\n    enrFields: {ip: 10.0.0.11}\n    apiPort: 5052\n"
                "  - name: zeam_1\n    metricsPort: 8081\n");
  const std::string err =
      expect_clean_stop(args({"--upstreams-config", path, "--upstream-host", "127.0.0.2"}), {}, SIGTERM);
  CHECK(err.find("polling zeam_0 at http://127.0.0.2:5052") != std::string::npos);
  CHECK(err.find("polling zeam_1 at http://127.0.0.2:8081") != std::string::npos);
  dir.write("bad.yaml", "validators:\n  - name: a\n    apiPort: [1\n");
  expect_usage_error(args({"--upstreams-config", dir.path() + "/bad.yaml"}), "bad.yaml: invalid YAML at line ");
}

TEST_CASE("runs from --upstream flags and stops cleanly on SIGINT") {
  const std::string err =
      expect_clean_stop(args({"--upstream", "a=http://127.0.0.1:1", "--upstream", "b=http://[::1]:2"}), {}, SIGINT);
  CHECK(err.find("polling b at http://[::1]:2") != std::string::npos);
  CHECK(err.find("received SIGINT") != std::string::npos);
}

TEST_CASE("environment variables configure it; flags override them") {
  testing::TempDir dir;
  const std::string path = dir.write("u.json", kValidFile);
  const std::string port = std::to_string(testing::free_port());
  testing::Subprocess p(args({"--poll-ms", "2000", "--log-level", "debug"}),
                        {"LEANPOINT_UPSTREAMS_CONFIG=" + path, "LEANPOINT_POLL_MS=900", "LEANPOINT_TIMEOUT_MS=1500",
                         "LEANPOINT_BIND_PORT=" + port, "LEANPOINT_BIND_ADDR=127.0.0.1"});
  REQUIRE(p.wait_for_stderr("ready", Clock::now() + std::chrono::seconds(10)));
  CHECK(p.err().find("poll every 2000 ms, request deadline 1500 ms") != std::string::npos);
  CHECK(p.err().find("serving on 127.0.0.1:" + port) != std::string::npos);
  p.send_signal(SIGTERM);
  CHECK(p.wait(Clock::now() + std::chrono::seconds(5)) == 0);
}

TEST_CASE("--log-level warn keeps info lines out") {
  // --stale-ms below --poll-ms draws a warning, logged after the stop signals
  // are blocked: once it is seen, SIGTERM is handled, not fatal.
  testing::Subprocess p(args({"--upstream", "a=http://127.0.0.1:1", "--log-level", "warn", "--stale-ms", "100",
                              "--bind", "127.0.0.1", "--port", std::to_string(testing::free_port())}));
  REQUIRE(p.wait_for_stderr(" WARN --stale-ms (100) is not above --poll-ms", Clock::now() + std::chrono::seconds(10)));
  p.send_signal(SIGTERM);
  CHECK(p.wait(Clock::now() + std::chrono::seconds(5)) == 0);
  CHECK(p.err().find(" INFO ") == std::string::npos);
}
