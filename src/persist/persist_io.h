// The two file operations every --data-dir file shares: writing all of a
// buffer, and reading a whole regular file under a bound, never following a
// symlink (ARCHITECTURE.md §8).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "expected.h"
#include "persist_error.h"

namespace leanpoint {

// Writes all of `size` bytes to `fd`, the file at `path`. Errors are io.
Expected<void, PersistError> write_all(int fd, const void* data, size_t size, const std::string& path);

// The whole file, if it is a regular file no larger than `max_bytes`: a
// symlink or anything but a regular file is `foreign`, a larger file
// `too_large`, a failed call `io`. `what` names the bound in the error.
Expected<std::vector<uint8_t>, PersistError> read_whole_file(const std::string& path, uint64_t max_bytes,
                                                             const std::string& what);

}  // namespace leanpoint
