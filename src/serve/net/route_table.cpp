#include "route_table.h"

#include <stdexcept>

#include "hex.h"

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

std::string decoded_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::string out;
  out.reserve(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size() && hex_digit(target[i + 1]) >= 0 && hex_digit(target[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(target[i + 1]) * 16 + hex_digit(target[i + 2]));
      i += 2;
    } else {
      out += target[i];
    }
  }
  return out;
}

std::string_view request_target(std::string_view head) {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return {};
  const size_t sp2 = line.find(' ', sp1 + 1);
  return line.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1);
}

uint8_t method_bit(std::string_view method) {
  if (method == "GET") return kGet;
  if (method == "HEAD") return kHead;
  return 0;
}

}  // namespace leanpoint
