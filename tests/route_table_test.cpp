// route_table.h: decoding, matching, and leanpoint's own table (routes.h):
// each path lands on the pool and label its entry names, encoded or not.
#include "route_table.h"

#include <stdexcept>

#include "http_server.h"
#include "routes.h"
#include "testing.h"

using leanpoint::decoded_path;
using leanpoint::PoolClass;
using leanpoint::Route;
using leanpoint::RouteTable;

namespace {

Route route(std::string path, Route::Match match, std::string label) {
  Route r;
  r.path = std::move(path);
  r.match = match;
  r.label = std::move(label);
  return r;
}

// leanpoint's table, for a server that is never started.
struct Table {
  explicit Table(bool static_files) : server(leanpoint::ServerOptions{}, stats) {
    leanpoint::SiteOptions o;
    if (static_files) o.static_dir = "/nonexistent";
    table.emplace(leanpoint::leanpoint_routes(store, server, stats, o));
  }
  const Route& find(std::string_view target) const { return table->find(decoded_path(target)); }

  leanpoint::SnapshotStore store;
  leanpoint::ServerStats stats;
  leanpoint::HttpServer server;
  std::optional<RouteTable> table;
};

}  // namespace

TEST_CASE("the first matching entry wins; the last takes every path") {
  const RouteTable t({route("/a", Route::Match::exact, "a"), route("/a", Route::Match::prefix, "a-prefix"),
                      route("", Route::Match::prefix, "rest")});
  CHECK(t.find("/a").label == "a");
  CHECK(t.find("/ab").label == "a-prefix");
  CHECK(t.find("/a/b").label == "a-prefix");
  CHECK(t.find("/b").label == "rest");
  CHECK(t.find("").label == "rest");
}

TEST_CASE("a table without a last entry for every path is refused") {
  CHECK_THROWS_AS(RouteTable({}), std::logic_error);
  CHECK_THROWS_AS(RouteTable({route("/a", Route::Match::exact, "a")}), std::logic_error);
  CHECK_THROWS_AS(RouteTable({route("/", Route::Match::prefix, "a")}), std::logic_error);
}

TEST_CASE("leanpoint's routes: pool and label per path, on the decoded path") {
  const Table t(false);
  struct Case {
    const char* target;
    PoolClass pool;
    const char* label;
  };
  for (const Case& c : {
           Case{"/lean/v0/states/finalized", PoolClass::artifact, "/lean/v0/states/finalized"},
           Case{"/lean/v0/blocks/finalized", PoolClass::artifact, "/lean/v0/blocks/finalized"},
           Case{"/lean%2fv0%2fstates%2ffinalized", PoolClass::artifact, "/lean/v0/states/finalized"},
           Case{"/lean/v0/states/finalized?cache=1", PoolClass::artifact, "/lean/v0/states/finalized"},
           Case{"/lean/v0/checkpoints/finalized", PoolClass::api, "/lean/v0/checkpoints/finalized"},
           Case{"/lean/v0/checkpoints/justified", PoolClass::api, "/lean/v0/checkpoints/justified"},
           Case{"/lean/v0/fork_choice", PoolClass::api, "/lean/v0/fork_choice"},
           Case{"/lean/v0/health", PoolClass::api, "/lean/v0/health"},
           Case{"/status", PoolClass::api, "/status"},
           Case{"/api/upstreams", PoolClass::api, "/api/upstreams"},
           Case{"/api/history?since=1", PoolClass::api, "/api/history"},
           Case{"/healthz", PoolClass::api, "/healthz"},
           Case{"/metrics", PoolClass::api, "/metrics"},
           Case{"/", PoolClass::api, "/"},
           Case{"/lean/v0/unknown", PoolClass::api, "other"},
           Case{"/favicon.ico", PoolClass::api, "other"},
       }) {
    CAPTURE(c.target);
    const Route& r = t.find(c.target);
    CHECK(r.pool == c.pool);
    CHECK(r.label == c.label);
    CHECK(r.methods == (leanpoint::kGet | leanpoint::kHead));
  }
}

TEST_CASE("with --static-dir, files go to the artifact pool under one label") {
  const Table t(true);
  CHECK(t.find("/").pool == PoolClass::artifact);
  CHECK(t.find("/").label == "/");
  CHECK(t.find("/app.js").pool == PoolClass::artifact);
  CHECK(t.find("/app.js").label == "static");
  CHECK(t.find("/lean/v0/unknown").pool == PoolClass::api);
  CHECK(t.find("/lean/v0/unknown").label == "static");
  CHECK(t.find("/status").pool == PoolClass::api);
}
