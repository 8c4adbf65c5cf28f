// Owning file descriptors. Every descriptor leanpoint opens is held by one
// UniqueFd (or by cpp-httplib, for its listening socket) and closed exactly
// once, by its owner's destructor, on every path.
#pragma once

#include <utility>

#include "expected.h"
#include "sys_error.h"

namespace leanpoint {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int release() { return std::exchange(fd_, -1); }
  // Closes the descriptor held, if any, and holds `fd` instead.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// An eventfd used as a flag another thread can wait for in poll() or epoll:
// notify() makes it readable (from any thread, any number of times) until
// drain().
class EventFd {
 public:
  enum class Mode { blocking, nonblocking };
  // Fails when the kernel refuses one (EMFILE, ENFILE, ENOMEM).
  static Expected<EventFd, SysError> open(Mode mode = Mode::blocking);

  void notify() const;
  void drain() const;  // nonblocking mode only: never waits
  int fd() const { return fd_.get(); }

 private:
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace leanpoint
