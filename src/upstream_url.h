// An upstream's base URL, "http://host:port" with an optional trailing "/":
// the one parser behind --upstream, the upstreams file, lean-quickstart's
// YAML, --upstream-host and `leanpoint probe`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "config_error.h"
#include "upstream.h"

namespace leanpoint {

// The longest upstream name accepted, in bytes.
inline constexpr size_t kMaxUpstreamNameBytes = 64;

// `name` when it can name an upstream in logs, JSON and metric labels: 1 to
// kMaxUpstreamNameBytes bytes of valid UTF-8 without control characters.
// Otherwise a ConfigError naming the entry (`where`) and the rule.
std::string upstream_name_or_throw(std::string name, const std::string& where);

// The longest client implementation name accepted, in bytes.
inline constexpr size_t kMaxClientBytes = 32;

// The client implementations lean-quickstart starts (one client-cmds script
// each), as its node names spell them: `zeam_0` runs zeam.
inline constexpr std::string_view kKnownClients[] = {
    "ethlambda", "gean", "grandine", "lantern", "leanspec", "lighthouse", "nlean", "peam", "qlean", "ream", "zeam"};

// The implementation a lean-quickstart node name says it runs: `<client>_<digits>`
// with <client> one of kKnownClients. Any other name says nothing (""): a
// guessed implementation could fake diversity, an unknown one cannot.
std::string client_from_name(std::string_view name);

// `client` when it can name an implementation (the upstreams file's
// `client`): 1 to kMaxClientBytes bytes of lowercase letters, digits, '-',
// '_' and '.', so "Zeam" and "zeam" can never count as two. Otherwise a
// ConfigError naming the entry (`where`) and the rule.
std::string upstream_client_or_throw(std::string client, const std::string& where);

// `where` names the source in error messages (a flag, or file + index).
Expected<Upstream, ConfigError> parse_upstream_url(std::string name, const std::string& url, const std::string& where);

// The same, throwing: for the config module's own steps (config_error.h).
Upstream upstream_url_or_throw(std::string name, const std::string& url, const std::string& where);

}  // namespace leanpoint
