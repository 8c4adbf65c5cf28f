#include "routes.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>

#include "body.h"
#include "cidr.h"
#include "client_address.h"
#include "dashboard.h"
#include "deadline.h"
#include "hex.h"
#include "history_json.h"
#include "lean_paths.h"
#include "log.h"
#include "metrics.h"
#include "pins.h"
#include "static_files.h"
#include "status.h"
#include "text.h"
#include "untrusted_text.h"

namespace leanpoint {
namespace {

const std::string kRetryAfter = std::to_string(kSlotSeconds);
// Caches may keep an anchor for one slot: it cannot change faster than that.
const std::string kAnchorCacheControl = "public, max-age=" + std::to_string(kSlotSeconds);

void text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "text/plain; charset=utf-8");
}

void json_body(httplib::Response& res, const std::string& body) {
  res.set_header("Cache-Control", "no-cache");
  res.set_content(body, "application/json");
}

// A rendered body, reused while it is for the same snapshot and younger than
// `max_age`: dashboards and scrapers poll /status and /api/upstreams far more
// often than a round changes them, and rendering the JSON is most of their cost.
class RenderCache {
 public:
  explicit RenderCache(std::chrono::milliseconds max_age) : max_age_(max_age) {}

  template <typename Render>
  std::shared_ptr<const std::string> get(const std::shared_ptr<const Snapshot>& s, Render render) {
    const auto now = Clock::now();
    {
      std::lock_guard lock(mutex_);
      if (body_ && snapshot_ == s && now - rendered_ < max_age_) return body_;
    }
    auto body = std::make_shared<const std::string>(render());
    std::lock_guard lock(mutex_);
    snapshot_ = s;
    body_ = body;
    rendered_ = now;
    return body;
  }

 private:
  const std::chrono::milliseconds max_age_;
  std::mutex mutex_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::shared_ptr<const std::string> body_;
  Clock::time_point rendered_;
};

// What the handlers share; the table's handlers hold it.
class Site {
 public:
  Site(const SnapshotStore& store, const HttpServer& server, const ServerStats& stats, const SiteOptions& options,
       PinPersistence pins, std::shared_ptr<AccessLog> access_log)
      : store_(store),
        server_(server),
        stats_(stats),
        options_(with_canonical_static_dir(options)),
        access_log_(std::move(access_log)),
        started_ms_(unix_ms()),
        pins_(std::chrono::milliseconds(options_.pin_window_ms), Pins::kMaxClients, nullptr, std::move(pins.journal),
              std::move(pins.restored)) {
    (void)upstreams_at_start(*store_.load());  // the poller, built first, has published its start
  }

  // The verified anchor: both artifacts come from the same VerifiedAnchor,
  // the one the client's pin names (pins.h).
  void artifact(bool block, const httplib::Request& req, httplib::Response& res, const RequestContext& ctx) const {
    const auto s = store_.load();
    const Served served = pins_.serve(client_key(client(req)), block ? Artifact::block : Artifact::state,
                                      req.method == "GET", s->anchor, s->round);
    const auto& anchor = served.anchor;
    if (AccessRecord* record = access_record(ctx); record && anchor) {
      record->slot = anchor->checkpoint.slot;
      record->root = to_hex(anchor->checkpoint.root);
      record->pinned = served.pinned;
    }
    if (!anchor || (block && !anchor->block)) {
      res.set_header("Retry-After", kRetryAfter);
      return text(res, 503,
                  (anchor ? "no verified block for checkpoint " + std::to_string(anchor->checkpoint.slot) +
                                " yet: no agreeing upstream has served one that verifies"
                          : no_anchor_reason(*s)) +
                      "\n");
    }
    const std::string root = to_hex(anchor->checkpoint.root);
    BodyHeaders h;
    h.content_type = "application/octet-stream";
    h.etag = "\"" + (block ? root : to_hex(anchor->state_root)) + "\"";
    h.cache_control = kAnchorCacheControl;
    h.extra = {{"X-Leanpoint-Slot", std::to_string(anchor->checkpoint.slot)},
               {"X-Leanpoint-Block-Root", root},
               {"X-Leanpoint-State-Root", to_hex(anchor->state_root)}};
    const SharedBytes& bytes = block ? anchor->block : anchor->state;
    respond_body(req, res, BodySource{bytes, nullptr, bytes->size(), served.lease}, h, ctx);
  }

