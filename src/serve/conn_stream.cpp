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

size_t head_end(const std::string& input) {
  const size_t at = input.find("\r\n\r\n");
  return at == std::string::npos ? 0 : at + 4;
}

ConnStream::ConnStream(Connection& conn, std::chrono::milliseconds stall, int stop_fd)
    : conn_(conn), stall_(stall), stop_fd_(stop_fd) {}

bool ConnStream::is_readable() const { return read_pos_ < conn_.input.size(); }

bool ConnStream::is_writable() const { return await_room(); }

bool ConnStream::await_room() const {
  if (broken_) return false;
  // Progress is the queue of unacknowledged bytes shrinking: POLLOUT only
  // comes once much of the send queue has drained, which a slow reader can
  // take longer than a window to do. The queue is sampled four times a window,
  // so the cut comes between one window and 1.25 windows after the last
  // progress, never sooner.
  using Clock = std::chrono::steady_clock;
  const auto sample = std::max(stall_ / 4, std::chrono::milliseconds(10));
  int queued = unacked(conn_.fd());
  auto moved = Clock::now();
  for (;;) {
    pollfd fds[2] = {{conn_.fd(), POLLOUT, 0}, {stop_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(sample.count()));
    if (ready > 0 && !fds[1].revents) return true;  // room (or an error send will report)
    if (ready != 0) break;                          // stopping
    const int now = unacked(conn_.fd());
    if (now >= 0 && now < queued) {
      queued = now;  // slow, but moving: never cut off
      moved = Clock::now();
      continue;
    }
    if (Clock::now() - moved < stall_) continue;
    conn_.stats.add(Counter::stalled);
    conn_.reset_on_close = true;
    log(LogLevel::warn, "client ", conn_.peer, " accepted no bytes for ", stall_.count(), " ms; transfer aborted");
    break;
  }
  broken_ = true;
  return false;
}

ssize_t ConnStream::read(char* ptr, size_t size) {
  // Requests carry no body (the gate refuses them), so everything cpp-httplib
  // reads is the head the gate has already received.
  const size_t n = std::min(size, conn_.input.size() - read_pos_);
  std::memcpy(ptr, conn_.input.data() + read_pos_, n);
  read_pos_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnStream::write(const char* ptr, size_t size) {
  if (broken_) return -1;
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(conn_.fd(), ptr + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      conn_.stats.add(Counter::bytes_served, static_cast<uint64_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && await_room()) continue;
    break;  // stalled, stopping, reset, or the client went away
  }
  if (done < size) {
    broken_ = true;
    return -1;
  }
  return static_cast<ssize_t>(size);
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
