#include "lean.h"

#include <algorithm>
#include <cstring>

#include "hex.h"

namespace leanpoint::lean {

using ssz::put_bytes;
using ssz::put_u32;
using ssz::put_u64;
using ssz::read_root;
using ssz::read_u64;
using ssz::SszError;

namespace {

constexpr uint64_t kAttestationsLimit = kValidatorRegistryLimit;
constexpr uint64_t kAggregationBitsLimit = kValidatorRegistryLimit;
constexpr size_t kAggregatedAttestationFixedSize = ssz::kOffsetSize + kAttestationDataSize;

void expect_size(Bytes b, size_t size, const char* type) {
  if (b.size() != size) throw SszError(type, std::to_string(b.size()) + " bytes, expected " + std::to_string(size));
}

void put_root(std::vector<uint8_t>& out, const Root& r) { put_bytes(out, r); }

Checkpoint checkpoint_at(Bytes b, size_t at) { return {read_root(b, at), read_u64(b, at + 32)}; }

void put_checkpoint(std::vector<uint8_t>& out, const Checkpoint& c) {
  put_root(out, c.root);
  put_u64(out, c.slot);
}

BlockHeader header_at(Bytes b, size_t at) {
  return {read_u64(b, at), read_u64(b, at + 8), read_root(b, at + 16), read_root(b, at + 48), read_root(b, at + 80)};
}

void put_header(std::vector<uint8_t>& out, const BlockHeader& h) {
  put_u64(out, h.slot);
  put_u64(out, h.proposer_index);
  put_root(out, h.parent_root);
  put_root(out, h.state_root);
  put_root(out, h.body_root);
}

AttestationData attestation_data_at(Bytes b, size_t at) {
  return {read_u64(b, at), checkpoint_at(b, at + 8), checkpoint_at(b, at + 48), checkpoint_at(b, at + 88)};
}

// Decodes List[Bytes32, limit].
std::vector<Root> decode_roots(Bytes b, uint64_t limit, const std::string& field) {
  std::vector<Root> roots;
  for (Bytes part : ssz::split_fixed_list(b, 32, limit, field)) roots.push_back(read_root(part, 0));
  return roots;
}

// hash_tree_root of List[Bytes32, limit].
Root root_of_roots(const std::vector<Root>& roots, uint64_t limit) {
  return ssz::mix_in_length(ssz::merkleize(roots, limit), roots.size());
}

// hash_tree_root of a container: merkleize its field roots.
Root root_of_fields(std::initializer_list<Root> fields) { return ssz::merkleize(std::vector<Root>(fields)); }

}  // namespace

std::optional<Root> parse_root(std::string_view hex) {
  const auto bytes = from_hex(hex);
  if (!bytes || bytes->size() != 32) return std::nullopt;
  Root r;
  std::copy(bytes->begin(), bytes->end(), r.begin());
  return r;
}

// --- decoding -------------------------------------------------------------------

Checkpoint decode_checkpoint(Bytes b) {
  expect_size(b, kCheckpointSize, "Checkpoint");
  return checkpoint_at(b, 0);
}

Config decode_config(Bytes b) {
  expect_size(b, 8, "Config");
  return {read_u64(b, 0)};
}

BlockHeader decode_block_header(Bytes b) {
  expect_size(b, kBlockHeaderSize, "BlockHeader");
  return header_at(b, 0);
}

Validator decode_validator(Bytes b) {
  expect_size(b, kValidatorSize, "Validator");
  Validator v;
  std::memcpy(v.attestation_pubkey.data(), b.data(), kPubkeySize);
  std::memcpy(v.proposal_pubkey.data(), b.data() + kPubkeySize, kPubkeySize);
  v.index = read_u64(b, 2 * kPubkeySize);
  return v;
}

AttestationData decode_attestation_data(Bytes b) {
  expect_size(b, kAttestationDataSize, "AttestationData");
  return attestation_data_at(b, 0);
}

AggregatedAttestation decode_aggregated_attestation(Bytes b) {
  static constexpr size_t offsets_at[] = {0};
  static constexpr const char* names[] = {"aggregation_bits"};
  const auto parts =
      ssz::split_variable(b, kAggregatedAttestationFixedSize, offsets_at, names, "AggregatedAttestation");
  return {ssz::decode_bitlist(parts[0], kAggregationBitsLimit, "AggregatedAttestation.aggregation_bits"),
          attestation_data_at(b, ssz::kOffsetSize)};
}

BlockBody decode_block_body(Bytes b) {
  static constexpr size_t offsets_at[] = {0};
  static constexpr const char* names[] = {"attestations"};
  const auto parts = ssz::split_variable(b, ssz::kOffsetSize, offsets_at, names, "BlockBody");
  BlockBody body;
  const auto items = ssz::split_variable_list(parts[0], kAttestationsLimit, "BlockBody.attestations");
  for (size_t i = 0; i < items.size(); ++i) {
    try {
      body.attestations.push_back(decode_aggregated_attestation(items[i]));
    } catch (const SszError& e) {
      throw SszError("BlockBody.attestations[" + std::to_string(i) + "]." + e.field(), e.reason());
    }
  }
  return body;
}

Block decode_block(Bytes b) {
  static constexpr size_t offsets_at[] = {80};
  static constexpr const char* names[] = {"body"};
  const auto parts = ssz::split_variable(b, kBlockFixedSize, offsets_at, names, "Block");
  Block block{read_u64(b, 0), read_u64(b, 8), read_root(b, 16), read_root(b, 48), {}};
  try {
    block.body = decode_block_body(parts[0]);
  } catch (const SszError& e) {
    throw SszError("Block." + e.field(), e.reason());
  }
  return block;
}

namespace {

// A State's five variable parts, in field order.
std::vector<Bytes> state_parts(Bytes b) {
  static constexpr size_t offsets_at[] = {208, 212, 216, 220, 224};
  static constexpr const char* names[] = {"historical_block_hashes", "justified_slots", "validators",
                                          "justifications_roots", "justifications_validators"};
  return ssz::split_variable(b, kStateFixedSize, offsets_at, names, "State");
}

}  // namespace

StateHead decode_state_head(Bytes b) {
  const auto parts = state_parts(b);
  const size_t validators =
      ssz::split_fixed_list(parts[2], kValidatorSize, kValidatorRegistryLimit, "State.validators").size();
  return {read_u64(b, 8), header_at(b, 16), validators};
}

State decode_state(Bytes b) {
  const auto parts = state_parts(b);
  State s;
  s.config.genesis_time = read_u64(b, 0);
  s.slot = read_u64(b, 8);
  s.latest_block_header = header_at(b, 16);
  s.latest_justified = checkpoint_at(b, 128);
  s.latest_finalized = checkpoint_at(b, 168);
  s.historical_block_hashes = decode_roots(parts[0], kHistoricalRootsLimit, "State.historical_block_hashes");
  s.justified_slots = ssz::decode_bitlist(parts[1], kHistoricalRootsLimit, "State.justified_slots");
  for (Bytes v : ssz::split_fixed_list(parts[2], kValidatorSize, kValidatorRegistryLimit, "State.validators"))
    s.validators.push_back(decode_validator(v));
  s.justifications_roots = decode_roots(parts[3], kHistoricalRootsLimit, "State.justifications_roots");
  s.justifications_validators =
      ssz::decode_bitlist(parts[4], kJustificationValidatorsLimit, "State.justifications_validators");
  return s;
}

SignedBlock decode_signed_block(Bytes b) {
  static constexpr size_t offsets_at[] = {0, 4};
  static constexpr const char* names[] = {"message", "signature"};
  const auto parts = ssz::split_variable(b, 2 * ssz::kOffsetSize, offsets_at, names, "SignedBlock");
  SignedBlock sb;
  try {
    sb.message = decode_block(parts[0]);
  } catch (const SszError& e) {
    throw SszError("SignedBlock.message." + e.field(), e.reason());
  }
  sb.signature.assign(parts[1].begin(), parts[1].end());
  return sb;
}

// --- encoding -------------------------------------------------------------------

std::vector<uint8_t> encode(const Checkpoint& v) {
  std::vector<uint8_t> out;
  put_checkpoint(out, v);
  return out;
}

std::vector<uint8_t> encode(const Config& v) {
  std::vector<uint8_t> out;
  put_u64(out, v.genesis_time);
  return out;
}

std::vector<uint8_t> encode(const BlockHeader& v) {
  std::vector<uint8_t> out;
  put_header(out, v);
  return out;
}

std::vector<uint8_t> encode(const Validator& v) {
  std::vector<uint8_t> out;
  put_bytes(out, v.attestation_pubkey);
  put_bytes(out, v.proposal_pubkey);
  put_u64(out, v.index);
  return out;
}

std::vector<uint8_t> encode(const AttestationData& v) {
  std::vector<uint8_t> out;
  put_u64(out, v.slot);
  put_checkpoint(out, v.head);
  put_checkpoint(out, v.target);
  put_checkpoint(out, v.source);
  return out;
}

std::vector<uint8_t> encode(const AggregatedAttestation& v) {
  std::vector<uint8_t> out;
  put_u32(out, kAggregatedAttestationFixedSize);
  put_bytes(out, encode(v.data));
  ssz::encode_bitlist(v.aggregation_bits, out);
  return out;
}

std::vector<uint8_t> encode(const BlockBody& v) {
  std::vector<uint8_t> list;
  std::vector<uint8_t> items;
  for (const auto& a : v.attestations) {
    put_u32(list, static_cast<uint32_t>(v.attestations.size() * ssz::kOffsetSize + items.size()));
    put_bytes(items, encode(a));
  }
  put_bytes(list, items);
  std::vector<uint8_t> out;
  put_u32(out, ssz::kOffsetSize);
  put_bytes(out, list);
  return out;
}

std::vector<uint8_t> encode(const Block& v) {
  std::vector<uint8_t> out;
  put_u64(out, v.slot);
  put_u64(out, v.proposer_index);
  put_root(out, v.parent_root);
  put_root(out, v.state_root);
  put_u32(out, kBlockFixedSize);
  put_bytes(out, encode(v.body));
  return out;
}

std::vector<uint8_t> encode(const State& v) {
  std::vector<uint8_t> out;
  out.reserve(kStateFixedSize + 32 * (v.historical_block_hashes.size() + v.justifications_roots.size()) +
              kValidatorSize * v.validators.size() + v.justified_slots.bytes.size() +
              v.justifications_validators.bytes.size() + 2);
  put_u64(out, v.config.genesis_time);
  put_u64(out, v.slot);
  put_header(out, v.latest_block_header);
  put_checkpoint(out, v.latest_justified);
  put_checkpoint(out, v.latest_finalized);
  const size_t offsets = out.size();
  out.resize(kStateFixedSize);
  auto field = [&](size_t i) { ssz::patch_u32(out, offsets + 4 * i, static_cast<uint32_t>(out.size())); };
  field(0);
  for (const auto& r : v.historical_block_hashes) put_root(out, r);
  field(1);
  ssz::encode_bitlist(v.justified_slots, out);
  field(2);
  for (const auto& val : v.validators) put_bytes(out, encode(val));
  field(3);
  for (const auto& r : v.justifications_roots) put_root(out, r);
  field(4);
  ssz::encode_bitlist(v.justifications_validators, out);
  return out;
}

std::vector<uint8_t> encode(const SignedBlock& v) {
  const std::vector<uint8_t> message = encode(v.message);
  std::vector<uint8_t> out;
  put_u32(out, 2 * ssz::kOffsetSize);
  put_u32(out, static_cast<uint32_t>(2 * ssz::kOffsetSize + message.size()));
  put_bytes(out, message);
  put_bytes(out, v.signature);
  return out;
}

// --- hash_tree_root ---------------------------------------------------------------

Root hash_tree_root(const Checkpoint& v) { return root_of_fields({v.root, ssz::root_of_u64(v.slot)}); }

Root hash_tree_root(const Config& v) { return root_of_fields({ssz::root_of_u64(v.genesis_time)}); }

Root hash_tree_root(const BlockHeader& v) {
  return root_of_fields(
      {ssz::root_of_u64(v.slot), ssz::root_of_u64(v.proposer_index), v.parent_root, v.state_root, v.body_root});
}

Root hash_tree_root(const Validator& v) {
  return root_of_fields(
      {ssz::root_of_bytes(v.attestation_pubkey), ssz::root_of_bytes(v.proposal_pubkey), ssz::root_of_u64(v.index)});
}

Root hash_tree_root(const AttestationData& v) {
  return root_of_fields(
      {ssz::root_of_u64(v.slot), hash_tree_root(v.head), hash_tree_root(v.target), hash_tree_root(v.source)});
}

Root hash_tree_root(const AggregatedAttestation& v) {
  return root_of_fields({ssz::root_of_bitlist(v.aggregation_bits, kAggregationBitsLimit), hash_tree_root(v.data)});
}

Root hash_tree_root(const BlockBody& v) {
  std::vector<Root> roots;
  roots.reserve(v.attestations.size());
  for (const auto& a : v.attestations) roots.push_back(hash_tree_root(a));
  return root_of_fields({ssz::mix_in_length(ssz::merkleize(roots, kAttestationsLimit), roots.size())});
}

BlockHeader header_of(const Block& v) {
  return {v.slot, v.proposer_index, v.parent_root, v.state_root, hash_tree_root(v.body)};
}

Root hash_tree_root(const Block& v) { return hash_tree_root(header_of(v)); }

Root hash_tree_root(const State& v) {
  std::vector<Root> validators;
  validators.reserve(v.validators.size());
  for (const auto& val : v.validators) validators.push_back(hash_tree_root(val));
  return root_of_fields({
      hash_tree_root(v.config),
      ssz::root_of_u64(v.slot),
      hash_tree_root(v.latest_block_header),
      hash_tree_root(v.latest_justified),
      hash_tree_root(v.latest_finalized),
      root_of_roots(v.historical_block_hashes, kHistoricalRootsLimit),
      ssz::root_of_bitlist(v.justified_slots, kHistoricalRootsLimit),
      ssz::mix_in_length(ssz::merkleize(validators, kValidatorRegistryLimit), validators.size()),
      root_of_roots(v.justifications_roots, kHistoricalRootsLimit),
      ssz::root_of_bitlist(v.justifications_validators, kJustificationValidatorsLimit),
  });
}

Root anchored_block_root(const State& state, const Root& state_root) {
  BlockHeader header = state.latest_block_header;
  if (header.state_root == Root{}) header.state_root = state_root;
  return hash_tree_root(header);
}

std::string describe(const Checkpoint& c) { return std::to_string(c.slot) + "/" + to_hex(c.root).substr(0, 10); }

}  // namespace leanpoint::lean
