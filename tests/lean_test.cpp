// lean.h: malformed buffers are rejected with an error naming the field;
// nothing is read past the buffer; encoded values round-trip.
#include "lean.h"

#include "lean_fixtures.h"
#include "testing.h"

namespace lean = leanpoint::lean;
namespace ssz = leanpoint::ssz;
using testing::fixture_bytes;

namespace {

void set_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) { ssz::patch_u32(b, at, v); }

lean::State sample_state() {
  lean::State s;
  s.config.genesis_time = 1'700'000'000;
  s.slot = 64;
  s.latest_block_header = {64, 3, {1}, {}, {2}};
  s.latest_justified = {{3}, 63};
  s.latest_finalized = {{4}, 60};
  for (uint8_t i = 0; i < 64; ++i) s.historical_block_hashes.push_back(ssz::Root{i});
  s.justified_slots = ssz::make_bitlist(std::vector<bool>(64, true));
  for (uint64_t i = 0; i < 5; ++i) s.validators.push_back({{uint8_t(i)}, {uint8_t(i + 1)}, i});
  s.justifications_roots = {ssz::Root{9}};
  s.justifications_validators = ssz::make_bitlist({true, false, true, true, false});
  return s;
}

}  // namespace

TEST_CASE("State: encode, decode, same value and root") {
  const lean::State s = sample_state();
  const auto bytes = lean::encode(s);
  CHECK(bytes.size() == lean::kStateFixedSize + 64 * 32 + 9 + 5 * 112 + 32 + 1);
  const lean::State back = lean::decode_state(bytes);
  CHECK(back == s);
  CHECK(lean::hash_tree_root(back) == lean::hash_tree_root(s));
}

TEST_CASE("State: every truncation of a real vector is rejected or is itself a valid state") {
  // The last field runs to the end of the buffer, so cutting the delimiter
  // byte of the final bitlist can leave a shorter valid bitlist: SSZ cannot
  // tell. What must hold is that nothing else decodes, and whatever decodes
  // re-encodes to exactly those bytes.
  const auto full = fixture_bytes("test_state_with_full_history.json");
  CHECK_NOTHROW(lean::decode_state(full));
  size_t rejected = 0, reencoded = 0;
  for (size_t n = 0; n < full.size(); ++n) {
    const std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<long>(n));
    try {
      reencoded += lean::encode(lean::decode_state(prefix)) == prefix;
    } catch (const ssz::SszError&) {
      ++rejected;
    }
  }
  CHECK(rejected + reencoded == full.size());
  CHECK(reencoded <= 1);
}

TEST_CASE("State: the devnet0 layout (16-byte config) is a layout error, not a guess") {
  // devnet0 put 8 more bytes of config in front: the fixed part is 236 bytes.
  auto bytes = lean::encode(sample_state());
  bytes.insert(bytes.begin() + 8, 8, 0);
  for (size_t i = 0; i < 5; ++i) set_u32(bytes, 216 + 4 * i, ssz::read_u32(bytes, 216 + 4 * i) + 8);
  const std::string msg = testing::error_of<ssz::SszError>([&] { lean::decode_state(bytes); });
  CHECK(msg.find("State.historical_block_hashes: first offset is") != std::string::npos);
}

TEST_CASE("State: each malformed field is named") {
  const auto good = lean::encode(sample_state());
  SUBCASE("short") {
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_state(std::span(good).first(100)); }) ==
          "State: 100 bytes is shorter than its 228-byte fixed part");
  }
  SUBCASE("offset past the end") {
    auto b = good;
    set_u32(b, 216, static_cast<uint32_t>(b.size() + 1));
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_state(b); }).rfind("State.validators: offset", 0) == 0);
  }
  SUBCASE("offsets out of order") {
    auto b = good;
    set_u32(b, 224, ssz::read_u32(b, 220) - 1);
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_state(b); }).find("before the previous one") !=
          std::string::npos);
  }
  SUBCASE("historical hashes not whole roots") {
    auto b = good;
    set_u32(b, 212, ssz::read_u32(b, 212) - 1);
    CHECK(testing::error_of<ssz::SszError>([&] {
            lean::decode_state(b);
          }).rfind("State.historical_block_hashes: ", 0) == 0);
  }
  SUBCASE("validators not whole") {
    auto b = good;
    set_u32(b, 220, ssz::read_u32(b, 220) - 5);
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_state(b); }) ==
          "State.validators: 555 bytes is not a multiple of the 112-byte element");
  }
  SUBCASE("bitlist without delimiter") {
    auto b = good;
    b.back() = 0;
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_state(b); }) ==
          "State.justifications_validators: last byte is zero (no delimiter bit)");
  }
  SUBCASE("too many validators") {
    lean::State s = sample_state();
    s.validators.resize(lean::kValidatorRegistryLimit + 1);
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_state(lean::encode(s)); }) ==
          "State.validators: 4097 elements exceeds the limit of 4096");
  }
  SUBCASE("too many historical roots") {
    lean::State s = sample_state();
    s.historical_block_hashes.resize(lean::kHistoricalRootsLimit + 1);
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_state(lean::encode(s)); }) ==
          "State.historical_block_hashes: 262145 elements exceeds the limit of 262144");
  }
}

