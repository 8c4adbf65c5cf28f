#include "http_server.h"

#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_stream.h"
#include "log.h"
#include "text.h"

namespace leanpoint {
namespace {

thread_local const RequestContext* t_context = nullptr;
const RequestContext kNoContext;

// A connection's requests are answered one by one; after this many it is closed.
constexpr unsigned kMaxRequestsPerConnection = 1000;

// cpp-httplib runs each accepted socket through its task queue; this one runs
// it at once, in the listen thread: process_and_close_socket only hands the
// socket to the gate.
class InlineQueue : public httplib::TaskQueue {
 public:
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override {}
};

std::string_view path_of(std::string_view head) {
  const size_t sp1 = head.find(' ');
  const size_t sp2 = head.find(' ', sp1 + 1);
  std::string_view target = head.substr(sp1 + 1, sp2 - sp1 - 1);
  return target.substr(0, target.find('?'));
}

}  // namespace

std::optional<std::string> take_range_header(std::string& input, size_t head_size) {
  std::optional<std::string> value;
  size_t at = input.find("\r\n");
  while (at != std::string::npos && at + 2 < head_size) {
    const size_t start = at + 2;
    at = input.find("\r\n", start);
    std::string_view line(input.data() + start, (at == std::string::npos ? head_size : at) - start);
    if (!starts_with_nocase(line, "range:")) continue;
    std::string_view v = line.substr(6);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    value = value ? *value + "," + std::string(v) : std::string(v);
    input[start] = 'X';  // "Xange:": an unknown header to cpp-httplib
  }
  return value;
}

HttpServer::HttpServer(ServerOptions options, ServerStats& stats)
    : options_(std::move(options)),
      stats_(stats),
      stop_fd_(::eventfd(0, EFD_CLOEXEC)),
      artifacts_("artifact", options_.artifact_workers, options_.artifact_workers * options_.queue_per_worker),
      api_("api", options_.api_workers, options_.api_workers * options_.queue_per_worker),
      gate_(GateOptions{options_.head_timeout, options_.max_connections}, stats,
            [this](std::shared_ptr<Connection> conn) { dispatch(std::move(conn)); }) {
  new_task_queue = [] { return new InlineQueue; };
  // cpp-httplib's default adds SO_REUSEPORT: a second leanpoint on the same
  // port would then share its traffic silently instead of failing to start.
  set_socket_options([](socket_t sock) {
    const int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // cpp-httplib announces these in Keep-Alive headers; the gate enforces them.
  set_keep_alive_max_count(kMaxRequestsPerConnection);
  set_keep_alive_timeout(std::max<time_t>(1, options_.head_timeout.count() / 1000));
}

HttpServer::~HttpServer() {
  stop();
  ::close(stop_fd_);
}

const RequestContext& HttpServer::context() { return t_context ? *t_context : kNoContext; }

void HttpServer::start() {
  if (options_.port == 0) {
    port_ = bind_to_any_port(options_.bind);
    if (port_ < 0) port_ = 0;
  } else if (bind_to_port(options_.bind, options_.port)) {
    port_ = options_.port;
  }
  if (port_ <= 0)
    throw std::runtime_error("cannot listen on " + options_.bind + ":" + std::to_string(options_.port) + ": " +
                             std::strerror(errno));
  // cpp-httplib 0.11.4 listens with a backlog of 5: a burst of connections
  // (syncing nodes, an attack) overflows it, and the kernel drops SYNs that
  // clients, health probes included, retry only after a second or more.
  // Listening again on a listening socket updates its backlog.
  ::listen(svr_sock_, SOMAXCONN);
  listener_ = std::thread([this] { listen_after_bind(); });
  // stop() only closes the listening socket once cpp-httplib reports running.
  for (int i = 0; i < 5000 && !is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log(LogLevel::info, "serving on ", options_.bind, ":", port_, " (", options_.artifact_workers, " artifact and ",
      options_.api_workers, " api workers, at most ", options_.max_connections, " connections)");
}

void HttpServer::stop() {
  if (stopping_.exchange(true)) return;
  httplib::Server::stop();
  if (listener_.joinable()) listener_.join();
  gate_.stop();
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(stop_fd_, &one, sizeof one);  // aborts writes in flight
  artifacts_.shutdown();
  api_.shutdown();
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  gate_.adopt(sock);
  return true;
}

void HttpServer::dispatch(std::shared_ptr<Connection> conn) {
  const std::string_view head(conn->input.data(), head_end(conn->input));
  WorkerPool& pool = options_.is_artifact && options_.is_artifact(path_of(head)) ? artifacts_ : api_;
  // The job owns the connection: a job refused, or dropped at shutdown, closes it.
  auto job = [this, conn] { serve(conn); };
  if (!pool.submit(std::move(job))) {
    ++stats_.shed_total;
    Gate::reply_and_close(conn, canned_response(503, pool.name() + " workers busy\n", "Retry-After: 1\r\n"));
  }
}

void HttpServer::serve(std::shared_ptr<Connection> conn) {
  ConnStream stream(*conn, options_.stall_timeout, stop_fd_);
  for (;;) {
    RequestContext context;
    context.range = take_range_header(conn->input, head_end(conn->input));
    t_context = &context;
    bool closed = false;
    const bool close = stopping_ || conn->requests + 1 >= kMaxRequestsPerConnection;
    const bool ok = process_request(stream, close, closed, [](httplib::Request& req) {
      // cpp-httplib adds these after the client's own headers, and a lookup
      // finds the first: make the server's the only ones.
      for (const char* name : {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"}) req.headers.erase(name);
      req.set_header("REMOTE_ADDR", req.remote_addr);
      req.set_header("REMOTE_PORT", std::to_string(req.remote_port));
      req.ranges.clear();
    });
    t_context = nullptr;
    ++conn->requests;
    stream.consume();
    if (!ok || closed || close || stream.broken()) return;  // the connection closes with `conn`
    // Pipelined requests are answered here, in order; otherwise back to the gate.
    const size_t end = head_end(conn->input);
    if (end == 0 || end > kMaxRequestHead) {
      gate_.resume(std::move(conn));
      return;
    }
    if (const auto refusal = screen_head(std::string_view(conn->input).substr(0, end))) {
      Gate::reply_and_close(conn, *refusal);
      return;
    }
  }
}

}  // namespace leanpoint
