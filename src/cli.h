// The command line: flags and environment variables into a validated Config.
#pragma once

#include <iosfwd>

#include "config.h"
#include "inspect.h"

namespace leanpoint {

// What the command line asks for: run the service with `config`, describe an
// anchor file (`leanpoint inspect`), probe a URL (`leanpoint probe`), or exit
// now with `exit_code` (after --help, --version, or an error already printed:
// kExitUsage, exit_codes.h).
struct Invocation {
  enum class Action { serve, inspect, probe, exit };
  Action action = Action::exit;
  int exit_code = 0;
  Config config;
  std::string inspect_path;
  ArtifactType inspect_type = ArtifactType::detect;
  std::string probe_url;
  int64_t probe_timeout_ms = 0;
};

// Parses argv and the LEANPOINT_* environment. Help and version go to `out`;
// errors go to `err` as one line, "leanpoint: <what is wrong>".
Invocation parse_command_line(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace leanpoint