  bool access_log_on() const { return access_log_ != nullptr; }

  // With --access-log: begins the response's line and attaches it to the
  // response, which the transport completes when it ends; then `handler`.
  void logged(const Handler& handler, const httplib::Request& req, httplib::Response& res,
              const RequestContext& ctx) const {
    std::shared_ptr<AccessLog::Entry> entry;
    if (ctx.watch) {
      AccessRecord begun;
      begun.client = client(req);
      begun.method = req.method;
      begun.path = untrusted_text(req.target);  // as sent: escaped, capped at 256 bytes
      entry = access_log_->begin(std::move(begun));
      *ctx.watch = entry;
    }
    handler(req, res, ctx);
    if (entry) entry->record().status = res.status;  // the transport's, once written, prevails
  }

  // The line this response's watch completes, if --access-log is on.
  static AccessRecord* access_record(const RequestContext& ctx) {
    if (!ctx.watch || !*ctx.watch) return nullptr;
    auto* entry = dynamic_cast<AccessLog::Entry*>(ctx.watch->get());
    return entry ? &entry->record() : nullptr;
  }

  // The address the request comes from (client_address.h).
  std::string client(const httplib::Request& req) const {
    const GateOptions& gate = server_.options().gate;
    ForwardedHeaders headers;
    headers.use_real_ip = !gate.real_ip_header.empty() && !iequals(gate.real_ip_header, "X-Forwarded-For");
    auto lines = [&req](const std::string& name) {
      std::vector<std::string> out;
      for (size_t i = 0, n = req.get_header_value_count(name.c_str()); i < n; ++i)
        out.push_back(req.get_header_value(name.c_str(), i));
      return out;
    };
    if (any_contains(gate.trusted_proxies, req.remote_addr))
      (headers.use_real_ip ? headers.real_ip : headers.forwarded_for) =
          lines(headers.use_real_ip ? gate.real_ip_header : "X-Forwarded-For");
    return client_address(req.remote_addr, headers, gate.trusted_proxies);
  }

  // A lean API document made from the snapshot, or 503 while there is none.
  void lean_json(std::optional<nlohmann::ordered_json> (*make)(const Snapshot&), httplib::Response& res) const {
    const auto s = store_.load();
    if (const auto doc = make(*s)) return json_body(res, json_text(*doc));
    res.set_header("Retry-After", kRetryAfter);
    text(res, 503, no_anchor_reason(*s) + "\n");
  }

  // /status carries live process counters: rendered at most every 100 ms.
  void status(httplib::Response& res) const {
    const auto s = store_.load();
    json_body(res, *status_cache_.get(s, [&] {
      const ProcessView p = process_view();
      return json_text(status_json(
          *s, p, assess_all(*s, unix_ms(), options_.health, p.fds, upstreams_at_start(*s), server_.draining())));
    }));
  }

  // /api/upstreams changes only with the snapshot.
  void upstreams(httplib::Response& res) const {
    const auto s = store_.load();
    json_body(res, *upstreams_cache_.get(s, [&] { return json_text(upstreams_json(*s)); }));
  }

  // /api/history: the rounds kept, or those started after ?since=MS; shared
  // bytes, rendered once per snapshot (history_json.h).
  void history(const httplib::Request& req, httplib::Response& res, const RequestContext& ctx) const {
    std::optional<int64_t> since;
    if (req.has_param("since")) {
      const auto ms = parse_decimal(req.get_param_value("since"));
      if (!ms || *ms > static_cast<uint64_t>(INT64_MAX)) return text(res, 400, "since: expected unix milliseconds\n");
      since = static_cast<int64_t>(*ms);
    }
    const HistoryBody body = history_bodies_.get(store_.load()->rounds, since);
    BodyHeaders h;
    h.content_type = "application/json";
    h.etag = body.etag;
    h.cache_control = "no-cache";
    respond_body(req, res, BodySource{body.bytes, nullptr, body.bytes->size()}, h, ctx);
  }

  void healthz(httplib::Response& res) const {
    verdict(res, assess(*store_.load(), unix_ms(), options_.health, fd_usage()));
  }
  void livez(httplib::Response& res) const {
    const auto s = store_.load();
    verdict(res, assess_liveness(*s, unix_ms(), options_.health, fd_usage(), upstreams_at_start(*s)));
  }
  // Not ready while the server drains (HttpServer::draining): a balancer stops sending.
  void readyz(httplib::Response& res) const { verdict(res, assess_readiness(*store_.load(), server_.draining())); }

