#include "ssz.h"

#include <openssl/evp.h>

#include <bit>
#include <cstring>

namespace leanpoint::ssz {
namespace {

std::string str(uint64_t v) { return std::to_string(v); }

void need(Bytes b, size_t at, size_t size, const char* what) {
  if (at > b.size() || b.size() - at < size)
    throw SszError(what, "needs " + str(size) + " bytes at " + str(at) + ", buffer has " + str(b.size()));
}

// One SHA-256 context per thread, reused: fetching the algorithm and
// allocating a context per hash would cost more than the hash itself.
class Sha256 {
 public:
  Sha256() : md_(EVP_MD_fetch(nullptr, "SHA2-256", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (!md_ || !ctx_) throw std::runtime_error("OpenSSL: SHA-256 unavailable");
  }
  ~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
  }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  Root digest(const uint8_t* data, size_t size) {
    Root out;
    unsigned int len = 0;
    if (EVP_DigestInit_ex2(ctx_, md_, nullptr) != 1 || EVP_DigestUpdate(ctx_, data, size) != 1 ||
        EVP_DigestFinal_ex(ctx_, out.data(), &len) != 1 || len != out.size())
      throw std::runtime_error("OpenSSL: SHA-256 failed");
    return out;
  }

 private:
  EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

Sha256& sha256() {
  thread_local Sha256 instance;
  return instance;
}

constexpr unsigned kMaxDepth = 64;

unsigned ceil_log2(uint64_t n) { return n <= 1 ? 0 : 64 - static_cast<unsigned>(std::countl_zero(n - 1)); }

}  // namespace

uint64_t read_u64(Bytes b, size_t at) {
  need(b, at, 8, "u64");
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | b[at + static_cast<size_t>(i)];
  return v;
}

uint32_t read_u32(Bytes b, size_t at) {
  need(b, at, 4, "u32");
  return static_cast<uint32_t>(b[at]) | static_cast<uint32_t>(b[at + 1]) << 8 | static_cast<uint32_t>(b[at + 2]) << 16 |
         static_cast<uint32_t>(b[at + 3]) << 24;
}

Root read_root(Bytes b, size_t at) {
  need(b, at, 32, "Bytes32");
  Root r;
  std::memcpy(r.data(), b.data() + at, r.size());
  return r;
}

std::vector<Bytes> split_variable(Bytes b, size_t fixed_size, std::span<const size_t> offsets_at,
                                  std::span<const char* const> names, const std::string& container) {
  if (b.size() < fixed_size)
    throw SszError(container, str(b.size()) + " bytes is shorter than its " + str(fixed_size) + "-byte fixed part");
  std::vector<size_t> offsets;
  for (size_t i = 0; i < offsets_at.size(); ++i) {
    const size_t off = read_u32(b, offsets_at[i]);
    const std::string field = container + "." + names[i];
    if (i == 0 && off != fixed_size)
      throw SszError(field, "first offset is " + str(off) + ", the fixed part is " + str(fixed_size) + " bytes");
    if (off > b.size()) throw SszError(field, "offset " + str(off) + " is past the end (" + str(b.size()) + " bytes)");
    if (!offsets.empty() && off < offsets.back())
      throw SszError(field, "offset " + str(off) + " is before the previous one (" + str(offsets.back()) + ")");
    offsets.push_back(off);
  }
  if (offsets.empty() && b.size() != fixed_size)
    throw SszError(container, str(b.size()) + " bytes, expected exactly " + str(fixed_size));
  offsets.push_back(b.size());
  std::vector<Bytes> parts;
  for (size_t i = 0; i + 1 < offsets.size(); ++i) parts.push_back(b.subspan(offsets[i], offsets[i + 1] - offsets[i]));
  return parts;
}

std::vector<Bytes> split_variable_list(Bytes b, uint64_t limit, const std::string& field) {
  std::vector<Bytes> parts;
  if (b.empty()) return parts;
  if (b.size() < kOffsetSize) throw SszError(field, str(b.size()) + " bytes cannot hold an offset");
  const size_t first = read_u32(b, 0);
  if (first == 0 || first % kOffsetSize != 0 || first > b.size())
    throw SszError(field,
                   "first offset " + str(first) + " is not a valid offset table size (" + str(b.size()) + " bytes)");
  const size_t count = first / kOffsetSize;
  if (count > limit) throw SszError(field, str(count) + " elements exceeds the limit of " + str(limit));
  std::vector<size_t> offsets{first};
  for (size_t i = 1; i < count; ++i) {
    const size_t off = read_u32(b, i * kOffsetSize);
    if (off < offsets.back() || off > b.size())
      throw SszError(field + "[" + str(i) + "]", "offset " + str(off) + " is out of order or past the end");
    offsets.push_back(off);
  }
  offsets.push_back(b.size());
  for (size_t i = 0; i < count; ++i) parts.push_back(b.subspan(offsets[i], offsets[i + 1] - offsets[i]));
  return parts;
}

std::vector<Bytes> split_fixed_list(Bytes b, size_t element_size, uint64_t limit, const std::string& field) {
  if (b.size() % element_size != 0)
    throw SszError(field, str(b.size()) + " bytes is not a multiple of the " + str(element_size) + "-byte element");
  const size_t count = b.size() / element_size;
  if (count > limit) throw SszError(field, str(count) + " elements exceeds the limit of " + str(limit));
  std::vector<Bytes> parts;
  parts.reserve(count);
  for (size_t i = 0; i < count; ++i) parts.push_back(b.subspan(i * element_size, element_size));
  return parts;
}

Bitlist decode_bitlist(Bytes b, uint64_t limit, const std::string& field) {
  if (b.empty()) throw SszError(field, "empty bitlist (no delimiter bit)");
  const uint8_t last = b.back();
  if (last == 0) throw SszError(field, "last byte is zero (no delimiter bit)");
  const unsigned top = 7 - static_cast<unsigned>(std::countl_zero(last));
  Bitlist bits;
  bits.length = (b.size() - 1) * 8 + top;
  if (bits.length > limit) throw SszError(field, str(bits.length) + " bits exceeds the limit of " + str(limit));
  bits.bytes.assign(b.begin(), b.end());
  bits.bytes.back() = static_cast<uint8_t>(last & ~(1u << top));
  bits.bytes.resize((bits.length + 7) / 8);
  return bits;
}

void encode_bitlist(const Bitlist& bits, std::vector<uint8_t>& out) {
  const size_t at = out.size();
  out.insert(out.end(), bits.bytes.begin(), bits.bytes.end());
  out.resize(at + bits.length / 8 + 1, 0);
  out[at + bits.length / 8] |= static_cast<uint8_t>(1u << (bits.length % 8));
}

Bitlist make_bitlist(const std::vector<bool>& v) {
  Bitlist bits;
  bits.length = v.size();
  bits.bytes.assign((v.size() + 7) / 8, 0);
  for (size_t i = 0; i < v.size(); ++i)
    if (v[i]) bits.bytes[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  return bits;
}

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

void put_bytes(std::vector<uint8_t>& out, Bytes b) { out.insert(out.end(), b.begin(), b.end()); }

void patch_u32(std::vector<uint8_t>& out, size_t slot, uint32_t value) {
  for (int i = 0; i < 4; ++i) out[slot + static_cast<size_t>(i)] = static_cast<uint8_t>(value >> (8 * i));
}

Root sha256(Bytes data) { return sha256().digest(data.data(), data.size()); }

Root hash_pair(const Root& a, const Root& b) {
  uint8_t both[64];
  std::memcpy(both, a.data(), 32);
  std::memcpy(both + 32, b.data(), 32);
  return sha256().digest(both, sizeof both);
}

const Root& zero_hash(unsigned depth) {
  static const std::array<Root, kMaxDepth + 1> table = [] {
    std::array<Root, kMaxDepth + 1> t{};
    for (unsigned d = 1; d <= kMaxDepth; ++d) t[d] = hash_pair(t[d - 1], t[d - 1]);
    return t;
  }();
  return table.at(depth);
}

Root merkleize(std::span<const Root> chunks, uint64_t limit) {
  if (limit == 0) limit = chunks.size();
  if (chunks.size() > limit) throw std::logic_error("merkleize: more chunks than the limit");
  const unsigned depth = ceil_log2(limit);
  if (chunks.empty()) return zero_hash(depth);

  // Hash layer by layer in place; an odd layer is completed by the zero
  // subtree of its depth.
  std::vector<Root> layer(chunks.begin(), chunks.end());
  for (unsigned d = 0; d < depth; ++d) {
    const size_t n = layer.size();
    for (size_t i = 0; i < n / 2; ++i) layer[i] = hash_pair(layer[2 * i], layer[2 * i + 1]);
    if (n % 2) layer[n / 2] = hash_pair(layer[n - 1], zero_hash(d));
    layer.resize((n + 1) / 2);
  }
  return layer[0];
}

Root mix_in_length(const Root& root, uint64_t length) {
  Root len{};
  for (int i = 0; i < 8; ++i) len[static_cast<size_t>(i)] = static_cast<uint8_t>(length >> (8 * i));
  return hash_pair(root, len);
}

std::vector<Root> pack(Bytes b) {
  std::vector<Root> chunks((b.size() + kChunk - 1) / kChunk, Root{});
  if (!b.empty()) std::memcpy(chunks.data()->data(), b.data(), b.size());
  return chunks;
}

Root root_of_u64(uint64_t v) {
  Root r{};
  for (int i = 0; i < 8; ++i) r[static_cast<size_t>(i)] = static_cast<uint8_t>(v >> (8 * i));
  return r;
}

Root root_of_bytes(Bytes b) { return merkleize(pack(b)); }

Root root_of_bitlist(const Bitlist& bits, uint64_t limit) {
  return mix_in_length(merkleize(pack(bits.bytes), (limit + 255) / 256), bits.length);
}

}  // namespace leanpoint::ssz
