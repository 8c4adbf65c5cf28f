// Reading a node's GET /lean/v0/checkpoints/justified: {"slot": N, "root": "0x…"}
// (ARCHITECTURE.md §5). The poller's probe asks for it every round instead of
// a large fork_choice (observe.h), so the answer is small and capped: what is
// read is at most kMaxCheckpointJson bytes, parsed whole.
#pragma once

#include <cstddef>
#include <string_view>

#include "expected.h"
#include "failure.h"
#include "lean.h"

namespace leanpoint {

// About 100 bytes in every client that serves it; a longer body is too_large.
constexpr size_t kMaxCheckpointJson = 4 * 1024;

// Parses a checkpoint object: `slot` (a JSON unsigned integer, or a decimal
// string) and `root` (32 bytes of 0x-hex), in either order; other keys are
// ignored, nesting deeper than two levels is refused. Fails `malformed`, naming
// what is wrong.
Expected<lean::Checkpoint, Failure> parse_checkpoint_json(std::string_view json);

}  // namespace leanpoint
