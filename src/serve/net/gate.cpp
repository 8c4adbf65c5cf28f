#include "gate.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
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

// Bytes one connection may send per turn of the gate's loop, and all of them
// together: the gate also reads every request head, probes included, so no
// turn may spend long copying bodies into sockets (4 MiB is about 1 ms; the
// slowhttptest -X probes stay under 10 ms, 70 ms under ASan).
constexpr size_t kSendSlice = 256 * 1024;
constexpr size_t kTurnBudget = 4 * 1024 * 1024;

std::string too_many_connections() { return canned_response(503, "too many connections\n", "Retry-After: 1\r\n"); }

namespace {

// RFC 9110 §5.6.2: the characters of a method or a header name.
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// NUL, CR, LF and the other control characters (a tab only where `tab_ok`).
bool has_control(std::string_view s, bool tab_ok) {
  return std::any_of(s.begin(), s.end(), [tab_ok](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(tab_ok && c == '\t')) || u == 0x7f;
  });
}

bool is_absolute_form(std::string_view target) {
  return starts_with_nocase(target, "http://") || starts_with_nocase(target, "https://");
}

}  // namespace

std::optional<std::string> screen_head(std::string_view head) {
  // The request line: method SP target SP version, one space each, no
  // control characters; the target in origin-form or absolute-form.
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos || has_control(line, false))
    return canned_response(400, "bad request line\n");
  const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                         version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty() || (target[0] != '/' && !is_absolute_form(target)))
    return canned_response(400, "bad request line\n");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return canned_response(505, "HTTP/1.x only\n");
  if (method_bit(method) == 0) return canned_response(405, "GET and HEAD only\n", "Allow: GET, HEAD\r\n");
  // Header lines: a name that is a token right up to the colon (no space
  // before it, RFC 9112 §5.1; no folded lines), a value without control
  // characters. Anything looser is where two parsers disagree about where a
  // request ends: refused, and the connection closed, never read on.
  // A body (any Content-Length but 0, any Transfer-Encoding) is refused too.
  for (const HeaderLine& h : HeaderLines(head)) {
    if (!h.has_colon || !is_token(h.name) || has_control(h.value, true))
      return canned_response(400, "malformed header line\n");
    if (iequals(h.name, "transfer-encoding") || (iequals(h.name, "content-length") && h.value != "0"))
      return canned_response(413, "request bodies are not accepted\n");
  }
  return std::nullopt;
}

std::optional<std::string> admit_head(std::string& input, size_t head_size) {
  if (auto refusal = screen_head(std::string_view(input).substr(0, head_size))) return refusal;
  // Absolute-form (a proxy's "GET http://host/path HTTP/1.1"): the target
  // becomes its path and query, in place, before anything routes on it.
  const size_t at = input.find(' ') + 1;
  const std::string_view target = request_target(input);
  if (is_absolute_form(target)) {
    const size_t scheme = target.find("//") + 2;
    const size_t path = target.find_first_of("/?", scheme);
    const std::string origin = path == std::string_view::npos ? std::string("/")
                               : target[path] == '?'          ? "/" + std::string(target.substr(path))
                                                              : std::string(target.substr(path));
    input.replace(at, target.size(), origin);
  }
  return std::nullopt;
}

std::shared_ptr<void> PeerCounts::admit(const std::string& ip, size_t cap) {
  {
    std::lock_guard lock(mutex_);
    size_t& n = open_[ip];
    if (n >= cap) return nullptr;
    ++n;
  }
  // The token keeps the table alive: connections can outlive the gate.
  return std::shared_ptr<void>(this, [self = shared_from_this(), ip](void*) {
    std::lock_guard lock(self->mutex_);
    if (auto it = self->open_.find(ip); it != self->open_.end() && --it->second == 0) self->open_.erase(it);
  });
}

