#include "cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "text.h"

namespace leanpoint {
namespace {

// The address's family and bytes (IPv4-mapped IPv6 as IPv4).
std::optional<std::pair<int, std::array<uint8_t, 16>>> address(std::string_view text) {
  const std::string s(text);
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET, s.c_str(), bytes.data()) == 1) return std::pair{AF_INET, bytes};
  if (inet_pton(AF_INET6, s.c_str(), bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMapped, kMapped + 12, bytes.begin())) {
    std::array<uint8_t, 16> v4{};
    std::copy(bytes.begin() + 12, bytes.end(), v4.begin());
    return std::pair{AF_INET, v4};
  }
  return std::pair{AF_INET6, bytes};
}

}  // namespace

std::optional<Cidr> Cidr::parse(std::string_view text) {
  text = trim(text);
  const size_t slash = text.find('/');
  const auto a = address(text.substr(0, slash));
  if (!a) return std::nullopt;
  Cidr c;
  c.family_ = a->first;
  c.bytes_ = a->second;
  const unsigned bits = c.family_ == AF_INET ? 32 : 128;
  c.prefix_ = bits;
  if (slash != std::string_view::npos) {
    const std::string_view p = text.substr(slash + 1);
    unsigned prefix = 0;
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (p.empty() || ec != std::errc() || end != p.data() + p.size() || prefix > bits) return std::nullopt;
    c.prefix_ = prefix;
  }
  return c;
}

bool Cidr::contains(std::string_view ip) const {
  const auto a = address(ip);
  if (!a || a->first != family_) return false;
  for (unsigned bit = 0; bit < prefix_; ++bit) {
    const uint8_t mask = static_cast<uint8_t>(0x80u >> (bit % 8));
    if ((a->second[bit / 8] & mask) != (bytes_[bit / 8] & mask)) return false;
  }
  return true;
}

bool any_contains(const std::vector<Cidr>& ranges, std::string_view ip) {
  for (const Cidr& c : ranges)
    if (c.contains(ip)) return true;
  return false;
}

std::string client_key(std::string_view ip) {
  const auto a = address(ip);
  if (!a) return std::string(ip);
  auto [family, bytes] = *a;
  if (family == AF_INET6) std::fill(bytes.begin() + 8, bytes.end(), uint8_t{0});
  char text[INET6_ADDRSTRLEN] = "";
  inet_ntop(family, bytes.data(), text, sizeof text);
  return family == AF_INET6 ? std::string(text) + "/64" : std::string(text);
}

std::optional<std::vector<Cidr>> parse_cidr_list(std::string_view text) {
  std::vector<Cidr> out;
  while (!trim(text).empty()) {
    const size_t comma = text.find(',');
    const auto c = Cidr::parse(text.substr(0, comma));
    if (!c) return std::nullopt;
    out.push_back(*c);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace leanpoint
