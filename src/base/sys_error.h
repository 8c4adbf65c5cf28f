// A system call that failed: which one, errno, and what leanpoint was doing.
// The base layer's error type (expected.h); the layers above wrap it in
// their own or pass it up to the wiring, which logs it and exits 1.
#pragma once

#include <string>

namespace leanpoint {

struct SysError {
  int code = 0;        // errno
  std::string detail;  // "eventfd", "epoll_ctl ADD fd 12", "bind 0.0.0.0:5555"

  // "bind 0.0.0.0:5555: Address already in use"
  std::string text() const;
};

// The error of the call that just failed: errno and `detail`.
SysError last_sys_error(std::string detail);

}  // namespace leanpoint
