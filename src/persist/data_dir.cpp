#include "data_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "deadline.h"
#include "hex.h"
#include "log.h"
#include "persist_io.h"

namespace leanpoint {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRefusedPrefix = "anchor.refused-";

// The whole file, if it is a regular file no larger than `max_bytes`.
Expected<std::vector<uint8_t>, PersistError> read_file(const std::string& path, uint64_t max_bytes) {
  return read_whole_file(path, max_bytes, "a state and a block of --max-state-bytes each");
}

// Creates `path` if needed and opens it, for the lock and the fsyncs.
Expected<UniqueFd, PersistError> open_directory(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.valid()) return dir;
  // Not creating it is the more telling reason when both failed.
  if (ec) return Unexpected(PersistError{PersistErrorKind::io, "create " + path + ": " + ec.message()});
  return Unexpected(last_io_error("open " + path));
}

// The anchor.refused-MS files in `dir`, sorted by name: oldest first, as
// set_aside names them.
Expected<std::vector<std::string>, PersistError> refused_files(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(kRefusedPrefix, 0) == 0) names.push_back(std::move(name));
  }
  if (ec) return Unexpected(PersistError{PersistErrorKind::io, "list " + dir + ": " + ec.message()});
  std::sort(names.begin(), names.end());
  return names;
}

// Creates the temp file and writes the whole anchor to it, durably.
// O_EXCL (which implies not following a symlink): the file is always a new
// one, never what a symlink planted as anchor.tmp points at. A leftover from
// a kill -9 is removed first; only this process writes in the locked
// directory, so nothing recreates it in between.
// Without `durable` there is no fsync: the file survives a kill, not a power loss.
Expected<void, PersistError> write_temp(const std::string& tmp, const std::string& header, const VerifiedAnchor& anchor,
                                        bool durable = true) {
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return Unexpected(last_io_error("remove " + tmp));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) return Unexpected(last_io_error("create " + tmp));
  if (auto w = write_all(fd.get(), header.data(), header.size(), tmp); !w) return w;
  if (auto w = write_all(fd.get(), anchor.state->data(), anchor.state->size(), tmp); !w) return w;
  if (anchor.block)
    if (auto w = write_all(fd.get(), anchor.block->data(), anchor.block->size(), tmp); !w) return w;
  if (durable && ::fsync(fd.get()) != 0) return Unexpected(last_io_error("fsync " + tmp));
  // close can report a write-back error that fsync did not.
  if (::close(fd.release()) != 0) return Unexpected(last_io_error("close " + tmp));
  return {};
}

constexpr std::string_view kPinnedPrefix = "pinned.";

// pinned.SLOT.ROOT (the root in hex, without 0x).
std::string pinned_name(const lean::Checkpoint& c) {
  return std::string(kPinnedPrefix) + std::to_string(c.slot) + "." + to_hex(c.root).substr(2);
}

// Takes the lock on `dir`, trying again every 50 ms for `wait_ms` while
// another process holds it. False: still held; errno says why otherwise.
Expected<bool, PersistError> take_lock(int dir, const std::string& path, int64_t wait_ms) {
  const int64_t until = unix_ms() + wait_ms;
  for (bool logged = false;; logged = true) {
    if (::flock(dir, LOCK_EX | LOCK_NB) == 0) {
      if (logged) log(LogLevel::info, "--data-dir ", path, ": the lock is ours now");
      return true;
    }
    if (errno != EWOULDBLOCK) return Unexpected(last_io_error("flock --data-dir " + path));
    if (unix_ms() >= until) return false;
    if (!logged)
      log(LogLevel::info, "--data-dir ", path,
          " is locked by another leanpoint (one that is stopping?); waiting up to ", wait_ms,
          " ms for it (--data-dir-wait-ms)");
    ::usleep(50'000);
  }
}

}  // namespace

Expected<std::unique_ptr<DataDir>, PersistError> DataDir::open(const std::string& path, int64_t wait_ms) {
  // A directory that cannot be opened cannot be locked either: refused, so
  // that two instances never write one directory unlocked.
  auto dir = open_directory(path);
  if (!dir) return Unexpected(PersistError{dir.error().kind, "--data-dir: " + dir.error().detail});
  const auto locked = take_lock(dir->get(), path, wait_ms);
  if (!locked) return Unexpected(locked.error());
  if (!*locked)
    return Unexpected(PersistError{PersistErrorKind::locked, "--data-dir " + path +
                                                                 " is in use by another leanpoint; give each "
                                                                 "instance its own directory"});
  auto d = std::unique_ptr<DataDir>(new DataDir(path, std::move(*dir)));
  d->remove_leftover_temp();
  return d;
}

void DataDir::release() {
  // Unlocking cannot fail on a descriptor we hold; should it, the lock goes
  // with the process anyway.
  (void)::flock(dir_.get(), LOCK_UN);
}

