#include "gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "log.h"
#include "route_table.h"
#include "socket_address.h"
#include "text.h"

namespace leanpoint {
namespace {

std::string reason_phrase(int status) {
  switch (status) {
    case 400: return "Bad Request";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

}  // namespace

std::string canned_response(int status, const std::string& body, const std::string& extra_headers) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason_phrase(status) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers +
         "Connection: close\r\n\r\n" + body;
}

std::string too_many_connections() { return canned_response(503, "too many connections\n", "Retry-After: 1\r\n"); }

std::optional<std::string> screen_head(std::string_view head) {
  const size_t eol = head.find("\r\n");
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1 || line.substr(sp1 + 1, sp2 - sp1 - 1).empty())
    return canned_response(400, "bad request line\n");
  const std::string_view method = line.substr(0, sp1), version = line.substr(sp2 + 1);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return canned_response(505, "HTTP/1.x only\n");
  if (method_bit(method) == 0) return canned_response(405, "GET and HEAD only\n", "Allow: GET, HEAD\r\n");
  // Headers: a body (any Content-Length but 0, any Transfer-Encoding) is refused.
  HeaderLines lines(head);
  for (HeaderLine h; lines.next(h);) {
    if (!h.has_colon) continue;
    if (iequals(h.name, "transfer-encoding") || (iequals(h.name, "content-length") && h.value != "0"))
      return canned_response(413, "request bodies are not accepted\n");
  }
  return std::nullopt;
}

Gate::Gate(GateOptions options, ServerStats& stats, Dispatch dispatch)
    : options_(options),
      stats_(stats),
      dispatch_(std::move(dispatch)),
      epoll_(::epoll_create1(EPOLL_CLOEXEC)),
      wake_(EventFd::Mode::nonblocking) {
  if (!epoll_.valid()) throw std::system_error(errno, std::generic_category(), "gate: epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_.fd();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, wake_.fd(), &ev) != 0)
    throw std::system_error(errno, std::generic_category(), "gate: epoll_ctl");
  thread_ = std::thread([this] { loop(); });
}

Gate::~Gate() { stop(); }

void Gate::stop() {
  if (stopping_.exchange(true)) return;
  wake_.notify();
  thread_.join();
  waiting_.clear();
  std::lock_guard lock(inbox_mutex_);
  inbox_.clear();
}

void Gate::reply_and_close(const std::shared_ptr<Connection>& conn, const std::string& response) {
  [[maybe_unused]] ssize_t n = ::send(conn->fd(), response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  // Keep the client's last bytes from turning our close into a reset before
  // it reads the answer: stop sending, let the socket drain on close.
  ::shutdown(conn->fd(), SHUT_WR);
}

void Gate::adopt(int socket) {
  UniqueFd fd(socket);
  ::fcntl(fd.get(), F_SETFL, ::fcntl(fd.get(), F_GETFL) | O_NONBLOCK);
  ::fcntl(fd.get(), F_SETFD, FD_CLOEXEC);
  // cpp-httplib writes a response's head and body separately; with Nagle on,
  // a small body waits for the client's delayed ACK (40 ms per request).
  const int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string peer = peer_address(fd.get()).text();
  auto conn = std::make_shared<Connection>(std::move(fd), std::move(peer), stats_);
  const size_t open = static_cast<size_t>(stats_.connections_open.load());
  if (stopping_ || open > options_.max_connections + kProbeReserve) {
    stats_.add(Counter::shed);
    reply_and_close(conn, too_many_connections());
    return;
  }
  conn->probe_only = open > options_.max_connections;
  conn->deadline = Clock::now() + options_.head_timeout;
  resume(std::move(conn));
}

void Gate::resume(std::shared_ptr<Connection> conn) {
  if (conn->requests > 0) conn->deadline = Clock::now() + options_.head_timeout;
  {
    std::lock_guard lock(inbox_mutex_);
    if (stopping_) return;  // dropped: closed
    inbox_.push_back(std::move(conn));
  }
  wake_.notify();
}

void Gate::take_inbox() {
  wake_.drain();
  std::vector<std::shared_ptr<Connection>> arrived;
  {
    std::lock_guard lock(inbox_mutex_);
    arrived.swap(inbox_);
  }
  for (auto& conn : arrived) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = conn->fd();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn->fd(), &ev) != 0) continue;  // dropped: closed
    const int fd = conn->fd();
    waiting_[fd] = std::move(conn);
    ++stats_.connections_waiting;
    // Bytes may already be here (a pipelined head, or sent before epoll watched).
    on_readable(waiting_[fd]);
  }
}

void Gate::release(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (waiting_.erase(fd)) --stats_.connections_waiting;
}

void Gate::on_readable(const std::shared_ptr<Connection>& conn_ref) {
  std::shared_ptr<Connection> conn = conn_ref;  // release() may drop the map's reference
  char buf[8192];
  bool eof = false;
  while (conn->input.size() <= kMaxRequestHead && !head_end(conn->input)) {
    const ssize_t n = ::recv(conn->fd(), buf, sizeof buf, 0);
    if (n > 0) {
      conn->input.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      eof = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      break;
    }
  }
  const size_t end = head_end(conn->input);
  if (end > 0 && end <= kMaxRequestHead) {
    release(conn->fd());
    if (const auto refusal = screen_head(std::string_view(conn->input).substr(0, end))) {
      reply_and_close(conn, *refusal);
      return;
    }
    dispatch_(std::move(conn));
    return;
  }
  if (conn->input.size() > kMaxRequestHead || end > kMaxRequestHead) {
    stats_.add(Counter::heads_too_large);
    release(conn->fd());
    reply_and_close(conn, canned_response(431, "request head over " + describe_size(kMaxRequestHead) + "\n"));
    return;
  }
  if (eof) release(conn->fd());  // the client left
}

Clock::time_point Gate::expire_heads() {
  const auto now = Clock::now();
  auto next = now + std::chrono::seconds(1);
  std::vector<int> overdue;
  for (const auto& [fd, conn] : waiting_) {
    if (conn->deadline <= now)
      overdue.push_back(fd);
    else
      next = std::min(next, conn->deadline);
  }
  for (int fd : overdue) {
    auto conn = waiting_[fd];
    release(fd);
    // An idle keep-alive connection just ends; a head cut short learns why.
    if (!conn->input.empty() || conn->requests == 0) {
      stats_.add(Counter::head_timeouts);
      reply_and_close(conn, canned_response(408, "request head not complete in time\n"));
    }
  }
  return next;
}

void Gate::loop() {
  epoll_event events[64];
  while (!stopping_) {
    const auto next = expire_heads();
    const int n = ::epoll_wait(epoll_.get(), events, 64, std::max(1, ms_until(next)));
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wake_.fd()) {
        if (!stopping_) take_inbox();
        continue;
      }
      const auto it = waiting_.find(events[i].data.fd);
      if (it != waiting_.end()) on_readable(it->second);
    }
  }
}

}  // namespace leanpoint
