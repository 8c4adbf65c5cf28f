// The accept loop (ARCHITECTURE.md §6), in place of cpp-httplib's: 0.11.4's
// retries only EMFILE, EINTR and EAGAIN, and on any other accept error
// (ENFILE, ENOBUFS, ENOMEM, EPROTO, EPERM) closes the listening socket and
// returns, leaving a process that runs and serves nothing.
//
// Here an accept error that can pass is retried after a short backoff (1 ms,
// doubling to 100 ms while they last) and counted: a want of descriptors or
// kernel memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) as a resource error, logged
// once per run of them; any other (ECONNABORTED, EPROTO, EPERM, the network
// errors accept(2) says to treat like EAGAIN) as a connection error. Only an
// error that says the socket itself is gone (EBADF, EINVAL, ENOTSOCK, EFAULT)
// stops the loop, and `stopped` is called: the process then exits (service.cpp).
//
// A socket leanpoint bound itself is closed when accepting stops, so that
// new connections are refused at once (a balancer tries another replica). An
// inherited one (socket activation, socket_activation.h) is left open until
// the Listener is destroyed at exit, and never shut down: the activator holds
// it too, and connections wait in its backlog for the next process.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "expected.h"
#include "fd.h"
#include "server_stats.h"
#include "sys_error.h"

namespace leanpoint {

class Listener {
 public:
  // Takes each accepted socket (nonblocking, close-on-exec) and the duty to close it.
  using Accepted = std::function<void(int socket)>;
  // Called once, on the listen thread, when the loop stops other than by stop().
  using Stopped = std::function<void(const SysError& why)>;

  // Whose the listening socket is.
  enum class Socket : uint8_t { bound, inherited };

  // Starts the listen thread on `socket`, bound and listening.
  static Expected<std::unique_ptr<Listener>, SysError> start(UniqueFd socket, Socket whose, ServerStats& stats,
                                                             Accepted accepted, Stopped stopped);
  ~Listener();  // stop(), and closes the socket
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  // Stops accepting and joins the thread; closes a bound socket, leaves an
  // inherited one open.
  void stop();
  // The same for a drain: a bound socket first hands over the connections
  // the kernel had already queued (their handshakes are done, their requests
  // on the way: closing would reset them), at most SOMAXCONN; an inherited
  // one leaves them to the next process.
  void stop_for_drain();

 private:
  Listener(UniqueFd socket, Socket whose, EventFd stop, ServerStats& stats, Accepted accepted, Stopped stopped);
  void loop();
  void join();  // ends the loop
  // Waits `ms` or until stop(); false when stopping.
  bool pause(int ms) const;

  UniqueFd socket_;
  const Socket whose_;
  EventFd stop_;  // readable on stop()
  ServerStats& stats_;
  Accepted accepted_;
  Stopped stopped_;
  std::thread thread_;
};

}  // namespace leanpoint
