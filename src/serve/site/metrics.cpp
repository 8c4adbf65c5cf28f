#include "metrics.h"

#include <algorithm>
#include <sstream>

#include "untrusted_text.h"
#include "version.h"

namespace leanpoint {
namespace {

class Writer {
 public:
  // Starts a metric family.
  Writer& family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = std::string(name);
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
    return *this;
  }
  // One sample of the current family; labels as {"k","v",...}. A label
  // whose value is empty is left out, as Prometheus reads it anyway (an
  // upstream whose client is not known has no `client` label).
  template <typename T>
  Writer& sample(T value, std::initializer_list<std::pair<const char*, std::string>> labels = {}) {
    out_ << name_;
    bool first = true;
    for (const auto& [k, v] : labels) {
      if (v.empty()) continue;
      out_ << (first ? "{" : ",") << k << "=\"" << escape_label_value(v) << "\"";
      first = false;
    }
    if (!first) out_ << "}";
    out_ << " " << value << "\n";
    return *this;
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::string name_;
};

double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// The Zig leanpoint's, by their names.
void zig_families(Writer& w, const Snapshot& s, bool zig_names) {
  const auto agreed = last_agreed(s);
  const int64_t updated_ms = s.round ? s.round_started_ms + s.round_duration_ms : 0;
  w.family("leanpoint_justified_slot", "gauge", "Latest justified slot.").sample(s.justified ? s.justified->slot : 0);
  w.family("leanpoint_finalized_slot", "gauge", "Latest finalized slot.").sample(agreed ? agreed->slot : 0);
  w.family("leanpoint_error_total", "counter", "Total poll errors: rounds in which the upstreams agreed on nothing.")
      .sample(s.rounds_without_agreement_total);
  w.family("leanpoint_last_success_timestamp_seconds", "gauge", "Last round that agreed on a checkpoint (unix time).")
      .sample(seconds(s.agreed_at_ms));
  w.family("leanpoint_last_updated_timestamp_seconds", "gauge", "Last round that finished (unix time).")
      .sample(seconds(updated_ms));
  w.family("leanpoint_last_latency_seconds", "gauge", "Duration of the last round.")
      .sample(seconds(s.round_duration_ms));
  if (!zig_names) return;
  w.family("leanpoint_last_success_timestamp_ms", "gauge", "Last successful poll time (ms since epoch).")
      .sample(s.agreed_at_ms);
  w.family("leanpoint_last_updated_timestamp_ms", "gauge", "Last update time (ms since epoch).").sample(updated_ms);
  w.family("leanpoint_last_latency_ms", "gauge", "Last poll latency in milliseconds.").sample(s.round_duration_ms);
}

void health_families(Writer& w, const HealthReport& report) {
  const Health& health = report.healthz;
  w.family("leanpoint_build_info", "gauge", "leanpoint's version.").sample(1, {{"version", LEANPOINT_VERSION}});
  w.family("leanpoint_healthy", "gauge", "1 when /healthz answers 200.").sample(health.ok() ? 1 : 0);
  w.family("leanpoint_live", "gauge", "1 when /livez answers 200 (no restart needed).")
      .sample(report.live.ok() ? 1 : 0);
  w.family("leanpoint_ready", "gauge", "1 when /readyz answers 200 (a verified state and block are served).")
      .sample(report.ready.ok() ? 1 : 0);
  w.family("leanpoint_health_failing", "gauge", "1 for each /healthz rule failing now.");
  for (const HealthReason reason : kHealthReasons)
    w.sample(health.fails(reason) ? 1 : 0, {{"reason", std::string(to_string(reason))}});
  w.family("leanpoint_live_failing", "gauge", "1 for each /livez rule failing now.");
  for (const HealthReason reason : kLivenessReasons)
    w.sample(report.live.fails(reason) ? 1 : 0, {{"reason", std::string(to_string(reason))}});
  w.family("leanpoint_ready_failing", "gauge", "1 for each /readyz rule failing now.");
  for (const HealthReason reason : kReadinessReasons)
    w.sample(report.ready.fails(reason) ? 1 : 0, {{"reason", std::string(to_string(reason))}});
}

void anchor_families(Writer& w, const Snapshot& s) {
  const auto agreed = last_agreed(s);
  w.family("leanpoint_has_consensus", "gauge", "1 when the last round agreed on a finalized checkpoint.")
      .sample(s.agreement.checkpoint ? 1 : 0);
  w.family("leanpoint_agreement_votes", "gauge", "Upstreams behind the most reported finalized checkpoint, last round.")
      .sample(s.agreement.votes);
  w.family("leanpoint_agreement_answered", "gauge", "Upstreams that answered, last round.")
      .sample(s.agreement.answered);
  w.family("leanpoint_agreement_clients", "gauge",
           "Client implementations among the upstreams behind the majority checkpoint, last round (0: no majority).")
      .sample(s.agreement.clients.size());
  w.family("leanpoint_min_agreeing_clients", "gauge", "--min-agreeing-clients: implementations an agreement needs.")
      .sample(s.settings.min_clients);
  w.family("leanpoint_anchor_slot", "gauge", "Slot of the verified anchor served (0: none).")
      .sample(s.anchor ? s.anchor->checkpoint.slot : 0);
  w.family("leanpoint_anchor_current", "gauge",
           "1 when the anchor served is verified for the newest agreed checkpoint.")
      .sample(s.anchor && agreed && s.anchor->checkpoint == *agreed ? 1 : 0);
  w.family("leanpoint_anchor_state_bytes", "gauge", "Size of the state served.")
      .sample(s.anchor ? s.anchor->state->size() : 0);
  w.family("leanpoint_anchor_block_bytes", "gauge", "Size of the block served (0: none yet).")
      .sample(s.anchor && s.anchor->block ? s.anchor->block->size() : 0);
  w.family("leanpoint_anchor_restored", "gauge",
           "1 while the anchor served is the one --data-dir held at start, not yet confirmed by an agreement.")
      .sample(s.anchor && s.anchor->restored ? 1 : 0);
}

// The data directory's counters are kDataDirCounters, as /status renders them.
void data_dir_families(Writer& w, const Snapshot& s) {
  if (!s.data_dir) return;
  for (const DataDirCounter& c : kDataDirCounters) w.family(c.metric, "counter", c.help).sample((*s.data_dir).*c.field);
  w.family("leanpoint_data_dir_restore", "gauge",
           "What became of the anchor --data-dir held at start: 1 for the outcome that applies.");
  for (const RestoreOutcome o : kRestoreOutcomes)
    w.sample(s.data_dir->restore == o ? 1 : 0, {{"outcome", std::string(to_string(o))}});
}

// The access log's counters are kAccessLogCounters, as /status renders them.
void access_log_families(Writer& w, const std::optional<AccessLogStatus>& log) {
  if (!log) return;
  for (const AccessLogCounter& c : kAccessLogCounters)
    w.family(c.metric, "counter", c.help).sample(log->counters.*c.field);
}

// The poller's counters are kRoundCounters, as /status renders them.
void round_families(Writer& w, const Snapshot& s) {
  for (const RoundCounter& c : kRoundCounters) w.family(c.metric, "counter", c.help).sample(s.*c.field);
  w.family("leanpoint_round_duration_seconds", "gauge", "Duration of the last round.")
      .sample(seconds(s.round_duration_ms));
}

// Every per-upstream family carries the upstream's name and its client
// implementation (no `client` label when it is not known).
void upstream_families(Writer& w, const Snapshot& s) {
  w.family("leanpoint_upstream_up", "gauge", "1 when the upstream's last attempt succeeded.");
  for (const auto& u : s.upstreams) w.sample(u.healthy ? 1 : 0, {{"upstream", u.name}, {"client", u.client}});
  w.family("leanpoint_upstream_agrees", "gauge", "1 when the upstream reported the agreed checkpoint, last round.");
  for (const auto& u : s.upstreams) w.sample(u.agrees ? 1 : 0, {{"upstream", u.name}, {"client", u.client}});
  w.family("leanpoint_upstream_backing_off", "gauge", "1 while a failing upstream waits to be retried.");
  for (const auto& u : s.upstreams)
    w.sample(u.consecutive_failures > 0 && !u.polled ? 1 : 0, {{"upstream", u.name}, {"client", u.client}});
  w.family("leanpoint_upstream_latency_seconds", "gauge", "Duration of the upstream's last attempt.");
  for (const auto& u : s.upstreams) w.sample(seconds(u.latency_ms), {{"upstream", u.name}, {"client", u.client}});
  w.family("leanpoint_upstream_finalized_slot", "gauge", "Finalized slot the upstream last reported.");
  for (const auto& u : s.upstreams)
    w.sample(u.finalized ? u.finalized->slot : 0, {{"upstream", u.name}, {"client", u.client}});
  w.family("leanpoint_upstream_head_slot", "gauge",
           "Head slot the upstream last reported (no sample while not known: via its state, or not yet).");
  for (const auto& u : s.upstreams)
    if (u.head_slot) w.sample(*u.head_slot, {{"upstream", u.name}, {"client", u.client}});
  w.family("leanpoint_upstream_polls_total", "counter", "Attempts to poll the upstream.");
  for (const auto& u : s.upstreams) w.sample(u.polls_total, {{"upstream", u.name}, {"client", u.client}});
  w.family("leanpoint_upstream_errors_total", "counter", "Failures by kind, polling or fetching anchors.");
  for (const auto& u : s.upstreams)
    for (const auto& [kind, n] : u.errors_total)
      w.sample(n, {{"upstream", u.name}, {"client", u.client}, {"kind", std::string(to_string(kind))}});
  w.family("leanpoint_upstream_bytes_total", "counter",
           "Response bytes (head and body) read from the upstream, by endpoint.");
  for (const auto& u : s.upstreams)
    for (const UpstreamEndpoint e : kUpstreamEndpoints) {
      const auto it = u.bytes_total.find(e);
      w.sample(it == u.bytes_total.end() ? 0 : it->second,
               {{"upstream", u.name}, {"client", u.client}, {"endpoint", std::string(to_string(e))}});
    }
}

// The server's counters are kCounters, as /status renders them.
void process_families(Writer& w, const ProcessView& p, const RequestCounts& requests) {
  w.family("leanpoint_open_fds", "gauge", "Open file descriptors.").sample(p.fds.open);
  w.family("leanpoint_max_fds", "gauge", "RLIMIT_NOFILE (soft).").sample(p.fds.limit);
  size_t queued = 0, active = 0;
  for (const auto& pool : p.pools) {
    queued += pool.queued;
    active += pool.active;
  }
  w.family("leanpoint_connections", "gauge", "Open client connections by state.")
      .sample(p.connections_waiting, {{"state", "waiting"}})
      .sample(queued, {{"state", "queued"}})
      .sample(active, {{"state", "active"}})
      .sample(p.connections_sending, {{"state", "sending"}});
  w.family("leanpoint_connections_open", "gauge", "Open client connections.").sample(p.connections_open);
  w.family("leanpoint_pool_workers", "gauge", "Workers per pool.");
  for (const auto& pool : p.pools) w.sample(pool.workers, {{"pool", pool.name}});
  w.family("leanpoint_pool_active", "gauge", "Busy workers per pool.");
  for (const auto& pool : p.pools) w.sample(pool.active, {{"pool", pool.name}});
  w.family("leanpoint_pool_queued", "gauge", "Requests waiting for a worker, per pool.");
  for (const auto& pool : p.pools) w.sample(pool.queued, {{"pool", pool.name}});
  w.family("leanpoint_pool_queue_capacity", "gauge", "Queue bound per pool; beyond it requests get 503.");
  for (const auto& pool : p.pools) w.sample(pool.capacity, {{"pool", pool.name}});
  for (const CounterInfo& c : kCounters)
    w.family(c.metric, "counter", c.help).sample(p.counters[static_cast<size_t>(c.counter)]);
  w.family("leanpoint_requests_total", "counter", "Requests answered, by route and status code.");
  for (const auto& [key, n] : requests) w.sample(n, {{"route", key.first}, {"code", std::to_string(key.second)}});
}

}  // namespace

std::string render_metrics(const Snapshot& s, const ProcessView& p, const HealthReport& report,
                           const RequestCounts& requests, bool zig_names) {
  Writer w;
  zig_families(w, s, zig_names);
  health_families(w, report);
  anchor_families(w, s);
  data_dir_families(w, s);
  access_log_families(w, p.access_log);
  round_families(w, s);
  upstream_families(w, s);
  process_families(w, p, requests);
  return w.str();
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  for (const char c : untrusted_text(value)) {  // valid UTF-8, control characters as \xNN
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace leanpoint
