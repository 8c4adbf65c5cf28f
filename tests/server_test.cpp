// The server's routes with real sockets on 127.0.0.1: the anchor and its
// headers, Range, 304, HEAD, the JSON documents, /metrics, static files, the
// route table on decoded paths; descriptors back to their baseline.
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "fds.h"
#include "lean_api.h"
#include "sanitizers.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace std::chrono_literals;
using testing::get;
using testing::TestServer;

namespace {

// /metrics once it holds `line`, or after 5 s: a request is counted after its
// response is written, which the client may have read by then.
std::string metrics_with(uint16_t port, const std::string& line) {
  std::string metrics;
  for (const auto by = std::chrono::steady_clock::now() + std::chrono::seconds(5);
       metrics.find(line) == std::string::npos && std::chrono::steady_clock::now() < by;)
    metrics = testing::get(port, "/metrics")->body;
  return metrics;
}

std::string body_of(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

}  // namespace

TEST_CASE("the anchor: bytes, type, length, ETag, slot and root headers, short cache") {
  const size_t fds = testing::open_fds();
  {
    TestServer t;
    const auto anchor = t.publish_anchor(100000, 3000);
    auto r = get(t.port(), "/lean/v0/states/finalized");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == body_of(*anchor->state));
    CHECK(r->get_header_value("Content-Type") == "application/octet-stream");
    CHECK(r->get_header_value("Content-Length") == "100000");
    CHECK(r->get_header_value("ETag") == "\"" + leanpoint::to_hex(anchor->state_root) + "\"");
    CHECK(r->get_header_value("X-Leanpoint-Slot") == "96");
    CHECK(r->get_header_value("X-Leanpoint-Block-Root") == leanpoint::to_hex(anchor->checkpoint.root));
    CHECK(r->get_header_value("Cache-Control") == "public, max-age=4");
    CHECK(r->get_header_value("Accept-Ranges") == "bytes");
    r = get(t.port(), "/lean/v0/blocks/finalized");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == body_of(*anchor->block));
    CHECK(r->get_header_value("ETag") == "\"" + leanpoint::to_hex(anchor->checkpoint.root) + "\"");
  }
  CHECK(testing::open_fds() == fds);
}

TEST_CASE("no verified anchor yet: 503 with the reason") {
  TestServer t;
  auto r = get(t.port(), "/lean/v0/states/finalized");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body == "no polling round has finished yet\n");
  CHECK(r->get_header_value("Retry-After") == "4");
  t.publish_anchor(1000, 0);  // a state, no block (qlean-mini serves none)
  r = get(t.port(), "/lean/v0/blocks/finalized");
  REQUIRE(r);
  CHECK(r->status == 503);
  CHECK(r->body.find("no verified block") != std::string::npos);
  CHECK(get(t.port(), "/lean/v0/states/finalized")->status == 200);
}

TEST_CASE("HEAD: the headers, Content-Length, no body") {
  TestServer t;
  t.publish_anchor(50000);
  httplib::Client c("127.0.0.1", t.port());
  const auto r = c.Head("/lean/v0/states/finalized");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->get_header_value("Content-Length") == "50000");
  CHECK(r->body.empty());
}

TEST_CASE("If-None-Match: 304 for a matching ETag") {
  TestServer t;
  const auto a = t.publish_anchor(5000);
  const std::string etag = "\"" + leanpoint::to_hex(a->state_root) + "\"";
  for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
    CAPTURE(inm);
    const auto r = get(t.port(), "/lean/v0/states/finalized", {{"If-None-Match", inm}});
    REQUIRE(r);
    CHECK(r->status == 304);
    CHECK(r->body.empty());
  }
  CHECK(get(t.port(), "/lean/v0/states/finalized", {{"If-None-Match", "\"stale\""}})->status == 200);
}