Expected<size_t, PersistError> DataDir::write_pinned(const VerifiedAnchor& anchor) {
  const std::string tmp = file("pinned.tmp");
  const std::string header = anchor_file_header(anchor);
  if (auto written = write_temp(tmp, header, anchor, false); !written) {
    (void)::unlink(tmp.c_str());  // as in write(): a leftover is never read
    return Unexpected(written.error());
  }
  if (::rename(tmp.c_str(), file(pinned_name(anchor.checkpoint)).c_str()) != 0) {
    const PersistError error = last_io_error("rename " + tmp);
    (void)::unlink(tmp.c_str());
    return Unexpected(error);
  }
  return header.size() + anchor.state->size() + (anchor.block ? anchor.block->size() : 0);
}

Expected<LoadedAnchor, PersistError> DataDir::load_pinned(const lean::Checkpoint& checkpoint, uint64_t max_bytes,
                                                          std::optional<uint64_t> genesis_time) const {
  const std::string path = file(pinned_name(checkpoint));
  const auto bytes = read_file(path, 2 * max_bytes + kAnchorFileMagic.size() + kAnchorFileMaxHeader + 1);
  if (!bytes) return Unexpected(bytes.error());
  auto loaded = load_anchor(*bytes, genesis_time);
  if (loaded && !(loaded->anchor->checkpoint == checkpoint))
    return Unexpected(PersistError{PersistErrorKind::corrupt, path + " holds the anchor of slot " +
                                                                  std::to_string(loaded->anchor->checkpoint.slot)});
  return loaded;
}

size_t DataDir::remove_pinned_except(const std::set<std::pair<uint64_t, lean::Root>>& keep) {
  std::set<std::string> kept;
  for (const auto& [slot, root] : keep) kept.insert(pinned_name(lean::Checkpoint{root, slot}));
  size_t removed = 0;
  std::error_code ec;
  for (fs::directory_iterator it(path_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(kPinnedPrefix, 0) != 0 || kept.count(name)) continue;
    removed += ::unlink(file(name).c_str()) == 0;  // one that stays is tried again next time
  }
  return removed;
}

void DataDir::remove_leftover_temp() {
  const std::string tmp = file("anchor.tmp");
  if (::unlink(tmp.c_str()) == 0) {
    log(LogLevel::info, "--data-dir: removed anchor.tmp, a write a stop interrupted");
  } else if (errno != ENOENT) {
    // Not fatal: the next write removes it first, or fails and is counted.
    log(LogLevel::warn, "--data-dir: cannot remove a leftover anchor.tmp: ", last_io_error("unlink " + tmp).text());
  }
}

RestoreResult DataDir::restore(uint64_t max_bytes, std::optional<uint64_t> genesis_time) {
  RestoreResult result;
  result.status.path = path_;
  struct stat st {};
  if (::lstat(file("anchor").c_str(), &st) != 0 && errno == ENOENT) {  // a dangling symlink is refused below
    log(LogLevel::info, "--data-dir: no stored anchor in ", path_, "; waiting for the upstreams");
    return result;
  }
  // Any other stat failure: reading fails with the reason, which is reported.
  auto loaded = load(max_bytes, genesis_time);
  if (!loaded) {
    result.status.restore = RestoreOutcome::refused;
    result.status.restore_detail = loaded.error().text();
    refuse(loaded.error());
    return result;
  }
  result.status.restore = RestoreOutcome::serving;
  result.status.restored = loaded->anchor->checkpoint;
  log(LogLevel::info, "--data-dir: restored the anchor of slot ", loaded->anchor->checkpoint.slot, " (state ",
      loaded->anchor->state->size(), " bytes", loaded->anchor->block ? ", with its block" : ", no block",
      "), verified again; serving it until the upstreams agree");
  result.anchor = std::move(*loaded);
  return result;
}

Expected<LoadedAnchor, PersistError> DataDir::load(uint64_t max_bytes, std::optional<uint64_t> genesis_time) const {
  const auto bytes = read_file(file("anchor"), 2 * max_bytes + kAnchorFileMagic.size() + kAnchorFileMaxHeader + 1);
  if (!bytes) return Unexpected(bytes.error());
  return load_anchor(*bytes, genesis_time);
}

void DataDir::refuse(const PersistError& why) {
  const auto aside = set_aside();
  if (!aside) {
    log(LogLevel::error, "--data-dir: the stored anchor is refused (", why.text(),
        ") and cannot be set aside: ", aside.error().text(), "; it is not served");
    return;
  }
  log(LogLevel::error, "--data-dir: the stored anchor is refused (", why.text(), "); kept as ", *aside, ", not served");
  if (auto pruned = prune_refused(); !pruned)
    log(LogLevel::warn, "--data-dir: cannot remove the oldest refused files: ", pruned.error().text());
}

