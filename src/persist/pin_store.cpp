#include "pin_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "deadline.h"
#include "log.h"
#include "persist_io.h"

namespace leanpoint {
namespace {

constexpr std::string_view kJournal = "pins.journal";
constexpr std::string_view kJournalTemp = "pins.journal.tmp";

// Logs `result`'s error when it is not the last one logged.
void note(const Expected<void, PersistError>& result, std::string& last, const char* what) {
  if (result || last == result.error().text()) return;
  last = result.error().text();
  log(LogLevel::error, "--data-dir: cannot ", what, ": ", last, "; pins may not be restored");
}

}  // namespace

PinStore::PinStore(DataDir& dir, uint64_t max_state_bytes, std::optional<uint64_t> genesis_time,
                   std::shared_ptr<const VerifiedAnchor> stored, int64_t now_ms)
    : dir_(dir) {
  restore(max_state_bytes, genesis_time, stored, now_ms);
  thread_ = std::thread([this] { run(); });
}

PinStore::~PinStore() { stop(); }

// One pass from the file to the table: read, fold, the anchors, then the files rewritten.
void PinStore::restore(uint64_t max_state_bytes, std::optional<uint64_t> genesis_time,
                       const std::shared_ptr<const VerifiedAnchor>& stored, int64_t now_ms) {
  PinLiveSet read;
  const std::string path = dir_.file(kJournal);
  struct stat st {};
  const bool none = ::lstat(path.c_str(), &st) != 0 && errno == ENOENT;  // a first start: nothing to say
  if (auto bytes = read_whole_file(path, kPinJournalMaxBytes, "a pin journal may hold"); bytes) {
    const auto parsed =
        parse_pin_journal(std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
    if (!parsed) {
      log(LogLevel::warn, "--data-dir: ", path, " is not read: ", parsed.error().text(), "; no pins restored");
    } else {
      for (const PinEvent& e : parsed->events) read.apply(e);
      if (parsed->ignored_bytes > 0)
        log(LogLevel::info, "--data-dir: the last ", parsed->ignored_bytes, " bytes of ", path,
            " do not check (a record a kill cut short); ignored");
    }
  } else if (!none) {
    log(LogLevel::warn, "--data-dir: ", bytes.error().text(), "; no pins restored");
  }
  read.prune(now_ms);

  // Each checkpoint the live events name, read back and verified again.
  std::map<std::pair<uint64_t, lean::Root>, std::shared_ptr<const VerifiedAnchor>> anchors;
  for (const auto& key : read.checkpoints()) {
    const lean::Checkpoint c{key.second, key.first};
    auto loaded = dir_.load_pinned(c, max_state_bytes, genesis_time);
    if (loaded) {
      on_disk_[key] = loaded->anchor->block != nullptr;
      // One copy in memory: the stored anchor's, when it is the same one.
      anchors[key] = stored && stored->checkpoint == c && (stored->block || !loaded->anchor->block)
                         ? stored
                         : std::shared_ptr<const VerifiedAnchor>(loaded->anchor);
    } else if (stored && stored->checkpoint == c) {
      anchors[key] = stored;  // its pinned file never made it; the stored anchor has its bytes
    } else {
      log(LogLevel::warn, "--data-dir: the pins of slot ", c.slot, " are not restored: ", loaded.error().text());
    }
  }
  size_t pins = 0;
  for (PinEvent& e : read.events()) {
    const auto it = anchors.find({e.checkpoint.slot, e.checkpoint.root});
    if (it == anchors.end()) continue;
    e.anchor = it->second;
    live_.apply(e);
    pins += e.kind == PinEventKind::pin;
    restored_.push_back(std::move(e));
  }
  for (const auto& [key, anchor] : anchors)
    if (!on_disk_.count(key)) keep_anchor(anchor);
  if (auto rewritten = rewrite(now_ms); !rewritten)
    log(LogLevel::error, "--data-dir: cannot rewrite ", path, ": ", rewritten.error().text());
  dir_.remove_pinned_except(live_.checkpoints());
  if (!restored_.empty())
    log(LogLevel::info, "--data-dir: restored ", pins, " pin(s)", live_.has_current() ? " and the current anchor" : "",
        " (", anchors.size(), " anchor(s), verified again) from ", kJournal);
}

void PinStore::record(PinEvent event) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;  // nothing is served after the stop
  if (queue_.size() >= kQueueMax) {
    ++dropped_total_;
    return;
  }
  queue_.push_back(std::move(event));
  if (queue_.size() == 1) wake_.notify_one();
}

void PinStore::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void PinStore::add_to(DataDirStatus& status) const {
  std::lock_guard lock(mutex_);
  status.pin_records_total = records_total_;
  status.pin_records_dropped_total = dropped_total_;
}

void PinStore::run() {
  std::unique_lock lock(mutex_);
  std::vector<PinEvent> batch;
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and all written
    batch.swap(queue_);
    lock.unlock();
    write_batch(batch);
    batch.clear();
    lock.lock();
  }
}

