#include "listener.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "gate.h"
#include "log.h"

namespace leanpoint {
namespace {

constexpr int kFirstBackoffMs = 1;
constexpr int kMaxBackoffMs = 100;

enum class AcceptError : uint8_t { again, resource, connection, fatal };

AcceptError classify(int code) {
  switch (code) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
    case EINTR: return AcceptError::again;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM: return AcceptError::resource;
    case EBADF:
    case EINVAL:
    case ENOTSOCK:
    case EFAULT: return AcceptError::fatal;
    default: return AcceptError::connection;  // ECONNABORTED, EPROTO, EPERM, ENETDOWN, EHOSTUNREACH, ...
  }
}

}  // namespace

Expected<std::unique_ptr<Listener>, SysError> Listener::start(UniqueFd socket, Socket whose, ServerStats& stats,
                                                              Accepted accepted, Stopped stopped) {
  // Nonblocking: a connection reset between poll and accept must not leave
  // the thread blocked in accept, where stop() cannot reach it. (An inherited
  // socket shares this flag with the activator's copy; systemd's is
  // nonblocking anyway.)
  const int flags = ::fcntl(socket.get(), F_GETFL);
  if (flags < 0 || ::fcntl(socket.get(), F_SETFL, flags | O_NONBLOCK) != 0 ||
      ::fcntl(socket.get(), F_SETFD, FD_CLOEXEC) != 0)
    return Unexpected(last_sys_error("listener: fcntl"));
  auto stop = EventFd::open(EventFd::Mode::nonblocking);
  if (!stop) return Unexpected(stop.error());
  std::unique_ptr<Listener> listener(
      new Listener(std::move(socket), whose, std::move(*stop), stats, std::move(accepted), std::move(stopped)));
  try {
    listener->thread_ = std::thread([l = listener.get()] { l->loop(); });
  } catch (const std::system_error& e) {
    return Unexpected(SysError{e.code().value(), "listen thread"});
  }
  return listener;
}

Listener::Listener(UniqueFd socket, Socket whose, EventFd stop, ServerStats& stats, Accepted accepted, Stopped stopped)
    : socket_(std::move(socket)),
      whose_(whose),
      stop_(std::move(stop)),
      stats_(stats),
      accepted_(std::move(accepted)),
      stopped_(std::move(stopped)) {}

Listener::~Listener() {
  stop();
  socket_.reset();  // an inherited socket too: at exit, the activator's copy keeps it listening
}

void Listener::join() {
  stop_.notify();
  if (thread_.joinable()) thread_.join();
}

void Listener::stop() {
  join();
  // A bound socket closes at once: new connections are refused rather than
  // left in a backlog no one will accept. An inherited one stays open, never
  // shut down: its backlog is the next process's.
  if (whose_ == Socket::bound) socket_.reset();
}

void Listener::stop_for_drain() {
  join();
  if (whose_ == Socket::inherited || !socket_.valid()) return;
  for (int taken = 0; taken < SOMAXCONN; ++taken) {
    const int fd = ::accept4(socket_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) break;  // nothing queued (EAGAIN), or an error: closing is all that is left
    accepted_(fd);
  }
  socket_.reset();
}

bool Listener::pause(int ms) const {
  pollfd stop{stop_.fd(), POLLIN, 0};
  return ::poll(&stop, 1, ms) == 0;
}

void Listener::loop() {
  FailureEpisode resources("listener: accepts");
  int backoff = kFirstBackoffMs;
  for (;;) {
    pollfd fds[2] = {{socket_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) {
      if (stopped_) stopped_(last_sys_error("listener: poll"));
      return;
    }
    if (fds[1].revents) return;  // stop()
    if (!fds[0].revents) continue;
    const int fd = ::accept4(socket_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      backoff = kFirstBackoffMs;
      resources.succeeded();
      accepted_(fd);
      continue;
    }
    const SysError error = last_sys_error("listener: accept");
    switch (classify(error.code)) {
      case AcceptError::again: continue;
      case AcceptError::fatal:
        if (stopped_) stopped_(error);
        return;
      case AcceptError::resource:
        stats_.add(Counter::accept_resource_errors);
        resources.failed(error);
        break;
      case AcceptError::connection: stats_.add(Counter::accept_connection_errors); break;
    }
    // The error may last (descriptors run out under a flood): never a busy loop.
    if (!pause(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoffMs);
  }
}

}  // namespace leanpoint
