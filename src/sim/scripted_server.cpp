#include "scripted_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

namespace leanpoint::sim {
namespace {

std::string reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 404: return "Not Found";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// Binds 127.0.0.1:`port` (0: any); sets `port` to the port bound.
UniqueFd listen_on_loopback(int backlog, uint16_t& port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  socklen_t len = sizeof addr;
  if (!fd.valid() || ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd.get(), backlog) != 0 ||
      ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const int err = errno;
    throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(err));
  }
  port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace

std::string head(int status, const std::string& content_type, const std::vector<std::string>& extra_headers) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  if (!content_type.empty()) h += "Content-Type: " + content_type + "\r\n";
  for (const auto& x : extra_headers) h += x + "\r\n";
  return h + "\r\n";
}

Script respond(int status, const std::string& content_type, const std::string& body) {
  return {{Step::Kind::send,
           head(status, content_type, {"Content-Length: " + std::to_string(body.size()), "Connection: close"}) + body}};
}

EventFd ScriptedServer::open_stop_fd() {
  auto e = EventFd::open();
  if (!e) throw std::runtime_error(e.error().text());
  return std::move(*e);
}

ScriptedServer::ScriptedServer(Handler handler, uint16_t port) : handler_(std::move(handler)), port_(port) {
  listen_ = listen_on_loopback(64, port_);
  acceptor_ = std::thread([this] { accept_loop(); });
}

ScriptedServer::ScriptedServer(uint16_t port) : port_(port) {
  // With a backlog of 0 the accept queue holds one connection; nothing is
  // ever accepted, so once the fillers sit in it, further SYNs are dropped.
  listen_ = listen_on_loopback(0, port_);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port_);
  for (int i = 0; i < 2; ++i) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    // Nonblocking: EINPROGRESS is the expected answer; the second filler's
    // SYN is the one the full queue drops.
    if (!fd.valid() ||
        (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 && errno != EINPROGRESS))
      throw std::runtime_error(std::string("full_backlog: cannot connect a filler: ") + std::strerror(errno));
    fillers_.push_back(std::move(fd));
  }
  // The first filler completes its handshake into the queue; if it does not
  // within 2 s the tests that use this see connections accepted and fail.
  pollfd p{fillers_[0].get(), POLLOUT, 0};
  (void)::poll(&p, 1, 2000);
}

std::unique_ptr<ScriptedServer> ScriptedServer::full_backlog(uint16_t port) {
  return std::unique_ptr<ScriptedServer>(new ScriptedServer(port));
}

ScriptedServer::~ScriptedServer() {
  stop_.notify();
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& c : connections_) c.thread.join();
}

std::string ScriptedServer::last_head() const {
  std::lock_guard lock(mutex_);
  return last_head_;
}

void ScriptedServer::set_handler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

void ScriptedServer::reap_finished() {
  std::lock_guard lock(mutex_);
  std::erase_if(connections_, [](Connection& c) {
    if (!c.done->load()) return false;
    c.thread.join();
    return true;
  });
}

void ScriptedServer::wait_client_gone(int fd) {
  char sink[4096];
  for (;;) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (fds[0].revents && ::recv(fd, sink, sizeof sink, 0) <= 0) return;
  }
}

bool ScriptedServer::wait_stop(int ms) {
  pollfd p{stop_.fd(), POLLIN, 0};
  return ::poll(&p, 1, ms) > 0;
}

void ScriptedServer::accept_loop() {
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!fds[0].revents) continue;
    UniqueFd fd(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!fd.valid()) continue;
    reap_finished();
    auto done = std::make_shared<std::atomic<bool>>(false);
    ++active_;
    std::lock_guard lock(mutex_);
    connections_.push_back({std::thread([this, fd = std::make_shared<UniqueFd>(std::move(fd)), done] {
                              serve(std::move(*fd));
                              --active_;
                              done->store(true);
                            }),
                            done});
  }
}

void ScriptedServer::serve(UniqueFd socket) {
  const int fd = socket.get();
  std::string request;
  char buf[4096];
  while (request.find("\r\n\r\n") == std::string::npos) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_.fd(), POLLIN, 0}};
    ::poll(fds, 2, -1);
    if (fds[1].revents) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  if (request.find("\r\n\r\n") == std::string::npos) return;
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    last_head_ = request.substr(0, request.find("\r\n\r\n") + 4);
    handler = handler_;
  }
  ++requests_;
  const size_t sp1 = request.find(' '), sp2 = request.find(' ', sp1 + 1);
  run_script(fd, handler(request.substr(sp1 + 1, sp2 - sp1 - 1), request));
}

void ScriptedServer::run_script(int fd, const Script& script) {
  auto send_all = [&](const char* data, size_t size) {
    while (size > 0) {
      pollfd fds[2] = {{fd, POLLOUT, 0}, {stop_.fd(), POLLIN, 0}};
      ::poll(fds, 2, -1);
      if (fds[1].revents) return false;
      const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n <= 0) return false;
      data += n;
      size -= static_cast<size_t>(n);
    }
    return true;
  };
  for (const Step& step : script) {
    switch (step.kind) {
      case Step::Kind::send:
        if (!send_all(step.data.data(), step.data.size())) return;
        break;
      case Step::Kind::drip:
        for (char c : step.data) {
          if (!send_all(&c, 1) || wait_stop(step.interval_ms)) return;
        }
        break;
      case Step::Kind::stream:
        while (send_all(step.data.data(), step.data.size())) {
        }
        return;
      case Step::Kind::hang: wait_client_gone(fd); return;
      case Step::Kind::half_close:
        (void)::shutdown(fd, SHUT_WR);  // the peer may have gone already: nothing left to do either way
        wait_client_gone(fd);
        return;
      case Step::Kind::reset: {
        const linger l{1, 0};
        // Failing, the close is an orderly FIN instead of a reset: the test
        // that scripted a reset then fails, which is the right signal.
        (void)::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        return;
      }
    }
  }
}

}  // namespace leanpoint::sim
