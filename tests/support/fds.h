// Counting this process's open file descriptors, for leak checks.
#pragma once

#include <filesystem>

namespace testing {

inline size_t open_fds() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace testing
