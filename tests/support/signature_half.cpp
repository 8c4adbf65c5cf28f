#include "signature_half.h"

#include "lean.h"

namespace testing::devnet4 {

namespace ssz = leanpoint::ssz;
namespace lean = leanpoint::lean;

namespace {

constexpr uint64_t kNodeListLimit = 1ull << 17;
constexpr uint64_t kProofDataLimit = 1ull << 20;
constexpr uint64_t kSignaturesLimit = 4096;
constexpr size_t kRhoSize = 28;

Root roots_list_root(Bytes b, uint64_t limit, const std::string& field) {
  std::vector<Root> roots;
  for (Bytes part : ssz::split_fixed_list(b, 32, limit, field)) roots.push_back(ssz::read_root(part, 0));
  return ssz::mix_in_length(ssz::merkleize(roots, limit), roots.size());
}

Root fields_root(std::initializer_list<Root> fields) { return ssz::merkleize(std::vector<Root>(fields)); }

}  // namespace

Root signature_root(Bytes b) {
  if (b.size() != kSignatureSize) throw ssz::SszError("Signature", "expected 2536 bytes");
  static constexpr size_t offsets_at[] = {0, 4 + kRhoSize};
  static constexpr const char* names[] = {"path", "hashes"};
  const auto parts = ssz::split_variable(b, 4 + kRhoSize + 4, offsets_at, names, "Signature");
  static constexpr size_t path_offsets[] = {0};
  static constexpr const char* path_names[] = {"siblings"};
  const auto siblings = ssz::split_variable(parts[0], 4, path_offsets, path_names, "HashTreeOpening");
  const Root path = fields_root({roots_list_root(siblings[0], kNodeListLimit, "siblings")});
  const Root rho = ssz::merkleize(ssz::pack(b.subspan(4, kRhoSize)));
  return fields_root({path, rho, roots_list_root(parts[1], kNodeListLimit, "hashes")});
}

Root aggregated_signature_proof_root(Bytes b) {
  static constexpr size_t offsets_at[] = {0, 4};
  static constexpr const char* names[] = {"participants", "proof_data"};
  const auto parts = ssz::split_variable(b, 8, offsets_at, names, "AggregatedSignatureProof");
  const auto bits = ssz::decode_bitlist(parts[0], 4096, "participants");
  if (parts[1].size() > kProofDataLimit) throw ssz::SszError("proof_data", "over limit");
  const Root data = ssz::mix_in_length(ssz::merkleize(ssz::pack(parts[1]), kProofDataLimit / 32), parts[1].size());
  return fields_root({ssz::root_of_bitlist(bits, 4096), data});
}

Root block_signatures_root(Bytes b) {
  static constexpr size_t offsets_at[] = {0};
  static constexpr const char* names[] = {"attestation_signatures"};
  const auto parts = ssz::split_variable(b, 4 + kSignatureSize, offsets_at, names, "BlockSignatures");
  std::vector<Root> proofs;
  for (Bytes p : ssz::split_variable_list(parts[0], kSignaturesLimit, "attestation_signatures"))
    proofs.push_back(aggregated_signature_proof_root(p));
  return fields_root({ssz::mix_in_length(ssz::merkleize(proofs, kSignaturesLimit), proofs.size()),
                      signature_root(b.subspan(4, kSignatureSize))});
}

Root attestation_root(Bytes b) {
  if (b.size() != 8 + lean::kAttestationDataSize) throw ssz::SszError("Attestation", "size");
  return fields_root(
      {ssz::root_of_u64(ssz::read_u64(b, 0)), lean::hash_tree_root(lean::decode_attestation_data(b.subspan(8)))});
}

Root signed_attestation_root(Bytes b) {
  const size_t data_end = 8 + lean::kAttestationDataSize;
  if (b.size() != data_end + kSignatureSize) throw ssz::SszError("SignedAttestation", "size");
  return fields_root({ssz::root_of_u64(ssz::read_u64(b, 0)),
                      lean::hash_tree_root(lean::decode_attestation_data(b.subspan(8, lean::kAttestationDataSize))),
                      signature_root(b.subspan(data_end))});
}

Root signed_aggregated_attestation_root(Bytes b) {
  static constexpr size_t offsets_at[] = {lean::kAttestationDataSize};
  static constexpr const char* names[] = {"proof"};
  const auto parts =
      ssz::split_variable(b, lean::kAttestationDataSize + 4, offsets_at, names, "SignedAggregatedAttestation");
  return fields_root({lean::hash_tree_root(lean::decode_attestation_data(b.subspan(0, lean::kAttestationDataSize))),
                      aggregated_signature_proof_root(parts[0])});
}

}  // namespace testing::devnet4
