#include "route_table.h"

#include <stdexcept>

namespace leanpoint {
namespace {

bool matches(const Route& r, std::string_view path) {
  switch (r.match) {
    case Route::Match::exact: return path == r.path;
    case Route::Match::prefix: return path.substr(0, r.path.size()) == r.path;
    case Route::Match::suffix:
      if (!path.empty() && path.back() == '/') path.remove_suffix(1);
      return path.ends_with(r.path);
  }
  return false;
}

}  // namespace

RouteTable::RouteTable(std::vector<Route> routes) : routes_(std::move(routes)) {
  if (routes_.empty() || routes_.back().match != Route::Match::prefix || !routes_.back().path.empty())
    throw std::logic_error("a route table ends with a route for every path");
}

const Route& RouteTable::find(std::string_view decoded_path) const {
  for (const Route& r : routes_)
    if (matches(r, decoded_path)) return r;
  return routes_.back();
}

}  // namespace leanpoint
