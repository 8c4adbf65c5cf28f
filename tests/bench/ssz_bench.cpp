// Benchmark: decode_state + hash_tree_root on a full-size devnet4 State.
//
//   ssz_bench FILE [RUNS]
//
// Builds a State at the sizes a long-running devnet reaches (2^18 historical
// block hashes, 4096 validators, a 2^18-bit justified_slots, a few pending
// justifications), encodes it with lean::encode and writes it to FILE (about
// 9 MiB), then times decode_state + hash_tree_root on those bytes RUNS times
// (default 20) and prints min / median / max. scripts/bench-ssz runs it and
// compares with sha256sum of the same file.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "lean.h"

namespace lean = leanpoint::lean;
namespace ssz = leanpoint::ssz;

namespace {

constexpr uint64_t kHistory = lean::kHistoricalRootsLimit;       // 262,144
constexpr uint64_t kValidators = lean::kValidatorRegistryLimit;  // 4,096
constexpr uint64_t kPendingJustifications = 4;

// splitmix64: distinct, reproducible pseudo-random bytes.
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  template <size_t N>
  void fill(std::array<uint8_t, N>& out) {
    for (size_t i = 0; i < N; i += 8) {
      const uint64_t v = next();
      for (size_t j = 0; j < 8 && i + j < N; ++j) out[i + j] = static_cast<uint8_t>(v >> (8 * j));
    }
  }
};

lean::State make_state() {
  Rng rng{20260501};
  lean::State s;
  s.config.genesis_time = 1'770'000'000;
  s.slot = kHistory;
  s.latest_block_header = {kHistory, 7, {}, {}, {}};
  rng.fill(s.latest_block_header.parent_root);
  rng.fill(s.latest_block_header.body_root);
  s.latest_justified.slot = kHistory - 2;
  rng.fill(s.latest_justified.root);
  s.latest_finalized.slot = kHistory - 3;
  rng.fill(s.latest_finalized.root);

  s.historical_block_hashes.resize(kHistory);
  for (auto& r : s.historical_block_hashes) rng.fill(r);

  std::vector<bool> justified(kHistory);
  for (size_t i = 0; i < justified.size(); ++i) justified[i] = (rng.next() & 3) != 0;
  s.justified_slots = ssz::make_bitlist(justified);

  s.validators.resize(kValidators);
  for (size_t i = 0; i < s.validators.size(); ++i) {
    rng.fill(s.validators[i].attestation_pubkey);
    rng.fill(s.validators[i].proposal_pubkey);
    s.validators[i].index = i;
  }

  s.justifications_roots.resize(kPendingJustifications);
  for (auto& r : s.justifications_roots) rng.fill(r);
  std::vector<bool> votes(kPendingJustifications * kValidators);
  for (size_t i = 0; i < votes.size(); ++i) votes[i] = (rng.next() % 3) != 0;
  s.justifications_validators = ssz::make_bitlist(votes);
  return s;
}

std::string hex(const ssz::Root& r) {
  static const char* digits = "0123456789abcdef";
  std::string out = "0x";
  for (uint8_t b : r) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr,
                 "usage: %s FILE [RUNS]\n  writes a full-size State to FILE, then times "
                 "decode_state + hash_tree_root RUNS times (default 20)\n",
                 argv[0]);
    return 2;
  }
  const int runs = argc == 3 ? std::atoi(argv[2]) : 20;
  if (runs < 1) {
    std::fprintf(stderr, "ssz_bench: RUNS must be a positive number\n");
    return 2;
  }

  const lean::State state = make_state();
  const std::vector<uint8_t> bytes = lean::encode(state);
  {
    std::ofstream out(argv[1], std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      std::fprintf(stderr, "ssz_bench: cannot write %s\n", argv[1]);
      return 1;
    }
  }
  // Sanity: the bytes decode back to the state we built.
  if (!(lean::decode_state(bytes) == state)) {
    std::fprintf(stderr, "ssz_bench: decode_state(encode(state)) != state\n");
    return 1;
  }

  std::vector<double> ms;
  ssz::Root root{};
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    root = lean::hash_tree_root(lean::decode_state(bytes));
    const auto stop = std::chrono::steady_clock::now();
    ms.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;

  std::printf("state: %zu bytes (%.2f MiB), %zu historical hashes, %zu validators, written to %s\n", bytes.size(),
              static_cast<double>(bytes.size()) / (1024.0 * 1024.0), state.historical_block_hashes.size(),
              state.validators.size(), argv[1]);
  std::printf("hash_tree_root: %s\n", hex(root).c_str());
  std::printf("decode_state + hash_tree_root, %d runs: min %.2f ms, median %.2f ms, max %.2f ms\n", runs, ms.front(),
              median, ms.back());
  std::printf("median_ms=%.3f\n", median);
  return 0;
}
