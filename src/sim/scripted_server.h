// A scripted HTTP server on 127.0.0.1: the simulated devnet's nodes and the
// tests' upstreams. For each request a handler returns a Script: what to send,
// how fast, and how to end (close, reset, half-close, or hang). One thread
// accepts; each connection runs on a thread of its own, which ends when its
// script does or the client goes away; the destructor stops and joins them.
//
// Not part of the service: leanpoint itself never runs this.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fd.h"

namespace leanpoint::sim {

struct Step {
  enum class Kind {
    send,        // write `data`
    drip,        // write `data` one byte every `interval_ms`
    hang,        // send nothing more; keep the connection open until the client leaves
    half_close,  // shutdown(SHUT_WR); keep the socket open until the client leaves
    reset,       // close with SO_LINGER 0: the peer sees a reset
    stream,      // write `data` over and over until the peer goes away
  };
  Kind kind;
  std::string data{};
  int interval_ms = 0;
};
using Script = std::vector<Step>;

// A complete response with Content-Length.
Script respond(int status, const std::string& content_type, const std::string& body);
// The raw head (status line and headers, with the blank line) of a response.
std::string head(int status, const std::string& content_type, const std::vector<std::string>& extra_headers = {});

class ScriptedServer {
 public:
  // `target` is the request target ("/lean/v0/fork_choice"), `head` the whole request head.
  using Handler = std::function<Script(const std::string& target, const std::string& head)>;

  // Listens on 127.0.0.1:`port` (0: any free port).
  explicit ScriptedServer(Handler handler, uint16_t port = 0);
  ~ScriptedServer();
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  // A listener whose accept queue is full and never drained: connect() to it
  // hangs in SYN_SENT (the "syn" fault).
  static std::unique_ptr<ScriptedServer> full_backlog(uint16_t port = 0);

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t requests() const { return requests_.load(); }
  std::string last_head() const;

  void set_handler(Handler handler);

  // Connections being served now (each holds a socket and a thread).
  size_t active() const { return active_.load(); }

 private:
  explicit ScriptedServer(uint16_t port);  // for full_backlog
  void accept_loop();
  void serve(UniqueFd fd);
  void run_script(int fd, const Script& script);
  bool wait_stop(int ms);         // true if stopping
  void wait_client_gone(int fd);  // until the peer closes or the server stops
  void reap_finished();

  // The stop flag every wait watches; throws std::runtime_error if the
  // kernel refuses an eventfd (the sim's constructors throw on any failure).
  static EventFd open_stop_fd();

  Handler handler_;
  mutable std::mutex mutex_;
  EventFd stop_ = open_stop_fd();
  UniqueFd listen_;
  uint16_t port_ = 0;
  std::vector<UniqueFd> fillers_;
  std::atomic<size_t> requests_{0};
  std::atomic<size_t> active_{0};
  std::string last_head_;
  std::thread acceptor_;
  struct Connection {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Connection> connections_;
};

// A handler that answers every request with `script`.
inline ScriptedServer::Handler always(Script script) {
  return [script = std::move(script)](const std::string&, const std::string&) { return script; };
}

}  // namespace leanpoint::sim
