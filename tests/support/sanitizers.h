// Which sanitizer this test binary was built with, for the few checks that
// cannot hold under one (stated where they are skipped, never silently).
#pragma once

namespace testing {

#if defined(__SANITIZE_THREAD__)
constexpr bool kThreadSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
constexpr bool kThreadSanitizer = true;
#else
constexpr bool kThreadSanitizer = false;
#endif
#else
constexpr bool kThreadSanitizer = false;
#endif

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

// Peak-RSS bounds do not hold under either: ASan keeps freed memory in its
// quarantine, TSan's shadow memory grows with the traffic.
constexpr bool kMemoryBoundsHold = !kThreadSanitizer && !kAddressSanitizer;

}  // namespace testing
