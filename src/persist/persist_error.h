// Why --data-dir could not do what was asked: the persist layer's error type
// (expected.h). The kind says what went wrong, for code and for the log; the
// detail says with what (the path, errno's text, the numbers involved). They
// become one line of text only where logs and /status are written (text()).
// ARCHITECTURE.md §4 and §8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace leanpoint {

enum class PersistErrorKind : uint8_t {
  locked,     // another leanpoint holds the directory's lock (DataDir::open)
  io,         // a system call failed: open, read, write, fsync, close, rename, ...; errno's text in the detail
  too_large,  // the stored file is larger than a state and a block of --max-state-bytes each
  foreign,    // not a leanpoint anchor file: no "leanpoint-anchor 1" line, or not a regular file
  corrupt,    // an anchor file that is damaged: a bad header, truncated, trailing bytes, a block off its SHA-256
  verify,     // the stored anchor does not prove (anchor.h); the detail starts with the Failure kind
};

// The names, as logs and /status show them.
std::string_view to_string(PersistErrorKind kind);

struct PersistError {
  PersistErrorKind kind = PersistErrorKind::io;
  std::string detail;  // "create /data/anchor.tmp: No space left on device"

  // "io: create /data/anchor.tmp: No space left on device"
  std::string text() const;
};

// An io error for the system call that just failed: `what` and errno's text.
PersistError last_io_error(const std::string& what);

}  // namespace leanpoint
