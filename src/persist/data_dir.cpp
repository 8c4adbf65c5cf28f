#include "data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include "deadline.h"
#include "log.h"

namespace leanpoint {
namespace {

namespace fs = std::filesystem;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Writes all of `bytes`; false with errno set on a failure.
bool write_all(int fd, const void* data, size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// The whole file, if it is no larger than `max_bytes`.
Expected<std::vector<uint8_t>, std::string> read_file(const std::string& path, uint64_t max_bytes) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Unexpected(errno_text("open " + path));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return Unexpected(errno_text("stat " + path));
  if (!S_ISREG(st.st_mode)) return Unexpected<std::string>(path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Unexpected<std::string>(path + " holds " + std::to_string(st.st_size) + " bytes, more than a state and " +
                                   "a block of --max-state-bytes each");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unexpected(errno_text("read " + path));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace

Expected<std::unique_ptr<DataDir>, std::string> DataDir::open(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) log(LogLevel::error, "--data-dir ", path, ": cannot create it: ", ec.message(), "; anchors will not persist");
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) {
    if (!ec) log(LogLevel::error, "--data-dir ", path, ": ", std::strerror(errno), "; anchors will not persist");
    return std::unique_ptr<DataDir>(new DataDir(path, std::move(dir)));
  }
  if (::flock(dir.get(), LOCK_EX | LOCK_NB) != 0)
    return Unexpected<std::string>("--data-dir " + path +
                                   " is in use by another leanpoint (locked); give each instance its own directory");
  auto d = std::unique_ptr<DataDir>(new DataDir(path, std::move(dir)));
  if (::unlink(d->file("anchor.tmp").c_str()) == 0)
    log(LogLevel::info, "--data-dir: removed anchor.tmp, a write a stop interrupted");
  return d;
}

std::optional<LoadedAnchor> DataDir::restore(uint64_t max_bytes, std::optional<uint64_t> genesis_time,
                                             DataDirStatus& status) {
  const std::string path = file("anchor");
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    log(LogLevel::info, "--data-dir: no stored anchor in ", path_, "; waiting for the upstreams");
    return std::nullopt;
  }
  const auto bytes = read_file(path, 2 * max_bytes + kAnchorFileMagic.size() + kAnchorFileMaxHeader + 1);
  auto loaded =
      bytes ? load_anchor(*bytes, genesis_time) : Expected<LoadedAnchor, std::string>(Unexpected(bytes.error()));
  if (!loaded) {
    status.restore = RestoreOutcome::refused;
    status.restore_detail = loaded.error();
    set_aside(loaded.error());
    return std::nullopt;
  }
  status.restore = RestoreOutcome::serving;
  status.restored = loaded->anchor->checkpoint;
  log(LogLevel::info, "--data-dir: restored the anchor of slot ", loaded->anchor->checkpoint.slot, " (state ",
      loaded->anchor->state->size(), " bytes", loaded->anchor->block ? ", with its block" : ", no block",
      "), verified again; serving it until the upstreams agree");
  return std::move(*loaded);
}

void DataDir::set_aside(const std::string& reason) {
  // Named by time, and always after the ones already there, so that the
  // newest sort last (same digit count for centuries) and pruning keeps them.
  constexpr std::string_view kPrefix = "anchor.refused-";
  std::vector<std::string> refused;
  int64_t after = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(path_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    refused.push_back(name);
    after = std::max<int64_t>(after, std::atoll(name.c_str() + kPrefix.size()));
  }
  const std::string aside = std::string(kPrefix) + std::to_string(std::max(unix_ms(), after + 1));
  if (::rename(file("anchor").c_str(), file(aside.c_str()).c_str()) != 0) {
    log(LogLevel::error, "--data-dir: the stored anchor is refused (", reason,
        ") and cannot be set aside: ", std::strerror(errno), "; it is not served");
    return;
  }
  log(LogLevel::error, "--data-dir: the stored anchor is refused (", reason, "); kept as ", aside, ", not served");
  refused.push_back(aside);
  std::sort(refused.begin(), refused.end());
  for (size_t i = 0; i + kRefusedFilesKept < refused.size(); ++i) fs::remove(file(refused[i].c_str()), ec);
}

Expected<size_t, std::string> DataDir::write(const VerifiedAnchor& anchor) {
  const std::string tmp = file("anchor.tmp");
  const std::string header = anchor_file_header(anchor);
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return Unexpected(errno_text("create " + tmp));
  const bool written = write_all(fd.get(), header.data(), header.size()) &&
                       write_all(fd.get(), anchor.state->data(), anchor.state->size()) &&
                       (!anchor.block || write_all(fd.get(), anchor.block->data(), anchor.block->size())) &&
                       ::fsync(fd.get()) == 0;
  if (!written) {
    const std::string error = errno_text("write " + tmp);
    ::unlink(tmp.c_str());  // a partial file is never left to look like an anchor
    return Unexpected(error);
  }
  if (::close(fd.release()) != 0) {
    const std::string error = errno_text("close " + tmp);
    ::unlink(tmp.c_str());
    return Unexpected(error);
  }
  if (::rename(tmp.c_str(), file("anchor").c_str()) != 0) {
    const std::string error = errno_text("rename " + tmp);
    ::unlink(tmp.c_str());
    return Unexpected(error);
  }
  // The rename is durable once the directory is.
  if (!dir_.valid() || ::fsync(dir_.get()) != 0) return Unexpected(errno_text("fsync " + path_));
  return header.size() + anchor.state->size() + (anchor.block ? anchor.block->size() : 0);
}

void DataDir::drop() {
  if (::rename(file("anchor").c_str(), file("anchor.dropped").c_str()) == 0) {
    if (dir_.valid()) ::fsync(dir_.get());
    log(LogLevel::info, "--data-dir: the disowned anchor is kept as anchor.dropped");
  } else if (errno != ENOENT) {
    log(LogLevel::error, "--data-dir: cannot set the disowned anchor aside: ", std::strerror(errno));
  }
}

AnchorWriter::AnchorWriter(DataDir& dir, DataDirStatus initial)
    : dir_(dir), status_(std::move(initial)), thread_([this] { run(); }) {}

AnchorWriter::~AnchorWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void AnchorWriter::save(std::shared_ptr<const VerifiedAnchor> anchor) {
  {
    std::lock_guard lock(mutex_);
    pending_ = std::move(anchor);
    drop_pending_ = false;
  }
  wake_.notify_one();
}

void AnchorWriter::drop() {
  {
    std::lock_guard lock(mutex_);
    pending_.reset();
    drop_pending_ = true;
  }
  wake_.notify_one();
}

DataDirStatus AnchorWriter::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void AnchorWriter::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || pending_ || drop_pending_; });
    if (drop_pending_) {
      drop_pending_ = false;
      lock.unlock();
      dir_.drop();
      lock.lock();
      continue;
    }
    if (!pending_) return;  // stopping, nothing left to write
    auto anchor = std::move(pending_);
    pending_.reset();
    lock.unlock();
    auto written = dir_.write(*anchor);
    lock.lock();
    if (written) {
      ++status_.writes_total;
      status_.last_write_ms = unix_ms();
      if (!status_.last_write_error.empty())
        log(LogLevel::info, "--data-dir: writing anchors again (", dir_.path(), ")");
      status_.last_write_error.clear();
      log(LogLevel::debug, "--data-dir: stored the anchor of slot ", anchor->checkpoint.slot, " (", *written,
          " bytes)");
    } else {
      ++status_.write_errors_total;
      // Logged when the error changes; a disk that stays full is one line.
      if (status_.last_write_error != written.error())
        log(LogLevel::error, "--data-dir: cannot store the anchor of slot ", anchor->checkpoint.slot, ": ",
            written.error(), "; serving goes on");
      status_.last_write_error = written.error();
    }
  }
}

}  // namespace leanpoint
