// libFuzzer target: parse_validator_config (quickstart_config.h) on arbitrary
// bytes, as a damaged or hostile validator-config.yaml would present them.
//
// Property checked: every input gives upstreams (each named, with a host
// and a port, and a client that is empty or one lean-quickstart starts) or a
// one-line ConfigError; no exception escapes (the trap below), and no
// sanitizer report.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "config.h"
#include "quickstart_config.h"
#include "upstream_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto upstreams = leanpoint::parse_validator_config(text, "fuzz.yaml");
    if (!upstreams) {
      if (std::string_view(upstreams.error().what()).find('\n') != std::string_view::npos) __builtin_trap();
      return 0;
    }
    for (const auto& up : *upstreams) {
      if (up.name.empty() || up.host.empty() || up.port == 0) __builtin_trap();
      const bool known = std::find(std::begin(leanpoint::kKnownClients), std::end(leanpoint::kKnownClients),
                                   up.client) != std::end(leanpoint::kKnownClients);
      if (!up.client.empty() && !known) __builtin_trap();
    }
  } catch (...) {  // nothing may escape the config module's interface
    __builtin_trap();
  }
  return 0;
}
