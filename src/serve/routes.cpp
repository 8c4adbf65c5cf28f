#include "routes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <variant>

#include "artifact.h"
#include "dashboard.h"
#include "deadline.h"
#include "hex.h"
#include "metrics.h"
#include "status.h"

namespace leanpoint {
namespace {

constexpr std::string_view kStateRoute = "/lean/v0/states/finalized";
constexpr std::string_view kBlockRoute = "/lean/v0/blocks/finalized";

const char* const kApiRoutes[] = {"/lean/v0/checkpoints/finalized", "/lean/v0/checkpoints/justified", "/lean/v0/health",
                                  "/lean/v0/fork_choice", "/status", "/api/upstreams", "/healthz", "/metrics"};

// Bounded label values for leanpoint_requests_total.
std::string route_label(const std::string& path, bool static_files) {
  if (path == kStateRoute || path == kBlockRoute || path == "/") return path;
  for (const char* r : kApiRoutes)
    if (path == r) return path;
  return static_files ? "static" : "other";
}

void text(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "text/plain; charset=utf-8");
}

void json_body(httplib::Response& res, const std::string& body) {
  res.set_header("Cache-Control", "no-cache");
  res.set_content(body, "application/json");
}

void json(httplib::Response& res, const nlohmann::ordered_json& doc) { json_body(res, doc.dump()); }


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

}  // namespace

bool is_artifact_path(std::string_view path, bool static_files) {
  if (path == kStateRoute || path == kBlockRoute) return true;
  if (!static_files) return false;
  for (const char* r : kApiRoutes)
    if (path == r) return false;
  return path.substr(0, 9) != "/lean/v0/";
}

