// leanpoint's own lean API against what leanSpec's API conformance tests
// (tests/node/api/endpoints in leanSpec) check of a node: the exact key sets,
// their order and JSON types, and values that name the anchor served.
// fork_choice's one node is the anchor's block, read from the verified
// state's header; validator_count is the anchor state's.
#include <nlohmann/json.hpp>
#include <regex>

#include "anchor.h"
#include "hex.h"
#include "lean.h"
#include "lean_fixtures.h"
#include "test_server.h"
#include "testing.h"

using nlohmann::json;
using testing::get;
using testing::TestServer;

namespace {

// A devnet4 state that anchors a real block: leanSpec's state vector with
// its slot set to its header's, as a finalized state is served.
leanpoint::lean::State anchor_state() {
  auto state = leanpoint::lean::decode_state(testing::fixture_bytes("test_state_with_validators.json"));
  state.slot = state.latest_block_header.slot;
  return state;
}

// Publishes `state` as the verified anchor (with a block unless `blockless`).
std::shared_ptr<const leanpoint::VerifiedAnchor> publish(TestServer& t, const leanpoint::lean::State& state,
                                                         bool blockless = false) {
  const auto bytes = leanpoint::lean::encode(state);
  const auto summary = leanpoint::summarize_state(bytes);
  REQUIRE(summary);
  auto a = std::make_shared<leanpoint::VerifiedAnchor>();
  a->checkpoint = {summary->block_root, summary->slot};
  a->state_root = summary->state_root;
  a->state = std::make_shared<const std::vector<uint8_t>>(bytes);
  if (!blockless) a->block = std::make_shared<const std::vector<uint8_t>>(std::vector<uint8_t>(200, 7));
  a->state_source = a->block_source = "node0";
  auto s = std::make_shared<leanpoint::Snapshot>(*t.store().load());
  s->round = 1;
  s->agreement.checkpoint = a->checkpoint;
  s->justified = leanpoint::lean::Checkpoint{leanpoint::ssz::Root{0xee, 0x01}, summary->slot + 4};
  s->history.push_back({a->checkpoint, TestServer::now_ms()});
  s->anchor = a;
  t.store().publish(s);
  return a;
}

std::vector<std::string> keys_of(const nlohmann::ordered_json& object) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : object.items()) keys.push_back(key);
  return keys;
}

// A root as leanSpec writes one: 0x and 64 lowercase hex digits.
bool is_root(const json& v) {
  static const std::regex root("^0x[0-9a-f]{64}$");
  return v.is_string() && std::regex_match(v.get<std::string>(), root);
}