Expected<std::string, PersistError> DataDir::set_aside() {
  // Named by time, and always after the ones already there, so that the
  // newest sort last (same digit count for centuries) and pruning keeps them.
  // If the directory cannot be listed, the clock alone names it: pruning,
  // which needs the list too, will report that.
  int64_t after = 0;
  if (const auto refused = refused_files(path_))
    for (const auto& name : *refused)
      after = std::max<int64_t>(after, std::atoll(name.c_str() + kRefusedPrefix.size()));
  const std::string aside = std::string(kRefusedPrefix) + std::to_string(std::max(unix_ms(), after + 1));
  if (::rename(file("anchor").c_str(), file(aside).c_str()) != 0)
    return Unexpected(last_io_error("rename anchor to " + aside));
  return aside;
}

Expected<void, PersistError> DataDir::prune_refused() {
  const auto refused = refused_files(path_);
  if (!refused) return Unexpected(refused.error());
  for (size_t i = 0; i + kRefusedFilesKept < refused->size(); ++i) {
    std::error_code ec;
    fs::remove(file((*refused)[i]), ec);
    if (ec)
      return Unexpected(PersistError{PersistErrorKind::io, "remove " + file((*refused)[i]) + ": " + ec.message()});
  }
  return {};
}

Expected<void, PersistError> DataDir::sync_directory() {
  if (::fsync(dir_.get()) != 0) return Unexpected(last_io_error("fsync " + path_));
  return {};
}

Expected<size_t, PersistError> DataDir::write(const VerifiedAnchor& anchor) {
  const std::string tmp = file("anchor.tmp");
  const std::string header = anchor_file_header(anchor);
  if (auto written = write_temp(tmp, header, anchor); !written) {
    // A partial file is never left to look like an anchor. Should the unlink
    // fail too, the write's own error is the one to report, and a leftover
    // anchor.tmp is never read: the next write or start replaces it.
    (void)::unlink(tmp.c_str());
    return Unexpected(written.error());
  }
  if (::rename(tmp.c_str(), file("anchor").c_str()) != 0) {
    const PersistError error = last_io_error("rename " + tmp);
    (void)::unlink(tmp.c_str());  // as above
    return Unexpected(error);
  }
  // The rename is durable once the directory is.
  if (auto synced = sync_directory(); !synced) return Unexpected(synced.error());
  return header.size() + anchor.state->size() + (anchor.block ? anchor.block->size() : 0);
}

Expected<void, PersistError> DataDir::drop() {
  if (::rename(file("anchor").c_str(), file("anchor.dropped").c_str()) != 0) {
    if (errno == ENOENT) return {};  // nothing stored: nothing to set aside
    return Unexpected(last_io_error("rename anchor to anchor.dropped"));
  }
  log(LogLevel::info, "--data-dir: the disowned anchor is kept as anchor.dropped");
  return sync_directory();
}

AnchorWriter::AnchorWriter(DataDir& dir, DataDirStatus initial)
    : dir_(dir), status_(std::move(initial)), thread_([this] { run(); }) {}

AnchorWriter::~AnchorWriter() { stop(); }

void AnchorWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void AnchorWriter::save(std::shared_ptr<const VerifiedAnchor> anchor) {
  {
    std::lock_guard lock(mutex_);
    // A pending drop stays pending: run() sets the disowned anchor aside
    // before it writes this one, so anchor.dropped keeps it for the operator
    // and a failed write never leaves it to be restored at the next start.
    pending_ = std::move(anchor);
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
      const auto dropped = dir_.drop();
      if (!dropped) log(LogLevel::error, "--data-dir: cannot set the disowned anchor aside: ", dropped.error().text());
      lock.lock();
      continue;
    }
    if (!pending_) return;  // stopping, nothing left to write
    auto anchor = std::move(pending_);
    pending_.reset();
    lock.unlock();
    const auto written = dir_.write(*anchor);
    lock.lock();
    record_write(anchor->checkpoint.slot, written);
  }
}

void AnchorWriter::record_write(uint64_t slot, const Expected<size_t, PersistError>& written) {
  if (written) {
    ++status_.writes_total;
    status_.last_write_ms = unix_ms();
    if (!status_.last_write_error.empty()) log(LogLevel::info, "--data-dir: writing anchors again (", dir_.path(), ")");
    status_.last_write_error.clear();
    log(LogLevel::debug, "--data-dir: stored the anchor of slot ", slot, " (", *written, " bytes)");
    return;
  }
  ++status_.write_errors_total;
  const std::string error = written.error().text();
  // Logged when the error changes; a disk that stays full is one line.
  if (status_.last_write_error != error)
    log(LogLevel::error, "--data-dir: cannot store the anchor of slot ", slot, ": ", error, "; serving goes on");
  status_.last_write_error = error;
}

}  // namespace leanpoint
