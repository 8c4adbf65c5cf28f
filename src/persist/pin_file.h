// DIR/pins.journal: the pair rule's events (pin_journal.h), appended as they
// are made, so that a restarted leanpoint serves each client the second half
// of the pair it began with the old process (ARCHITECTURE.md §6, §8).
//
//   leanpoint-pins 1\n
//   record*    u32 n | n bytes of payload | the first 8 bytes of SHA-256(payload)
//   payload    u8 kind | u64 slot | 32 bytes root | i64 at_ms | i64 expires_ms |
//              u32 states_sent | u32 blocks_sent | u8 c | c bytes of client key
//
// Integers are little-endian; n is exactly 66 + c, c at most
// kMaxPinClientBytes. Nothing in it is trusted: the first record that does
// not check (a torn tail from a kill -9, garbage) ends the read, and what
// follows is ignored. The file is written without fsync: it is to survive a
// kill, not a power loss.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "expected.h"
#include "persist_error.h"
#include "pin_journal.h"

namespace leanpoint {

inline constexpr std::string_view kPinJournalMagic = "leanpoint-pins 1\n";
// A record's payload without its client key, and with the longest one.
inline constexpr size_t kPinPayloadFixed = 66;
inline constexpr size_t kPinRecordMax = 4 + kPinPayloadFixed + kMaxPinClientBytes + 8;
// A journal larger than this is not read at start (65,536 live pins at four
// records each take some 25 MiB; compaction keeps it near the live set).
inline constexpr uint64_t kPinJournalMaxBytes = 64 << 20;

// One event as one record (its anchor is not part of it).
std::string encode_pin_record(const PinEvent& event);

struct PinJournalRead {
  std::vector<PinEvent> events;  // in file order, without anchors
  size_t good_bytes = 0;         // the magic and every record that checked
  size_t ignored_bytes = 0;      // from the first that did not, to the end
};

// The events of a whole file. `foreign` when it does not start with the
// magic; anything after it that does not check is ignored, not an error.
Expected<PinJournalRead, PersistError> parse_pin_journal(std::string_view file);

// Events folded into what they leave alive: the newest event per client,
// the last `current`; `clear` forgets everything before it.
class PinLiveSet {
 public:
  void apply(PinEvent event);
  // Forgets the pins whose expires_ms is not after `now_ms`.
  void prune(int64_t now_ms);
  // The live events, `current` first: what a compacted journal holds.
  std::vector<PinEvent> events() const;
  // The checkpoints they name: the anchors to keep on disk.
  std::set<std::pair<uint64_t, lean::Root>> checkpoints() const;
  size_t pins() const { return pins_.size(); }
  bool has_current() const { return current_.has_value(); }

 private:
  std::optional<PinEvent> current_;
  std::map<std::string, PinEvent> pins_;
};

}  // namespace leanpoint
