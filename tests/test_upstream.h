// A scripted HTTP server on 127.0.0.1 for client and poller tests. For each
// request, a handler returns a Script: what to send, how fast, and how to end
// (close, reset, half-close, or hang until the server is destroyed). One
// thread accepts; each connection runs on a thread of its own; all are
// stopped and joined by the destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace testing {

struct Step {
  enum class Kind {
    send,        // write `data`
    drip,        // write `data` one byte every `interval_ms`
    hang,        // send nothing more; keep the connection open until shutdown
    half_close,  // shutdown(SHUT_WR) and keep the socket open until shutdown
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

class TestUpstream {
 public:
  // `target` is the request target ("/lean/v0/fork_choice"), `head` the whole request head.
  using Handler = std::function<Script(const std::string& target, const std::string& head)>;

  explicit TestUpstream(Handler handler);
  ~TestUpstream();
  TestUpstream(const TestUpstream&) = delete;
  TestUpstream& operator=(const TestUpstream&) = delete;

  // A listener whose accept queue is full and never drained: connect() to it
  // hangs in SYN_SENT (the "syn" fault).
  static TestUpstream full_backlog();

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  size_t requests() const { return requests_.load(); }
  std::string last_head() const;

  void set_handler(Handler handler);

 private:
  TestUpstream();  // for full_backlog
  void accept_loop();
  void serve(int fd);
  void run_script(int fd, const Script& script);
  bool wait_stop(int ms);  // true if stopping

  Handler handler_;
  mutable std::mutex mutex_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  uint16_t port_ = 0;
  std::vector<int> fillers_;
  std::atomic<size_t> requests_{0};
  std::string last_head_;
  std::thread acceptor_;
  std::vector<std::thread> connections_;
};

}  // namespace testing
