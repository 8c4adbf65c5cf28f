#include "status.h"

#include <algorithm>

#include "anchor.h"
#include "hex.h"
#include "version.h"

namespace leanpoint {
namespace {

using nlohmann::ordered_json;

ordered_json checkpoint(const std::optional<lean::Checkpoint>& c) {
  if (!c) return nullptr;
  return {{"slot", c->slot}, {"root", to_hex(c->root)}};
}

ordered_json kind_or_null(const std::optional<FailureKind>& kind) {
  return kind ? ordered_json(to_string(*kind)) : ordered_json(nullptr);
}

ordered_json nonzero_or_null(int64_t v) { return v ? ordered_json(v) : ordered_json(nullptr); }

uint64_t error_count(const UpstreamStatus& u) {
  uint64_t n = 0;
  for (const auto& [kind, count] : u.errors_total) n += count;
  return n;
}

ordered_json anchor_json(const Snapshot& s, const std::optional<lean::Checkpoint>& agreed) {
  if (!s.anchor) return nullptr;
  const VerifiedAnchor& a = *s.anchor;
  return {
      {"slot", a.checkpoint.slot},
      {"root", to_hex(a.checkpoint.root)},
      {"state_root", to_hex(a.state_root)},
      {"state_bytes", a.state->size()},
      {"block_bytes", a.block ? ordered_json(a.block->size()) : ordered_json(nullptr)},
      {"state_source", a.state_source},
      {"block_source", a.block ? ordered_json(a.block_source) : ordered_json(nullptr)},
      {"verified", true},
      {"verified_at_ms", a.verified_at_ms},
      {"current", agreed && a.checkpoint == *agreed},
      {"restored", a.restored},
  };
}

ordered_json pins_json(const PinsView& pins) {
  ordered_json served = nullptr;
  if (pins.current)
    served = {{"slot", pins.current->checkpoint.slot},
              {"root", to_hex(pins.current->checkpoint.root)},
              {"since_ms", pins.current_since_ms}};
  return {{"window_ms", pins.window_ms},
          {"serving", served},
          {"clients_pinned", pins.clients},
          {"anchors_retained", pins.anchors}};
}

ordered_json text_or_null(const std::string& text) { return text.empty() ? ordered_json(nullptr) : ordered_json(text); }

// The implementations behind the majority; null for those not known.
ordered_json clients_json(const Agreement& a) {
  ordered_json clients = ordered_json::array();
  for (const auto& c : a.clients) clients.push_back(text_or_null(c));
  return clients;
}

ordered_json no_agreement_json(const Agreement& a) {
  return a.why == NoAgreement::none ? ordered_json(nullptr) : ordered_json(to_string(a.why));
}

// The data directory's counters are kDataDirCounters, as /metrics renders them.
ordered_json data_dir_json(const Snapshot& s) {
  if (!s.data_dir) return nullptr;
  const DataDirStatus& d = *s.data_dir;
  ordered_json doc = {
      {"path", d.path},
      {"restore", to_string(d.restore)},
      {"restored", checkpoint(d.restored)},
      {"restore_detail", text_or_null(d.restore_detail)},
  };
  for (const DataDirCounter& c : kDataDirCounters) doc[std::string(c.status_field)] = d.*c.field;
  doc["last_write_error"] = text_or_null(d.last_write_error);
  doc["last_write_ms"] = d.last_write_ms;
  return doc;
}

// The access log's counters are kAccessLogCounters, as /metrics renders them.
ordered_json access_log_json(const std::optional<AccessLogStatus>& log) {
  if (!log) return nullptr;
  ordered_json doc = {{"path", log->path}};
  for (const AccessLogCounter& c : kAccessLogCounters) doc[std::string(c.status_field)] = log->counters.*c.field;
  return doc;
}

// The poller's counters are kRoundCounters, as /metrics renders them.
ordered_json round_json(const Snapshot& s) {
  ordered_json doc = {{"number", s.round},
                      {"started_ms", s.round_started_ms},
                      {"duration_ms", s.round_duration_ms},
                      {"poll_ms", s.settings.poll_ms}};
  for (const RoundCounter& c : kRoundCounters) doc[std::string(c.status_field)] = s.*c.field;
  // Per upstream: how it was observed this round (null: not polled, or it
  // failed), its last fork_choice's size, and what the round read from it.
  uint64_t bytes = 0;
  ordered_json upstreams = ordered_json::array();
  for (const auto& u : s.upstreams) {
    bytes += u.round_bytes;
    const bool observed = u.polled && u.healthy && u.observed_via != ObservedVia::none;
    upstreams.push_back(
        {{"name", u.name},
         {"observed_via", observed ? ordered_json(to_string(u.observed_via)) : ordered_json(nullptr)},
         {"fork_choice_bytes", u.fork_choice_bytes ? ordered_json(u.fork_choice_bytes) : ordered_json(nullptr)},
         {"round_bytes", u.round_bytes}});
  }
  doc["bytes_read"] = bytes;
  doc["upstreams"] = upstreams;
  return doc;
}

// The server's counters are kCounters, as /metrics renders them.
ordered_json process_json(const ProcessView& p) {
  ordered_json pools = ordered_json::array();
  for (const auto& pool : p.pools)
    pools.push_back({{"name", pool.name},
                     {"workers", pool.workers},
                     {"active", pool.active},
                     {"queued", pool.queued},
                     {"capacity", pool.capacity}});
  ordered_json doc = {{"fds_open", p.fds.open},
                      {"fds_limit", p.fds.limit},
                      {"connections_open", p.connections_open},
                      {"connections_waiting", p.connections_waiting},
                      {"connections_sending", p.connections_sending},
                      {"pools", pools}};
  for (const CounterInfo& c : kCounters) doc[std::string(c.status_field)] = p.counters[static_cast<size_t>(c.counter)];
  doc["started_ms"] = p.started_ms;
  return doc;
}

ordered_json history_json(const Snapshot& s) {
  ordered_json history = ordered_json::array();
  for (const auto& h : s.history)
    history.push_back(
        {{"slot", h.checkpoint.slot}, {"root", to_hex(h.checkpoint.root)}, {"first_agreed_ms", h.first_agreed_ms}});
  return history;
}

ordered_json verdict_json(const Health& h) {
  ordered_json failing = ordered_json::array();
  for (const HealthReason r : h.failing) failing.push_back(to_string(r));
  return ordered_json{{"ok", h.ok()}, {"failing", failing}};
}

// /api/upstreams' `consensus`: the Zig leanpoint's fields, then leanpoint's.
ordered_json consensus_json(const Snapshot& s, size_t responding) {
  return {{"total_upstreams", s.upstreams.size()},
          {"responding_upstreams", responding},
          {"consensus_threshold", 50},
          {"has_consensus", s.agreement.checkpoint.has_value()},
          {"votes", s.agreement.votes},
          {"answered", s.agreement.answered},
          {"min_agree", s.settings.min_agree},
          {"min_clients", s.settings.min_clients},
          {"clients", clients_json(s.agreement)},
          {"reason", no_agreement_json(s.agreement)},
          {"finalized", checkpoint(s.agreement.checkpoint)},
          {"justified", checkpoint(s.justified)}};
}

}  // namespace

ordered_json status_json(const Snapshot& s, const ProcessView& p, const HealthReport& report) {
  const Health& health = report.healthz;
  const auto agreed = last_agreed(s);
  return {
      // The Zig leanpoint's fields, same names and meaning.
      {"justified_slot", s.justified ? s.justified->slot : 0},
      {"finalized_slot", agreed ? agreed->slot : 0},
      {"last_updated_ms", s.round ? s.round_started_ms + s.round_duration_ms : 0},
      {"last_success_ms", s.agreed_at_ms},
      // The Zig leanpoint's `stale` (no success within --stale-ms) is health's rule.
      {"stale", health.fails(HealthReason::stale) || health.fails(HealthReason::no_agreement)},
      {"error_count", s.rounds_without_agreement_total},
      {"last_error", text_or_null(s.last_error)},
      // leanpoint's.
      {"version", LEANPOINT_VERSION},
      {"finalized_root", agreed ? ordered_json(to_hex(agreed->root)) : ordered_json(nullptr)},
      {"justified_root", s.justified ? ordered_json(to_hex(s.justified->root)) : ordered_json(nullptr)},
      {"has_consensus", s.agreement.checkpoint.has_value()},
      {"agreement",
       {{"checkpoint", checkpoint(s.agreement.checkpoint)},
        {"votes", s.agreement.votes},
        {"answered", s.agreement.answered},
        {"min_agree", s.settings.min_agree},
        {"min_clients", s.settings.min_clients},
        {"clients", clients_json(s.agreement)},
        {"reason", no_agreement_json(s.agreement)}}},
      {"anchor", anchor_json(s, agreed)},
      {"pins", pins_json(p.pins)},
      {"data_dir", data_dir_json(s)},
      {"access_log", access_log_json(p.access_log)},
      {"health", verdict_json(health)},
      {"live", verdict_json(report.live)},
      {"ready", verdict_json(report.ready)},
      {"round", round_json(s)},
      {"process", process_json(p)},
      {"history", history_json(s)},
  };
}

ordered_json upstreams_json(const Snapshot& s) {
  ordered_json rows = ordered_json::array();
  size_t responding = 0;
  for (const auto& u : s.upstreams) {
    responding += u.healthy;
    ordered_json kinds = ordered_json::object();
    for (const auto& [kind, count] : u.errors_total) kinds[std::string(to_string(kind))] = count;
    ordered_json bytes = ordered_json::object();
    for (const auto& [endpoint, count] : u.bytes_total) bytes[std::string(to_string(endpoint))] = count;
    rows.push_back({
        // The Zig leanpoint's fields.
        {"name", u.name},
        {"url", u.url},
        {"path", u.path.empty() ? ordered_json(nullptr) : ordered_json(u.path)},
        {"healthy", u.healthy},
        {"last_success_ms", nonzero_or_null(u.last_success_ms)},
        {"error_count", error_count(u)},
        {"last_error", kind_or_null(u.error)},
        {"last_justified_slot", u.justified ? ordered_json(u.justified->slot) : ordered_json(nullptr)},
        {"last_finalized_slot", u.finalized ? ordered_json(u.finalized->slot) : ordered_json(nullptr)},
        {"head_slot", or_null(u.head_slot)},
        // leanpoint's.
        {"client", text_or_null(u.client)},
        {"finalized", checkpoint(u.finalized)},
        {"justified", checkpoint(u.justified)},
        {"head_root", u.head ? ordered_json(to_hex(*u.head)) : ordered_json(nullptr)},
        {"agrees", u.agrees},
        {"polled", u.polled},
        {"observed_via",
         u.observed_via == ObservedVia::none ? ordered_json(nullptr) : ordered_json(to_string(u.observed_via))},
        {"last_attempt_ms", nonzero_or_null(u.last_attempt_ms)},
        {"latency_ms", u.last_attempt_ms ? ordered_json(u.latency_ms) : ordered_json(nullptr)},
        {"error_detail", u.error_detail.empty() ? ordered_json(nullptr) : ordered_json(u.error_detail)},
        {"http_status", u.http_status ? ordered_json(u.http_status) : ordered_json(nullptr)},
        {"consecutive_failures", u.consecutive_failures},
        {"backoff_until_ms", nonzero_or_null(u.backoff_until_ms)},
        {"anchor_error", kind_or_null(u.anchor_error)},
        {"anchor_error_detail",
         u.anchor_error_detail.empty() ? ordered_json(nullptr) : ordered_json(u.anchor_error_detail)},
        {"polls_total", u.polls_total},
        {"errors_by_kind", kinds},
        {"fork_choice_bytes", u.fork_choice_bytes ? ordered_json(u.fork_choice_bytes) : ordered_json(nullptr)},
        {"round_bytes", u.round_bytes},
        {"bytes_by_endpoint", bytes},
    });
  }
  return {{"upstreams", rows}, {"consensus", consensus_json(s, responding)}};
}

std::optional<ordered_json> finalized_checkpoint_json(const Snapshot& s) {
  if (!s.anchor) return std::nullopt;
  return checkpoint(s.anchor->checkpoint);
}

std::optional<ordered_json> justified_checkpoint_json(const Snapshot& s) {
  if (!s.justified) return std::nullopt;
  return checkpoint(s.justified);
}

std::optional<ordered_json> fork_choice_json(const Snapshot& s) {
  if (!s.anchor || !s.justified) return std::nullopt;
  const VerifiedAnchor& a = *s.anchor;
  const std::string root = to_hex(a.checkpoint.root);
  // A provider has no fork choice of its own: its one node, head, safe
  // target and finalized checkpoint are the anchor's block, as the verified
  // state's header describes it (so even before the block's bytes are
  // served), with the weight of no votes. Keys and order are leanSpec's.
  ordered_json nodes = ordered_json::array();
  ordered_json validators = nullptr;  // leanSpec's null: no state to count
  if (const auto head = read_state_head(*a.state)) {
    nodes.push_back({{"root", root},
                     {"slot", head->latest_block_header.slot},
                     {"parent_root", to_hex(head->latest_block_header.parent_root)},
                     {"proposer_index", head->latest_block_header.proposer_index},
                     {"weight", 0}});
    validators = head->validator_count;
  }
  return ordered_json{{"nodes", nodes},
                      {"head", root},
                      {"justified", checkpoint(s.justified)},
                      {"finalized", checkpoint(a.checkpoint)},
                      {"safe_target", root},
                      {"validator_count", validators}};
}

std::string no_anchor_reason(const Snapshot& s) {
  if (s.round == 0) return "no polling round has finished yet";
  if (s.history.empty())
    return "the upstreams have not agreed on a finalized checkpoint yet" +
           (s.last_error.empty() ? std::string() : " (" + s.last_error + ")");
  const auto& c = s.history.back().checkpoint;
  return "no agreeing upstream has served a state that verifies against checkpoint " + std::to_string(c.slot) + "/" +
         to_hex(c.root);
}

}  // namespace leanpoint