void PinStore::write_batch(std::vector<PinEvent>& batch) {
  // The anchors first: a record on disk whose anchor is not cannot be restored.
  const size_t files = on_disk_.size();
  for (const PinEvent& e : batch)
    if (e.anchor) keep_anchor(e.anchor);
  std::string records;
  for (PinEvent& e : batch) {
    records += encode_pin_record(e);
    live_.apply(std::move(e));
  }
  const int64_t now = unix_ms();
  // After a failed write the journal is rewritten whole: a part of a record
  // may be on disk, and nothing after it would be read.
  const bool whole = !journal_.valid();
  const auto written = whole ? rewrite(now) : append(records);
  note(written, last_error_, whole ? "rewrite pins.journal" : "append to pins.journal");
  {
    std::lock_guard lock(mutex_);
    (written ? records_total_ : dropped_total_) += batch.size();
  }
  const uint64_t live_bytes = (live_.pins() + 1) * kPinRecordMax;
  if (journal_.valid() && journal_bytes_ > std::max(kCompactMinBytes, kCompactFactor * live_bytes)) {
    note(rewrite(now), last_error_, "rewrite pins.journal");
  } else if (on_disk_.size() > files) {
    live_.prune(now);  // a new anchor on disk: those no live pin names go
  } else {
    return;
  }
  const auto keep = live_.checkpoints();
  std::erase_if(on_disk_, [&keep](const auto& entry) { return !keep.count(entry.first); });
  dir_.remove_pinned_except(keep);
}

void PinStore::keep_anchor(const std::shared_ptr<const VerifiedAnchor>& anchor) {
  const std::pair key{anchor->checkpoint.slot, anchor->checkpoint.root};
  const auto it = on_disk_.find(key);
  if (it != on_disk_.end() && (it->second || !anchor->block)) return;  // there, with its block if it has one
  const auto written = dir_.write_pinned(*anchor);
  if (written) {
    on_disk_[key] = anchor->block != nullptr;
    return;
  }
  if (last_error_ != written.error().text()) {
    last_error_ = written.error().text();
    log(LogLevel::error, "--data-dir: cannot store the anchor of slot ", key.first, " for its pins: ", last_error_);
  }
}

Expected<void, PersistError> PinStore::append(const std::string& records) {
  const auto written = write_all(journal_.get(), records.data(), records.size(), dir_.file(kJournal));
  if (!written) {
    journal_.reset();  // rewritten whole at the next batch
    return written;
  }
  journal_bytes_ += records.size();
  return {};
}

// The live events as a new journal: pins.journal.tmp (O_EXCL), then a rename
// over pins.journal, which is then appended to.
Expected<void, PersistError> PinStore::rewrite(int64_t now_ms) {
  live_.prune(now_ms);
  std::string bytes(kPinJournalMagic);
  for (const PinEvent& e : live_.events()) bytes += encode_pin_record(e);
  const std::string tmp = dir_.file(kJournalTemp), path = dir_.file(kJournal);
  journal_.reset();
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) return Unexpected(last_io_error("remove " + tmp));
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd.valid()) return Unexpected(last_io_error("create " + tmp));
  auto written = write_all(fd.get(), bytes.data(), bytes.size(), tmp);
  if (written && ::rename(tmp.c_str(), path.c_str()) != 0) written = Unexpected(last_io_error("rename " + tmp));
  if (!written) {
    (void)::unlink(tmp.c_str());  // never read; the next rewrite replaces it
    return written;
  }
  journal_ = std::move(fd);  // the renamed file, still open: appended to from here
  journal_bytes_ = bytes.size();
  return {};
}

}  // namespace leanpoint
