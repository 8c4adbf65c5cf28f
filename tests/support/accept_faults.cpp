// A fault injector for tests only (LD_PRELOAD): the first accept() or
// accept4() calls fail with the errors LEANPOINT_TEST_ACCEPT_FAULTS names,
// one per call, in order ("ENOBUFS,EPROTO,EINVAL"); then calls pass through.
// A failed call takes nothing from the backlog: the connection waiting there
// is accepted by the next call that passes, as after a real transient error.
#include <dlfcn.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>

namespace {

std::mutex mutex;
const char* next_fault = nullptr;  // the rest of the list
bool started = false;

int errno_of(std::string_view name) {
  static constexpr std::pair<std::string_view, int> kKnown[] = {{"ENOBUFS", ENOBUFS},
                                                                {"ENOMEM", ENOMEM},
                                                                {"ENFILE", ENFILE},
                                                                {"EMFILE", EMFILE},
                                                                {"EPROTO", EPROTO},
                                                                {"EPERM", EPERM},
                                                                {"ECONNABORTED", ECONNABORTED},
                                                                {"EINVAL", EINVAL},
                                                                {"EBADF", EBADF}};
  for (const auto& [known, value] : kKnown)
    if (known == name) return value;
  return EIO;
}

// The next fault to inject, or 0 to pass the call through.
int take_fault() {
  std::lock_guard lock(mutex);
  if (!started) {
    started = true;
    next_fault = std::getenv("LEANPOINT_TEST_ACCEPT_FAULTS");
  }
  if (!next_fault || !*next_fault) return 0;
  const char* comma = std::strchr(next_fault, ',');
  const std::string_view name(next_fault, comma ? static_cast<size_t>(comma - next_fault) : std::strlen(next_fault));
  next_fault = comma ? comma + 1 : nullptr;
  return errno_of(name);
}

}  // namespace

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (const int fault = take_fault()) {
    errno = fault;
    return -1;
  }
  using Accept4 = int (*)(int, sockaddr*, socklen_t*, int);
  static const auto real = reinterpret_cast<Accept4>(::dlsym(RTLD_NEXT, "accept4"));
  return real(fd, addr, len, flags);
}

extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }
