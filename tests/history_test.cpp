// The rounds kept for /api/history: the ring (bound, order, structural
// sharing), what a round records of each upstream, the rendered document and
// its ?since slices; then /api/history of the real binary against
// lean-devnet-sim.
#include <httplib.h>

#include <csignal>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "history_json.h"
#include "ports.h"
#include "round_record.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using namespace leanpoint;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::Clock;

namespace {

std::shared_ptr<const RoundRecord> record(uint64_t round, size_t upstreams = 2) {
  auto r = std::make_shared<RoundRecord>();
  r->round = round;
  r->started_ms = 1'000'000 + static_cast<int64_t>(round) * 1000;
  r->agreed = lean::Checkpoint{ssz::Root{0xaa, static_cast<uint8_t>(round)}, round};
  auto names = std::make_shared<std::vector<std::string>>();
  for (size_t i = 0; i < upstreams; ++i) {
    names->push_back("node" + std::to_string(i));
    UpstreamRound u;
    u.result = RoundResult::ok;
    u.agrees = true;
    u.latency_ms = 3;
    u.head_slot = round + 4;
    u.justified_slot = round + 1;
    u.finalized_slot = round;
    r->upstreams.push_back(u);
  }
  r->names = names;
  return r;
}

RoundHistory filled(size_t capacity, uint64_t rounds) {
  RoundHistory h(capacity);
  for (uint64_t i = 1; i <= rounds; ++i) h = h.appended(record(i));
  return h;
}

std::string text_of(const SharedBytes& b) { return std::string(b->begin(), b->end()); }

}  // namespace

TEST_CASE("the ring keeps the newest rounds, oldest first, and no more than its capacity") {
  for (const size_t capacity : {size_t{1}, size_t{5}, size_t{64}, size_t{65}, size_t{360}}) {
    CAPTURE(capacity);
    for (const uint64_t rounds : {uint64_t{0}, uint64_t{3}, uint64_t{64}, uint64_t{200}, uint64_t{1000}}) {
      CAPTURE(rounds);
      const RoundHistory h = filled(capacity, rounds);
      const size_t kept = std::min<size_t>(capacity, rounds);
      REQUIRE(h.size() == kept);
      for (size_t i = 0; i < kept; ++i) CHECK(h.at(i)->round == rounds - kept + 1 + i);
      if (kept) CHECK(h.newest()->round == rounds);
    }
  }
  CHECK(filled(0, 10).empty());  // --history-rounds 0: nothing kept
}

TEST_CASE("an append shares the records with the history before it, which is unchanged, and releases the dropped") {
  std::vector<std::weak_ptr<const RoundRecord>> made;
  RoundHistory h(100);
  RoundHistory at_150;
  for (uint64_t i = 1; i <= 300; ++i) {
    auto r = record(i);
    made.push_back(r);
    h = h.appended(r);
    if (i == 150) at_150 = h;
  }
  // The older history still reads as it was, and holds the same records.
  REQUIRE(at_150.size() == 100);
  CHECK(at_150.at(0)->round == 51);
  CHECK(at_150.newest()->round == 150);
  CHECK(at_150.newest() == made[149].lock());
  at_150 = RoundHistory{};
  // Only the kept records are alive: a dropped one is released at once.
  size_t alive = 0;
  for (const auto& w : made) alive += !w.expired();
  CHECK(alive == 100);
  CHECK(made[199].expired());
  CHECK_FALSE(made[200].expired());
}

