// Unit tests for config.h: URL and upstreams-file parsing, cross-flag checks.
#include "config.h"

#include "quickstart_config.h"
#include "tempdir.h"
#include "testing.h"
#include "upstream_url.h"

using leanpoint::Config;
using leanpoint::parse_upstream_flag;
using leanpoint::parse_upstream_url;
using leanpoint::parse_upstreams_json;
using leanpoint::Upstream;

namespace {

Config valid_config() {
  Config c;
  c.upstreams.push_back(*parse_upstream_url("zeam_0", "http://127.0.0.1:8081", "test"));
  return c;
}

}  // namespace

TEST_CASE("upstream URL: host and port") {
  const Upstream up = *parse_upstream_url("zeam_0", "http://127.0.0.1:8081", "test");
  CHECK(up.name == "zeam_0");
  CHECK(up.host == "127.0.0.1");
  CHECK(up.port == 8081);
  CHECK(up.url == "http://127.0.0.1:8081");
}

TEST_CASE("upstream URL: hostname, trailing slash, upper-case scheme") {
  const Upstream up = *parse_upstream_url("n", "HTTP://lean-node-3.devnet:5052/", "test");
  CHECK(up.host == "lean-node-3.devnet");
  CHECK(up.port == 5052);
}

TEST_CASE("upstream URL: IPv6 literal") {
  const Upstream up = *parse_upstream_url("n", "http://[::1]:9000", "test");
  CHECK(up.host == "::1");
  CHECK(up.port == 9000);
}

TEST_CASE("upstream URL: rejected forms name the URL and the problem") {
  struct Case {
    const char* url;
    const char* expect;
  };
  const Case cases[] = {
      {"https://node:443", "https, which leanpoint does not support"},
      {"ftp://node:21", "is not of the form http://host:port"},
      {"node:5052", "is not of the form http://host:port"},
      {"http://node", "has no port"},
      {"http://node:", "has no port"},
      {"http://node:0", "it must be 1-65535"},
      {"http://node:65536", "it must be 1-65535"},
      {"http://node:80x", "it must be 1-65535"},
      {"http://node:-1", "it must be 1-65535"},
      {"http://node:5052/lean", "has a path, query or fragment"},
      {"http://node:5052?x=1", "has a path, query or fragment"},
      {"http://user@node:5052", "has user information"},
      {"http://:5052", "has no host"},
      {"http://no de:5052", "has an invalid host"},
      {"http://[::1:5052", "unclosed '['"},
      {"http://[zz]:5052", "invalid IPv6 address"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.url);
    const std::string msg = testing::error_of(parse_upstream_url("n", c.url, "where"));
    CHECK(msg.find(c.expect) != std::string::npos);
    CHECK(msg.rfind("where: url '", 0) == 0);
  }
}

TEST_CASE("https upstream: the error suggests a TLS-terminating proxy") {
  const std::string msg = testing::error_of(parse_upstream_url("n", "https://node:443", "w"));
  CHECK(msg.find("TLS-terminating proxy") != std::string::npos);
}

TEST_CASE("--upstream NAME=URL") {
  const Upstream up = *parse_upstream_flag("ream_1=http://10.0.0.2:5052");
  CHECK(up.name == "ream_1");
  CHECK(up.port == 5052);
  CHECK(testing::error_of(parse_upstream_flag("http://10.0.0.2:5052")).find("expected NAME=URL") != std::string::npos);
  CHECK(testing::error_of(parse_upstream_flag("=http://10.0.0.2:5052")).find("expected NAME=URL") != std::string::npos);
}

TEST_CASE("upstreams file: the Zig leanpoint format, path ignored") {
  const auto ups = *parse_upstreams_json(
      R"({"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:8081","path":"/v0/health"},
                       {"url":"http://127.0.0.1:8082"}]})",
      "u.json");
  REQUIRE(ups.size() == 2);
  CHECK(ups[0].name == "zeam_0");
  CHECK(ups[0].port == 8081);
  CHECK(ups[1].name == "127.0.0.1:8082");  // nameless: named after its address
}

