// What the operator sets for the poller, each default written once, in the
// units the flags take (milliseconds, bytes). The wiring binds the flags to
// these fields; the poller publishes the ones the serving side needs in every
// snapshot (PollSettings), so nothing else copies them.
#pragma once

#include <cstdint>
#include <optional>

#include "lean_api.h"

namespace leanpoint {

struct PollerOptions {
  int64_t poll_ms = 10000;          // --poll-ms: a round starts this often
  int64_t timeout_ms = 5000;        // --timeout-ms: one deadline per request
  int64_t max_backoff_ms = 300000;  // --max-backoff-ms: the longest wait before retrying a failing upstream
  uint64_t max_state_bytes = kDefaultMaxStateBytes;  // --max-state-bytes: a state or block
  uint64_t max_json_bytes = kDefaultMaxJsonBytes;    // --max-json-bytes: a fork_choice body
  uint64_t min_agree = 1;                            // --min-agree: the fewest votes an agreement needs
  std::optional<uint64_t> genesis_time;              // --genesis-time: states must carry it
  // --fork-choice-probe-bytes: an upstream whose last fork_choice response
  // was larger is asked for its justified checkpoint first (observe.h); 0: never
  uint64_t fork_choice_probe_bytes = 256 * 1024;
  // --fork-choice-refresh-rounds: a probed upstream's fork_choice is read
  // again at least this often, in rounds
  uint64_t fork_choice_refresh_rounds = 15;
  // --min-agreeing-clients: the fewest client implementations the agreeing
  // upstreams must run between them (agreement.h); 1: any
  uint64_t min_agreeing_clients = 1;
  // --history-rounds: the rounds /api/history keeps (round_history.h); 360 is
  // an hour at the default --poll-ms (3600 s / 10 s); 0: none
  uint64_t history_rounds = 360;
};

}  // namespace leanpoint
