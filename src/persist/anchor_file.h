// The anchor file: the newest verified anchor as one file in --data-dir, so
// that a restarted leanpoint serves at once, even with every upstream down.
//
//   leanpoint-anchor 1\n
//   {"slot":..,"root":"0x..","state_bytes":N,"block_bytes":M,"block_sha256":"0x..",
//    "genesis_time":..,"state_source":"..","block_source":"..","verified_at_ms":..}\n
//   N bytes of SSZ State, then M bytes of SSZ SignedBlock (M = 0: no block yet)
//
// One file, so one rename replaces state and block together: a crash leaves
// the old pair or the new one, never a mix. Nothing in it is trusted: at load
// the state is proven against the checkpoint again, and the block against
// the state (anchor.h), exactly as when they came from an upstream. Those
// proofs cover every byte of the state, but not the block's signature (the
// block root is its message's): block_sha256 covers the rest.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anchor.h"
#include "expected.h"
#include "persist_error.h"
#include "snapshot.h"

namespace leanpoint {

inline constexpr std::string_view kAnchorFileMagic = "leanpoint-anchor 1\n";
inline constexpr size_t kAnchorFileMaxHeader = 4096;  // the JSON line, with its sources' names

// The two header lines for `anchor` (the bytes follow them).
std::string anchor_file_header(const VerifiedAnchor& anchor);

struct AnchorFileView {
  lean::Checkpoint checkpoint;
  uint64_t genesis_time = 0;
  std::string state_source, block_source;
  int64_t verified_at_ms = 0;
  ssz::Bytes state;
  std::optional<ssz::Bytes> block;
};

// Splits a file into its header and bytes. The error is `foreign` (not an
// anchor file) or `corrupt` (a bad header, truncated, trailing bytes, a block
// that does not match its SHA-256), its detail saying which.
Expected<AnchorFileView, PersistError> parse_anchor_file(ssz::Bytes file);

struct LoadedAnchor {
  std::shared_ptr<const VerifiedAnchor> anchor;  // marked restored
  StateSummary summary;                          // of its state, for fetching a block later
};

// Parses and verifies a whole file; with `genesis_time`, an anchor of
// another genesis is refused too. The error is parse_anchor_file's, or
// `verify` with the proof's Failure kind and detail ("root_mismatch: ...").
Expected<LoadedAnchor, PersistError> load_anchor(ssz::Bytes file, std::optional<uint64_t> genesis_time);

}  // namespace leanpoint
