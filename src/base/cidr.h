// Address ranges, for --trusted-proxies: "10.0.0.0/8", "fd00::/8", or a bare
// address (all of its bits).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace leanpoint {

class Cidr {
 public:
  // nullopt for anything but an IPv4 or IPv6 address with an optional /prefix.
  static std::optional<Cidr> parse(std::string_view text);

  // Whether the address `ip` (text) is in the range. An IPv4-mapped IPv6
  // address (::ffff:10.0.0.1) is taken as its IPv4 address.
  bool contains(std::string_view ip) const;

 private:
  int family_ = 0;
  std::array<uint8_t, 16> bytes_{};
  unsigned prefix_ = 0;
};

bool any_contains(const std::vector<Cidr>& ranges, std::string_view ip);

// The key one client is known by (its pin, its connections counted against
// --max-connections-per-client): an IPv4 address as is, an IPv6 address as
// its /64 ("2001:db8:1:2::/64": one host's share, which it can fill with as
// many addresses as it likes), an IPv4-mapped IPv6 address as its IPv4
// address. Text that is no address ("?") is its own key.
std::string client_key(std::string_view ip);

// "10.0.0.0/8,127.0.0.1" -> the ranges; nullopt naming nothing if any part is
// not a range (the caller names the flag).
std::optional<std::vector<Cidr>> parse_cidr_list(std::string_view text);

}  // namespace leanpoint