TEST_CASE("a round records each upstream's result kind, latency and slots, and shares unchanged names") {
  Snapshot s;
  s.round = 7;
  s.round_started_ms = 123;
  const lean::Checkpoint agreed{ssz::Root{1}, 40};
  s.agreement.checkpoint = agreed;
  s.agreement.votes = 2;
  s.agreement.answered = 3;
  UpstreamStatus ok;
  ok.name = "a";
  ok.polled = ok.healthy = ok.agrees = true;
  ok.latency_ms = 12;
  ok.finalized = agreed;
  ok.justified = lean::Checkpoint{ssz::Root{2}, 44};
  ok.head_slot = 47;
  UpstreamStatus failed;
  failed.name = "b";
  failed.polled = true;
  failed.error = FailureKind::timeout;
  failed.consecutive_failures = 1;
  failed.latency_ms = 300;
  failed.finalized = agreed;  // from an earlier success: not this round's
  UpstreamStatus backing_off = failed;
  backing_off.name = "c";
  backing_off.polled = false;
  UpstreamStatus local;  // left out for want of local resources
  local.name = "d";
  local.healthy = true;
  s.upstreams = {ok, failed, backing_off, local};

  const auto r = record_round(s, nullptr);
  CHECK(r->round == 7);
  CHECK(r->started_ms == 123);
  CHECK(r->agreed == agreed);
  REQUIRE(r->upstreams.size() == 4);
  REQUIRE(*r->names == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(r->upstreams[0].result == RoundResult::ok);
  CHECK(r->upstreams[0].agrees);
  CHECK(r->upstreams[0].latency_ms == 12u);
  CHECK(r->upstreams[0].finalized_slot == 40u);
  CHECK(r->upstreams[0].justified_slot == 44u);
  CHECK(r->upstreams[0].head_slot == 47u);
  CHECK(r->upstreams[1].result == RoundResult::failed);
  CHECK(r->upstreams[1].failure == FailureKind::timeout);
  CHECK(r->upstreams[1].latency_ms == 300u);
  CHECK_FALSE(r->upstreams[1].finalized_slot);
  CHECK(r->upstreams[2].result == RoundResult::backing_off);
  CHECK_FALSE(r->upstreams[2].latency_ms);
  CHECK(r->upstreams[3].result == RoundResult::not_polled);

  const auto same = record_round(s, r.get());
  CHECK(same->names == r->names);  // one list of names while the upstreams stay
  s.upstreams.pop_back();
  const auto fewer = record_round(s, same.get());
  CHECK(fewer->names != r->names);
  CHECK(fewer->names->size() == 3);

  const json doc = json::parse(round_json(*r));
  CHECK(doc["upstreams"][1]["name"] == "b");
  CHECK(doc["upstreams"][1]["result"] == "timeout");
  CHECK(doc["upstreams"][2]["result"] == "backing_off");
  CHECK(doc["upstreams"][3]["result"] == "not_polled");
  CHECK(doc["upstreams"][0]["result"] == "ok");
  CHECK(doc["agreed"]["slot"] == 40);
}

TEST_CASE("the document: every round once, oldest first, compact; ?since slices it; reused text equals fresh") {
  HistoryBodies bodies;
  CHECK(text_of(bodies.get(nullptr, std::nullopt).bytes) == R"({"capacity":0,"rounds":[]})");
  auto h = std::make_shared<const RoundHistory>(filled(50, 80));
  const HistoryBody whole = bodies.get(h, std::nullopt);
  const std::string text = text_of(whole.bytes);
  const auto doc = nlohmann::ordered_json::parse(text);
  CHECK(doc.dump() == text);  // compact: exactly nlohmann's compact form
  CHECK(doc["capacity"] == 50);
  REQUIRE(doc["rounds"].size() == 50);
  for (size_t i = 0; i < 50; ++i) {
    CHECK(doc["rounds"][i]["round"] == 31 + i);
    REQUIRE(doc["rounds"][i]["upstreams"].size() == 2);
    CHECK(doc["rounds"][i]["upstreams"][1]["name"] == "node1");
  }
  // The same history again: the same bytes, not another rendering.
  CHECK(bodies.get(h, std::nullopt).bytes == whole.bytes);

  // Rounds started after MS: round 70 started at 1,070,000.
  const auto since = json::parse(text_of(bodies.get(h, 1'070'000).bytes));
  REQUIRE(since["rounds"].size() == 10);
  CHECK(since["rounds"][0]["round"] == 71);
  CHECK(since["rounds"][9]["round"] == 80);
  CHECK(json::parse(text_of(bodies.get(h, 1'070'001).bytes))["rounds"].size() == 10);
  CHECK(text_of(bodies.get(h, 2'000'000).bytes) == R"({"capacity":50,"rounds":[]})");
  CHECK(bodies.get(h, 0).bytes == whole.bytes);  // everything: the cached body itself
  CHECK(bodies.get(h, 1'070'000).etag != whole.etag);

  // Ten more rounds: 40 rounds' text reused, 10 rendered; the result is the
  // document a fresh renderer makes.
  RoundHistory next = *h;
  for (uint64_t i = 81; i <= 90; ++i) next = next.appended(record(i));
  auto h2 = std::make_shared<const RoundHistory>(next);
  const HistoryBody after = bodies.get(h2, std::nullopt);
  CHECK(text_of(after.bytes) == text_of(HistoryBodies{}.get(h2, std::nullopt).bytes));
  CHECK(json::parse(text_of(after.bytes))["rounds"][0]["round"] == 41);
  CHECK(after.etag != whole.etag);
}

namespace {

// GET `path` from 127.0.0.1:port; the body of a 200, or "".
std::string get_ok(int port, const std::string& path, httplib::Headers* headers = nullptr) {
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(5, 0);
  const auto r = c.Get(path);
  if (!r || r->status != 200) return "";
  if (headers) *headers = r->headers;
  return r->body;
}

}  // namespace

TEST_CASE("/api/history of leanpoint against lean-devnet-sim: rounds appear, bounded, one entry per upstream") {
  testing::TempDir dir;
  testing::Subprocess sim({testing::sim_bin(), "--nodes", "4", "--base-port", "0", "--slot-ms", "60000", "--fault",
                           "3=fork", "--upstreams-out", dir.path() + "/upstreams.json"});
  REQUIRE(sim.wait_for_stdout("ready:", Clock::now() + 10s));
  const int port = testing::free_port();
  testing::Subprocess lp({testing::leanpoint_bin(), "--upstreams-config", dir.path() + "/upstreams.json", "--bind",
                          "127.0.0.1", "--port", std::to_string(port), "--poll-ms", "200", "--timeout-ms", "150",
                          "--history-rounds", "6"});
  REQUIRE(lp.wait_for_stderr("verified anchor", Clock::now() + 20s));

  // Rounds appear until the ring is full (6 rounds at 200 ms: about a second).
  json doc;
  std::string body;
  httplib::Headers headers;
  for (const auto by = Clock::now() + 30s; Clock::now() < by; std::this_thread::sleep_for(100ms)) {
    body = get_ok(port, "/api/history", &headers);
    if (body.empty()) continue;
    doc = json::parse(body);
    if (doc["rounds"].size() == 6 && doc["rounds"][0]["round"] > 1) break;
  }
  REQUIRE(doc["rounds"].size() == 6);  // the bound: never more
  CHECK(doc["rounds"][0]["round"] > 1);
  CHECK(nlohmann::ordered_json::parse(body).dump() == body);  // compact
  CHECK(headers.find("Content-Type")->second == "application/json");
  const auto& rounds = doc["rounds"];
  for (size_t i = 0; i < rounds.size(); ++i) {
    CAPTURE(i);
    if (i > 0) CHECK(rounds[i]["round"] == rounds[i - 1]["round"].get<uint64_t>() + 1);
    if (i > 0) CHECK(rounds[i]["started_ms"] >= rounds[i - 1]["started_ms"].get<int64_t>());
    REQUIRE(rounds[i]["upstreams"].size() == 4);
    for (int n = 0; n < 3; ++n) {
      const auto& u = rounds[i]["upstreams"][n];
      CHECK(u["name"] == "node" + std::to_string(n) + "_healthy");
      CHECK(u["result"] == "ok");
      CHECK(u["agrees"] == true);
      CHECK(u["finalized_slot"].is_number());
      CHECK(u["head_slot"].get<uint64_t>() >= u["finalized_slot"].get<uint64_t>());
    }
    const auto& fork = rounds[i]["upstreams"][3];
    CHECK(fork["name"] == "node3_fork");
    CHECK(fork["result"] == "ok");
    CHECK(fork["agrees"] == false);  // answered, on another chain
    CHECK(rounds[i]["agreed"]["slot"].is_number());
    CHECK(rounds[i]["votes"] == 3);
    CHECK(rounds[i]["answered"] == 4);
  }

  // ?since=MS: only the rounds that started after MS.
  const int64_t third = rounds[2]["started_ms"];
  const json since = json::parse(get_ok(port, "/api/history?since=" + std::to_string(third)));
  REQUIRE_FALSE(since["rounds"].empty());
  CHECK(since["rounds"][0]["round"] > rounds[2]["round"].get<uint64_t>());
  for (const auto& r : since["rounds"]) CHECK(r["started_ms"] > third);
  CHECK(json::parse(get_ok(port, "/api/history?since=99999999999999"))["rounds"].empty());
  httplib::Client c("127.0.0.1", port);
  const auto bad = c.Get("/api/history?since=yesterday");
  REQUIRE(bad);
  CHECK(bad->status == 400);

  lp.send_signal(SIGTERM);
  CHECK(lp.wait(Clock::now() + 5s) == 0);
  sim.send_signal(SIGTERM);
  CHECK(sim.wait(Clock::now() + 5s) == 0);
}

TEST_CASE("/api/history from a server: ETag and 304, HEAD, and a reader that stops reading holds no api worker") {
  auto options = testing::test_server_options();
  options.api_workers = 1;
  options.gate.stall_timeout_ms = 20000;  // a worker held by the reader would be held this long
  testing::TestServer t(options);
  auto s = std::make_shared<Snapshot>(*t.store().load());
  // 1,500 rounds of 64 upstreams: some 12 MB, more than the kernel's socket
  // buffers take at once, so a worker that sent it itself would wait.
  RoundHistory h(1500);
  for (uint64_t i = 1; i <= 1600; ++i) h = h.appended(record(i, 64));
  s->rounds = std::make_shared<const RoundHistory>(h);
  t.store().publish(s);

  const auto whole = testing::get(t.port(), "/api/history");
  REQUIRE(whole);
  CHECK(whole->status == 200);
  CHECK(whole->body.size() > 8'000'000);
  CHECK(json::parse(whole->body)["rounds"].size() == 1500);
  const std::string etag = whole->get_header_value("ETag");
  CHECK_FALSE(etag.empty());
  CHECK(whole->get_header_value("Cache-Control") == "no-cache");
  const auto again = testing::get(t.port(), "/api/history", {{"If-None-Match", etag}});
  REQUIRE(again);
  CHECK(again->status == 304);
  httplib::Client c("127.0.0.1", t.port());
  const auto head = c.Head("/api/history");
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->get_header_value("Content-Length") == std::to_string(whole->body.size()));

  // A client that asks for the document and reads none of it: the bytes its
  // socket cannot take wait in the gate, and the one api worker is free.
  const int reader = testing::connect_to(t.port(), 4096);
  REQUIRE(reader >= 0);
  REQUIRE(testing::send_all(reader, "GET /api/history HTTP/1.1\r\nHost: leanpoint\r\n\r\n"));
  const auto started = Clock::now();
  for (int i = 0; i < 3; ++i) {
    const auto other = testing::get(t.port(), "/api/upstreams");
    REQUIRE(other);
    CHECK(other->status == 200);
  }
  CHECK(Clock::now() - started < 10s);  // a held worker would make the first wait the whole stall window
  ::close(reader);
}
