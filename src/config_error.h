// An operator mistake: a flag, an environment variable or a file that cannot
// be used. Its message is one line naming the flag or file (and, for JSON or
// YAML, the position); the process then exits with kExitUsage.
//
// Inside the config module (config.cpp, upstream_url.cpp,
// quickstart_config.cpp) a step throws ConfigError where it finds the
// mistake; every function the module offers returns Expected<T, ConfigError>
// through config_result(), the one place that catches it.
#pragma once

#include <stdexcept>
#include <type_traits>
#include <utility>

#include "expected.h"

namespace leanpoint {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs a config step: its value, or the ConfigError it threw.
template <typename Step>
auto config_result(Step&& step) -> Expected<std::invoke_result_t<Step>, ConfigError> {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Step>>) {
      step();
      return {};
    } else {
      return step();
    }
  } catch (const ConfigError& e) {
    return Unexpected(e);
  }
}

}  // namespace leanpoint
