#include "upstream_url.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <string_view>

#include "text.h"
#include "untrusted_text.h"

namespace leanpoint {
namespace {

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

}  // namespace

std::string upstream_name_or_throw(std::string name, const std::string& where) {
  if (name.empty()) throw ConfigError(where + ": \"name\" is empty");
  if (name.size() > kMaxUpstreamNameBytes || !is_printable_utf8(name))
    throw ConfigError(where + ": upstream name " + single_quoted(untrusted_text(name, 80)) + " refused: a name is 1-" +
                      std::to_string(kMaxUpstreamNameBytes) + " bytes of valid UTF-8 without control characters");
  return name;
}

std::string client_from_name(std::string_view name) {
  const size_t sep = name.rfind('_');
  if (sep == std::string_view::npos || sep + 1 == name.size()) return "";
  for (const char c : name.substr(sep + 1))
    if (c < '0' || c > '9') return "";
  const std::string_view prefix = name.substr(0, sep);
  for (const std::string_view known : kKnownClients)
    if (prefix == known) return std::string(known);
  return "";
}

std::string upstream_client_or_throw(std::string client, const std::string& where) {
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  };
  if (client.empty() || client.size() > kMaxClientBytes || !std::all_of(client.begin(), client.end(), allowed))
    throw ConfigError(where + ": client " + single_quoted(untrusted_text(client, 80)) + " refused: a client is 1-" +
                      std::to_string(kMaxClientBytes) +
                      " bytes of lowercase letters, digits, '-', '_' and '.', e.g. \"zeam\"");
  return client;
}

Upstream upstream_url_or_throw(std::string name, const std::string& url, const std::string& where) {
  // Messages quote what was given, escaped: a ConfigError is one printable line.
  const std::string bad = where + ": url " + single_quoted(untrusted_text(url)) + " ";
  if (starts_with_nocase(url, "https://"))
    throw ConfigError(bad +
                      "uses https, which leanpoint does not support; poll the node's plain "
                      "http port, or put a TLS-terminating proxy (e.g. stunnel or nginx) on "
                      "this host in front of it and give its http://host:port");
  if (!starts_with_nocase(url, "http://")) throw ConfigError(bad + "is not of the form http://host:port");

  std::string_view rest = std::string_view(url).substr(7);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos && rest.substr(end) != "/")
    throw ConfigError(bad + "has a path, query or fragment; give only http://host:port");
  if (authority.find('@') != std::string_view::npos)
    throw ConfigError(bad + "has user information; give only http://host:port");

  Upstream up;
  up.name = std::move(name);
  up.url = url;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) throw ConfigError(bad + "has an unclosed '[' in its host");
    up.host = std::string(authority.substr(1, close - 1));
    in6_addr addr6{};
    if (inet_pton(AF_INET6, up.host.c_str(), &addr6) != 1)
      throw ConfigError(bad + "has an invalid IPv6 address " + single_quoted(untrusted_text(up.host)));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') throw ConfigError(bad + "is not of the form http://host:port");
    if (!after.empty()) port_text = after.substr(1);
  } else {
    const size_t colon = authority.rfind(':');
    up.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    for (char c : up.host)
      if (!is_host_char(c)) throw ConfigError(bad + "has an invalid host " + single_quoted(untrusted_text(up.host)));
  }
  if (up.host.empty()) throw ConfigError(bad + "has no host");
  if (port_text.empty())
    throw ConfigError(bad +
                      "has no port; lean nodes serve their API on a port of their own, "
                      "e.g. http://" +
                      (up.host.find(':') == std::string::npos ? up.host : "[" + up.host + "]") + ":5052");
  unsigned long port = 0;
  const auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 1 || port > 65535)
    throw ConfigError(bad + "has port " + single_quoted(untrusted_text(port_text)) + "; it must be 1-65535");
  up.port = static_cast<uint16_t>(port);
  return up;
}

Expected<Upstream, ConfigError> parse_upstream_url(std::string name, const std::string& url, const std::string& where) {
  return config_result([&] { return upstream_url_or_throw(std::move(name), url, where); });
}

}  // namespace leanpoint
