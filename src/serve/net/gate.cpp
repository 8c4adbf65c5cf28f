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
#include <tuple>
#include <utility>

#include "log.h"
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
    case 414: return "URI Too Long";
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

// Bytes a connection sends on its turn in the ring, and all of them together
// per turn of the gate's loop: the gate also reads every request head,
// probes included, so no turn may spend long copying bodies into sockets
// (4 MiB is about 1 ms; the slowhttptest -X probes stay under 10 ms, 70 ms
// under ASan). The budget is a whole number of slices, so every turn in the
// ring is a whole slice and every connection with room gets the same share.
constexpr size_t kSendSlice = 256 * 1024;
constexpr size_t kTurnBudget = 16 * kSendSlice;

namespace {

// A client socket as the gate needs it: nonblocking, closed on exec, and
// without Nagle's delay (cpp-httplib writes a response's head and body
// separately; with Nagle on, a small body waits for the client's delayed
// ACK, 40 ms per request).
Expected<void, SysError> prepare_socket(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return Unexpected(last_sys_error("gate: fcntl O_NONBLOCK"));
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return Unexpected(last_sys_error("gate: fcntl FD_CLOEXEC"));
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    return Unexpected(last_sys_error("gate: setsockopt TCP_NODELAY"));
  return {};
}

// The method and the target of the request line at the start of `input`, as
// far as they were read: either may be empty, and a line over its cap is cut.
std::pair<std::string_view, std::string_view> request_line_start(std::string_view input) {
  const std::string_view line = input.substr(0, input.find_first_of("\r\n"));
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return {line, {}};
  const std::string_view rest = line.substr(space + 1);
  return {line.substr(0, space), rest.substr(0, rest.find(' '))};
}

}  // namespace

std::string too_many_connections() { return canned_response(503, "too many connections\n", "Retry-After: 1\r\n"); }

std::string head_refusal(const HeadError& error) {
  const bool method = error.kind == HeadErrorKind::method;
  return canned_response(status_code(error.kind), error.detail + "\n", method ? "Allow: GET, HEAD\r\n" : "");
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

void FailureEpisode::failed(const SysError& error) {
  if (!failing_.exchange(true)) log(LogLevel::error, error.text(), "; logged again only once ", what_, " succeed");
}

void FailureEpisode::succeeded() {
  if (failing_.load(std::memory_order_relaxed) && failing_.exchange(false))
    log(LogLevel::info, what_, " succeed again");
}

Expected<std::unique_ptr<Gate>, SysError> Gate::open(GateOptions options, ServerStats& stats, Dispatch dispatch,
                                                     Answered answered) {
  UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return Unexpected(last_sys_error("gate: epoll_create1"));
  auto wake = EventFd::open(EventFd::Mode::nonblocking);
  if (!wake) return Unexpected(wake.error());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake->fd();
  if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake->fd(), &ev) != 0)
    return Unexpected(last_sys_error("gate: epoll_ctl ADD eventfd"));
  std::unique_ptr<Gate> gate(new Gate(std::move(options), stats, std::move(dispatch), std::move(answered),
                                      std::move(epoll), std::move(*wake)));
  try {
    gate->thread_ = std::thread([g = gate.get()] { g->loop(); });
  } catch (const std::system_error& e) {
    gate->stopping_ = true;  // no thread to join
    return Unexpected(SysError{e.code().value(), "gate: thread"});
  }
  return gate;
}

Gate::Gate(GateOptions options, ServerStats& stats, Dispatch dispatch, Answered answered, UniqueFd epoll, EventFd wake)
    : options_(std::move(options)),
      head_timeout_(options_.head_timeout_ms),
      stall_timeout_(options_.stall_timeout_ms),
      stats_(stats),
      dispatch_(std::move(dispatch)),
      answered_(std::move(answered)),
      epoll_(std::move(epoll)),
      wake_(std::move(wake)) {}

Gate::~Gate() { stop(); }

void Gate::stop() {
  if (stopping_.exchange(true)) return;
  wake_.notify();
  if (thread_.joinable()) thread_.join();
  waiting_.clear();
  head_deadlines_.clear();
  sending_.clear();
  ring_.clear();
  stats_.connections_sending = 0;
  std::lock_guard lock(inbox_mutex_);
  inbox_.clear();
}

