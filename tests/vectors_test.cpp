// leanSpec's devnet4 SSZ vectors (tests/data/lean-devnet4, see its README):
// every fixture of a type leanpoint supports must decode, re-encode
// byte-identically and hash to its `root`; the signature-half fixtures (types
// leanpoint never decodes) are checked for their root. No fixture is skipped:
// an unknown type fails the test.
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "hex.h"
#include "lean.h"
#include "signature_half.h"
#include "testing.h"

namespace lean = leanpoint::lean;
using leanpoint::from_hex;
using leanpoint::to_hex;
using leanpoint::ssz::Bytes;
using leanpoint::ssz::Root;

namespace {

struct Outcome {
  std::vector<uint8_t> reencoded;  // empty for root-only types
  Root root;
};

// Decodes, re-encodes and hashes one supported type.
template <typename T>
Outcome full(T (*decode)(Bytes), Bytes b) {
  const T value = decode(b);
  return {lean::encode(value), lean::hash_tree_root(value)};
}

// SignedBlock: the library decodes and re-encodes it; the full root needs the
// signature half's root from the test-side reference.
Outcome signed_block(Bytes b) {
  const lean::SignedBlock sb = lean::decode_signed_block(b);
  const Root root = leanpoint::ssz::merkleize(
      std::vector<Root>{lean::hash_tree_root(sb.message), testing::devnet4::block_signatures_root(sb.signature)});
  return {lean::encode(sb), root};
}

Outcome root_only(Root (*root)(Bytes), Bytes b) { return {{}, root(b)}; }

const std::map<std::string, std::function<Outcome(Bytes)>>& handlers() {
  using namespace testing::devnet4;
  static const std::map<std::string, std::function<Outcome(Bytes)>> table = {
      {"Checkpoint", [](Bytes b) { return full(lean::decode_checkpoint, b); }},
      {"Config", [](Bytes b) { return full(lean::decode_config, b); }},
      {"BlockHeader", [](Bytes b) { return full(lean::decode_block_header, b); }},
      {"Validator", [](Bytes b) { return full(lean::decode_validator, b); }},
      {"AttestationData", [](Bytes b) { return full(lean::decode_attestation_data, b); }},
      {"AggregatedAttestation", [](Bytes b) { return full(lean::decode_aggregated_attestation, b); }},
      {"BlockBody", [](Bytes b) { return full(lean::decode_block_body, b); }},
      {"Block", [](Bytes b) { return full(lean::decode_block, b); }},
      {"State", [](Bytes b) { return full(lean::decode_state, b); }},
      {"SignedBlock", signed_block},
      {"Attestation", [](Bytes b) { return root_only(attestation_root, b); }},
      {"SignedAttestation", [](Bytes b) { return root_only(signed_attestation_root, b); }},
      {"SignedAggregatedAttestation", [](Bytes b) { return root_only(signed_aggregated_attestation_root, b); }},
      {"BlockSignatures", [](Bytes b) { return root_only(block_signatures_root, b); }},
  };
  return table;
}

std::filesystem::path vectors_dir() {
  const char* data = std::getenv("LEANPOINT_TEST_DATA");
  REQUIRE_MESSAGE(data, "LEANPOINT_TEST_DATA is not set; run through meson test");
  return std::filesystem::path(data) / "lean-devnet4";
}

}  // namespace

TEST_CASE("leanSpec devnet4 vectors: decode, re-encode, hash_tree_root") {
  size_t files = 0, full_checks = 0, root_checks = 0;
  std::map<std::string, int> per_type;
  for (const auto& entry : std::filesystem::directory_iterator(vectors_dir())) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const auto doc = nlohmann::json::parse(std::ifstream(entry.path()));
    for (const auto& [id, fixture] : doc.items()) {
      const std::string type = fixture.at("typeName");
      CAPTURE(entry.path().filename().string());
      CAPTURE(type);
      const auto handler = handlers().find(type);
      REQUIRE_MESSAGE(handler != handlers().end(), "no handler for type " << type);
      const auto bytes = from_hex(fixture.at("serialized").get<std::string>());
      REQUIRE(bytes);
      const Outcome got = handler->second(*bytes);
      CHECK(to_hex(got.root) == fixture.at("root").get<std::string>());
      if (got.reencoded.empty()) {
        ++root_checks;
      } else {
        CHECK(got.reencoded == *bytes);
        ++full_checks;
      }
      ++per_type[type];
    }
  }
  std::cout << "vectors: " << full_checks + root_checks << " fixtures in " << files << " files: " << full_checks
            << " decoded, re-encoded and hashed, " << root_checks << " hashed (signature-half types);";
  for (const auto& [type, n] : per_type) std::cout << " " << type << "=" << n;
  std::cout << "\n";
  CHECK(files == 30);
  CHECK(full_checks + root_checks == 30);
  CHECK(per_type.size() == handlers().size());  // every handler met a fixture
}

TEST_CASE("vector values: decoded fields match the fixture's JSON") {
  // Spot-checks that fields land where the layout says, beyond round-tripping.
  const auto doc = nlohmann::json::parse(std::ifstream(vectors_dir() / "test_state_with_validators.json"));
  const auto& fixture = doc.begin().value();
  const auto bytes = from_hex(fixture.at("serialized").get<std::string>());
  REQUIRE(bytes);
  const lean::State s = lean::decode_state(*bytes);
  const auto& v = fixture.at("value");
  CHECK(s.config.genesis_time == v["config"]["genesisTime"].get<uint64_t>());
  CHECK(s.slot == v["slot"].get<uint64_t>());
  CHECK(s.latest_block_header.slot == v["latestBlockHeader"]["slot"].get<uint64_t>());
  CHECK(to_hex(s.latest_block_header.body_root) == v["latestBlockHeader"]["bodyRoot"].get<std::string>());
  CHECK(s.latest_justified.slot == v["latestJustified"]["slot"].get<uint64_t>());
  CHECK(to_hex(s.latest_finalized.root) == v["latestFinalized"]["root"].get<std::string>());
  REQUIRE(s.validators.size() == v["validators"]["data"].size());
  CHECK(to_hex(s.validators[2].proposal_pubkey) == v["validators"]["data"][2]["proposalPubkey"].get<std::string>());
  CHECK(s.validators[3].index == 3);
  REQUIRE(s.justified_slots.length == v["justifiedSlots"]["data"].size());
  for (size_t i = 0; i < s.justified_slots.length; ++i)
    CHECK(s.justified_slots.get(i) == v["justifiedSlots"]["data"][i].get<bool>());
  CHECK(s.historical_block_hashes.size() == v["historicalBlockHashes"]["data"].size());
}
