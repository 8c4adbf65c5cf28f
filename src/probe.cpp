#include "probe.h"

#include <optional>
#include <ostream>
#include <string_view>

#include "exit_codes.h"
#include "http_client.h"
#include "upstream_url.h"

namespace leanpoint {
namespace {

constexpr size_t kMaxProbeBody = 64 * 1024;  // a probe answer is a line; the rest is read and dropped

struct Target {
  Upstream upstream;
  std::string path = "/";
};

// http://host[:port][/path]: the path goes to the request, and the rest is
// parsed as an upstream's URL is (upstream_url.h), with port 80 when none is given.
Expected<Target, ConfigError> parse(const std::string& url) {
  Target t;
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  std::string base = url.substr(0, slash);
  if (slash != std::string::npos) t.path = url.substr(slash);
  if (scheme != std::string::npos) {
    const std::string_view authority = std::string_view(base).substr(scheme + 3);
    const bool bracketed = !authority.empty() && authority.front() == '[';
    if (authority.find(bracketed ? "]:" : ":") == std::string_view::npos) base += ":80";
  }
  auto upstream = parse_upstream_url("probe", base, "probe");
  if (!upstream) return Unexpected(upstream.error());
  t.upstream = std::move(*upstream);
  return t;
}

}  // namespace

int run_probe(const std::string& url, int64_t timeout_ms, std::ostream& out, std::ostream& err) {
  const auto target = parse(url);
  if (!target) {
    err << "leanpoint probe: '" << url << "' is not of the form http://host[:port][/path] (" << target.error().what()
        << ")\n";
    return kExitUsage;
  }
  std::string first_line;
  const auto r = http_get({target->upstream.host, target->upstream.port, target->path, "*/*", kMaxProbeBody},
                          Clock::now() + std::chrono::milliseconds(timeout_ms), -1,
                          [&first_line](std::istream& body) -> Expected<void, Failure> {
                            std::getline(body, first_line);
                            char sink[4096];
                            while (body.read(sink, sizeof sink) || body.gcount() > 0) {
                            }
                            return {};
                          });
  if (!r) {
    err << "leanpoint probe: " << url << ": " << to_string(r.error().kind) << " (" << r.error().detail << ")\n";
    return kExitFailure;
  }
  out << r->status << (first_line.empty() ? "" : " ") << first_line << "\n";
  return r->status == 200 ? kExitOk : kExitFailure;
}

}  // namespace leanpoint