void Gate::drain() {
  draining_ = true;
  wake_.notify();
}

void Gate::reply_and_close(const std::shared_ptr<Connection>& conn, const std::string& response, int status,
                           std::optional<HeadErrorKind> refused) {
  // Best effort, both: the client may be gone or not reading, and the
  // connection is dropped either way.
  const ssize_t sent = ::send(conn->fd(), response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  // Keep the client's last bytes from turning our close into a reset before
  // it reads the answer: stop sending, let the socket drain on close.
  (void)::shutdown(conn->fd(), SHUT_WR);
  if (!answered_) return;
  GateAnswer answer;
  answer.ip = conn->ip;
  std::tie(answer.method, answer.target) = request_line_start(conn->input);
  answer.status = status;
  answer.refused = refused;
  const size_t head = response.find("\r\n\r\n") + 4;  // canned_response's head always ends so
  answer.body_bytes = sent > 0 && static_cast<size_t>(sent) > head ? static_cast<size_t>(sent) - head : 0;
  answer.began = conn->head_began;
  answered_(answer);
}

void Gate::refuse(const std::shared_ptr<Connection>& conn, const HeadError& error) {
  if (error.kind == HeadErrorKind::too_large) stats_.add(Counter::heads_too_large);
  if (error.kind == HeadErrorKind::timeout) stats_.add(Counter::head_timeouts);
  reply_and_close(conn, head_refusal(error), status_code(error.kind), error.kind);
}

void Gate::shed(const std::shared_ptr<Connection>& conn, const std::string& response) {
  stats_.add(Counter::shed);
  reply_and_close(conn, response, 503, std::nullopt);
}

void Gate::drop(const SysError& error) {
  stats_.add(Counter::dropped);
  drops_.failed(error);
}

void Gate::adopt(int socket) {
  UniqueFd fd(socket);
  if (auto ready = prepare_socket(fd.get()); !ready) return drop(ready.error());  // closed with `fd`
  const SocketAddress peer = peer_address(fd.get());
  auto conn = std::make_shared<Connection>(std::move(fd), peer.text(), stats_);
  conn->ip = peer.ip;
  conn->head_began = Clock::now();  // until its first byte arrives
  const size_t open = static_cast<size_t>(stats_.connections_open.load());
  if (stopping_ || open > options_.max_connections + kProbeReserve) {
    shed(conn, too_many_connections());
    return;
  }
  conn->probe_only = open > options_.max_connections;
  if (conn->probe_only) return adopt_probe(std::move(conn));
  const uint64_t per_client = options_.max_connections_per_client;
  if (per_client > 0 && !any_contains(options_.trusted_proxies, conn->ip)) {
    const std::string client = client_key(conn->ip);  // an IPv6 client's /64, as its pin (cidr.h)
    conn->peer_slot = peers_->admit(client, per_client);
    if (!conn->peer_slot) {
      shed(conn, canned_response(503, "too many connections from " + client + "\n", "Retry-After: 1\r\n"));
      return;
    }
  }
  conn->deadline = Clock::now() + head_timeout_;
  resume(std::move(conn));
}

// A connection in the probe reserve: counted against its client's share of
// the reserve (its client_key, as for the per-client cap; trusted proxies
// too: probes come straight), not against
// --max-connections-per-client, and given the short probe deadline.
void Gate::adopt_probe(std::shared_ptr<Connection> conn) {
  conn->peer_slot = reserve_peers_->admit(client_key(conn->ip), kProbeReservePerClient);
  if (!conn->peer_slot) {
    shed(conn, too_many_connections());
    return;
  }
  conn->deadline = Clock::now() + std::min<std::chrono::milliseconds>(head_timeout_, kProbeHeadTimeout);
  resume(std::move(conn));
}

void Gate::resume(std::shared_ptr<Connection> conn) {
  if (conn->requests > 0) conn->deadline = Clock::now() + head_timeout_;
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
    // Edge-triggered: epoll reports room once a full socket has some again;
    // until its socket is full, the ring knows it has room. Not EPOLLRDHUP:
    // a client may shut its side and still read.
    if (!watch(conn, EPOLLOUT | EPOLLET)) continue;  // dropped: closed
    const int fd = conn->fd();
    conn->stall.start(fd, Clock::now());
    sending_[fd] = std::move(conn);
    ++stats_.connections_sending;
    on_writable(fd);  // at the back of the ring: its first slice waits its turn like any other
  }
}

