#include "poller.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "hex.h"
#include "log.h"
#include "restored_anchor.h"
#include "round_record.h"
#include "untrusted_text.h"

namespace leanpoint {
namespace {

constexpr size_t kHistoryLength = 32;

int64_t ms(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

// The implementations behind a majority, for logs and /status's last_error.
std::string client_list(const std::vector<std::string>& clients) {
  std::string list;
  for (const auto& c : clients) list += (list.empty() ? "" : ", ") + (c.empty() ? std::string("unknown") : c);
  return list;
}

std::string no_agreement_reason(const Agreement& a, size_t total, const PollerOptions& o) {
  if (a.answered == 0) return "no upstream answered (" + std::to_string(total) + " configured)";
  if (a.why == NoAgreement::insufficient_client_diversity)
    return "insufficient client diversity: the " + std::to_string(a.votes) + " of " + std::to_string(a.answered) +
           " answering upstreams on " + describe(*a.majority) + " run " + std::to_string(a.clients.size()) +
           " implementation(s) (" + client_list(a.clients) + "), below --min-agreeing-clients " +
           std::to_string(o.min_agreeing_clients);
  std::string why = "no majority: " + std::to_string(a.votes) + " of " + std::to_string(a.answered) +
                    " answering upstreams on the most reported checkpoint";
  if (a.why == NoAgreement::below_min_agree) why += ", below --min-agree " + std::to_string(o.min_agree);
  return why;
}

// True when `stop_fd` becomes readable before `until`.
bool stop_before(int stop_fd, Clock::time_point until) {
  for (;;) {
    pollfd p{stop_fd, POLLIN, 0};
    const int n = ::poll(&p, 1, ms_until(until));
    if (n == 0) return false;
    if (n > 0) {
      // A descriptor poll() cannot watch could never show a stop: stop now.
      if (!(p.revents & POLLIN)) log(LogLevel::error, "poller: the stop descriptor is not pollable; stopping");
      return true;
    }
    if (errno == EINTR) continue;
    // ENOMEM: no wait this time; the next round starts at once, as after an overrun.
    log(LogLevel::warn, "poller: waiting for the next round failed: ", std::strerror(errno));
    return false;
  }
}

}  // namespace

Poller::Poller(const PollerOptions& options, std::vector<Upstream> upstreams, SnapshotStore& store, PersistHooks hooks)
    : options_(options),
      hooks_(std::move(hooks)),
      store_(store),
      started_ms_(unix_ms()),
      rounds_(std::make_shared<const RoundHistory>(options.history_rounds)) {
  for (const Upstream& up : upstreams) tracked_.push_back(track(up));
  if (hooks_.restored) {
    anchor_ = std::move(hooks_.restored);
    anchor_summary_ = hooks_.restored_summary;
    restore_ = RestoreOutcome::serving;
  }
  // Served before the first round: the settings, the restored anchor, and
  // what became of it.
  publish(0, Clock::duration{}, Agreement{}, std::nullopt);
}

Poller::Tracked Poller::track(const Upstream& up) {
  Tracked t;
  t.upstream = up;
  t.status.name = up.name;
  t.status.url = up.url;
  t.status.path = up.path;
  t.status.client = up.client;
  return t;
}

void Poller::run(int stop_fd) {
  const auto interval = std::chrono::milliseconds(options_.poll_ms);
  for (;;) {
    const auto started = Clock::now();
    run_round(stop_fd);
    // The next round starts one interval after this one started, or at once
    // if this one overran (counted in run_round).
    if (stop_before(stop_fd, std::max<Clock::time_point>(started + interval, Clock::now()))) return;
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
    if (same == tracked_.end()) {
      tracked.push_back(track(up));
      continue;
    }
    ++kept;
    tracked.push_back(std::move(*same));
    tracked.back().upstream = up;
    tracked.back().status.path = up.path;
    tracked.back().status.client = up.client;  // a reload may say what it runs
  }
  log(LogLevel::info, "upstreams now: ", next.size(), " (", kept, " kept, ", next.size() - kept, " added, ",
      tracked_.size() - kept, " removed)");
  tracked_ = std::move(tracked);
}

void Poller::run_round(int cancel_fd) {
  apply_new_upstreams();
  const auto started = Clock::now();
  const int64_t started_ms = unix_ms();
  ++round_;
  poll_due_upstreams(cancel_fd);
  if (cancelled(cancel_fd)) return;  // stopping: publish nothing half-done
  // The upstreams that answered this round vote.
  std::vector<Vote> finalized;
  std::vector<lean::Checkpoint> justified;
  for (const Tracked& t : tracked_) {
    if (!t.status.polled || !t.status.healthy) continue;
    finalized.push_back({*t.status.finalized, t.status.client});
    if (t.status.justified) justified.push_back(*t.status.justified);
  }
  const Agreement agreement = agree(finalized, {options_.min_agree, options_.min_agreeing_clients});
  const auto agreed_justified = agree(justified).checkpoint;
  if (agreement.checkpoint) {
    on_agreement(*agreement.checkpoint, agreement, cancel_fd);
  } else if (agreement.why == NoAgreement::insufficient_client_diversity) {
    on_undiverse_majority(agreement);
  } else {
    ++rounds_without_agreement_;
    log(LogLevel::debug, "round ", round_, ": no agreement (", agreement.votes, " of ", agreement.answered,
        " on the most reported checkpoint)");
  }
  if (cancelled(cancel_fd)) return;
  local_.end_round();
  count_bytes();
  const auto took = Clock::now() - started;
  if (took > std::chrono::milliseconds(options_.poll_ms)) {
    ++overruns_;
    log(LogLevel::warn, "round ", round_, " took ", ms(took), " ms, more than the poll interval of ", options_.poll_ms,
        " ms");
  }
  publish(started_ms, took, agreement, agreed_justified);
}

// Upstreams that failed together back off together; retrying them all in one
// round would cost one deadline each. One retry per round, for the due
// upstream that has waited longest; the others stay due.
const Poller::Tracked* Poller::next_retry() const {
  const Tracked* retry = nullptr;
  for (const auto& t : tracked_)
    if (t.skip_rounds == 0 && t.status.consecutive_failures > 0 && (!retry || t.last_attempt < retry->last_attempt))
      retry = &t;
  return retry;
}

void Poller::poll_due_upstreams(int cancel_fd) {
  const Tracked* retry = next_retry();
  for (Tracked& t : tracked_) {
    t.status.agrees = false;
    t.observed = Observation{};
    t.memory.read.clear();
    if (t.skip_rounds > 0) {
      --t.skip_rounds;
      t.status.polled = false;
      continue;
    }
    if (t.status.consecutive_failures > 0 && &t != retry) {
      t.status.polled = false;
      continue;
    }
    if (cancelled(cancel_fd)) return;
    poll_upstream(t, cancel_fd);
  }
}

void Poller::poll_upstream(Tracked& t, int cancel_fd) {
  UpstreamStatus& s = t.status;
  const auto start = Clock::now();
  s.polled = true;
  s.last_attempt_ms = unix_ms();
  t.last_attempt = ++attempts_;
  ++s.polls_total;
  auto observed = observe(t.upstream, options_, round_, t.memory, cancel_fd);
  s.latency_ms = ms(Clock::now() - start);
  if (!observed && observed.error().kind == FailureKind::local) {
    // This process ran out of something: not the upstream's doing. It does
    // not vote this round, keeps its standing, and is asked again next round.
    s.polled = false;
    local_.note(observed.error());
    return;
  }
  if (!observed) return record_failure(t, observed.error());
  record_success(t, std::move(*observed));
}

void Poller::record_success(Tracked& t, Observation observed) {
  UpstreamStatus& s = t.status;
  if (!s.healthy && s.consecutive_failures > 0)
    log(LogLevel::info, "upstream ", s.name, " recovered after ", s.consecutive_failures, " failed attempts");
  s.observed_via = observed.via;
  s.finalized = observed.finalized;
  s.justified = observed.justified;
  s.head = observed.head;
  s.head_slot = observed.head_slot;
  s.fork_choice_bytes = observed.via == ObservedVia::state ? 0 : t.memory.last_bytes;
  s.healthy = true;
  s.last_success_ms = s.last_attempt_ms;
  s.error.reset();
  s.error_detail.clear();
  s.http_status = 0;
  s.consecutive_failures = 0;
  s.backoff_until_ms = 0;
  t.skip_rounds = 0;
  t.observed = std::move(observed);
}

void Poller::record_failure(Tracked& t, const Failure& failure) {
  UpstreamStatus& s = t.status;
  s.healthy = false;
  s.error = failure.kind;
  s.error_detail = untrusted_text(failure.detail);  // may quote the upstream's headers
  s.http_status = failure.http_status;
  ++s.errors_total[failure.kind];
  ++s.consecutive_failures;
  // Retry after 1, 2, 4, ... poll intervals, at most max_backoff: skip that
  // many rounds minus the one that comes next anyway.
  const uint64_t cap = std::max<uint64_t>(1, static_cast<uint64_t>(options_.max_backoff_ms / options_.poll_ms));
  const uint64_t intervals = std::min<uint64_t>(cap, uint64_t{1} << std::min<uint32_t>(s.consecutive_failures - 1, 40));
  t.skip_rounds = static_cast<uint32_t>(intervals - 1);
  s.backoff_until_ms = t.skip_rounds ? s.last_attempt_ms + static_cast<int64_t>(intervals) * options_.poll_ms : 0;
  const LogLevel level = s.consecutive_failures == 1 ? LogLevel::warn : LogLevel::debug;
  log(level, "upstream ", s.name, " failed: ", to_string(failure.kind), " (", failure.detail, "); next attempt in ",
      intervals, " round(s)");
}

void Poller::record_anchor_failure(Tracked& t, const Failure& failure) {
  if (failure.kind == FailureKind::local) return local_.note(failure);
  t.status.anchor_error = failure.kind;
  t.status.anchor_error_detail = untrusted_text(failure.detail);
  ++t.status.errors_total[failure.kind];
  log(LogLevel::warn, "upstream ", t.status.name, " served an anchor leanpoint refused: ", to_string(failure.kind),
      " (", failure.detail, ")");
}

// What each upstream cost this round, observing it and fetching anchors from it.
void Poller::count_bytes() {
  for (Tracked& t : tracked_) {
    t.status.round_bytes = 0;
    for (const auto& [endpoint, n] : t.memory.read) {
      t.status.round_bytes += n;
      t.status.bytes_total[endpoint] += n;
    }
  }
}

void Poller::on_agreement(const lean::Checkpoint& agreed, const Agreement& agreement, int cancel_fd) {
  agreed_at_ms_ = unix_ms();
  for (auto& t : tracked_) t.status.agrees = t.status.polled && t.status.healthy && t.status.finalized == agreed;
  if (history_.empty() || history_.back().checkpoint != agreed) {
    log(LogLevel::info, "agreed on finalized checkpoint ", describe(agreed), " (", agreement.votes, " of ",
        agreement.answered, " upstreams)");
    history_.push_back({agreed, agreed_at_ms_});
    if (history_.size() > kHistoryLength) history_.erase(history_.begin());
  }
  if (anchor_ && anchor_->restored) settle(agreed);
  ensure_anchor(agreed, cancel_fd);
}

// A majority that runs too few implementations is no agreement: the anchor
// served stays, and health treats the round as one that disagreed.
void Poller::on_undiverse_majority(const Agreement& agreement) {
  ++rounds_without_agreement_;
  ++rounds_undiverse_;
  // Warn once per checkpoint and episode; the round repeats every interval.
  const bool news = undiverse_ != agreement.majority || undiverse_round_ + 1 != round_;
  undiverse_ = agreement.majority;
  undiverse_round_ = round_;
  const LogLevel level = news ? LogLevel::warn : LogLevel::debug;
  log(level, "round ", round_, ": ", no_agreement_reason(agreement, tracked_.size(), options_), "; still serving ",
      anchor_ ? describe(anchor_->checkpoint) : std::string("nothing"));
}

void Poller::settle(const lean::Checkpoint& agreed) {
  Settlement settled = settle_restored(anchor_, agreed);
  restore_ = settled.outcome;
  anchor_ = std::move(settled.anchor);
  if (restore_ != RestoreOutcome::dropped) return;
  restore_detail_ = std::move(settled.detail);
  anchor_summary_ = StateSummary{};
  if (hooks_.on_anchor) hooks_.on_anchor(nullptr);
}

void Poller::ensure_anchor(const lean::Checkpoint& checkpoint, int cancel_fd) {
  const bool held = anchor_ && anchor_->checkpoint == checkpoint;
  if (held && anchor_->block) return;
  std::vector<AnchorSource> sources;
  std::vector<Tracked*> asked;
  for (Tracked& t : tracked_) {
    if (!t.status.agrees) continue;
    sources.push_back({t.upstream, t.observed.state, t.observed.summary, &t.memory.read});
    asked.push_back(&t);
  }
  auto fetched = held ? fetch_anchor(checkpoint, sources, options_, cancel_fd, anchor_, anchor_summary_)
                      : fetch_anchor(checkpoint, sources, options_, cancel_fd);
  if (!fetched) return;  // stopping: the round publishes nothing
  for (const SourceVerdict& v : fetched->verdicts) {
    if (v.verdict)
      asked[v.source]->status.anchor_error.reset();
    else
      record_anchor_failure(*asked[v.source], v.verdict.error());
  }
  adopt(checkpoint, std::move(*fetched));
}

void Poller::adopt(const lean::Checkpoint& checkpoint, FetchedAnchor fetched) {
  if (!fetched.anchor) {
    // Warn once per checkpoint; the attempt is repeated every round.
    if (unverified_ != checkpoint)
      log(LogLevel::warn, "no agreeing upstream served a state that verifies against ", describe(checkpoint),
          "; still serving ", anchor_ ? describe(anchor_->checkpoint) : std::string("nothing"));
    unverified_ = checkpoint;
    return;
  }
  if (fetched.anchor == anchor_) return;  // held, and still no block
  const VerifiedAnchor& next = *fetched.anchor;
  log(LogLevel::info, "verified anchor ", describe(checkpoint), ": state from ", next.state_source, " (",
      next.state->size(), " bytes)", next.block ? ", block from " + next.block_source : ", no block yet");
  restore_ = outcome_after_new_anchor(anchor_.get(), restore_);
  anchor_ = std::move(fetched.anchor);
  anchor_summary_ = fetched.summary;
  if (hooks_.on_anchor) hooks_.on_anchor(anchor_);
}

void Poller::publish(int64_t started_ms, Clock::duration took, const Agreement& agreement,
                     const std::optional<lean::Checkpoint>& justified) {
  auto s = std::make_shared<Snapshot>();
  s->settings = {options_.poll_ms, options_.timeout_ms, options_.min_agree, started_ms_};
  s->round = round_;
  s->round_started_ms = started_ms;
  s->round_duration_ms = ms(took);
  s->rounds_overrun_total = overruns_;
  s->rounds_without_agreement_total = rounds_without_agreement_;
  s->local_errors_total = local_.total();
  if (!agreement.checkpoint) s->last_error = no_agreement_reason(agreement, tracked_.size(), options_);
  s->settings.min_clients = options_.min_agreeing_clients;
  s->rounds_insufficient_client_diversity_total = rounds_undiverse_;
  s->agreement = agreement;
  s->justified = justified;
  s->agreed_at_ms = agreed_at_ms_;
  s->anchor = anchor_;
  s->history = history_;
  s->upstreams.reserve(tracked_.size());
  for (const auto& t : tracked_) s->upstreams.push_back(t.status);
  if (hooks_.data_dir_status) {
    s->data_dir = hooks_.data_dir_status();
    if (restore_ != RestoreOutcome::none) {
      s->data_dir->restore = restore_;
      s->data_dir->restore_detail = restore_detail_;
    }
  }
  if (round_ > 0)  // round 0 is the start, not a round
    rounds_ = std::make_shared<const RoundHistory>(
        rounds_->appended(record_round(*s, rounds_->empty() ? nullptr : rounds_->newest().get())));
  s->rounds = rounds_;
  store_.publish(std::move(s));
}

}  // namespace leanpoint