TEST_CASE("State at the limits decodes and hashes") {
  lean::State s = sample_state();
  s.historical_block_hashes.assign(lean::kHistoricalRootsLimit, ssz::Root{7});
  s.validators.resize(lean::kValidatorRegistryLimit);
  const auto bytes = lean::encode(s);
  CHECK(bytes.size() > 8 * 1024 * 1024);
  const lean::State back = lean::decode_state(bytes);
  CHECK(back.historical_block_hashes.size() == lean::kHistoricalRootsLimit);
  CHECK(lean::hash_tree_root(back) == lean::hash_tree_root(s));
}

TEST_CASE("SignedBlock: message from the offsets, signature kept opaque") {
  const auto bytes = fixture_bytes("test_signed_block_minimal.json");
  const lean::SignedBlock sb = lean::decode_signed_block(bytes);
  CHECK(sb.message.slot == 1);
  CHECK(sb.signature.size() == bytes.size() - 8 - 88);
  CHECK(lean::encode(sb) == bytes);

  // Any signature half is accepted: serving does not depend on its layout.
  lean::SignedBlock other = sb;
  other.signature = {1, 2, 3};
  CHECK(lean::decode_signed_block(lean::encode(other)) == other);
}

TEST_CASE("SignedBlock and Block: malformed parts are named") {
  const auto good = fixture_bytes("test_signed_block_minimal.json");
  SUBCASE("first offset") {
    auto b = good;
    set_u32(b, 0, 12);
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_signed_block(b); }) ==
          "SignedBlock.message: first offset is 12, the fixed part is 8 bytes");
  }
  SUBCASE("message too short") {
    auto b = good;
    set_u32(b, 4, 8 + 50);
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_signed_block(b); }) ==
          "SignedBlock.message.Block: 50 bytes is shorter than its 84-byte fixed part");
  }
  SUBCASE("body offset") {
    auto b = good;
    set_u32(b, 8 + 80, 85);
    CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_signed_block(b); }) ==
          "SignedBlock.message.Block.body: first offset is 85, the fixed part is 84 bytes");
  }
  SUBCASE("attestation with a bad bitlist") {
    lean::Block block;
    block.body.attestations.push_back({ssz::make_bitlist({true}), {}});
    auto b = lean::encode(block);
    b.back() = 0;
    CHECK(
        testing::error_of<ssz::SszError>([&] { lean::decode_block(b); }) ==
        "Block.BlockBody.attestations[0].AggregatedAttestation.aggregation_bits: last byte is zero (no delimiter bit)");
  }
}

TEST_CASE("Block with attestations: round trip and root of the header it makes") {
  lean::Block block{9, 2, {1}, {2}, {}};
  for (int i = 0; i < 3; ++i)
    block.body.attestations.push_back(
        {ssz::make_bitlist({true, i % 2 == 0, true}), {uint64_t(i), {{5}, 1}, {{6}, 2}, {{7}, 3}}});
  const auto bytes = lean::encode(block);
  CHECK(lean::decode_block(bytes) == block);
  const lean::BlockHeader h = lean::header_of(block);
  CHECK(h.body_root == lean::hash_tree_root(block.body));
  CHECK(lean::hash_tree_root(block) == lean::hash_tree_root(h));
}

TEST_CASE("fixed-size containers reject any other size") {
  const std::vector<uint8_t> b(41, 0);
  CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_checkpoint(b); }) == "Checkpoint: 41 bytes, expected 40");
  CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_validator(b); }) == "Validator: 41 bytes, expected 112");
  CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_block_header(b); }) ==
        "BlockHeader: 41 bytes, expected 112");
  CHECK(testing::error_of<ssz::SszError>([&] { lean::decode_config(b); }) == "Config: 41 bytes, expected 8");
}