  void metrics(httplib::Response& res) const {
    const auto s = store_.load();
    const ProcessView p = process_view();
    const HealthReport health =
        assess_all(*s, unix_ms(), options_.health, p.fds, upstreams_at_start(*s), server_.draining());
    res.set_content(render_metrics(*s, p, health, stats_.requests(), options_.zig_metrics),
                    "text/plain; version=0.0.4; charset=utf-8");
  }

  // Everything else: --static-dir files through the artifact path, or the built-in page.
  void fallback(const httplib::Request& req, httplib::Response& res, const RequestContext& ctx) const {
    if (!options_.static_dir.empty()) return serve_static(options_.static_dir, req, res, ctx);
    if (req.path != "/") return text(res, 404, "Not found\n");
    res.set_header("Cache-Control", "no-cache");
    res.set_content(dashboard_page(), "text/html; charset=utf-8");
  }

  bool static_files() const { return !options_.static_dir.empty(); }

 private:
  // Files are served only from inside the directory, which resolve_static
  // compares canonical paths against. The configuration checked that it is
  // a directory; should it have gone since, it is kept as given, and every
  // file is then not found.
  static SiteOptions with_canonical_static_dir(SiteOptions o) {
    if (o.static_dir.empty()) return o;
    std::error_code ec;
    const auto canonical = std::filesystem::canonical(o.static_dir, ec);
    if (ec)
      log(LogLevel::error, "--static-dir ", o.static_dir, ": ", ec.message());
    else
      o.static_dir = canonical.string();
    return o;
  }

  // The upstream count at start (the rule in health.h): that of the first
  // snapshot a poller published, which it does when it is built, before its
  // first round. Before then (settings.started_ms 0) there is none.
  size_t upstreams_at_start(const Snapshot& s) const {
    if (s.settings.started_ms == 0) return s.upstreams.size();
    size_t none = kUnknown;
    upstreams_at_start_.compare_exchange_strong(none, s.upstreams.size());
    return upstreams_at_start_.load();
  }
  static constexpr size_t kUnknown = SIZE_MAX;

  // 200 "ok", or 503 with each failing reason on its own line.
  static void verdict(httplib::Response& res, const Health& h) {
    res.set_header("Cache-Control", "no-cache");
    if (h.ok()) return text(res, 200, "ok\n");
    std::string body;
    for (const HealthReason reason : h.failing) body.append(to_string(reason)).append("\n");
    text(res, 503, body);
  }

  ProcessView process_view() const {
    ProcessView p;
    p.fds = fd_usage();
    p.connections_open = stats_.connections_open.load();
    p.connections_waiting = stats_.connections_waiting.load();
    p.connections_sending = stats_.connections_sending.load();
    for (const WorkerPool* pool : {&server_.artifact_pool(), &server_.api_pool()})
      p.pools.push_back({pool->name(), pool->workers(), pool->active(), pool->queued(), pool->capacity()});
    p.counters = stats_.counters();
    p.started_ms = started_ms_;
    p.pins = pins_.view();
    if (access_log_) p.access_log = access_log_->status();
    return p;
  }

  const SnapshotStore& store_;
  const HttpServer& server_;
  const ServerStats& stats_;
  const SiteOptions options_;
  const std::shared_ptr<AccessLog> access_log_;  // null: --access-log off
  const int64_t started_ms_;
  mutable std::atomic<size_t> upstreams_at_start_{kUnknown};
  mutable Pins pins_;
  mutable RenderCache status_cache_{std::chrono::milliseconds(100)};
  mutable RenderCache upstreams_cache_{std::chrono::hours(24)};
  HistoryBodies history_bodies_;
};

// With --access-log, every handler begins its response's line first.
RouteTable logged_routes(const std::shared_ptr<const Site>& site, std::vector<Route> routes) {
  if (site->access_log_on())
    for (Route& route : routes)
      route.handler = [site, handler = std::move(route.handler)](const httplib::Request& req, httplib::Response& res,
                                                                 const RequestContext& ctx) {
        site->logged(handler, req, res, ctx);
      };
  return RouteTable(std::move(routes));
}

}  // namespace

