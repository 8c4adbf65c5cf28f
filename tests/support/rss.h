// This process's memory, for tests that bound what a scenario may cost.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <fstream>
#include <string>

namespace testing {

// Resident memory now, bytes.
inline size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// The most resident memory since the last reset_peak_rss() (VmHWM): a
// transient peak shows here even after it is freed.
inline size_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  for (std::string key; status >> key;) {
    size_t kib = 0;
    if (key == "VmHWM:" && status >> kib) return kib * 1024;
    status.ignore(4096, '\n');
  }
  return 0;
}

// Starts a new peak at the current RSS (Linux: clear_refs, value 5).
inline void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

}  // namespace testing
