// The httplib::Stream a worker hands to cpp-httplib's process_request: reads
// come from the head the gate already received (never from a slow client),
// writes go to the nonblocking socket under the stall rule.
//
// The stall rule (from the artifact-server incident): a transfer is aborted
// when the client accepts zero bytes for the stall window. Any progress
// restarts the window, so a slow client that keeps reading is never cut off,
// whatever its rate.
//
// Bytes do not hold workers (from the 503s syncing nodes got): a write sends
// what the socket takes now (of a shared body, nothing) and queues the rest
// on the connection, by
// reference when it is part of the shared body the handler named
// (RequestContext::body_owner), else as a copy of at most kMaxCopiedOutput.
// The worker then returns, and the gate sends the queue under the same stall
// rule. Only output too large to copy (a static file read into buffers)
// still waits here for room.
#pragma once

#include <httplib.h>

#include <chrono>
#include <string>

#include "connection.h"

namespace leanpoint {

class ConnStream : public httplib::Stream {
 public:
  ConnStream(Connection& conn, std::chrono::milliseconds stall, int stop_fd);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return conn_.fd(); }

  // Drops the bytes read so far from the connection's input (the request
  // just answered); what remains is the next, pipelined request.
  void consume();

  // True once a write failed: stalled, reset, or stopping.
  bool broken() const { return broken_; }

 private:
  // Waits for room in the socket under the stall rule; false (and broken)
  // when the client accepted no bytes for a whole window, or on stop.
  bool await_room() const;
  // Sends what the socket takes without waiting; broken on an error.
  size_t send_now(const char* ptr, size_t size);
  // Whether the bytes lie in the shared body the handler named.
  bool is_shared(const char* ptr, size_t size) const;
  // Queues bytes on the connection; false if they would be a copy over the cap.
  bool queue(const char* ptr, size_t size);
  // Sends the queue, waiting for room under the stall rule.
  bool flush_blocking();

  Connection& conn_;
  std::chrono::milliseconds stall_;
  int stop_fd_;
  size_t read_pos_ = 0;
  mutable bool broken_ = false;
};

}  // namespace leanpoint
