#include "poller.h"

#include <poll.h>

#include <algorithm>

#include "hex.h"
#include "lean_api.h"
#include "log.h"

namespace leanpoint {
namespace {

constexpr size_t kHistoryLength = 32;

int64_t ms(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

std::string describe(const lean::Checkpoint& c) { return std::to_string(c.slot) + "/" + to_hex(c.root).substr(0, 10); }

std::string no_agreement_reason(const Agreement& a, size_t total, size_t min_agree) {
  if (a.answered == 0) return "no upstream answered (" + std::to_string(total) + " configured)";
  std::string why = "no majority: " + std::to_string(a.votes) + " of " + std::to_string(a.answered) +
                    " answering upstreams on the most reported checkpoint";
  if (2 * a.votes > a.answered && a.votes < min_agree) why += ", below --min-agree " + std::to_string(min_agree);
  return why;
}

}  // namespace

Poller::Poller(PollerOptions options, SnapshotStore& store) : options_(std::move(options)), store_(store) {
  for (const auto& up : options_.upstreams) {
    Tracked t;
    t.status.name = up.name;
    t.status.url = up.url;
    t.status.path = up.path;
    tracked_.push_back(std::move(t));
  }
  if (options_.restored) {
    anchor_ = options_.restored;
    anchor_summary_ = options_.restored_summary;
    restore_ = RestoreOutcome::serving;
  }
  // Served before the first round: the restored anchor, and what became of it.
  if (options_.restored || options_.data_dir_status) publish(0, Clock::duration{}, Agreement{}, std::nullopt);
}

void Poller::run(int stop_fd) {
  for (;;) {
    const auto started = Clock::now();
    run_round(stop_fd);
    // The next round starts one interval after this one started, or at once
    // if this one overran (counted in run_round).
    const auto next = std::max(started + options_.poll_interval, Clock::now());
    pollfd p{stop_fd, POLLIN, 0};
    if (::poll(&p, 1, ms_until(next)) > 0) return;
  }
}

void Poller::set_upstreams(std::vector<Upstream> upstreams) {
  std::lock_guard lock(pending_mutex_);
  pending_upstreams_ = std::move(upstreams);
}

void Poller::apply_new_upstreams() {
  std::vector<Upstream> next;
  {
    std::lock_guard lock(pending_mutex_);
    if (!pending_upstreams_) return;
    next = std::move(*pending_upstreams_);
    pending_upstreams_.reset();
  }
  std::vector<Tracked> tracked;
  size_t kept = 0;
  for (const Upstream& up : next) {
    auto same = std::find_if(tracked_.begin(), tracked_.end(),
                             [&up](const Tracked& t) { return t.status.name == up.name && t.status.url == up.url; });
    if (same != tracked_.end()) {
      ++kept;
      tracked.push_back(std::move(*same));
      tracked.back().status.path = up.path;
      continue;
    }
    Tracked t;
    t.status.name = up.name;
    t.status.url = up.url;
    t.status.path = up.path;
    tracked.push_back(std::move(t));
  }
  log(LogLevel::info, "upstreams now: ", next.size(), " (", kept, " kept, ", next.size() - kept, " added, ",
      tracked_.size() - kept, " removed)");
  tracked_ = std::move(tracked);
  options_.upstreams = std::move(next);
}

void Poller::run_round(int cancel_fd) {
  apply_new_upstreams();
  const auto started = Clock::now();
  const int64_t started_ms = unix_ms();
  ++round_;
  std::vector<lean::Checkpoint> finalized, justified;
  // Upstreams that failed together back off together; retrying them all in
  // one round would cost one deadline each. One retry per round, for the due
  // upstream that has waited longest; the others stay due.
  const Tracked* retry = nullptr;
  for (const auto& t : tracked_)
    if (t.skip_rounds == 0 && t.status.consecutive_failures > 0 && (!retry || t.last_attempt < retry->last_attempt))
      retry = &t;
  for (size_t i = 0; i < tracked_.size(); ++i) {
    Tracked& t = tracked_[i];
    t.status.agrees = false;
    t.observed_state.reset();
    if (t.skip_rounds > 0) {
      --t.skip_rounds;
      t.status.polled = false;
      continue;
    }
    if (t.status.consecutive_failures > 0 && &t != retry) {
      t.status.polled = false;
      continue;
    }
    if (cancelled(cancel_fd)) return;  // stopping: publish nothing half-done
    if (observe(t, cancel_fd)) {
      finalized.push_back(*t.status.finalized);
      if (t.status.justified) justified.push_back(*t.status.justified);
    }
  }
  const Agreement agreement = agree(finalized, options_.min_agree);
  const auto agreed_justified = agree(justified).checkpoint;
  if (agreement.checkpoint) {
    agreed_at_ms_ = unix_ms();
    for (auto& t : tracked_)
      t.status.agrees = t.status.polled && t.status.healthy && t.status.finalized == agreement.checkpoint;
    if (history_.empty() || history_.back().checkpoint != *agreement.checkpoint) {
      log(LogLevel::info, "agreed on finalized checkpoint ", describe(*agreement.checkpoint), " (", agreement.votes,
          " of ", agreement.answered, " upstreams)");
      history_.push_back({*agreement.checkpoint, agreed_at_ms_});
      if (history_.size() > kHistoryLength) history_.erase(history_.begin());
    }
    if (anchor_ && anchor_->restored) settle_restored(*agreement.checkpoint);
    ensure_anchor(*agreement.checkpoint, cancel_fd);
  } else {
    ++rounds_without_agreement_;
    log(LogLevel::debug, "round ", round_, ": no agreement (", agreement.votes, " of ", agreement.answered,
        " on the most reported checkpoint)");
  }
  if (cancelled(cancel_fd)) return;
  end_local_episode();
  const auto took = Clock::now() - started;
  if (took > options_.poll_interval) {
    ++overruns_;
    log(LogLevel::warn, "round ", round_, " took ", ms(took), " ms, more than the poll interval of ",
        options_.poll_interval.count(), " ms");
  }
  publish(started_ms, took, agreement, agreed_justified);
}

bool Poller::observe(Tracked& t, int cancel_fd) {
  const Upstream& up = options_.upstreams[static_cast<size_t>(&t - tracked_.data())];
  UpstreamStatus& s = t.status;
  const auto start = Clock::now();
  s.polled = true;
  s.last_attempt_ms = unix_ms();
  t.last_attempt = ++attempts_;
  ++s.polls_total;

  std::optional<Failure> failure;
  if (auto fc = fetch_fork_choice(up, options_.max_json_bytes, start + options_.timeout, cancel_fd)) {
    s.observed_via = ObservedVia::fork_choice;
    s.finalized = fc->finalized;
    s.justified = fc->justified;
    s.head = fc->head;
    s.head_slot = fc->head_slot;
  } else if (fc.error().not_found() || fc.error().body_over_cap) {
    // An older client without fork_choice, or one whose fork_choice grew past
    // --max-json-bytes through a long non-finality: its finalized state names
    // its finalized checkpoint (slot, and the root of the block it anchors).
    failure = observe_state(t, up, cancel_fd);
  } else {
    failure = std::move(fc.error());
  }
  s.latency_ms = ms(Clock::now() - start);
  if (failure && failure->kind == FailureKind::local) {
    // This process ran out of something: not the upstream's doing. It does
    // not vote this round, keeps its standing, and is asked again next round.
    s.polled = false;
    note_local(*failure);
    return false;
  }
  if (failure) {
    record_failure(t, *failure);
    return false;
  }
  if (!s.healthy && s.consecutive_failures > 0)
    log(LogLevel::info, "upstream ", s.name, " recovered after ", s.consecutive_failures, " failed attempts");
  s.healthy = true;
  s.last_success_ms = s.last_attempt_ms;
  s.error.reset();
  s.error_detail.clear();
  s.http_status = 0;
  s.consecutive_failures = 0;
  s.backoff_until_ms = 0;
  t.skip_rounds = 0;
  return true;
}

void Poller::note_local(const Failure& failure) {
  ++local_errors_total_;
  ++local_errors_this_round_;
  if (local_pressure_) return;  // logged once per episode
  local_pressure_ = true;
  log(LogLevel::warn, "local resource error: ", failure.detail,
      "; no upstream is blamed for it (no backoff) until it passes");
}

void Poller::end_local_episode() {
  const bool clear = local_errors_this_round_ == 0;
  local_errors_this_round_ = 0;
  if (!local_pressure_ || !clear) return;
  local_pressure_ = false;
  log(LogLevel::info, "local resource pressure ended (", local_errors_total_, " local errors so far)");
}

std::optional<Failure> Poller::observe_state(Tracked& t, const Upstream& up, int cancel_fd) {
  auto state = fetch_ssz(up, kStatePath, options_.max_state_bytes, Clock::now() + options_.timeout, cancel_fd);
  if (!state) return std::move(state.error());
  const auto summary = summarize_state(*state);
  if (!summary) return summary.error();
  UpstreamStatus& s = t.status;
  s.observed_via = ObservedVia::state;
  s.finalized = lean::Checkpoint{summary->block_root, summary->slot};
  s.justified = summary->latest_justified;
  s.head.reset();
  s.head_slot.reset();
  t.observed_state = std::make_shared<const std::vector<uint8_t>>(std::move(*state));
  t.observed_summary = *summary;
  return std::nullopt;
}

void Poller::record_failure(Tracked& t, const Failure& failure) {
  UpstreamStatus& s = t.status;
  s.healthy = false;
  s.error = failure.kind;
  s.error_detail = failure.detail;
  s.http_status = failure.http_status;
  ++s.errors_total[failure.kind];
  ++s.consecutive_failures;
  // Retry after 1, 2, 4, ... poll intervals, at most max_backoff: skip that
  // many rounds minus the one that comes next anyway.
  const uint64_t cap = std::max<uint64_t>(1, static_cast<uint64_t>(options_.max_backoff / options_.poll_interval));
  const uint64_t intervals = std::min<uint64_t>(cap, uint64_t{1} << std::min<uint32_t>(s.consecutive_failures - 1, 40));
  t.skip_rounds = static_cast<uint32_t>(intervals - 1);
  s.backoff_until_ms =
      t.skip_rounds ? s.last_attempt_ms + static_cast<int64_t>(intervals) * options_.poll_interval.count() : 0;
  const LogLevel level = s.consecutive_failures == 1 ? LogLevel::warn : LogLevel::debug;
  log(level, "upstream ", s.name, " failed: ", to_string(failure.kind), " (", failure.detail, "); next attempt in ",
      intervals, " round(s)");
}

void Poller::record_anchor_failure(Tracked& t, const Failure& failure) {
  if (failure.kind == FailureKind::local) return note_local(failure);
  t.status.anchor_error = failure.kind;
  t.status.anchor_error_detail = failure.detail;
  ++t.status.errors_total[failure.kind];
  log(LogLevel::warn, "upstream ", t.status.name, " served an anchor leanpoint refused: ", to_string(failure.kind),
      " (", failure.detail, ")");
}

void Poller::ensure_anchor(const lean::Checkpoint& checkpoint, int cancel_fd) {
  bool need_state = !anchor_ || anchor_->checkpoint != checkpoint;
  if (!need_state && anchor_->block) return;

  std::shared_ptr<VerifiedAnchor> next = need_state ? nullptr : std::make_shared<VerifiedAnchor>(*anchor_);
  StateSummary summary = anchor_summary_;
  for (size_t i = 0; i < tracked_.size(); ++i) {
    Tracked& t = tracked_[i];
    if (!t.status.agrees) continue;
    if (cancelled(cancel_fd)) return;
    const Upstream& up = options_.upstreams[i];
    if (need_state) {
      SharedBytes state = t.observed_state;
      StateSummary observed = t.observed_summary;  // observed through its state this round: already hashed
      if (!state) {
        auto fetched = fetch_ssz(up, kStatePath, options_.max_state_bytes, Clock::now() + options_.timeout, cancel_fd);
        if (!fetched) {
          record_anchor_failure(t, fetched.error());
          continue;
        }
        state = std::make_shared<const std::vector<uint8_t>>(std::move(*fetched));
        auto summarized = summarize_state(*state);
        if (!summarized) {
          record_anchor_failure(t, summarized.error());
          continue;
        }
        observed = *summarized;
      }
      const auto verified = verify_state(observed, checkpoint, options_.genesis_time);
      if (!verified && verified.error().kind == FailureKind::slot_mismatch && observed.slot > checkpoint.slot) {
        // Finality moved on between the node's fork_choice answer and this
        // download: not the node's fault. The next round agrees on the newer
        // checkpoint; these bytes are still refused for this one.
        log(LogLevel::info, "upstream ", up.name, " is already at finalized slot ", observed.slot,
            "; anchoring the newer checkpoint once the upstreams agree on it");
        continue;
      }
      if (!verified) {
        record_anchor_failure(t, verified.error());
        continue;
      }
      t.status.anchor_error.reset();
      summary = *verified;
      next = std::make_shared<VerifiedAnchor>();
      next->checkpoint = checkpoint;
      next->state = std::move(state);
      next->state_root = summary.state_root;
      next->state_source = up.name;
      next->verified_at_ms = unix_ms();
      next->genesis_time = summary.genesis_time;
      need_state = false;
    }
    auto block = fetch_ssz(up, kBlockPath, options_.max_state_bytes, Clock::now() + options_.timeout, cancel_fd);
    if (!block) {
      // 404: a node that serves no blocks (qlean-mini); not a fault.
      if (!block.error().not_found()) record_anchor_failure(t, block.error());
      continue;
    }
    auto& bytes = *block;
    const auto verified = verify_block(summary, bytes, checkpoint);
    if (!verified) {
      record_anchor_failure(t, verified.error());
      continue;
    }
    t.status.anchor_error.reset();
    next->block = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    next->block_source = up.name;
    break;
  }
  if (!next) {
    // Warn once per checkpoint; the attempt is repeated every round.
    if (unverified_ != checkpoint)
      log(LogLevel::warn, "no agreeing upstream served a state that verifies against ", describe(checkpoint),
          "; still serving ", anchor_ ? describe(anchor_->checkpoint) : std::string("nothing"));
    unverified_ = checkpoint;
    return;
  }
  if (anchor_ && next->checkpoint == anchor_->checkpoint && next->block == anchor_->block) return;  // still no block
  log(LogLevel::info, "verified anchor ", describe(checkpoint), ": state from ", next->state_source, " (",
      next->state->size(), " bytes)", next->block ? ", block from " + next->block_source : ", no block yet");
  if (anchor_ && anchor_->restored) restore_ = RestoreOutcome::replaced;
  anchor_ = std::move(next);
  anchor_summary_ = summary;
  if (options_.on_anchor) options_.on_anchor(anchor_);
}

void Poller::settle_restored(const lean::Checkpoint& agreed) {
  const lean::Checkpoint restored = anchor_->checkpoint;
  if (agreed == restored) {
    auto confirmed = std::make_shared<VerifiedAnchor>(*anchor_);
    confirmed->restored = false;
    anchor_ = std::move(confirmed);
    restore_ = RestoreOutcome::confirmed;
    log(LogLevel::info, "the upstreams agree on the restored anchor ", describe(restored));
    return;
  }
  if (agreed.slot > restored.slot) return;  // served until the newer anchor verifies
  restore_ = RestoreOutcome::dropped;
  restore_detail_ =
      "the upstreams agree on " + describe(agreed) + ", another chain than the restored " + describe(restored);
  log(LogLevel::warn, restore_detail_, "; the restored anchor is dropped and not served again");
  anchor_.reset();
  anchor_summary_ = StateSummary{};
  if (options_.on_anchor) options_.on_anchor(nullptr);
}

void Poller::publish(int64_t started_ms, Clock::duration took, const Agreement& agreement,
                     const std::optional<lean::Checkpoint>& justified) {
  auto s = std::make_shared<Snapshot>();
  s->round = round_;
  s->round_started_ms = started_ms;
  s->round_duration_ms = ms(took);
  s->rounds_overrun_total = overruns_;
  s->rounds_without_agreement_total = rounds_without_agreement_;
  s->local_errors_total = local_errors_total_;
  if (!agreement.checkpoint) s->last_error = no_agreement_reason(agreement, tracked_.size(), options_.min_agree);
  s->agreement = agreement;
  s->justified = justified;
  s->agreed_at_ms = agreed_at_ms_;
  s->anchor = anchor_;
  s->history = history_;
  s->upstreams.reserve(tracked_.size());
  for (const auto& t : tracked_) s->upstreams.push_back(t.status);
  if (options_.data_dir_status) {
    s->data_dir = options_.data_dir_status();
    if (restore_ != RestoreOutcome::none) {
      s->data_dir->restore = restore_;
      s->data_dir->restore_detail = restore_detail_;
    }
  }
  store_.publish(std::move(s));
}

}  // namespace leanpoint