json get_json(uint16_t port, const std::string& path) {
  const auto r = get(port, path, {{"Accept", "application/json"}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  CHECK(r->get_header_value("Content-Type") == "application/json");  // leanSpec's bare media type
  return json::parse(r->body);
}

nlohmann::ordered_json get_ordered(uint16_t port, const std::string& path) {
  const auto r = get(port, path, {{"Accept", "application/json"}});
  REQUIRE(r);
  REQUIRE(r->status == 200);
  return nlohmann::ordered_json::parse(r->body);
}

}  // namespace

TEST_CASE("fork_choice: exactly leanSpec's keys, one node that is the anchor's block, the state's validator count") {
  TestServer t;
  const auto state = anchor_state();
  const auto a = publish(t, state);
  const std::string root = leanpoint::to_hex(a->checkpoint.root);

  const auto fc = get_ordered(t.port(), "/lean/v0/fork_choice");
  CHECK(keys_of(fc) ==
        std::vector<std::string>{"nodes", "head", "justified", "finalized", "safe_target", "validator_count"});
  REQUIRE(fc["nodes"].is_array());
  REQUIRE(fc["nodes"].size() == 1);
  const auto& node = fc["nodes"][0];
  CHECK(keys_of(node) == std::vector<std::string>{"root", "slot", "parent_root", "proposer_index", "weight"});
  CHECK(node["root"] == root);
  CHECK(node["slot"].is_number_unsigned());
  CHECK(node["slot"] == state.latest_block_header.slot);
  CHECK(node["slot"] == a->checkpoint.slot);
  CHECK(is_root(node["parent_root"]));
  CHECK(node["parent_root"] == leanpoint::to_hex(state.latest_block_header.parent_root));
  CHECK(node["proposer_index"].is_number_unsigned());
  CHECK(node["proposer_index"] == state.latest_block_header.proposer_index);
  CHECK(node["proposer_index"] != 0);  // the vector's is 2: a real value, not a default
  CHECK(node["weight"] == 0);
  CHECK(node["weight"].is_number_integer());

  CHECK(is_root(fc["head"]));
  CHECK(fc["head"] == root);
  CHECK(fc["safe_target"] == root);
  CHECK(keys_of(fc["finalized"]) == std::vector<std::string>{"slot", "root"});
  CHECK(fc["finalized"] == nlohmann::ordered_json{{"slot", a->checkpoint.slot}, {"root", root}});
  CHECK(fc["finalized"]["root"] == fc["head"]);
  CHECK(keys_of(fc["justified"]) == std::vector<std::string>{"slot", "root"});
  CHECK(fc["justified"]["slot"] == a->checkpoint.slot + 4);
  CHECK(is_root(fc["justified"]["root"]));
  CHECK(fc["validator_count"].is_number_unsigned());
  CHECK(fc["validator_count"] == state.validators.size());
  CHECK(state.validators.size() > 1);
  CHECK(get_json(t.port(), "/lean/v0/fork_choice").is_object());  // and its Content-Type
}

TEST_CASE("fork_choice before the anchor's block is served: the node is still the block the state anchors") {
  TestServer t;
  const auto state = anchor_state();
  const auto a = publish(t, state, /*blockless=*/true);
  CHECK(get(t.port(), "/lean/v0/blocks/finalized")->status == 503);
  const auto fc = get_ordered(t.port(), "/lean/v0/fork_choice");
  REQUIRE(fc["nodes"].size() == 1);
  CHECK(fc["nodes"][0]["root"] == leanpoint::to_hex(a->checkpoint.root));
  CHECK(fc["head"] == fc["nodes"][0]["root"]);
  CHECK(fc["validator_count"] == state.validators.size());
}

TEST_CASE("fork_choice over bytes that are not a state: no node, validator_count null (leanSpec's 'unavailable')") {
  TestServer t;
  t.publish_anchor(1000);  // a pattern, not a state: only tests publish such an anchor
  const auto fc = get_ordered(t.port(), "/lean/v0/fork_choice");
  CHECK(keys_of(fc) ==
        std::vector<std::string>{"nodes", "head", "justified", "finalized", "safe_target", "validator_count"});
  CHECK(fc["nodes"] == nlohmann::ordered_json::array());
  CHECK(fc["validator_count"].is_null());
  CHECK(fc["head"] == fc["finalized"]["root"]);
}

TEST_CASE("the other lean routes leanSpec's tests check: checkpoints, health, artifacts, unknown routes") {
  TestServer t;
  const auto a = publish(t, anchor_state());
  const std::string root = leanpoint::to_hex(a->checkpoint.root);

  const auto justified = get_ordered(t.port(), "/lean/v0/checkpoints/justified");
  CHECK(keys_of(justified) == std::vector<std::string>{"slot", "root"});
  CHECK(justified["slot"].is_number_unsigned());
  CHECK(is_root(justified["root"]));
  // leanSpec has no checkpoints/finalized route; leanpoint's has the same shape.
  const auto finalized = get_ordered(t.port(), "/lean/v0/checkpoints/finalized");
  CHECK(finalized == nlohmann::ordered_json{{"slot", a->checkpoint.slot}, {"root", root}});
  CHECK(get_json(t.port(), "/lean/v0/checkpoints/justified") == json::parse(justified.dump()));

  CHECK(get_json(t.port(), "/lean/v0/health") == json{{"status", "healthy"}, {"service", "lean-rpc-api"}});

  for (const char* path : {"/lean/v0/states/finalized", "/lean/v0/blocks/finalized"}) {
    const auto r = get(t.port(), path, {{"Accept", "application/octet-stream"}});
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == "application/octet-stream");
  }
  const auto state = get(t.port(), "/lean/v0/states/finalized");
  CHECK(std::vector<uint8_t>(state->body.begin(), state->body.end()) == *a->state);

  CHECK(get(t.port(), "/unknown")->status == 404);
  CHECK(get(t.port(), "/lean/v0/unknown")->status == 404);
}
