// The pair rule's table on disk (ARCHITECTURE.md §6, §8): the PinJournal the
// wiring hands to the site's Pins, and what the next start gives back.
//
// Every event (pin_journal.h) is queued as it is made and written by a
// thread of its own: first the anchor it names, if that is not on disk yet
// (DIR/pinned.SLOT.ROOT, data_dir.h), then the record, appended to
// DIR/pins.journal (pin_file.h) with write(2): in the page cache, which a
// kill -9 does not lose, a microsecond or so after the event. No fsync: the
// table is to outlive the process, not a power loss.
//
// Bounds. The queue holds kQueueMax events; past that an event is dropped
// and counted (pin_records_dropped_total): that client's pin is then
// restored as its previous event left it, or not at all, and a restart
// before its next event may give it a pair of two anchors. The journal is
// rewritten with only the live events (compacted) whenever it is larger than
// kCompactFactor times them and at least kCompactMinBytes, and at each start.
// The pinned files are those of live events' checkpoints (at most about nine,
// 33 at most: pins.h), plus the one being written; the others are removed
// as soon as a new one is written, at compaction and at start.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "data_dir.h"
#include "expected.h"
#include "fd.h"
#include "persist_error.h"
#include "pin_file.h"
#include "pin_journal.h"
#include "snapshot.h"

namespace leanpoint {

class PinStore {
 public:
  static constexpr size_t kQueueMax = 16384;
  static constexpr uint64_t kCompactMinBytes = 1 << 20;
  static constexpr uint64_t kCompactFactor = 4;

  // Restores (restored()), then starts the writer. `max_state_bytes` and
  // `genesis_time` bound and check the pinned anchors as restore() does the
  // stored one; `stored`, the anchor the DataDir restored, stands in for a
  // pinned file of its checkpoint (one copy of its bytes in memory).
  PinStore(DataDir& dir, uint64_t max_state_bytes, std::optional<uint64_t> genesis_time,
           std::shared_ptr<const VerifiedAnchor> stored, int64_t now_ms);
  ~PinStore();  // stop()
  PinStore(const PinStore&) = delete;
  PinStore& operator=(const PinStore&) = delete;

  // The live events the last process left, each with its anchor read back
  // and verified again: the `restored` argument of Pins. Once.
  std::vector<PinEvent> take_restored() { return std::move(restored_); }

  // The hook for Pins: queues `event`, or drops and counts it. Never blocks
  // on the disk.
  void record(PinEvent event);
  PinJournal journal() {
    return [this](PinEvent e) { record(std::move(e)); };
  }

  // Writes what is queued, then stops; events after it are not written.
  void stop();

  // Adds the counters to the data directory's (snapshot.h).
  void add_to(DataDirStatus& status) const;

 private:
  void restore(uint64_t max_state_bytes, std::optional<uint64_t> genesis_time,
               const std::shared_ptr<const VerifiedAnchor>& stored, int64_t now_ms);
  void run();
  void write_batch(std::vector<PinEvent>& batch);                         // writer thread
  void keep_anchor(const std::shared_ptr<const VerifiedAnchor>& anchor);  // writer thread
  Expected<void, PersistError> rewrite(int64_t now_ms);                   // compaction
  Expected<void, PersistError> append(const std::string& records);

  DataDir& dir_;
  std::vector<PinEvent> restored_;

  // The writer thread's own.
  PinLiveSet live_;
  UniqueFd journal_;                                         // O_APPEND; invalid: rewritten whole at the next batch
  uint64_t journal_bytes_ = 0;                               // its size
  std::map<std::pair<uint64_t, lean::Root>, bool> on_disk_;  // pinned files: with a block?
  std::string last_error_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<PinEvent> queue_;
  bool stopping_ = false;
  uint64_t records_total_ = 0;
  uint64_t dropped_total_ = 0;
  std::thread thread_;
};

}  // namespace leanpoint
