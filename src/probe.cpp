#include "probe.h"

#include <arpa/inet.h>

#include <charconv>
#include <optional>
#include <ostream>
#include <string_view>

#include "http_client.h"
#include "text.h"

namespace leanpoint {
namespace {

constexpr size_t kMaxProbeBody = 64 * 1024;  // a probe answer is a line; the rest is read and dropped

struct Target {
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
};

// http://host[:port][/path]; the host may be a name, IPv4, or [IPv6].
std::optional<Target> parse(std::string_view url) {
  if (!starts_with_nocase(url, "http://")) return std::nullopt;
  url.remove_prefix(7);
  const size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  Target t;
  if (slash != std::string_view::npos) t.path = std::string(url.substr(slash));
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    t.host = std::string(authority.substr(1, close - 1));
    in6_addr addr{};
    if (inet_pton(AF_INET6, t.host.c_str(), &addr) != 1) return std::nullopt;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return std::nullopt;
    if (!after.empty()) port = after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    t.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (t.host.empty() || t.host.find_first_of("@ ") != std::string::npos) return std::nullopt;
  if (!port.empty()) {
    unsigned value = 0;
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || p != port.data() + port.size() || value < 1 || value > 65535) return std::nullopt;
    t.port = static_cast<uint16_t>(value);
  }
  return t;
}

}  // namespace

int run_probe(const std::string& url, int64_t timeout_ms, std::ostream& out, std::ostream& err) {
  const auto target = parse(url);
  if (!target) {
    err << "leanpoint probe: '" << url << "' is not of the form http://host[:port][/path]\n";
    return 2;
  }
  std::string first_line;
  const auto r = http_get({target->host, target->port, target->path, "*/*", kMaxProbeBody},
                          Clock::now() + std::chrono::milliseconds(timeout_ms), -1,
                          [&first_line](std::istream& body) -> std::optional<Failure> {
                            std::getline(body, first_line);
                            char sink[4096];
                            while (body.read(sink, sizeof sink) || body.gcount() > 0) {
                            }
                            return std::nullopt;
                          });
  if (!r) {
    err << "leanpoint probe: " << url << ": " << to_string(r.error().kind) << " (" << r.error().detail << ")\n";
    return 1;
  }
  out << r->status << (first_line.empty() ? "" : " ") << first_line << "\n";
  return r->status == 200 ? 0 : 1;
}

}  // namespace leanpoint
