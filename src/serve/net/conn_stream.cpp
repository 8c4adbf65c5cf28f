#include "conn_stream.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "log.h"
#include "socket_address.h"

namespace leanpoint {
namespace {

// Bytes sent but not yet acknowledged by the client (SIOCOUTQ), or -1.
int unacked(int fd) {
  int n = 0;
  return ::ioctl(fd, SIOCOUTQ, &n) == 0 ? n : -1;
}

}  // namespace

void StallWatch::start(int fd, Clock::time_point now) {
  moved_ = now;
  unacked_ = unacked(fd);
}

void StallWatch::sent(int fd, Clock::time_point now) { start(fd, now); }

bool StallWatch::stalled(int fd, Clock::time_point now, std::chrono::milliseconds window) {
  const int queued = unacked(fd);
  if (queued >= 0 && queued < unacked_) moved_ = now;  // slow, but moving: never cut off
  unacked_ = queued;
  return now - moved_ >= window;
}

void abort_stalled(Connection& conn, std::chrono::milliseconds window) {
  conn.stats.add(Counter::stalled);
  conn.reset_on_close = true;
  log(LogLevel::warn, "client ", conn.peer, " accepted no bytes for ", window.count(), " ms; transfer aborted");
}

SendResult Connection::send_out(size_t budget) {
  SendResult result;
  size_t& sent = result.bytes;
  while (!out.empty() && sent < budget) {
    OutPiece& piece = out.front();
    const ssize_t n = ::send(fd(), piece.data, std::min(piece.size, budget - sent), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      stats.add(Counter::bytes_served, static_cast<uint64_t>(n));
      count_sent(static_cast<size_t>(n));
      piece.data += n;
      piece.size -= static_cast<size_t>(n);
      if (piece.size > 0) continue;
      if (!piece.owner) out_copied -= piece.copy.size();
      out.pop_front();
      if (out.empty() && watched.sealed) end_response();  // its last byte is out
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      result.broken = !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));  // full: wait; else the client is gone
      break;
    }
  }
  return result;
}

ConnStream::ConnStream(Connection& conn, std::chrono::milliseconds stall, int stop_fd)
    : conn_(conn), stall_(stall), stop_fd_(stop_fd) {}

bool ConnStream::is_readable() const { return read_pos_ < conn_.input.size(); }

// Writes never wait here for room: write() queues or waits itself.
bool ConnStream::is_writable() const { return !broken_; }

bool ConnStream::await_room() const {
  if (broken_) return false;
  // POLLOUT only comes once much of the send queue has drained, which a slow
  // reader can take longer than a window to do: the queue is sampled within
  // the window (StallWatch::sample_period).
  const auto sample = StallWatch::sample_period(stall_);
  StallWatch watch;
  watch.start(conn_.fd(), Clock::now());
  for (;;) {
    pollfd fds[2] = {{conn_.fd(), POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(sample.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready > 0 && !fds[1].revents) return true;  // room (or an error send will report)
    if (ready != 0) break;                          // stopping (or poll failed: the transfer ends)
    if (!watch.stalled(conn_.fd(), Clock::now(), stall_)) continue;
    abort_stalled(conn_, stall_);
    break;
  }
  broken_ = true;
  return false;
}

size_t ConnStream::send_now(const char* ptr, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(conn_.fd(), ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      conn_.stats.add(Counter::bytes_served, static_cast<uint64_t>(n));
      conn_.count_sent(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    broken_ = true;  // reset, or the client went away
    break;
  }
  return done;
}

bool ConnStream::is_shared(const char* ptr, size_t size) const {
  const SharedBytes& owner = conn_.body_owner;
  const auto* begin = owner ? reinterpret_cast<const char*>(owner->data()) : nullptr;
  return owner && ptr >= begin && ptr + size <= begin + owner->size();
}

bool ConnStream::queue(const char* ptr, size_t size) {
  const SharedBytes& owner = conn_.body_owner;
  if (is_shared(ptr, size)) {
    auto& out = conn_.out;
    if (!out.empty() && out.back().owner == owner && out.back().data + out.back().size == ptr)
      out.back().size += size;  // the next part of the same body
    else
      out.push_back(OutPiece{owner, {}, ptr, size});
    return true;
  }
  if (conn_.out_copied + size > kMaxCopiedOutput) return false;
  OutPiece& piece = conn_.out.emplace_back();  // in place: `data` points into its own copy
  piece.copy.assign(ptr, size);
  piece.data = piece.copy.data();
  piece.size = size;
  conn_.out_copied += size;
  return true;
}

bool ConnStream::flush_blocking() {
  while (!conn_.out.empty()) {
    if (conn_.send_out(SIZE_MAX).broken) broken_ = true;
    if (broken_ || (!conn_.out.empty() && !await_room())) return false;
  }
  return true;
}

ssize_t ConnStream::write(const char* ptr, size_t size) {
  if (broken_) return -1;
  if (conn_.watched.watch && !conn_.watched.head_seen) {  // the response head: not body bytes
    conn_.watched.head_seen = true;
    conn_.watched.head = size;
  }
  // Bytes already queued go first; otherwise as much as the socket takes now,
  // but nothing of a shared body: the gate sends all of it, a slice per
  // connection in turn (gate.h), so that a body's first slice waits its turn
  // and counts against the gate's budget like any other, and eight workers
  // streaming eight fast readers do not starve the gate of the CPU.
  const size_t now = is_shared(ptr, size) ? 0 : size;
  const size_t done = conn_.out.empty() ? send_now(ptr, now) : 0;
  if (broken_) return -1;
  if (done == size || queue(ptr + done, size - done)) return static_cast<ssize_t>(size);
  // Too much to copy (a file read into a buffer): wait for room, as before.
  if (!flush_blocking()) return -1;
  for (size_t at = done; at < size;) {
    at += send_now(ptr + at, size - at);
    if (broken_ || (at < size && !await_room())) {
      broken_ = true;
      return -1;
    }
  }
  return static_cast<ssize_t>(size);
}

ssize_t ConnStream::read(char* ptr, size_t size) {
  // Requests carry no body (the gate refuses them), so everything cpp-httplib
  // reads is the head the gate has already received.
  const size_t n = std::min(size, conn_.input.size() - read_pos_);
  std::memcpy(ptr, conn_.input.data() + read_pos_, n);
  read_pos_ += n;
  return static_cast<ssize_t>(n);
}

void ConnStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  const SocketAddress a = peer_address(conn_.fd());
  ip = a.ip;
  port = a.port;
}

void ConnStream::get_local_ip_and_port(std::string& ip, int& port) const {
  const SocketAddress a = local_address(conn_.fd());
  ip = a.ip;
  port = a.port;
}

void ConnStream::consume() {
  conn_.input.erase(0, read_pos_);
  read_pos_ = 0;
}

}  // namespace leanpoint
