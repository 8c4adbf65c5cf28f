// --access-log: one JSON object per line per response, written by a thread
// of its own.
//
// A response's record is begun by the site, which knows what was answered
// (the client after --trusted-proxies, the route, the anchor and whether a
// pin chose it), and completed by the transport, which alone knows when the
// last byte left and how many did (ResponseWatch, connection.h). That
// happens on a worker or on the gate thread, neither of which may ever wait
// for a disk: the record is queued under a short lock, with no I/O, up to
// kQueueRecords; past that it is dropped and counted (dropped_total). The
// writer thread takes the whole queue at once, formats it, and writes it
// with one write(). reopen() (SIGUSR1, the service) makes it open the file
// again before its next write, for log rotation.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connection.h"
#include "expected.h"
#include "fd.h"
#include "gate.h"
#include "sys_error.h"

namespace leanpoint {

// One response, as its line says it.
struct AccessRecord {
  int64_t ts_ms = 0;   // unix ms when it ended
  std::string client;  // the address after --trusted-proxies (client_address.h)
  std::string method;  // GET or HEAD, but for a gate answer (gate_answer_record): as sent, sanitized
  std::string path;    // the request target as sent, sanitized and capped (untrusted_text.h)
  std::string route;   // the route's label; kGateRoute for a gate answer
  int status = 0;      // as sent
  uint64_t bytes = 0;  // body bytes handed to the socket
  int64_t ms = 0;      // from the complete request head to the last byte (or the connection's end)
  // An artifact route that had an anchor: the anchor served.
  std::optional<uint64_t> slot;
  std::string root;
  bool pinned = false;  // the client's earlier pin chose it (pins.h)
};

// The route of a response the gate sent itself (a refused head, a shed 503):
// no route ran.
inline constexpr std::string_view kGateRoute = "-";

// The record of a response the gate sent itself, ending now: the client is
// the peer address (no header was read, or trusted), the method and path are
// the raw bytes as far as read, sanitized and capped (untrusted_text.h), the
// route kGateRoute; bytes are the reply body's, ms from the head's first
// byte (or the accept) to the reply.
AccessRecord gate_answer_record(const GateAnswer& answer);

// The line of `r`, without its newline: a JSON object with ts (RFC 3339,
// UTC, ms), client, method, path, route, status, bytes, ms, and slot, root
// and pinned when `r.slot` is set. Valid JSON whatever the path holds.
std::string access_line(const AccessRecord& r);

// The access log's counters: the one list /status ("access_log") and
// /metrics both render. A metric is "leanpoint_access_log_" + its name.
struct AccessLogCounters {
  uint64_t lines_total = 0;         // lines written
  uint64_t dropped_total = 0;       // records dropped: the queue was full
  uint64_t write_errors_total = 0;  // failed writes and reopens (their lines are lost)
};

struct AccessLogCounter {
  uint64_t AccessLogCounters::*field;
  std::string_view status_field;
  std::string_view metric;
  std::string_view help;
};

inline constexpr AccessLogCounter kAccessLogCounters[] = {
    {&AccessLogCounters::lines_total, "lines_total", "leanpoint_access_log_lines_total",
     "Access log lines written (--access-log)."},
    {&AccessLogCounters::dropped_total, "dropped_total", "leanpoint_access_log_dropped_total",
     "Access log lines dropped because the writer's queue was full: no worker ever waits for the log."},
    {&AccessLogCounters::write_errors_total, "write_errors_total", "leanpoint_access_log_write_errors_total",
     "Access log writes or reopens that failed; the lines of a failed write are lost."},
};

struct AccessLogStatus {
  std::string path;  // as given; "-": stdout
  AccessLogCounters counters;
};

class AccessLog : public std::enable_shared_from_this<AccessLog> {
 public:
  // Records waiting for the writer at most: about 300 bytes each.
  static constexpr size_t kQueueRecords = 8192;

  // Opens `path` for appending (created 0640 if missing; "-": stdout) and
  // starts the writer thread. Fails naming the path, or the thread.
  static Expected<std::shared_ptr<AccessLog>, SysError> open(const std::string& path, size_t queue = kQueueRecords);
  ~AccessLog();  // stop()
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // A watch to attach to a response (RequestContext::watch): when the
  // response ends it completes `begun` and queues it. `record()` is the
  // record, for the handler to add to until then.
  class Entry : public ResponseWatch {
   public:
    Entry(std::shared_ptr<AccessLog> log, AccessRecord begun) : log_(std::move(log)), record_(std::move(begun)) {}
    AccessRecord& record() { return record_; }
    void ended(const ResponseEnd& end) override;

   private:
    std::shared_ptr<AccessLog> log_;
    AccessRecord record_;
  };
  std::shared_ptr<Entry> begin(AccessRecord begun) {
    return std::make_shared<Entry>(shared_from_this(), std::move(begun));
  }

  // Queues gate_answer_record(answer) (HttpServer::on_gate_answer).
  void add_gate_answer(const GateAnswer& answer) { add(gate_answer_record(answer)); }
  // Queues a record; never waits for I/O. Dropped (and counted) when the
  // queue is full or the writer has stopped.
  void add(AccessRecord record);
  // Asks the writer to open the file again (after a rotation renamed it).
  void reopen();
  // Writes what is queued, then joins the writer.
  void stop();

  AccessLogStatus status() const;

 private:
  AccessLog(std::string path, UniqueFd file, size_t queue);
  void run();
  void write_batch(const std::vector<AccessRecord>& batch);
  void reopen_file();
  int fd() const { return file_.valid() ? file_.get() : 1; }  // stdout for "-"

  const std::string path_;
  const size_t capacity_;
  UniqueFd file_;  // empty for stdout
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<AccessRecord> queue_;
  bool reopen_ = false;
  bool stopping_ = false;
  bool failing_ = false;  // the last write failed: logged once per run of failures
  std::atomic<uint64_t> lines_{0}, dropped_{0}, write_errors_{0};
  std::thread thread_;
};

}  // namespace leanpoint
