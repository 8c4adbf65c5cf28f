// libFuzzer target: the probe's parser of checkpoints/justified
// (checkpoint_json.h) on arbitrary bytes.
//
// Properties checked, besides no sanitizer report: the result is a
// checkpoint or a `malformed` failure with a reason (`too_large` only past
// kMaxCheckpointJson); a checkpoint parsed is the one its own rendering
// parses to.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "checkpoint_json.h"
#include "hex.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto c = leanpoint::parse_checkpoint_json(text);
  if (!c) {
    const auto kind = c.error().kind;
    const bool big = size > leanpoint::kMaxCheckpointJson;
    if (kind != (big ? leanpoint::FailureKind::too_large : leanpoint::FailureKind::malformed)) __builtin_trap();
    if (c.error().detail.empty()) __builtin_trap();
    return 0;
  }
  const std::string again =
      R"({"root":")" + leanpoint::to_hex(c->root) + R"(","slot":)" + std::to_string(c->slot) + "}";
  const auto round_trip = leanpoint::parse_checkpoint_json(again);
  if (!round_trip || !(*round_trip == *c)) __builtin_trap();
  return 0;
}
