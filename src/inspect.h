// `leanpoint inspect`: what an anchor file says about itself, as one JSON
// object, so an operator can check a downloaded state or block by hand
// (compare its block_root with the finalized root a node reports).
#pragma once

#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>

#include "expected.h"
#include "failure.h"
#include "ssz.h"

namespace leanpoint {

enum class ArtifactType { state, block, detect };

// Describes `bytes` as a State or a SignedBlock (or whichever decodes, for
// `detect`). Throws ssz::SszError naming the reason when it is neither.
// The artifact as JSON; a `layout` Failure naming what does not decode.
Expected<nlohmann::ordered_json, Failure> inspect_artifact(ssz::Bytes bytes, ArtifactType type);

// Reads `path` ("-" for stdin), prints the description to `out`. Returns the
// exit status: 0, 1 if the bytes are not a valid artifact, 2 if the file
// cannot be read. Errors go to `err` as one line.
int run_inspect(const std::string& path, ArtifactType type, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace leanpoint
