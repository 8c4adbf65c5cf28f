#include "fd.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace leanpoint {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Expected<EventFd, SysError> EventFd::open(Mode mode) {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | (mode == Mode::nonblocking ? EFD_NONBLOCK : 0)));
  if (!fd.valid()) return Unexpected(last_sys_error("eventfd"));
  return EventFd(std::move(fd));
}

void EventFd::notify() const {
  const uint64_t one = 1;
  // Fails only when the counter would overflow: it is readable then anyway.
  [[maybe_unused]] const ssize_t n = ::write(fd_.get(), &one, sizeof one);
}

void EventFd::drain() const {
  uint64_t count;
  [[maybe_unused]] const ssize_t n = ::read(fd_.get(), &count, sizeof count);
}

}  // namespace leanpoint
