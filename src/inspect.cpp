#include "inspect.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include "anchor.h"
#include "exit_codes.h"
#include "hex.h"
#include "lean.h"

namespace leanpoint {
namespace {

nlohmann::ordered_json checkpoint_json(const lean::Checkpoint& c) {
  return {{"slot", c.slot}, {"root", to_hex(c.root)}};
}

nlohmann::ordered_json describe_state(ssz::Bytes bytes) {
  const lean::State s = lean::decode_state(bytes);
  const ssz::Root state_root = lean::hash_tree_root(s);
  return {
      {"type", "state"},
      {"layout", lean::kLayoutName},
      {"size", bytes.size()},
      {"slot", s.slot},
      {"genesis_time", s.config.genesis_time},
      {"state_root", to_hex(state_root)},
      {"block_root", to_hex(lean::anchored_block_root(s, state_root))},
      {"parent_root", to_hex(s.latest_block_header.parent_root)},
      {"latest_justified", checkpoint_json(s.latest_justified)},
      {"latest_finalized", checkpoint_json(s.latest_finalized)},
      {"validator_count", s.validators.size()},
      {"historical_block_hashes", s.historical_block_hashes.size()},
  };
}

nlohmann::ordered_json describe_block(ssz::Bytes bytes) {
  const lean::SignedBlock sb = lean::decode_signed_block(bytes);
  const lean::Block& b = sb.message;
  return {
      {"type", "block"},
      {"layout", lean::kLayoutName},
      {"size", bytes.size()},
      {"slot", b.slot},
      {"proposer_index", b.proposer_index},
      {"state_root", to_hex(b.state_root)},
      {"block_root", to_hex(lean::hash_tree_root(b))},
      {"parent_root", to_hex(b.parent_root)},
      {"attestation_count", b.body.attestations.size()},
      {"signature_size", sb.signature.size()},
  };
}

}  // namespace

namespace {

nlohmann::ordered_json describe(ssz::Bytes bytes, ArtifactType type) {
  switch (type) {
    case ArtifactType::state: return describe_state(bytes);
    case ArtifactType::block: return describe_block(bytes);
    case ArtifactType::detect: break;
  }
  try {
    return describe_state(bytes);
  } catch (const ssz::SszError& as_state) {
    try {
      return describe_block(bytes);
    } catch (const ssz::SszError& as_block) {
      throw ssz::SszError("input", "neither a State (" + std::string(as_state.what()) + ") nor a SignedBlock (" +
                                       as_block.what() + ") in the " + std::string(lean::kLayoutName) + " layout");
    }
  }
}

}  // namespace

Expected<nlohmann::ordered_json, Failure> inspect_artifact(ssz::Bytes bytes, ArtifactType type) {
  try {
    return describe(bytes, type);
  } catch (const ssz::SszError& e) {  // the decoders'; it ends here
    return Unexpected(Failure{FailureKind::layout, e.what()});
  }
}

int run_inspect(const std::string& path, ArtifactType type, std::istream& in, std::ostream& out, std::ostream& err) {
  std::vector<uint8_t> bytes;
  if (path == "-") {
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  } else {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      err << "leanpoint inspect: cannot read '" << path << "': " << std::strerror(errno) << "\n";
      return kExitUsage;
    }
    bytes.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    if (file.bad()) {
      err << "leanpoint inspect: error reading '" << path << "'\n";
      return kExitUsage;
    }
  }
  const auto described = inspect_artifact(bytes, type);
  if (!described) {
    err << "leanpoint inspect: " << (path == "-" ? "stdin" : path) << ": " << described.error().detail << "\n";
    return kExitFailure;
  }
  out << described->dump(2) << "\n";
  return kExitOk;
}

}  // namespace leanpoint
