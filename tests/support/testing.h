// doctest, wherever it comes from: Debian installs <doctest/doctest.h>, the
// wrap fallback exposes <doctest.h>.
#pragma once
#if __has_include(<doctest/doctest.h>)
#include <doctest/doctest.h>
#else
#include <doctest.h>
#endif

#include <string>

namespace testing {

// The message of the E that `f` throws, or "" if it throws none.
template <typename E, typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}

}  // namespace testing
