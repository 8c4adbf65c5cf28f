// SSZ building blocks: reading a buffer with bounds checks, and
// merkleization (hash_tree_root) with SHA-256 from OpenSSL.
//
// These know nothing about lean containers; lean.h composes them. Every read
// is checked against the buffer, and a buffer that does not fit is reported
// as an SszError naming the field and the reason, never read past.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace leanpoint::ssz {

using Bytes = std::span<const uint8_t>;
using Root = std::array<uint8_t, 32>;

constexpr size_t kChunk = 32;
constexpr size_t kOffsetSize = 4;

// A buffer that does not fit the expected layout. `field` is a dotted path
// ("State.validators[3]"), `reason` says what is wrong with it.
class SszError : public std::runtime_error {
 public:
  SszError(std::string field, std::string reason)
      : std::runtime_error(field + ": " + reason), field_(std::move(field)), reason_(std::move(reason)) {}
  const std::string& field() const { return field_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string field_;
  std::string reason_;
};

// --- reading ----------------------------------------------------------------

uint64_t read_u64(Bytes b, size_t at);
uint32_t read_u32(Bytes b, size_t at);
Root read_root(Bytes b, size_t at);

// Splits the variable part of a container. `offsets_at` lists where each
// variable field's 4-byte offset sits in the fixed part; `fixed_size` is the
// size of the fixed part, which the first offset must equal. Returns one span
// per variable field. Offsets must be non-decreasing and within the buffer.
std::vector<Bytes> split_variable(Bytes b, size_t fixed_size, std::span<const size_t> offsets_at,
                                  std::span<const char* const> names, const std::string& container);

// Splits a list of variable-size elements (a run of offsets, then the
// elements). `limit` bounds the element count.
std::vector<Bytes> split_variable_list(Bytes b, uint64_t limit, const std::string& field);

// Splits a list of fixed-size elements; the length must be a multiple of
// `element_size` and the count at most `limit`.
std::vector<Bytes> split_fixed_list(Bytes b, size_t element_size, uint64_t limit, const std::string& field);

// A bitlist: `bits` bits packed little-endian, without the delimiter bit.
struct Bitlist {
  std::vector<uint8_t> bytes;
  uint64_t length = 0;

  bool get(uint64_t i) const { return (bytes[i / 8] >> (i % 8)) & 1; }
  bool operator==(const Bitlist&) const = default;
};

Bitlist decode_bitlist(Bytes b, uint64_t limit, const std::string& field);
void encode_bitlist(const Bitlist& bits, std::vector<uint8_t>& out);
Bitlist make_bitlist(const std::vector<bool>& bits);

// --- writing ----------------------------------------------------------------

void put_u64(std::vector<uint8_t>& out, uint64_t v);
void put_u32(std::vector<uint8_t>& out, uint32_t v);
void put_bytes(std::vector<uint8_t>& out, Bytes b);
// Overwrites a previously reserved 4-byte offset slot at `slot` with `value`.
void patch_u32(std::vector<uint8_t>& out, size_t slot, uint32_t value);

// --- merkleization ----------------------------------------------------------

// SHA-256 of `a || b`.
Root hash_pair(const Root& a, const Root& b);

// SHA-256 of `data`.
Root sha256(Bytes data);

// The root of a tree of depth `depth` whose leaves are all zero chunks.
const Root& zero_hash(unsigned depth);

// merkleize(chunks, limit): the root of the chunks padded with zero chunks to
// the next power of two of `limit` (or of the chunk count when limit is 0).
// Only the non-zero part of the tree is hashed; the rest comes from zero_hash.
Root merkleize(std::span<const Root> chunks, uint64_t limit = 0);

// mix_in_length(root, length) = hash(root || uint256(length)).
Root mix_in_length(const Root& root, uint64_t length);

// Packs bytes into 32-byte chunks, zero-padding the last one.
std::vector<Root> pack(Bytes b);

// hash_tree_root of basic values and byte vectors.
Root root_of_u64(uint64_t v);
Root root_of_bytes(Bytes b);  // ByteVector[N]: merkleize(pack(b))

// hash_tree_root of Bitlist[limit].
Root root_of_bitlist(const Bitlist& bits, uint64_t limit);

// Number of 32-byte chunks a packed list of `limit` elements of `size` bytes
// can take.
constexpr uint64_t chunk_limit(uint64_t limit, uint64_t size) { return (limit * size + kChunk - 1) / kChunk; }

}  // namespace leanpoint::ssz