TEST_CASE("upstreams file: errors name the file, the entry and the position") {
  struct Case {
    const char* json;
    const char* expect;
  };
  const Case cases[] = {
      {"{\"upstreams\": [\n  {\"name\": \"a\",, }]}", "u.json: invalid JSON at line 2, column 16"},
      {"", "u.json: invalid JSON at line 1, column 1"},
      {"[]", "u.json: expected a JSON object"},
      {"{}", "u.json: \"upstreams\" is missing"},
      {R"({"upstreams":{}})", "u.json: \"upstreams\" must be an array"},
      {R"({"upstreams":[]})", "u.json: \"upstreams\" is empty"},
      {R"({"upstreams":[3]})", "u.json: upstreams[0] must be an object"},
      {R"({"upstreams":[{"name":"a"}]})", "u.json: upstreams[0] (a): \"url\" is missing"},
      {R"({"upstreams":[{"name":"a","url":5}]})", "u.json: upstreams[0] (a): \"url\" must be a string"},
      {R"({"upstreams":[{"name":7,"url":"http://h:1"}]})", "\"name\" must be a string"},
      {R"({"upstreams":[{"name":"","url":"http://h:1"}]})", "\"name\" is empty"},
      {R"({"upstreams":[{"name":"a","url":"http://h:1","path":1}]})", "\"path\" must be a string"},
      {R"({"upstreams":[{"name":"a","url":"https://h:1"}]})", "upstreams[0] (a): url 'https://h:1' uses https"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    const std::string msg = testing::error_of(parse_upstreams_json(c.json, "u.json"));
    CHECK(msg.find(c.expect) != std::string::npos);
  }
}

TEST_CASE("upstreams file: missing, unreadable or a directory") {
  testing::TempDir dir;
  CHECK(testing::error_of(leanpoint::load_upstreams_file(dir.path() + "/none.json"))
            .find("--upstreams-config: cannot read '" + dir.path() + "/none.json': No such file") != std::string::npos);
  CHECK(testing::error_of(leanpoint::load_upstreams_file(dir.path())).find("Is a directory") != std::string::npos);
}

TEST_CASE("validate: a valid config passes") { CHECK(testing::error_of(leanpoint::validate(valid_config())) == ""); }

TEST_CASE("validate: cross-flag rules") {
  Config c = valid_config();
  SUBCASE("no upstreams") {
    c.upstreams.clear();
    CHECK(testing::error_of(leanpoint::validate(c)).find("no upstreams") != std::string::npos);
  }
  SUBCASE("duplicate names") {
    c.upstreams.push_back(c.upstreams[0]);
    c.upstreams_config = "u.json";
    CHECK(testing::error_of(leanpoint::validate(c)) == "u.json: duplicate upstream name 'zeam_0' (entries 0 and 1)");
  }
  SUBCASE("port") {
    c.server.port = 0;
    CHECK(testing::error_of(leanpoint::validate(c)) == "--port: 0 is outside 1-65535");
    c.server.port = 65536;
    CHECK(testing::error_of(leanpoint::validate(c)) == "--port: 65536 is outside 1-65535");
  }
  SUBCASE("non-positive durations") {
    c.poller.timeout_ms = 0;
    CHECK(testing::error_of(leanpoint::validate(c)) == "--timeout-ms: must be positive, got 0");
    c.poller.timeout_ms = 1;
    c.site.health.stale_ms = -5;
    CHECK(testing::error_of(leanpoint::validate(c)) == "--stale-ms: must be positive, got -5");
  }
  SUBCASE("timeout not below poll interval") {
    c.poller.poll_ms = 5000;
    c.poller.timeout_ms = 5000;
    CHECK(testing::error_of(leanpoint::validate(c)).find("--timeout-ms (5000) must be smaller than --poll-ms (5000)") !=
          std::string::npos);
  }
  SUBCASE("caps on what upstreams send") {
    c.poller.max_json_bytes = 1000;
    CHECK(testing::error_of(leanpoint::validate(c)) ==
          "--max-json-bytes 1000 is below 64 KiB; fork_choice lists every block since finality");
    c.poller.max_json_bytes = 64 << 10;
    CHECK(testing::error_of(leanpoint::validate(c)) == "");
    CHECK(leanpoint::Config{}.poller.max_json_bytes == 64u << 20);
  }
  SUBCASE("the justified probe: any size (0: off), a refresh of at least one round") {
    CHECK(leanpoint::Config{}.poller.fork_choice_probe_bytes == 256u << 10);
    CHECK(leanpoint::Config{}.poller.fork_choice_refresh_rounds == 15);
    c.poller.fork_choice_probe_bytes = 0;
    CHECK(testing::error_of(leanpoint::validate(c)) == "");
    c.poller.fork_choice_refresh_rounds = 0;
    CHECK(testing::error_of(leanpoint::validate(c)) ==
          "--fork-choice-refresh-rounds must be at least 1 (1: fork_choice every round)");
    c.poller.fork_choice_refresh_rounds = 1;
    CHECK(testing::error_of(leanpoint::validate(c)) == "");
  }
  SUBCASE("the rounds kept for /api/history: an hour at the default --poll-ms, 0 (none) to a day of 1 s rounds") {
    CHECK(leanpoint::Config{}.poller.history_rounds * leanpoint::Config{}.poller.poll_ms == 3'600'000);
    c.poller.history_rounds = 0;
    CHECK(testing::error_of(leanpoint::validate(c)) == "");
    c.poller.history_rounds = 86'400;
    CHECK(testing::error_of(leanpoint::validate(c)) == "");
    c.poller.history_rounds = 86'401;
    CHECK(testing::error_of(leanpoint::validate(c)) ==
          "--history-rounds: 86401 is outside 0-86400 (each round keeps a record per upstream)");
  }
  SUBCASE("bind address") {
    c.server.bind = "localhost";
    CHECK(testing::error_of(leanpoint::validate(c)).find("--bind: 'localhost' is not an IPv4 or IPv6") !=
          std::string::npos);
    c.server.bind = "::";
    CHECK(testing::error_of(leanpoint::validate(c)) == "");
  }
  SUBCASE("static dir") {
    c.site.static_dir = "/nonexistent-leanpoint-dir";
    CHECK(testing::error_of(leanpoint::validate(c)).find("--static-dir: '/nonexistent-leanpoint-dir'") !=
          std::string::npos);
    testing::TempDir dir;
    c.site.static_dir = dir.write("file", "not a directory");
    CHECK(testing::error_of(leanpoint::validate(c)).find("is not a directory") != std::string::npos);
  }
}

// --- lean-quickstart's validator-config.yaml (quickstart_config.h) ---------

namespace {

// Shaped like lean-quickstart's local-devnet/genesis/validator-config.yaml.
const char* const kQuickstart = R"(shuffle: roundrobin
config:
  activeEpoch: 18
validators:
  - name: "zeam_0"
    privkey: "bdf953adc161873ba026330c56450453f582e3c4ee6cb713644794bcfdd85fe5"
    enrFields:
      ip: "10.0.0.11"
      quic: 9000
    metricsPort: 8080
    apiPort: 5052
    count: 1
  - name: "lantern_0"
    enrFields:
      ip: "10.0.0.12"
    httpPort: 5053
    metricsPort: 8081
  - name: "zeam_old"
    metricsPort: 8082
  - name: ream_v6
    enrFields: {ip: "fd00::7"}
    apiPort: 5054
)";

}  // namespace

TEST_CASE("validator-config.yaml: one upstream per validator; apiPort, else httpPort, else metricsPort") {
  const auto ups = *leanpoint::parse_validator_config(kQuickstart, "v.yaml");
  REQUIRE(ups.size() == 4);
  CHECK(ups[0].name == "zeam_0");
  CHECK(ups[0].url == "http://10.0.0.11:5052");
  CHECK(ups[1].url == "http://10.0.0.12:5053");
  CHECK(ups[2].url == "http://127.0.0.1:8082");  // no enrFields: this host
  CHECK(ups[3].host == "fd00::7");
  CHECK(ups[3].port == 5054);
}

TEST_CASE("validator-config.yaml: an entry without any port, bad YAML, no validators: one line naming the place") {
  CHECK(testing::error_of(
            leanpoint::parse_validator_config("validators:\n  - name: a\n    apiPort: 1\n  - name: qlean_0\n    "
                                              "enrFields: {ip: 10.0.0.9}\n",
                                              "v.yaml")) ==
        "v.yaml: validators[1] (qlean_0) has no apiPort, httpPort or metricsPort: leanpoint cannot reach its "
        "lean API");
  const std::string bad =
      testing::error_of(leanpoint::parse_validator_config("validators:\n  - name: a\n    apiPort: [1\n", "v.yaml"));
  CHECK(bad.rfind("v.yaml: invalid YAML at line ", 0) == 0);
  CHECK(bad.find(", column ") != std::string::npos);
  CHECK(testing::error_of(leanpoint::parse_validator_config("shuffle: x\n", "v.yaml")).find("no 'validators' list") !=
        std::string::npos);
  CHECK(testing::error_of(leanpoint::parse_validator_config("validators:\n  - apiPort: 1\n", "v.yaml")) ==
        "v.yaml: validators[0] has no name");
}

TEST_CASE("validator-config.yaml errors stay one printable line, whatever the file holds (found by fuzzing)") {
  const std::string error =
      testing::error_of(leanpoint::parse_validator_config("validators:\n  - name: \"zeam\\n0\\u0001\"\n", "v.yaml"));
  CHECK(error.find("upstream name 'zeam\\x0a0\\x01' refused") != std::string::npos);
  CHECK(error.find('\n') == std::string::npos);
}

TEST_CASE("an upstreams file is YAML by extension, else by content that is not a JSON object") {
  CHECK(leanpoint::is_validator_config("x.yaml", "{}"));
  CHECK(leanpoint::is_validator_config("x.YML", ""));
  CHECK_FALSE(leanpoint::is_validator_config("x.json", "validators: []"));
  CHECK_FALSE(leanpoint::is_validator_config("upstreams", "  {\"upstreams\": []}"));
  CHECK(leanpoint::is_validator_config("upstreams", "validators:\n  - name: a\n"));
  testing::TempDir dir;
  const auto ups = *leanpoint::load_upstreams_file(dir.write("validator-config.yaml", kQuickstart));
  CHECK(ups.size() == 4);
}

TEST_CASE("--upstream-host: every upstream at that host, same port") {
  auto ups = *leanpoint::parse_validator_config(kQuickstart, "v.yaml");
  ups = *leanpoint::override_hosts(ups, "host.containers.internal");
  CHECK(ups[0].url == "http://host.containers.internal:5052");
  CHECK(ups[0].host == "host.containers.internal");
  CHECK(ups[2].url == "http://host.containers.internal:8082");
  ups = *leanpoint::override_hosts(ups, "::1");
  CHECK(ups[1].url == "http://[::1]:5053");
}

TEST_CASE("client from a lean-quickstart name: <known client>_<digits>, else not known") {
  using leanpoint::client_from_name;
  CHECK(client_from_name("zeam_0") == "zeam");
  CHECK(client_from_name("ream_1") == "ream");
  CHECK(client_from_name("ethlambda_12") == "ethlambda");
  CHECK(client_from_name("leanspec_0") == "leanspec");
  CHECK(client_from_name("qlean_3") == "qlean");
  // Anything else says nothing: a guess could fake diversity.
  for (const char* name : {"zeam", "zeam_", "zeam_a", "zeam_0x", "Zeam_0", "node0_fork", "eu_1", "my_zeam_0x", "zeam-0",
                           "_0", "127.0.0.1:8082", "zeamx_0"}) {
    CAPTURE(name);
    CHECK(client_from_name(name) == "");
  }
}

TEST_CASE("upstreams file: `client` names the implementation; else the name gives it") {
  const auto ups = *parse_upstreams_json(
      R"({"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:8081"},
                       {"name":"eu-1","url":"http://127.0.0.1:8082","client":"ream"},
                       {"name":"zeam_2","url":"http://127.0.0.1:8083","client":"lantern"},
                       {"name":"box","url":"http://127.0.0.1:8084"},
                       {"url":"http://127.0.0.1:8085","client":"new-client.v2"}]})",
      "u.json");
  REQUIRE(ups.size() == 5);
  CHECK(ups[0].client == "zeam");
  CHECK(ups[1].client == "ream");
  CHECK(ups[2].client == "lantern");  // the operator's word wins over the name
  CHECK(ups[3].client == "");         // not known
  CHECK(ups[4].client == "new-client.v2");
  CHECK(parse_upstream_flag("gean_4=http://10.0.0.2:5052")->client == "gean");
  CHECK(parse_upstream_flag("box=http://10.0.0.2:5052")->client == "");
  // --upstream-host keeps it.
  CHECK(leanpoint::override_hosts(ups, "10.9.9.9")->at(1).client == "ream");
}

