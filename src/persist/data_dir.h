// --data-dir: where the newest verified anchor survives a restart.
//
//   DIR/anchor             the newest verified anchor (anchor_file.h); read
//                          with O_NOFOLLOW: a symlink there is refused
//   DIR/anchor.tmp         a write in progress; a leftover is removed at start
//                          and before each write (created O_EXCL: a symlink
//                          planted there is never followed)
//   DIR/anchor.refused-MS  a stored anchor that failed verification at start,
//                          set aside for the operator (the newest 4 are kept)
//   DIR/anchor.dropped     the last restored anchor the upstreams disowned
//   DIR/pinned.SLOT.ROOT   an anchor a live pin or the pair rule's `current`
//                          names (pin_store.h), one file per checkpoint, in
//                          the anchor file's format; pinned.tmp while written
//   DIR/pins.journal       the pair rule's events (pin_file.h); .tmp while
//                          it is rewritten
//
// A write is: anchor.tmp, fsync, rename over anchor, fsync of the directory.
// A crash at any point leaves the old anchor or the new one. So the disk
// holds at most two anchors at once, plus what was set aside.
//
// Writes run on a thread of their own (AnchorWriter), so a slow or hung disk
// never holds up a round; a failed write is logged and counted, and serving
// goes on. The directory is locked (flock) against a second leanpoint; a
// starting one may wait for the lock while the one it replaces stops, which
// releases it once it has written its last (release()).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "anchor_file.h"
#include "expected.h"
#include "fd.h"
#include "persist_error.h"
#include "snapshot.h"

namespace leanpoint {

inline constexpr size_t kRefusedFilesKept = 4;

// What restore found: the anchor to serve, if any, and the status the
// writer starts from. `anchor` empty means only "nothing to serve"; why
// (no file, or refused and the reason) is in `status`.
struct RestoreResult {
  std::optional<LoadedAnchor> anchor;
  DataDirStatus status;  // path, and restore: none, serving or refused (with restore_detail)
};

class DataDir {
 public:
  // Creates the directory if needed and locks it. Fails (`locked`) when
  // another process holds the lock, or (`io`) when the directory cannot be
  // created or opened or the lock cannot be taken at all: a directory is
  // never used without its lock.
  // With `wait_ms`, a lock another process holds is tried again every 50
  // ms for that long (logged once): the process being replaced releases it
  // when it has stopped (release()), or its death does.
  static Expected<std::unique_ptr<DataDir>, PersistError> open(const std::string& path, int64_t wait_ms = 0);

  const std::string& path() const { return path_; }

  // Unlocks the directory for the process that replaces this one; nothing
  // may be written to it after this (stop the writers first).
  void release();

  // Reads the stored anchor and verifies it (anchor_file.h). No file:
  // restore none. A file that fails (io, too_large, foreign, corrupt or
  // verify) is logged, set aside as anchor.refused-MS, and reported as
  // restore refused, with the error's text as restore_detail.
  RestoreResult restore(uint64_t max_bytes, std::optional<uint64_t> genesis_time);

  // Replaces the stored anchor, atomically; the bytes written. Errors are io.
  Expected<size_t, PersistError> write(const VerifiedAnchor& anchor);

  // Sets the stored anchor aside as anchor.dropped (replacing an older one).
  // No stored anchor is not an error: there is nothing to set aside.
  Expected<void, PersistError> drop();

  // --- the anchors of pins (pin_store.h): pinned.SLOT.ROOT ---

  // Writes `anchor` to its pinned file: pinned.tmp (O_EXCL), then a rename,
  // so a kill leaves the whole file or none; not fsynced (pins need only
  // survive a kill: after a power loss a torn file is refused at start).
  Expected<size_t, PersistError> write_pinned(const VerifiedAnchor& anchor);
  // Reads back and verifies the pinned file of `checkpoint`, like restore():
  // a file that holds another checkpoint is `corrupt`.
  Expected<LoadedAnchor, PersistError> load_pinned(const lean::Checkpoint& checkpoint, uint64_t max_bytes,
                                                   std::optional<uint64_t> genesis_time) const;
  // Removes the pinned files of every checkpoint but `keep`, and a leftover
  // pinned.tmp; the number removed.
  size_t remove_pinned_except(const std::set<std::pair<uint64_t, lean::Root>>& keep);
  std::string file(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  explicit DataDir(std::string path, UniqueFd dir) : path_(std::move(path)), dir_(std::move(dir)) {}
  Expected<LoadedAnchor, PersistError> load(uint64_t max_bytes, std::optional<uint64_t> genesis_time) const;
  void refuse(const PersistError& why);
  Expected<std::string, PersistError> set_aside();
  Expected<void, PersistError> prune_refused();
  Expected<void, PersistError> sync_directory();
  void remove_leftover_temp();

  std::string path_;
  UniqueFd dir_;  // open (and flocked) for the directory fsyncs
};

// The thread that writes anchors. The poller hands it each new anchor and
// moves on; if anchors come faster than the disk takes them, only the newest
// waiting one is written.
class AnchorWriter {
 public:
  AnchorWriter(DataDir& dir, DataDirStatus initial);
  ~AnchorWriter();  // finishes what is waiting, then stops
  AnchorWriter(const AnchorWriter&) = delete;
  AnchorWriter& operator=(const AnchorWriter&) = delete;

  // Finishes what is waiting, then stops; what is saved after is not written.
  void stop();

  void save(std::shared_ptr<const VerifiedAnchor> anchor);
  void drop();  // the restored anchor was disowned: set the stored one aside
  DataDirStatus status() const;

 private:
  void run();
  void record_write(uint64_t slot, const Expected<size_t, PersistError>& written);  // under mutex_

  DataDir& dir_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<const VerifiedAnchor> pending_;
  bool drop_pending_ = false;
  bool stopping_ = false;
  DataDirStatus status_;
  std::thread thread_;
};

}  // namespace leanpoint