void install_routes(HttpServer& server, const SnapshotStore& store, ServerStats& stats, RoutesOptions options) {
  const auto started_ms = unix_ms();
  const bool static_files = !options.static_dir.empty();

  auto process_view = [&server, &stats, started_ms] {
    ProcessView p;
    p.fds = fd_usage();
    p.connections_open = stats.connections_open.load();
    p.connections_waiting = stats.connections_waiting.load();
    for (const WorkerPool* pool : {&server.artifact_pool(), &server.api_pool()})
      p.pools.push_back({pool->name(), pool->workers(), pool->active(), pool->queued(), pool->capacity()});
    p.connections_total = stats.connections_total.load();
    p.shed_total = stats.shed_total.load();
    p.stalled_total = stats.stalled_total.load();
    p.head_timeouts_total = stats.head_timeouts_total.load();
    p.heads_too_large_total = stats.heads_too_large_total.load();
    p.bytes_served_total = stats.bytes_served_total.load();
    p.started_ms = started_ms;
    return p;
  };
  auto status_context = [options] {
    return StatusContext{unix_ms(), options.poll_ms, options.min_agree};
  };

  // The verified anchor: both artifacts come from the same VerifiedAnchor.
  auto artifact = [&store](bool block) {
    return [&store, block](const httplib::Request& req, httplib::Response& res) {
      const auto s = store.load();
      const auto anchor = s->anchor;
      if (!anchor || (block && !anchor->block)) {
        res.set_header("Retry-After", "4");
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
      h.cache_control = "public, max-age=4";
      h.extra = {{"X-Leanpoint-Slot", std::to_string(anchor->checkpoint.slot)},
                 {"X-Leanpoint-Block-Root", root},
                 {"X-Leanpoint-State-Root", to_hex(anchor->state_root)}};
      const SharedBytes& bytes = block ? anchor->block : anchor->state;
      respond_body(req, res, BodySource{bytes, nullptr, bytes->size()}, h, HttpServer::context().range);
    };
  };
  server.Get(std::string(kStateRoute), artifact(false));
  server.Get(std::string(kBlockRoute), artifact(true));

  auto lean_json = [&store](std::optional<nlohmann::ordered_json> (*make)(const Snapshot&)) {
    return [&store, make](const httplib::Request&, httplib::Response& res) {
      const auto s = store.load();
      if (const auto doc = make(*s)) return json(res, *doc);
      res.set_header("Retry-After", "4");
      text(res, 503, no_anchor_reason(*s) + "\n");
    };
  };
  server.Get("/lean/v0/checkpoints/finalized", lean_json(finalized_checkpoint_json));
  server.Get("/lean/v0/checkpoints/justified", lean_json(justified_checkpoint_json));
  server.Get("/lean/v0/fork_choice", lean_json(fork_choice_json));
  server.Get("/lean/v0/health", [](const httplib::Request&, httplib::Response& res) {
    json(res, {{"status", "healthy"}, {"service", "lean-rpc-api"}});
  });

  // /status carries live process counters: rendered at most every 100 ms.
  // /api/upstreams changes only with the snapshot.
  auto status_cache = std::make_shared<RenderCache>(std::chrono::milliseconds(100));
  auto upstreams_cache = std::make_shared<RenderCache>(std::chrono::hours(24));
  server.Get("/status", [&store, process_view, status_context, options, status_cache](const httplib::Request&,
                                                                                   httplib::Response& res) {
    const auto s = store.load();
    json_body(res, *status_cache->get(s, [&] {
      const auto ctx = status_context();
      const ProcessView p = process_view();
      return status_json(*s, p, assess(*s, ctx.now_ms, options.health, p.fds), ctx).dump();
    }));
  });
  server.Get("/api/upstreams", [&store, status_context, upstreams_cache](const httplib::Request&, httplib::Response& res) {
    const auto s = store.load();
    json_body(res, *upstreams_cache->get(s, [&] { return upstreams_json(*s, status_context()).dump(); }));
  });
  server.Get("/healthz", [&store, options](const httplib::Request&, httplib::Response& res) {
    const Health h = assess(*store.load(), unix_ms(), options.health, fd_usage());
    res.set_header("Cache-Control", "no-cache");
    if (h.ok()) return text(res, 200, "ok\n");
    std::string body;
    for (const auto& reason : h.failing) body += reason + "\n";
    text(res, 503, body);
  });
  server.Get("/metrics", [&store, &stats, process_view, options](const httplib::Request&, httplib::Response& res) {
    const auto s = store.load();
    const ProcessView p = process_view();
    res.set_content(render_metrics(*s, p, assess(*s, unix_ms(), options.health, p.fds), stats.requests(),
                                   options.zig_metrics),
                    "text/plain; version=0.0.4; charset=utf-8");
  });

  // Everything else: --static-dir files through the artifact path, or the built-in page.
  server.Get(".*", [options](const httplib::Request& req, httplib::Response& res) {
    if (options.static_dir.empty()) {
      if (req.path == "/") {
        res.set_header("Cache-Control", "no-cache");
        return res.set_content(kDashboardHtml, "text/html; charset=utf-8");
      }
      return text(res, 404, "Not found\n");
    }
    const auto resolved = resolve_static(options.static_dir, req.path);
    if (const int* status = std::get_if<int>(&resolved))
      return text(res, *status, *status == 400 ? "invalid path\n" : "Not found\n");
    const std::string& path = std::get<std::string>(resolved);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) {
      if (fd >= 0) ::close(fd);
      return text(res, 404, "Not found\n");
    }
    auto file = std::shared_ptr<int>(new int(fd), [](int* f) {
      ::close(*f);
      delete f;
    });
    BodyHeaders h;
    h.content_type = mime_type(path);
    char tag[64];
    std::snprintf(tag, sizeof tag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                  static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                      static_cast<unsigned long long>(st.st_mtim.tv_nsec));
    h.etag = tag;
    h.cache_control = "no-cache";
    respond_body(req, res, BodySource{nullptr, std::move(file), static_cast<uint64_t>(st.st_size)}, h,
                 HttpServer::context().range);
  });

  server.set_logger([&stats, static_files](const httplib::Request& req, const httplib::Response& res) {
    stats.count_request(route_label(req.path, static_files), res.status);
  });
}

}  // namespace leanpoint
