// The lean consensus containers leanpoint decodes, encodes and merkleizes,
// in the devnet4 layout (leanSpec's `lstar` fork).
//
// The layout lives here and nowhere else. A buffer that does not fit it is
// rejected with an SszError (reported as `layout` by anchor.h), never guessed
// at: earlier devnets had other layouts (devnet0's 16-byte Config shifted
// every State field by 8 bytes), and a later one will again.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "ssz.h"

namespace leanpoint::lean {

using ssz::Bitlist;
using ssz::Bytes;
using ssz::Root;

// --- the devnet4 layout -------------------------------------------------------

constexpr std::string_view kLayoutName = "devnet4 (leanSpec lstar)";

constexpr uint64_t kHistoricalRootsLimit = 1ull << 18;    // HISTORICAL_ROOTS_LIMIT
constexpr uint64_t kValidatorRegistryLimit = 1ull << 12;  // VALIDATOR_REGISTRY_LIMIT
constexpr uint64_t kJustificationValidatorsLimit = kHistoricalRootsLimit * kValidatorRegistryLimit;
constexpr size_t kPubkeySize = 52;

constexpr size_t kCheckpointSize = 40;        // root, slot
constexpr size_t kBlockHeaderSize = 112;      // slot, proposer_index, parent_root, state_root, body_root
constexpr size_t kValidatorSize = 112;        // attestation_pubkey, proposal_pubkey, index
constexpr size_t kAttestationDataSize = 128;  // slot, head, target, source
constexpr size_t kStateFixedSize = 228;       // see State
constexpr size_t kBlockFixedSize = 84;        // slot, proposer_index, parent_root, state_root, offset(body)

// --- containers ---------------------------------------------------------------

struct Checkpoint {
  Root root{};
  uint64_t slot = 0;
  bool operator==(const Checkpoint&) const = default;
};

// A root as the lean API writes it: 32 bytes of hex, 0x-prefixed or not.
std::optional<Root> parse_root(std::string_view hex);

struct Config {
  uint64_t genesis_time = 0;
  bool operator==(const Config&) const = default;
};

struct BlockHeader {
  uint64_t slot = 0;
  uint64_t proposer_index = 0;
  Root parent_root{};
  Root state_root{};
  Root body_root{};
  bool operator==(const BlockHeader&) const = default;
};

using Pubkey = std::array<uint8_t, kPubkeySize>;

struct Validator {
  Pubkey attestation_pubkey{};
  Pubkey proposal_pubkey{};
  uint64_t index = 0;
  bool operator==(const Validator&) const = default;
};

// Fixed part, 228 bytes: config (0), slot (8), latest_block_header (16),
// latest_justified (128), latest_finalized (168), then five offsets (208).
struct State {
  Config config;
  uint64_t slot = 0;
  BlockHeader latest_block_header;
  Checkpoint latest_justified;
  Checkpoint latest_finalized;                // this state's own older view, not the node's finalized checkpoint
  std::vector<Root> historical_block_hashes;  // List[Bytes32, 2^18]
  Bitlist justified_slots;                    // Bitlist[2^18]
  std::vector<Validator> validators;          // List[Validator, 4096]
  std::vector<Root> justifications_roots;     // List[Bytes32, 2^18]
  Bitlist justifications_validators;          // Bitlist[2^18 * 4096]
  bool operator==(const State&) const = default;
};

// What a state's fixed part says, read without decoding its lists: its slot,
// the header of the block it anchors, and how many validators it holds (from
// the validators list's offsets). No hashing: cheap enough for every request.
struct StateHead {
  uint64_t slot = 0;
  BlockHeader latest_block_header;
  size_t validator_count = 0;
};

struct AttestationData {
  uint64_t slot = 0;
  Checkpoint head;
  Checkpoint target;
  Checkpoint source;
  bool operator==(const AttestationData&) const = default;
};

struct AggregatedAttestation {
  Bitlist aggregation_bits;  // Bitlist[4096]
  AttestationData data;
  bool operator==(const AggregatedAttestation&) const = default;
};

struct BlockBody {
  std::vector<AggregatedAttestation> attestations;  // List[AggregatedAttestation, 4096]
  bool operator==(const BlockBody&) const = default;
};

struct Block {
  uint64_t slot = 0;
  uint64_t proposer_index = 0;
  Root parent_root{};
  Root state_root{};
  BlockBody body;
  bool operator==(const Block&) const = default;
};

// A SignedBlock is {message: Block, <signature half>}, both variable-size, so
// its SSZ starts with two offsets. The signature half changed across devnets
// and is kept as opaque bytes: serving never depends on its layout.
struct SignedBlock {
  Block message;
  std::vector<uint8_t> signature;  // the second field's bytes, as received
  bool operator==(const SignedBlock&) const = default;
};

// "123/0x1a2b3c4d" (the slot, the root's first bytes): a checkpoint in a log line.
std::string describe(const Checkpoint& c);

// --- decoding: throws ssz::SszError naming the field ---------------------------

Checkpoint decode_checkpoint(Bytes b);
Config decode_config(Bytes b);
BlockHeader decode_block_header(Bytes b);
Validator decode_validator(Bytes b);
AttestationData decode_attestation_data(Bytes b);
AggregatedAttestation decode_aggregated_attestation(Bytes b);
BlockBody decode_block_body(Bytes b);
Block decode_block(Bytes b);
State decode_state(Bytes b);
StateHead decode_state_head(Bytes b);
SignedBlock decode_signed_block(Bytes b);

// --- encoding -----------------------------------------------------------------

std::vector<uint8_t> encode(const Checkpoint& v);
std::vector<uint8_t> encode(const Config& v);
std::vector<uint8_t> encode(const BlockHeader& v);
std::vector<uint8_t> encode(const Validator& v);
std::vector<uint8_t> encode(const AttestationData& v);
std::vector<uint8_t> encode(const AggregatedAttestation& v);
std::vector<uint8_t> encode(const BlockBody& v);
std::vector<uint8_t> encode(const Block& v);
std::vector<uint8_t> encode(const State& v);
std::vector<uint8_t> encode(const SignedBlock& v);

// --- hash_tree_root -------------------------------------------------------------

Root hash_tree_root(const Checkpoint& v);
Root hash_tree_root(const Config& v);
Root hash_tree_root(const BlockHeader& v);
Root hash_tree_root(const Validator& v);
Root hash_tree_root(const AttestationData& v);
Root hash_tree_root(const AggregatedAttestation& v);
Root hash_tree_root(const BlockBody& v);
Root hash_tree_root(const Block& v);
Root hash_tree_root(const State& v);

// The header a block is known by: its fields with body_root = hash_tree_root(body).
BlockHeader header_of(const Block& block);

// The root of the block a state anchors: its latest_block_header with
// state_root filled in with `state_root` = hash_tree_root(state) when zero (as
// served: process_slot fills it only at the next slot).
Root anchored_block_root(const State& state, const Root& state_root);

}  // namespace leanpoint::lean
