#include "client_address.h"

#include <algorithm>

#include "text.h"

namespace leanpoint {
namespace {

bool is_port(std::string_view p) {
  return !p.empty() && p.size() <= 5 && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A bare IPv4 or IPv6 address, no prefix.
bool is_address(std::string_view s) { return s.find('/') == std::string_view::npos && Cidr::parse(s).has_value(); }

}  // namespace

std::optional<std::string> forwarded_address(std::string_view entry) {
  entry = trim(entry);
  if (is_address(entry)) return std::string(entry);  // "ip" (an IPv6 address has colons of its own)
  if (entry.substr(0, 1) == "[") {
    const size_t close = entry.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    const std::string_view inside = entry.substr(1, close - 1), after = entry.substr(close + 1);
    const bool port_ok = after.empty() || (after[0] == ':' && is_port(after.substr(1)));
    if (port_ok && inside.find(':') != std::string_view::npos && is_address(inside)) return std::string(inside);
    return std::nullopt;
  }
  const size_t colon = entry.find(':');  // "ipv4:port"
  if (colon == std::string_view::npos || !is_port(entry.substr(colon + 1))) return std::nullopt;
  const std::string_view ip = entry.substr(0, colon);
  if (ip.find(':') == std::string_view::npos && is_address(ip)) return std::string(ip);
  return std::nullopt;
}

std::string client_address(const std::string& peer_ip, const ForwardedHeaders& headers,
                           const std::vector<Cidr>& trusted_proxies) {
  if (!any_contains(trusted_proxies, peer_ip)) return peer_ip;
  if (headers.use_real_ip) {
    if (headers.real_ip.size() != 1) return peer_ip;
    return forwarded_address(headers.real_ip.front()).value_or(peer_ip);
  }
  std::string list;
  for (const std::string& line : headers.forwarded_for) list.append(list.empty() ? "" : ",").append(line);
  std::string hop = peer_ip;  // the last trusted hop so far
  std::string_view rest = list;
  for (bool more = !list.empty(); more;) {
    const size_t comma = rest.rfind(',');
    more = comma != std::string_view::npos;
    const auto entry = forwarded_address(more ? rest.substr(comma + 1) : rest);
    if (!entry) break;  // not an address: nothing left of it can be trusted
    if (!any_contains(trusted_proxies, *entry)) return *entry;
    hop = *entry;
    if (more) rest = rest.substr(0, comma);
  }
  return hop;
}

}  // namespace leanpoint
