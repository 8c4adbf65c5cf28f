// The lean node HTTP API as leanpoint uses it (ARCHITECTURE.md §5): the finalized and
// justified checkpoints from GET /lean/v0/fork_choice, the justified one
// alone from /lean/v0/checkpoints/justified (the probe, observe.h), and the
// finalized anchor from /lean/v0/states/finalized and /lean/v0/blocks/finalized.
//
// Every call runs under one deadline (http_client.h) and ends in a value or a
// Failure: one of the transport's kinds, or http_status, not_ssz, malformed.
// A `read_bytes` given is added every byte received, whatever the outcome.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "checkpoint_json.h"
#include "deadline.h"
#include "expected.h"
#include "failure.h"
#include "fork_choice.h"
#include "lean.h"
#include "lean_paths.h"
#include "upstream.h"

namespace leanpoint {

// The default cap on a fork_choice body (--max-json-bytes): about 300,000
// blocks without finality. Parsing is streamed, so it costs no memory.
constexpr size_t kDefaultMaxJsonBytes = 64 << 20;
// The default cap on a state or block (--max-state-bytes). The list limits
// allow states of 8.4 MB and more; devnet states pass 2 MB in three days.
constexpr size_t kDefaultMaxStateBytes = 64 << 20;

// GETs fork_choice and parses it as it arrives (fork_choice.h), in constant
// memory whatever its size up to `max_bytes`.
Expected<ForkChoice, Failure> fetch_fork_choice(const Upstream& up, size_t max_bytes, Clock::time_point deadline,
                                                int cancel_fd, uint64_t* read_bytes = nullptr);

// GETs checkpoints/justified, at most kMaxCheckpointJson bytes
// (checkpoint_json.h). An older node answers 404 (http_status).
Expected<lean::Checkpoint, Failure> fetch_justified(const Upstream& up, Clock::time_point deadline, int cancel_fd,
                                                    uint64_t* read_bytes = nullptr);

// GETs an SSZ artifact (kStatePath or kBlockPath) with exactly
// `Accept: application/octet-stream`. Anything but a 200 is http_status; a
// 200 labelled as anything but application/octet-stream (or
// application/ssz, or unlabelled) is not_ssz.
Expected<std::vector<uint8_t>, Failure> fetch_ssz(const Upstream& up, std::string_view path, size_t max_bytes,
                                                  Clock::time_point deadline, int cancel_fd,
                                                  uint64_t* read_bytes = nullptr);

}  // namespace leanpoint