TEST_CASE("Range: one range clamped, 416 past the end, several ranges give the whole body") {
  TestServer t;
  const auto a = t.publish_anchor(10000);
  const std::string body = body_of(*a->state);
  auto r = get(t.port(), "/lean/v0/states/finalized", {{"Range", "bytes=100-199"}});
  REQUIRE(r);
  CHECK(r->status == 206);
  CHECK(r->body == body.substr(100, 100));
  CHECK(r->get_header_value("Content-Range") == "bytes 100-199/10000");

  r = get(t.port(), "/lean/v0/states/finalized", {{"Range", "bytes=9990-20000"}});
  CHECK(r->status == 206);
  CHECK(r->body == body.substr(9990));
  r = get(t.port(), "/lean/v0/states/finalized", {{"Range", "bytes=-10"}});
  CHECK(r->status == 206);
  CHECK(r->body == body.substr(9990));

  // 0.11.4 answered this 206 with Content-Length 18446744073626328833.
  r = get(t.port(), "/lean/v0/states/finalized", {{"Range", "bytes=10000-"}});
  CHECK(r->status == 416);
  CHECK(r->get_header_value("Content-Range") == "bytes */10000");
  CHECK(r->body.empty());

  for (const std::string spec : {"bytes=0-9,20-29", "bytes=abc-", "items=0-5", "bytes=50-10"}) {
    CAPTURE(spec);
    r = get(t.port(), "/lean/v0/states/finalized", {{"Range", spec}});
    CHECK(r->status == 200);
    CHECK(r->body == body);
  }
}

TEST_CASE("sixteen overlapping 0- ranges: the whole body once, no memory growth") {
  TestServer t;
  t.publish_anchor(16 << 20);
  std::string ranges = "bytes=0-";
  for (int i = 1; i < 16; ++i) ranges += ",0-";
  get(t.port(), "/status");  // warm up
  const size_t before = testing::rss_bytes();
  for (int i = 0; i < 4; ++i) {
    const int fd = testing::connect_to(t.port());
    testing::send_all(
        fd, "GET /lean/v0/states/finalized HTTP/1.1\r\nHost: x\r\nRange: " + ranges + "\r\nConnection: close\r\n\r\n");
    size_t total = 0;
    const std::string head = testing::drain(fd, 10000, total);
    ::close(fd);
    CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(total > (16u << 20));
    CHECK(total < (16u << 20) + 1000);
  }
  // cpp-httplib 0.11.4's own handling took 268 MB for this; the body is
  // served from the shared anchor, never copied.
  if (testing::kThreadSanitizer)
    MESSAGE("RSS bound not checked under ThreadSanitizer (its shadow memory grows with the traffic)");
  else
    CHECK(testing::rss_bytes() < before + (8u << 20));
}

TEST_CASE("client-sent headers never override the server's") {
  TestServer t;
  t.publish_anchor(1000);
  const auto r = get(t.port(), "/lean/v0/states/finalized",
                     {{"X-Leanpoint-Slot", "999999"}, {"ETag", "\"forged\""}, {"REMOTE_ADDR", "6.6.6.6"}});
  REQUIRE(r);
  CHECK(r->get_header_value("X-Leanpoint-Slot") == "96");
  CHECK(r->get_header_value_count("X-Leanpoint-Slot") == 1);
  CHECK(r->get_header_value("ETag") != "\"forged\"");
}

TEST_CASE("/healthz: 200 ok when healthy, 503 with every failing reason otherwise") {
  TestServer t;
  auto r = get(t.port(), "/healthz");
  CHECK(r->status == 503);
  CHECK(r->body == "no_agreement\nno_verified_anchor\n");
  CHECK(nlohmann::json::parse(get(t.port(), "/status")->body)["stale"] == true);  // never agreed
  t.publish_anchor(1000);
  r = get(t.port(), "/healthz");
  CHECK(r->status == 200);
  CHECK(r->body == "ok\n");
}