// long: the route table is one list (ARCHITECTURE.md §6), read best whole
RouteTable leanpoint_routes(const SnapshotStore& store, const HttpServer& server, const ServerStats& stats,
                            const SiteOptions& options, PinPersistence pins, std::shared_ptr<AccessLog> access_log) {
  const auto site = std::make_shared<const Site>(store, server, stats, options, std::move(pins), std::move(access_log));
  const bool files = site->static_files();
  // Handlers that need only the response.
  auto simple = [site](void (Site::*member)(httplib::Response&) const) -> Handler {
    return [site, member](const httplib::Request&, httplib::Response& res, const RequestContext&) {
      (site.get()->*member)(res);
    };
  };
  auto lean = [site](std::optional<nlohmann::ordered_json> (*make)(const Snapshot&)) -> Handler {
    return [site, make](const httplib::Request&, httplib::Response& res, const RequestContext&) {
      site->lean_json(make, res);
    };
  };
  auto artifact = [site](bool block) -> Handler {
    return [site, block](const httplib::Request& req, httplib::Response& res, const RequestContext& ctx) {
      site->artifact(block, req, res, ctx);
    };
  };
  // Handlers that need the request too.
  using Member = void (Site::*)(const httplib::Request&, httplib::Response&, const RequestContext&) const;
  auto whole = [site](Member member) -> Handler {
    return [site, member](const httplib::Request& req, httplib::Response& res, const RequestContext& ctx) {
      (site.get()->*member)(req, res, ctx);
    };
  };
  const Handler fallback = whole(&Site::fallback);
  const auto exact = Route::Match::exact;
  const auto prefix = Route::Match::prefix;
  const auto suffix = Route::Match::suffix;
  const auto files_pool = files ? PoolClass::artifact : PoolClass::api;
  const std::string other = files ? "static" : "other";
  auto lean_health = [](const httplib::Request&, httplib::Response& res, const RequestContext&) {
    json_body(res, json_text({{"status", "healthy"}, {"service", "lean-rpc-api"}}));
  };
  // Labels are the route's path, or a fixed word: leanpoint_requests_total
  // never grows with the paths clients send.
  std::vector<Route> routes({
      // The artifacts under any path that ends in theirs: a base URL, the full
      // state URL, the block path appended to it (leanSpec), a trailing "/".
      {std::string(kStatePath), suffix, kGet | kHead, PoolClass::artifact, std::string(kStatePath), artifact(false)},
      {std::string(kBlockPath), suffix, kGet | kHead, PoolClass::artifact, std::string(kBlockPath), artifact(true)},
      {std::string(kFinalizedCheckpointPath), exact, kGet | kHead, PoolClass::api,
       std::string(kFinalizedCheckpointPath), lean(finalized_checkpoint_json)},
      {std::string(kJustifiedCheckpointPath), exact, kGet | kHead, PoolClass::api,
       std::string(kJustifiedCheckpointPath), lean(justified_checkpoint_json)},
      {std::string(kHealthPath), exact, kGet | kHead, PoolClass::api, std::string(kHealthPath), lean_health},
      {std::string(kForkChoicePath), exact, kGet | kHead, PoolClass::api, std::string(kForkChoicePath),
       lean(fork_choice_json)},
      {"/status", exact, kGet | kHead, PoolClass::api, "/status", simple(&Site::status)},
      {"/api/upstreams", exact, kGet | kHead, PoolClass::api, "/api/upstreams", simple(&Site::upstreams)},
      {"/api/history", exact, kGet | kHead, PoolClass::api, "/api/history", whole(&Site::history)},
      {"/healthz", exact, kGet | kHead, PoolClass::api, "/healthz", simple(&Site::healthz)},
      {"/livez", exact, kGet | kHead, PoolClass::api, "/livez", simple(&Site::livez), /*probe=*/true},
      {"/readyz", exact, kGet | kHead, PoolClass::api, "/readyz", simple(&Site::readyz), /*probe=*/true},
      {"/metrics", exact, kGet | kHead, PoolClass::api, "/metrics", simple(&Site::metrics)},
      {"/", exact, kGet | kHead, files_pool, "/", fallback},
      // Other lean API paths are never files worth the artifact pool.
      {std::string(kLeanApiPrefix), prefix, kGet | kHead, PoolClass::api, other, fallback},
      {"", prefix, kGet | kHead, files_pool, other, fallback},
  });
  return logged_routes(site, std::move(routes));
}

}  // namespace leanpoint