bool Gate::watch(const std::shared_ptr<Connection>& conn, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = conn->fd();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, conn->fd(), &ev) != 0) {
    drop(last_sys_error("gate: epoll_ctl ADD client " + conn->peer));
    return false;
  }
  drops_.succeeded();
  return true;
}

void Gate::wait_for_head(std::shared_ptr<Connection> conn) {
  if (!watch(conn, EPOLLIN | EPOLLRDHUP)) return;  // dropped: closed
  const int fd = conn->fd();
  if (draining_) conn->deadline = std::min(conn->deadline, Clock::now() + kDrainHeadTimeout);
  head_deadlines_.emplace(conn->deadline, fd);  // fixed while it waits
  waiting_[fd] = std::move(conn);
  ++stats_.connections_waiting;
  // Bytes may already be here (a pipelined head, or sent before epoll watched).
  on_readable(waiting_[fd]);
  if (draining_) close_if_idle(fd);
}

// Only after reading what has arrived (on_readable): a request already sent
// is answered, not cut off. A client must expect an idle keep-alive
// connection to close (RFC 9112 §9.3.1); one whose request crosses the close
// retries it, as after an idle timeout.
void Gate::close_if_idle(int fd) {
  const auto it = waiting_.find(fd);
  if (it == waiting_.end()) return;  // dispatched, refused or gone
  const Connection& conn = *it->second;
  if (conn.requests > 0 && conn.input.empty()) release(fd);  // closed
}

void Gate::start_draining() {
  drained_idle_ = true;
  const auto by = Clock::now() + kDrainHeadTimeout;
  std::vector<int> fds;
  for (const auto& [fd, conn] : waiting_) fds.push_back(fd);
  for (const int fd : fds) {
    const auto it = waiting_.find(fd);
    if (it == waiting_.end()) continue;
    Connection& conn = *it->second;
    if (conn.deadline > by) {  // reindexed: head_deadlines_ is ordered by it
      head_deadlines_.erase({conn.deadline, fd});
      conn.deadline = by;
      head_deadlines_.emplace(by, fd);
    }
    on_readable(it->second);
    close_if_idle(fd);
  }
}

// EPOLL_CTL_DEL can fail only for a descriptor epoll does not hold, and the
// connection leaves the gate either way (closing it would remove it too).
void Gate::release(int fd) {
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  const auto it = waiting_.find(fd);
  if (it == waiting_.end()) return;
  head_deadlines_.erase({it->second->deadline, fd});
  waiting_.erase(it);
  --stats_.connections_waiting;
}

void Gate::stop_sending(int fd) {
  (void)::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);  // as in release()
  const auto it = sending_.find(fd);
  if (it == sending_.end()) return;
  if (it->second->in_ring) ring_.erase(std::find(ring_.begin(), ring_.end(), fd));  // only a stalled one: rare
  sending_.erase(it);
  --stats_.connections_sending;
}

void Gate::on_writable(int fd) {
  const auto it = sending_.find(fd);
  if (it == sending_.end() || it->second->in_ring) return;
  it->second->in_ring = true;
  ring_.push_back(fd);
}

// Round robin over the ring, a whole slice per visit, until the turn's
// budget is spent: one fast reader cannot keep the others waiting while it
// drains a whole anchor, and where a connection stands in epoll's ready list,
// or when it arrived, buys it nothing. The turn after starts where this one
// stopped.
void Gate::send_turn() {
  size_t budget = kTurnBudget;
  while (!ring_.empty() && budget >= kSendSlice) {
    const std::shared_ptr<Connection> conn = sending_.at(ring_.front());
    ring_.pop_front();
    conn->in_ring = false;
    budget -= send_slice(conn);
  }
}