TEST_CASE("upstreams file: a bad `client` is one line naming the entry and the rule") {
  const auto error = [](const std::string& client) {
    return testing::error_of(parse_upstreams_json(
        R"({"upstreams":[{"name":"a","url":"http://127.0.0.1:1","client":)" + client + "}]}", "u.json"));
  };
  const std::string rule =
      " refused: a client is 1-32 bytes of lowercase letters, digits, '-', '_' and '.', e.g. \"zeam\"";
  CHECK(error(R"("Zeam")") == "u.json: upstreams[0] (a): client 'Zeam'" + rule);
  CHECK(error(R"("")") == "u.json: upstreams[0] (a): client ''" + rule);
  CHECK(error(R"("ze am")") == "u.json: upstreams[0] (a): client 'ze am'" + rule);
  CHECK(error(R"("zeam\n0")") == "u.json: upstreams[0] (a): client 'zeam\\x0a0'" + rule);
  CHECK(error('"' + std::string(33, 'z') + '"') ==
        "u.json: upstreams[0] (a): client '" + std::string(33, 'z') + "'" + rule);
  CHECK(error('"' + std::string(32, 'z') + '"') == "");
  CHECK(error("7") == "u.json: upstreams[0] (a): \"client\" must be a string");
  CHECK(error("null") == "u.json: upstreams[0] (a): \"client\" must be a string");
}

TEST_CASE("validator-config.yaml: each node's client from its name") {
  const auto ups = *leanpoint::parse_validator_config(kQuickstart, "v.yaml");
  REQUIRE(ups.size() == 4);
  CHECK(ups[0].client == "zeam");     // zeam_0
  CHECK(ups[1].client == "lantern");  // lantern_0
  CHECK(ups[2].client == "");         // zeam_old: not <client>_<digits>
  CHECK(ups[3].client == "");         // ream_v6
}

TEST_CASE("validate: --min-agreeing-clients within 1 and the implementations configured") {
  Config c;
  for (const char* name : {"zeam_0", "zeam_1", "ream_0", "box"})
    c.upstreams.push_back(
        *parse_upstream_flag(std::string(name) + "=http://127.0.0.1:" + std::to_string(c.upstreams.size() + 1)));
  c.poller.min_agreeing_clients = 3;  // zeam, ream, and the unknown one
  CHECK(testing::error_of(leanpoint::validate(c)) == "");
  c.poller.min_agreeing_clients = 4;
  CHECK(testing::error_of(leanpoint::validate(c)) ==
        "--min-agreeing-clients 4 can never be met: the upstreams run 3 implementation(s) (unknown, ream, zeam); give "
        "1-3, or name each upstream's \"client\"");
  c.poller.min_agreeing_clients = 0;
  CHECK(testing::error_of(leanpoint::validate(c)).rfind("--min-agreeing-clients 0 can never be met", 0) == 0);
  c.poller.min_agreeing_clients = 1;
  CHECK(testing::error_of(leanpoint::validate(c)) == "");
}

TEST_CASE("reload: the implementations may change, but not below --min-agreeing-clients") {
  testing::TempDir dir;
  Config running;
  running.upstreams_config = dir.write("u.json", R"({"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:1"},
      {"name":"zeam_1","url":"http://127.0.0.1:2","client":"qlean"}]})");
  running.upstreams = *leanpoint::load_upstreams_file(running.upstreams_config);
  running.poller.min_agreeing_clients = 2;
  REQUIRE(testing::error_of(leanpoint::validate(running)) == "");
  // zeam_1 now says it runs ream: still two.
  dir.write("u.json", R"({"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:1"},
      {"name":"zeam_1","url":"http://127.0.0.1:2","client":"ream"}]})");
  const auto changed = leanpoint::reload_upstreams(running);
  REQUIRE(changed);
  CHECK(changed->at(1).client == "ream");
  // Without its client both run zeam: refused, the running upstreams stay (service.cpp).
  dir.write("u.json", R"({"upstreams":[{"name":"zeam_0","url":"http://127.0.0.1:1"},
      {"name":"zeam_1","url":"http://127.0.0.1:2"}]})");
  CHECK(testing::error_of(leanpoint::reload_upstreams(running)) ==
        "--min-agreeing-clients 2 can never be met: the upstreams run 1 implementation(s) (zeam); give 1-1, or name "
        "each upstream's \"client\"");
}
