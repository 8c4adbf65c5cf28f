// lean-quickstart's validator-config.yaml, read as an upstreams file: one
// upstream per entry of `validators`, named by its `name`, at
// http://HOST:PORT where HOST is `enrFields.ip` (default 127.0.0.1) and PORT
// is `apiPort`, else `httpPort`, else `metricsPort` (old zeam entries serve
// the lean API on their metrics port). Exactly the mapping the Zig
// leanpoint's convert-validator-config.py makes, without the script. Its
// client is the one the name says (zeam_0 runs zeam: client_from_name,
// upstream_url.h).
//
//   validators:
//     - name: zeam_0
//       enrFields: {ip: 10.0.0.11, quic: 9000}
//       apiPort: 5052
//       metricsPort: 8080
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config_error.h"
#include "upstream.h"

namespace leanpoint {

// Whether a file is lean-quickstart YAML rather than an upstreams JSON file:
// by its extension (.yaml, .yml), or, for any other name, by content that is
// not a JSON object.
bool is_validator_config(const std::string& path, std::string_view text);

// Parses the file's text. Errors are ConfigError naming `source` and, for bad
// YAML, the line and column; an entry without a name or without any port
// names its index. Messages are one printable line whatever the file holds.
Expected<std::vector<Upstream>, ConfigError> parse_validator_config(std::string_view text, const std::string& source);

// The same, throwing: for the config module's own steps (config_error.h).
std::vector<Upstream> upstreams_from_validator_config(std::string_view text, const std::string& source);

}  // namespace leanpoint