size_t Gate::send_slice(const std::shared_ptr<Connection>& conn) {
  const SendResult result = conn->send_out(kSendSlice);
  if (result.broken) {
    stop_sending(conn->fd());  // reset, or the client went away: closed
    return result.bytes;
  }
  if (result.bytes > 0) conn->stall.sent(conn->fd(), Clock::now());
  if (conn->out.empty()) {
    output_sent(conn);
  } else if (result.bytes == kSendSlice) {
    conn->in_ring = true;  // the socket may have room still: its next slice after everyone else's
    ring_.push_back(conn->fd());
  }  // else the socket is full: epoll reports when it has room
  return result.bytes;
}

void Gate::output_sent(std::shared_ptr<Connection> conn) {
  stop_sending(conn->fd());
  if (conn->close_after_output || stopping_ || draining_) return;  // closed with `conn`
  conn->deadline = Clock::now() + head_timeout_;
  wait_for_head(std::move(conn));
}

Clock::time_point Gate::check_stalls() {
  const auto now = Clock::now();
  if (now < next_stall_check_) return next_stall_check_;
  next_stall_check_ = now + StallWatch::sample_period(stall_timeout_);
  std::vector<int> stalled;
  for (const auto& [fd, conn] : sending_)
    if (conn->stall.stalled(fd, now, stall_timeout_)) stalled.push_back(fd);
  for (const int fd : stalled) {
    abort_stalled(*sending_[fd], stall_timeout_);
    stop_sending(fd);  // closed, with a reset
  }
  return next_stall_check_;
}

void Gate::on_readable(const std::shared_ptr<Connection>& conn_ref) {
  std::shared_ptr<Connection> conn = conn_ref;  // release() may drop the map's reference
  char buf[8192];
  bool eof = false;
  while (!head_ready(conn->input)) {
    const ssize_t n = ::recv(conn->fd(), buf, sizeof buf, 0);
    if (n > 0) {
      if (conn->input.empty()) conn->head_began = Clock::now();
      conn->input.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      eof = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      break;
    }
  }
  if (!head_ready(conn->input)) {
    if (eof) release(conn->fd());  // the client left
    return;
  }
  release(conn->fd());
  auto head = read_head(conn->input);
  if (!head) return refuse(conn, head.error());
  dispatch_(std::move(conn), std::move(*head));
}

// Only the overdue are visited (head_deadlines_ is in deadline order): a
// thousand idle keep-alive connections cost nothing per turn.
Clock::time_point Gate::expire_heads() {
  const auto now = Clock::now();
  while (!head_deadlines_.empty() && head_deadlines_.begin()->first <= now) {
    const auto conn = waiting_.at(head_deadlines_.begin()->second);
    release(conn->fd());
    // An idle keep-alive connection just ends; a head cut short learns why.
    if (!conn->input.empty() || conn->requests == 0)
      refuse(conn, HeadError{HeadErrorKind::timeout, "request head not complete in time"});
  }
  const auto in_a_second = now + std::chrono::seconds(1);
  return head_deadlines_.empty() ? in_a_second : std::min(in_a_second, head_deadlines_.begin()->first);
}

void Gate::loop() {
  epoll_event events[64];
  while (!stopping_) {
    if (draining_ && !drained_idle_) start_draining();
    const auto next = std::min(expire_heads(), sending_.empty() ? Clock::time_point::max() : check_stalls());
    // With sockets that have room, only look for heads and room: no sleep.
    const int timeout = ring_.empty() ? std::max(1, ms_until(next)) : 0;
    const int n = ::epoll_wait(epoll_.get(), events, 64, timeout);
    if (n < 0 && errno != EINTR) wait_errors_.failed(last_sys_error("gate: epoll_wait"));
    if (n >= 0) wait_errors_.succeeded();
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_.fd()) {
        if (!stopping_) take_inbox();
      } else if (sending_.count(fd)) {
        on_writable(fd);
      } else if (const auto w = waiting_.find(fd); w != waiting_.end()) {
        on_readable(w->second);
      }
    }
    // Heads first (probes among them), then this turn's share of the bodies.
    send_turn();
  }
}

}  // namespace leanpoint
