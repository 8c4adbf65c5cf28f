// Which sanitizer this test binary was built with, for the few checks that
// cannot hold under one (stated where they are skipped, never silently).
#pragma once

#if defined(__has_feature)
#define LEANPOINT_HAS_FEATURE(x) __has_feature(x)
#else
#define LEANPOINT_HAS_FEATURE(x) 0
#endif

namespace testing {

#if defined(__SANITIZE_THREAD__) || LEANPOINT_HAS_FEATURE(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#if defined(__SANITIZE_ADDRESS__) || LEANPOINT_HAS_FEATURE(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

// Peak-RSS bounds do not hold under either: ASan keeps freed memory in its
// quarantine, TSan's shadow memory grows with the traffic.
constexpr bool kMemoryBoundsHold = !kThreadSanitizer && !kAddressSanitizer;

}  // namespace testing
