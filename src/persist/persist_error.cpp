#include "persist_error.h"

#include "sys_error.h"

namespace leanpoint {

std::string_view to_string(PersistErrorKind kind) {
  switch (kind) {
    case PersistErrorKind::locked: return "locked";
    case PersistErrorKind::io: return "io";
    case PersistErrorKind::too_large: return "too_large";
    case PersistErrorKind::foreign: return "foreign";
    case PersistErrorKind::corrupt: return "corrupt";
    case PersistErrorKind::verify: return "verify";
  }
  return "unknown";
}

std::string PersistError::text() const { return std::string(to_string(kind)) + ": " + detail; }

PersistError last_io_error(const std::string& what) {
  return PersistError{PersistErrorKind::io, last_sys_error(what).text()};
}

}  // namespace leanpoint
