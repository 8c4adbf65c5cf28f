// Name lookup under a deadline. getaddrinfo blocks for as long as the
// resolver likes, so names are looked up with getaddrinfo_a and awaited in
// short slices until the deadline or a stop; numeric hosts skip the resolver.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "deadline.h"
#include "expected.h"
#include "failure.h"

namespace leanpoint {

// A lookup glibc cannot cancel keeps running in its resolver thread, and its
// request must outlive it: it is parked until done. Past this many parked
// lookups, new ones fail at once instead of piling up.
constexpr size_t kMaxParkedLookups = 8;

// The addresses of `host` (a name, an IPv4 or an IPv6 literal) at `port`.
// Fails with FailureKind::dns, local when this process lacks the resources
// to ask, or cancelled when `cancel_fd` becomes readable.
Expected<std::vector<sockaddr_storage>, Failure> resolve(const std::string& host, uint16_t port,
                                                         Clock::time_point deadline, int cancel_fd);

}  // namespace leanpoint
