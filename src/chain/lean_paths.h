// The lean node HTTP API's paths (ARCHITECTURE.md §5): what leanpoint asks
// its upstreams for, and serves in turn to syncing nodes. lean nodes match a
// target exactly: leanpoint never adds a query string to one.
#pragma once

#include <string_view>

namespace leanpoint {

inline constexpr std::string_view kStatePath = "/lean/v0/states/finalized";
inline constexpr std::string_view kBlockPath = "/lean/v0/blocks/finalized";
inline constexpr std::string_view kForkChoicePath = "/lean/v0/fork_choice";
inline constexpr std::string_view kFinalizedCheckpointPath = "/lean/v0/checkpoints/finalized";
inline constexpr std::string_view kJustifiedCheckpointPath = "/lean/v0/checkpoints/justified";
inline constexpr std::string_view kHealthPath = "/lean/v0/health";
// Every path above starts with this.
inline constexpr std::string_view kLeanApiPrefix = "/lean/v0/";

// Slots are 4 s: how long a served anchor is fresh, and when to retry.
inline constexpr int kSlotSeconds = 4;

}  // namespace leanpoint
