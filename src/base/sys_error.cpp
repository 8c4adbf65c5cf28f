#include "sys_error.h"

#include <cerrno>
#include <cstring>

namespace leanpoint {

std::string SysError::text() const { return detail + ": " + std::strerror(code); }

SysError last_sys_error(std::string detail) { return SysError{errno, std::move(detail)}; }

}  // namespace leanpoint
