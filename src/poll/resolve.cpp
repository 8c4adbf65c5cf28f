#include "resolve.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

namespace leanpoint {
namespace {

struct Lookup {
  std::string host, service;
  addrinfo hints{};
  gaicb cb{};
};

std::mutex g_parked_mutex;
std::vector<std::unique_ptr<Lookup>> g_parked;

void release(std::unique_ptr<Lookup> lookup) {
  if (gai_cancel(&lookup->cb) == EAI_NOTCANCELED) {
    std::lock_guard lock(g_parked_mutex);
    g_parked.push_back(std::move(lookup));
    return;
  }
  if (lookup->cb.ar_result) freeaddrinfo(lookup->cb.ar_result);
}

size_t reap_parked() {
  std::lock_guard lock(g_parked_mutex);
  std::erase_if(g_parked, [](const std::unique_ptr<Lookup>& l) {
    if (gai_error(&l->cb) == EAI_INPROGRESS) return false;
    if (l->cb.ar_result) freeaddrinfo(l->cb.ar_result);
    return true;
  });
  return g_parked.size();
}

std::optional<sockaddr_storage> numeric_address(const std::string& host, uint16_t port) {
  sockaddr_storage numeric{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&numeric);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&numeric);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return numeric;
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return numeric;
  }
  return std::nullopt;
}

Unexpected<Failure> dns_failure(const std::string& host, const std::string& why) {
  return Unexpected(Failure{FailureKind::dns, "lookup of " + host + ": " + why});
}

// Waits for a submitted lookup: gai_error's final code, or a failure when a
// stop is requested or the deadline passes first. gai_suspend cannot watch
// the stop fd, so it waits in short slices.
Expected<int, Failure> await_lookup(gaicb* cb, const std::string& host, Clock::time_point deadline, int cancel_fd) {
  gaicb* list[1] = {cb};
  int rc;
  while ((rc = gai_error(cb)) == EAI_INPROGRESS) {
    if (cancelled(cancel_fd))
      return Unexpected(Failure{FailureKind::cancelled, "lookup of " + host + ": stop requested"});
    const int left = ms_until(deadline);
    if (left == 0)
      return Unexpected(Failure{FailureKind::dns, "lookup of " + host + " did not finish before the deadline"});
    const int slice = std::min(left, 50);
    const timespec ts{slice / 1000, (slice % 1000) * 1'000'000L};
    // Its result (done, timed out, interrupted) is read again by gai_error
    // at the top of the loop: nothing to check here.
    (void)gai_suspend(list, 1, &ts);
  }
  return rc;
}

}  // namespace

Expected<std::vector<sockaddr_storage>, Failure> resolve(const std::string& host, uint16_t port,
                                                         Clock::time_point deadline, int cancel_fd) {
  if (const auto numeric = numeric_address(host, port)) return std::vector<sockaddr_storage>{*numeric};

  if (reap_parked() >= kMaxParkedLookups)
    return dns_failure(host, std::to_string(kMaxParkedLookups) + " earlier lookups are still hanging in the resolver");
  auto lookup = std::make_unique<Lookup>();
  lookup->host = host;
  lookup->service = std::to_string(port);
  lookup->hints.ai_socktype = SOCK_STREAM;
  lookup->hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  lookup->cb.ar_name = lookup->host.c_str();
  lookup->cb.ar_service = lookup->service.c_str();
  lookup->cb.ar_request = &lookup->hints;
  gaicb* list[1] = {&lookup->cb};
  if (const int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0) {
    // Submitting fails only for want of memory or a resolver thread: ours.
    const bool ours = rc == EAI_AGAIN || rc == EAI_MEMORY || (rc == EAI_SYSTEM && is_local_errno(errno));
    if (ours) return Unexpected(Failure{FailureKind::local, "lookup of " + host + ": " + gai_strerror(rc)});
    return dns_failure(host, gai_strerror(rc));
  }

  const auto done = await_lookup(&lookup->cb, host, deadline, cancel_fd);
  if (!done) {
    release(std::move(lookup));
    return Unexpected(done.error());
  }
  const int rc = *done;
  if (rc != 0) {
    // The lookup ran in glibc's thread: errno here is not its errno, so only
    // EAI_MEMORY says for sure that the trouble is ours.
    const bool ours = rc == EAI_MEMORY;
    release(std::move(lookup));
    if (ours) return Unexpected(Failure{FailureKind::local, "lookup of " + host + ": " + gai_strerror(rc)});
    return dns_failure(host, gai_strerror(rc));
  }
  std::vector<sockaddr_storage> addrs;
  for (const addrinfo* ai = lookup->cb.ar_result; ai; ai = ai->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof ss));
    addrs.push_back(ss);
  }
  release(std::move(lookup));
  if (addrs.empty()) return dns_failure(host, "no addresses");
  return addrs;
}

}  // namespace leanpoint