TEST_CASE("every counter list entry appears in /status and /metrics, under agreeing names") {
  TestServer t;
  t.publish_anchor(1000);
  auto s = std::make_shared<leanpoint::Snapshot>(*t.store().load());
  s->round = 11;
  s->rounds_overrun_total = 12;
  s->local_errors_total = 13;
  s->data_dir.emplace();
  s->data_dir->writes_total = 14;
  s->data_dir->write_errors_total = 15;
  t.store().publish(s);
  const auto status = nlohmann::json::parse(get(t.port(), "/status")->body);
  const std::string metrics = get(t.port(), "/metrics")->body;
  // A sample of `metric` with `value`: "name value" on a line of its own.
  auto sample = [&](std::string_view metric, uint64_t value) {
    return metrics.find("\n" + std::string(metric) + " " + std::to_string(value) + "\n") != std::string::npos;
  };
  for (const auto& c : leanpoint::kRoundCounters) {
    CAPTURE(c.status_field);
    CHECK(c.metric == "leanpoint_" + std::string(c.status_field));
    REQUIRE(status["round"].contains(std::string(c.status_field)));
    CHECK(sample(c.metric, status["round"][std::string(c.status_field)].get<uint64_t>()));
    CHECK(status["round"][std::string(c.status_field)] == (*s).*c.field);
  }
  for (const auto& c : leanpoint::kDataDirCounters) {
    CAPTURE(c.status_field);
    CHECK(c.metric == "leanpoint_data_dir_" + std::string(c.status_field));
    REQUIRE(status["data_dir"].contains(std::string(c.status_field)));
    CHECK(sample(c.metric, status["data_dir"][std::string(c.status_field)].get<uint64_t>()));
    CHECK(status["data_dir"][std::string(c.status_field)] == (*s->data_dir).*c.field);
  }
  for (const auto& c : leanpoint::kCounters) {  // live: the values move between the two requests
    CAPTURE(c.status_field);
    CHECK(status["process"].contains(std::string(c.status_field)));
    CHECK(metrics.find("\n" + std::string(c.metric) + " ") != std::string::npos);
  }
  for (const char* gone : {"overruns_total", "without_agreement_total"}) CHECK_FALSE(status["round"].contains(gone));
}

TEST_CASE("/status and /api/upstreams keep the Zig leanpoint's fields, with its bugs fixed") {
  TestServer t;
  t.publish_anchor(1000);
  auto s = std::make_shared<leanpoint::Snapshot>(*t.store().load());
  leanpoint::UpstreamStatus up;
  up.name = "zeam_0";
  up.url = "http://127.0.0.1:8081";
  up.path = "/v0/health";
  up.healthy = false;  // succeeded once, failed last: the Zig leanpoint still said healthy
  up.last_success_ms = 123;
  up.error = leanpoint::FailureKind::timeout;
  up.errors_total[leanpoint::FailureKind::timeout] = 2;
  up.finalized = leanpoint::lean::Checkpoint{leanpoint::ssz::Root{1}, 90};
  s->upstreams = {up};
  s->agreement.checkpoint.reset();  // this round: responsive, but no agreement
  t.store().publish(s);

  const auto status = nlohmann::json::parse(get(t.port(), "/status")->body);
  for (const char* f :
       {"justified_slot", "finalized_slot", "last_updated_ms", "last_success_ms", "stale", "error_count", "last_error"})
    CHECK_MESSAGE(status.contains(f), f);
  CHECK(status["finalized_slot"] == 96);
  CHECK(status["justified_slot"] == 100);
  CHECK(status["stale"] == false);
  CHECK(status["anchor"]["slot"] == 96);
  CHECK(status["health"]["ok"] == true);

  const auto ups = nlohmann::json::parse(get(t.port(), "/api/upstreams")->body);
  const auto& row = ups["upstreams"][0];
  for (const char* f : {"name", "url", "path", "healthy", "last_success_ms", "error_count", "last_error",
                        "last_justified_slot", "last_finalized_slot"})
    CHECK_MESSAGE(row.contains(f), f);
  CHECK(row["healthy"] == false);
  CHECK(row["last_error"] == "timeout");
  CHECK(row["error_count"] == 2);
  CHECK(row["last_finalized_slot"] == 90);
  CHECK(row["path"] == "/v0/health");
  for (const char* f : {"total_upstreams", "responding_upstreams", "consensus_threshold", "has_consensus"})
    CHECK_MESSAGE(ups["consensus"].contains(f), f);
  CHECK(ups["consensus"]["has_consensus"] == false);  // agreement, not responsiveness
  CHECK(ups["consensus"]["responding_upstreams"] == 0);
}

