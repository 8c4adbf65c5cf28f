// hash_tree_root of the devnet4 signature-half types, for checking leanSpec's
// vectors only. leanpoint itself never decodes signatures (a SignedBlock's
// signature half is opaque to it, see lean.h); these let the vector test check
// the full SignedBlock root and the signature-bearing fixtures too.
//
// devnet4: Signature (XMSS) is a container {path: {siblings: List[Bytes32,
// 2^17]}, rho: 28 bytes packed in one chunk, hashes: List[Bytes32, 2^17]},
// 2536 bytes, inlined without an offset in its parents; AggregatedSignatureProof
// is {participants: Bitlist[4096], proof_data: ByteList[2^20]}.
#pragma once

#include "ssz.h"

namespace testing::devnet4 {

using leanpoint::ssz::Bytes;
using leanpoint::ssz::Root;

constexpr size_t kSignatureSize = 2536;

Root signature_root(Bytes b);
Root aggregated_signature_proof_root(Bytes b);
Root block_signatures_root(Bytes b);
Root attestation_root(Bytes b);                    // {validator_id, data}
Root signed_attestation_root(Bytes b);             // {validator_id, data, signature}
Root signed_aggregated_attestation_root(Bytes b);  // {data, proof}

}  // namespace testing::devnet4
