#include "access_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <ctime>
#include <system_error>

#include "deadline.h"
#include "json_text.h"
#include "log.h"
#include "untrusted_text.h"

namespace leanpoint {
namespace {

// A refused head's method may be any bytes: a longer one is cut ("...").
constexpr size_t kMaxMethodText = 32;

// "2026-06-01T12:34:56.789Z"
std::string rfc3339_ms(int64_t unix_ms) {
  const time_t seconds = static_cast<time_t>(unix_ms / 1000);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  char ms[8];
  std::snprintf(ms, sizeof ms, ".%03dZ", static_cast<int>(unix_ms % 1000));
  return std::string(text, n) + ms;
}

Expected<UniqueFd, SysError> open_for_append(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) return Unexpected(last_sys_error("--access-log " + path));
  return fd;
}

// Writes all of `text`; false (errno set) on a failure.
bool write_all(int fd, const std::string& text) {
  for (size_t at = 0; at < text.size();) {
    const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    at += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

// Written out by hand, each string through json_text (escaped, invalid
// UTF-8 replaced): the writer formats every line, and a document object per
// line cost it twice as much.
std::string access_line(const AccessRecord& r) {
  std::string line;
  line.reserve(200 + r.path.size() + r.root.size());
  auto string = [&line](const char* key, const std::string& value) { line.append(key).append(json_text(value)); };
  auto number = [&line](const char* key, auto value) { line.append(key).append(std::to_string(value)); };
  line.append("{\"ts\":\"").append(rfc3339_ms(r.ts_ms)).append("\"");
  string(",\"client\":", r.client);
  string(",\"method\":", r.method);
  string(",\"path\":", r.path);
  string(",\"route\":", r.route);
  number(",\"status\":", r.status);
  number(",\"bytes\":", r.bytes);
  number(",\"ms\":", r.ms);
  if (r.slot) {
    number(",\"slot\":", *r.slot);
    string(",\"root\":", r.root);
    line.append(",\"pinned\":").append(r.pinned ? "true" : "false");
  }
  line.push_back('}');
  return line;
}

AccessRecord gate_answer_record(const GateAnswer& answer) {
  AccessRecord r;
  r.ts_ms = unix_ms();
  r.client = std::string(answer.ip);
  r.method = untrusted_text(answer.method, kMaxMethodText);
  r.path = untrusted_text(answer.target);  // as for every line: escaped, capped at 256 bytes
  r.route = std::string(kGateRoute);
  r.status = answer.status;
  r.bytes = answer.body_bytes;
  r.ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - answer.began).count();
  return r;
}

void AccessLog::Entry::ended(const ResponseEnd& end) {
  record_.route = std::string(end.route);
  if (end.status) record_.status = end.status;  // else the handler's: nothing was written
  record_.bytes = end.body_bytes;
  record_.ms = std::chrono::duration_cast<std::chrono::milliseconds>(end.ended - end.received).count();
  record_.ts_ms = unix_ms();
  log_->add(std::move(record_));
}

Expected<std::shared_ptr<AccessLog>, SysError> AccessLog::open(const std::string& path, size_t queue) {
  UniqueFd file;
  if (path != "-") {
    auto opened = open_for_append(path);
    if (!opened) return Unexpected(opened.error());
    file = std::move(*opened);
  }
  std::shared_ptr<AccessLog> log(new AccessLog(path, std::move(file), queue));
  try {
    log->thread_ = std::thread([raw = log.get()] { raw->run(); });
  } catch (const std::system_error& e) {
    return Unexpected(SysError{e.code().value(), "access log writer thread"});
  }
  return log;
}

AccessLog::AccessLog(std::string path, UniqueFd file, size_t queue)
    : path_(std::move(path)), capacity_(queue), file_(std::move(file)) {
  queue_.reserve(capacity_);
}

AccessLog::~AccessLog() { stop(); }

void AccessLog::add(AccessRecord record) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_ && queue_.size() < capacity_) {
      queue_.push_back(std::move(record));
      if (queue_.size() > 1) return;  // the writer was woken for the first
    } else {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
  }
  wake_.notify_one();
}

void AccessLog::reopen() {
  {
    std::lock_guard lock(mutex_);
    reopen_ = true;
  }
  wake_.notify_one();
}

void AccessLog::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

AccessLogStatus AccessLog::status() const {
  AccessLogStatus s;
  s.path = path_;
  s.counters.lines_total = lines_.load(std::memory_order_relaxed);
  s.counters.dropped_total = dropped_.load(std::memory_order_relaxed);
  s.counters.write_errors_total = write_errors_.load(std::memory_order_relaxed);
  return s;
}

// The writer: the whole queue at a time, formatted and written outside the
// lock, so that add() waits only for a swap.
void AccessLog::run() {
  std::vector<AccessRecord> batch;
  batch.reserve(capacity_);
  for (;;) {
    bool reopen = false;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || reopen_ || !queue_.empty(); });
      batch.swap(queue_);
      reopen = std::exchange(reopen_, false);
      stopping = stopping_;
    }
    if (reopen) reopen_file();
    write_batch(batch);
    batch.clear();
    if (stopping) return;  // add() queues nothing once stopping: the queue was all taken
  }
}

void AccessLog::write_batch(const std::vector<AccessRecord>& batch) {
  if (batch.empty()) return;
  std::string text;
  for (const AccessRecord& r : batch) text.append(access_line(r)).push_back('\n');
  if (write_all(fd(), text)) {
    lines_.fetch_add(batch.size(), std::memory_order_relaxed);
    if (std::exchange(failing_, false)) log(LogLevel::info, "access log ", path_, ": writes succeed again");
    return;
  }
  const SysError error = last_sys_error("access log " + path_);
  write_errors_.fetch_add(1, std::memory_order_relaxed);
  if (!std::exchange(failing_, true)) log(LogLevel::error, error.text(), "; its lines are lost until writes succeed");
}

// After a rotation: the path names a new file (or none, and it is created).
// Should it not open, the old file is kept and the error counted.
void AccessLog::reopen_file() {
  if (!file_.valid()) return;  // stdout
  auto opened = open_for_append(path_);
  if (!opened) {
    write_errors_.fetch_add(1, std::memory_order_relaxed);
    log(LogLevel::error, "SIGUSR1: cannot reopen the access log, still writing the old file: ", opened.error().text());
    return;
  }
  file_ = std::move(*opened);
  log(LogLevel::info, "SIGUSR1: access log ", path_, " reopened");
}

}  // namespace leanpoint
