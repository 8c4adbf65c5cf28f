// doctest, wherever it comes from: Debian installs <doctest/doctest.h>, the
// wrap fallback exposes <doctest.h>.
#pragma once
#if __has_include(<doctest/doctest.h>)
#include <doctest/doctest.h>
#else
#include <doctest.h>
#endif

#include <string>

#include "expected.h"

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

// The message of the error `r` holds, or "" if it holds a value.
template <typename T, typename E>
std::string error_of(const leanpoint::Expected<T, E>& r) {
  return r ? std::string() : std::string(r.error().what());
}

}  // namespace testing