TEST_CASE("the lean API subset, so any client (or another leanpoint) can sync from this one") {
  TestServer t;
  CHECK(get(t.port(), "/lean/v0/checkpoints/finalized")->status == 503);
  CHECK(get(t.port(), "/lean/v0/health")->status == 200);
  const auto a = t.publish_anchor(1000);
  auto fin = nlohmann::json::parse(get(t.port(), "/lean/v0/checkpoints/finalized")->body);
  CHECK(fin["slot"] == 96);
  CHECK(fin["root"] == leanpoint::to_hex(a->checkpoint.root));
  const auto fc = leanpoint::parse_fork_choice(get(t.port(), "/lean/v0/fork_choice")->body);
  REQUIRE(fc);
  CHECK(fc->finalized == a->checkpoint);
  REQUIRE(fc->justified);
  CHECK(fc->justified->slot == 100);
  CHECK(nlohmann::json::parse(get(t.port(), "/lean/v0/checkpoints/justified")->body)["slot"] == 100);
}

TEST_CASE("/metrics: promtool finds nothing to complain about") {
  TestServer t;
  t.publish_anchor(1000);
  get(t.port(), "/lean/v0/states/finalized");
  const std::string metrics =
      metrics_with(t.port(), "leanpoint_requests_total{route=\"/lean/v0/states/finalized\",code=\"200\"} 1\n");
  CHECK(metrics.find("leanpoint_finalized_slot 96\n") != std::string::npos);
  CHECK(metrics.find("leanpoint_justified_slot 100\n") != std::string::npos);
  CHECK(metrics.find("leanpoint_requests_total{route=\"/lean/v0/states/finalized\",code=\"200\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.find("leanpoint_pool_workers{pool=\"artifact\"} 4\n") != std::string::npos);
  REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/promtool"), "promtool missing: scripts/setup installs prometheus");
  testing::TempDir dir;
  const std::string file = dir.write("metrics.txt", metrics);
  const auto r = testing::run({"/bin/sh", "-c", "promtool check metrics < " + file});
  CAPTURE(r.out + r.err);
  CHECK(r.status == 0);
}

TEST_CASE("--static-dir: files through the streaming path; traversal and escaping symlinks refused") {
  testing::TempDir root, outside;
  std::filesystem::create_directories(root.path() + "/www/css");
  const std::string www = std::filesystem::canonical(root.path() + "/www").string();
  std::ofstream(www + "/index.html") << "<h1>hi</h1>";
  std::ofstream(www + "/css/site.css") << "body{}";
  std::ofstream(outside.path() + "/secret.txt") << "secret";
  std::filesystem::create_symlink(outside.path() + "/secret.txt", www + "/leak.txt");
  leanpoint::SiteOptions r;
  r.static_dir = www;
  TestServer t(testing::test_server_options(), r);
  auto res = get(t.port(), "/");
  CHECK(res->status == 200);
  CHECK(res->body == "<h1>hi</h1>");
  CHECK(res->get_header_value("Content-Type") == "text/html; charset=utf-8");
  res = get(t.port(), "/css/site.css", {{"Range", "bytes=1-3"}});
  CHECK(res->status == 206);
  CHECK(res->body == "ody");
  CHECK(get(t.port(), "/css/site.css", {{"If-None-Match", res->get_header_value("ETag")}})->status == 304);
  CHECK(get(t.port(), "/missing.js")->status == 404);
  CHECK(get(t.port(), "/leak.txt")->status == 404);
  for (const char* raw : {"/../secret.txt", "/%2e%2e/secret.txt", "/css/%2E%2E/%2e%2e/secret.txt"}) {
    CAPTURE(raw);
    const int fd = testing::connect_to(t.port());
    testing::send_all(fd, std::string("GET ") + raw + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string reply = testing::read_until_close(fd, 3000);
    ::close(fd);
    CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
    CHECK(reply.find("secret") == std::string::npos);
  }
  // The API is still the API.
  CHECK(get(t.port(), "/healthz")->status == 503);
}

TEST_CASE("a percent-encoded anchor path is the anchor route: artifact pool, its label, its bytes") {
  auto o = testing::test_server_options();
  o.api_workers = 1;
  o.gate.stall_timeout_ms = 5000;
  TestServer t(o);
  const auto anchor = t.publish_anchor(32 << 20);
  // A reader that does not read: its state waits in the gate (an artifact
  // response, queued by reference), holding no worker at all.
  const int stalled = testing::connect_to(t.port(), 4096);
  testing::send_all(stalled, "GET /lean%2fv0%2fstates%2ffinalized HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto by = std::chrono::steady_clock::now() + 5s;
  while (t.stats().connections_sending == 0 && std::chrono::steady_clock::now() < by) std::this_thread::yield();
  CHECK(t.stats().connections_sending == 1);
  CHECK(t.server().api_pool().active() == 0);
  // So the one api worker is free.
  const auto start = std::chrono::steady_clock::now();
  CHECK(get(t.port(), "/healthz")->status == 200);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  ::close(stalled);

  const auto r = get(t.port(), "/lean%2Fv0%2Fblocks%2Ffinalized?x=1");
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body == body_of(*anchor->block));
  const std::string counted = "leanpoint_requests_total{route=\"/lean/v0/blocks/finalized\",code=\"200\"} 1\n";
  const std::string metrics = metrics_with(t.port(), counted);
  CHECK(metrics.find(counted) != std::string::npos);
  CHECK(metrics.find("%2") == std::string::npos);
}

TEST_CASE("the justified probe in /status, /api/upstreams and /metrics: how each was observed, and the bytes") {
  TestServer t;
  t.publish_anchor(1000);
  auto s = std::make_shared<leanpoint::Snapshot>(*t.store().load());
  leanpoint::UpstreamStatus probed, failed;
  probed.name = "zeam_0";
  probed.polled = probed.healthy = true;
  probed.observed_via = leanpoint::ObservedVia::justified_unchanged;
  probed.fork_choice_bytes = 10'000'000;
  probed.round_bytes = 180;
  probed.bytes_total = {{leanpoint::UpstreamEndpoint::fork_choice, 30'000'000},
                        {leanpoint::UpstreamEndpoint::justified, 900}};
  failed.name = "ream_0";
  failed.polled = true;
  failed.observed_via = leanpoint::ObservedVia::fork_choice;  // an earlier success
  failed.round_bytes = 20;
  s->upstreams = {probed, failed};
  t.store().publish(s);

  const auto status = nlohmann::json::parse(get(t.port(), "/status")->body);
  const auto& round = status["round"];
  CHECK(round["bytes_read"] == 200);
  REQUIRE(round["upstreams"].size() == 2);
  CHECK(round["upstreams"][0]["observed_via"] == "justified_unchanged");
  CHECK(round["upstreams"][0]["fork_choice_bytes"] == 10'000'000);
  CHECK(round["upstreams"][0]["round_bytes"] == 180);
  CHECK(round["upstreams"][1]["observed_via"].is_null());  // failed this round
  CHECK(round["upstreams"][1]["fork_choice_bytes"].is_null());

  const auto row = nlohmann::json::parse(get(t.port(), "/api/upstreams")->body)["upstreams"][0];
  CHECK(row["observed_via"] == "justified_unchanged");
  CHECK(row["fork_choice_bytes"] == 10'000'000);
  CHECK(row["round_bytes"] == 180);
  CHECK(row["bytes_by_endpoint"]["fork_choice"] == 30'000'000);
  CHECK(row["bytes_by_endpoint"]["justified"] == 900);

  const std::string metrics = get(t.port(), "/metrics")->body;
  CHECK(metrics.find("# TYPE leanpoint_upstream_bytes_total counter\n") != std::string::npos);
  for (const char* line : {R"(leanpoint_upstream_bytes_total{upstream="zeam_0",endpoint="fork_choice"} 30000000)",
                           R"(leanpoint_upstream_bytes_total{upstream="zeam_0",endpoint="justified"} 900)",
                           R"(leanpoint_upstream_bytes_total{upstream="zeam_0",endpoint="state"} 0)",
                           R"(leanpoint_upstream_bytes_total{upstream="ream_0",endpoint="block"} 0)"})
    CHECK_MESSAGE(metrics.find(std::string("\n") + line + "\n") != std::string::npos, line);
}