size_t PeerCounts::count(const std::string& ip) const {
  std::lock_guard lock(mutex_);
  const auto it = open_.find(ip);
  return it == open_.end() ? 0 : it->second;
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
  sending_.clear();
  stats_.connections_sending = 0;
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
  const SocketAddress peer = peer_address(fd.get());
  auto conn = std::make_shared<Connection>(std::move(fd), peer.text(), stats_);
  conn->ip = peer.ip;
  const size_t open = static_cast<size_t>(stats_.connections_open.load());
  if (stopping_ || open > options_.max_connections + kProbeReserve) {
    stats_.add(Counter::shed);
    reply_and_close(conn, too_many_connections());
    return;
  }
  if (options_.max_per_client > 0 && !any_contains(options_.trusted_proxies, conn->ip)) {
    conn->peer_slot = peers_->admit(conn->ip, options_.max_per_client);
    if (!conn->peer_slot) {
      stats_.add(Counter::shed);
      reply_and_close(conn, canned_response(503, "too many connections from " + conn->ip + "\n", "Retry-After: 1\r\n"));
      return;
    }
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
    if (conn->out.empty()) {
      wait_for_head(std::move(conn));
      continue;
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;  // not EPOLLRDHUP: a client may shut its side and still read
    ev.data.fd = conn->fd();
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn->fd(), &ev) != 0) continue;  // dropped: closed
    const int fd = conn->fd();
    conn->stall.start(fd, Clock::now());
    sending_[fd] = std::move(conn);
    ++stats_.connections_sending;
    on_writable(sending_[fd]);
  }
}

void Gate::wait_for_head(std::shared_ptr<Connection> conn) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = conn->fd();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn->fd(), &ev) != 0) return;  // dropped: closed
  const int fd = conn->fd();
  waiting_[fd] = std::move(conn);
  ++stats_.connections_waiting;
  // Bytes may already be here (a pipelined head, or sent before epoll watched).
  on_readable(waiting_[fd]);
}

void Gate::release(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (waiting_.erase(fd)) --stats_.connections_waiting;
}

void Gate::stop_sending(int fd) {
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (sending_.erase(fd)) --stats_.connections_sending;
}

size_t Gate::on_writable(const std::shared_ptr<Connection>& conn_ref) {
  std::shared_ptr<Connection> conn = conn_ref;  // stop_sending() drops the map's reference
  // At most a slice per turn: one fast reader must not keep the others
  // waiting while it drains a whole anchor (epoll reports it again).
  size_t sent = 0;
  if (!conn->send_out(kSendSlice, sent)) {
    stop_sending(conn->fd());  // reset, or the client went away: closed
    return sent;
  }
  if (sent > 0) conn->stall.sent(conn->fd(), Clock::now());
  if (!conn->out.empty()) return sent;
  stop_sending(conn->fd());
  if (conn->close_after_output || stopping_) return sent;  // closed with `conn`
  conn->deadline = Clock::now() + options_.head_timeout;
  wait_for_head(std::move(conn));
  return sent;
}

Clock::time_point Gate::check_stalls() {
  const auto now = Clock::now();
  if (now < next_stall_check_) return next_stall_check_;
  next_stall_check_ = now + StallWatch::sample_period(options_.stall_timeout);
  std::vector<int> stalled;
  for (const auto& [fd, conn] : sending_)
    if (conn->stall.stalled(fd, now, options_.stall_timeout)) stalled.push_back(fd);
  for (const int fd : stalled) {
    abort_stalled(*sending_[fd], options_.stall_timeout);
    stop_sending(fd);  // closed, with a reset
  }
  return next_stall_check_;
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
    if (const auto refusal = admit_head(conn->input, end)) {
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
    const auto next = std::min(expire_heads(), sending_.empty() ? Clock::time_point::max() : check_stalls());
    const int n = ::epoll_wait(epoll_.get(), events, 64, std::max(1, ms_until(next)));
    size_t sent = 0;  // this turn; what is left waits (epoll reports it again)
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_.fd()) {
        if (!stopping_) take_inbox();
        continue;
      }
      if (const auto it = sending_.find(fd); it != sending_.end()) {
        if (sent < kTurnBudget) sent += on_writable(it->second);
      } else if (const auto w = waiting_.find(fd); w != waiting_.end()) {
        on_readable(w->second);
      }
    }
  }
}

}  // namespace leanpoint
