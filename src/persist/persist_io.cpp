#include "persist_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "fd.h"

namespace leanpoint {

Expected<void, PersistError> write_all(int fd, const void* data, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return Unexpected(last_io_error("write " + path));
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Expected<std::vector<uint8_t>, PersistError> read_whole_file(const std::string& path, uint64_t max_bytes,
                                                             const std::string& what) {
  // O_NONBLOCK: a FIFO put there would otherwise hold the start until
  // someone writes to it; it is refused below as not a regular file.
  // O_NOFOLLOW: leanpoint only ever renames regular files into place; a
  // symlink there was planted, and what it points at is not read.
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid() && errno == ELOOP)
    return Unexpected(PersistError{PersistErrorKind::foreign, path + " is a symbolic link; it is not followed"});
  if (!fd.valid()) return Unexpected(last_io_error("open " + path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Unexpected(last_io_error("stat " + path));
  if (!S_ISREG(st.st_mode)) return Unexpected(PersistError{PersistErrorKind::foreign, path + " is not a regular file"});
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Unexpected(PersistError{PersistErrorKind::too_large,
                                   path + " holds " + std::to_string(st.st_size) + " bytes, more than " + what});
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unexpected(last_io_error("read " + path));
    if (n == 0) break;  // shorter than fstat said: parsing calls it truncated
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace leanpoint
