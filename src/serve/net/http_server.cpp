#include "http_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <system_error>

#include "conn_stream.h"
#include "fd.h"
#include "fd_usage.h"
#include "gate.h"
#include "listener.h"
#include "log.h"
#include "socket_address.h"

namespace leanpoint {
namespace {

// A connection's requests are answered one by one; after this many it is closed.
constexpr unsigned kMaxRequestsPerConnection = 1000;

}  // namespace

// cpp-httplib's Server, driven from outside: it binds the listening socket,
// which the Listener then accepts on, and parses and answers each request
// a worker hands it through process_request.
class HttpServer::Impl : public httplib::Server {
 public:
  Impl(ServerOptions options, ServerStats& stats) : options_(std::move(options)), stats_(stats) {
    // cpp-httplib's default adds SO_REUSEPORT: a second leanpoint on the same
    // port would then share its traffic silently instead of failing to start.
    // Should SO_REUSEADDR not be set, bind() reports a port still in
    // TIME_WAIT as in use, which start() returns.
    set_socket_options([](socket_t sock) {
      const int yes = 1;
      (void)::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    // cpp-httplib announces these in Keep-Alive headers; the gate enforces them.
    set_keep_alive_max_count(kMaxRequestsPerConnection);
    set_keep_alive_timeout(std::max<time_t>(1, options_.gate.head_timeout_ms / 1000));
    // Every request is answered from the route table, before cpp-httplib's
    // own routing (which never runs).
    set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      t_request->answered = true;
      answer(req, res);
      return HandlerResponse::Handled;
    });
    set_logger([&stats](const httplib::Request&, const httplib::Response& res) {
      if (!t_request) return;
      t_request->status = res.status;
      stats.count_request(t_request->route->label, res.status);
    });
  }

  void set_routes(RouteTable routes) { routes_.emplace(std::move(routes)); }
  void use_inherited_socket(InheritedSocket socket) { inherited_ = std::move(socket); }
  void on_listener_stopped(Listener::Stopped stopped) { on_listener_stopped_ = std::move(stopped); }
  void on_gate_answer(Gate::Answered answered) { on_gate_answer_ = std::move(answered); }

  Expected<void, SysError> start() {
    if (!routes_) throw std::logic_error("HttpServer::start before set_routes");
    GateOptions& gate = options_.gate;
    if (gate.max_connections == 0)
      gate.max_connections = default_max_connections(raise_fd_limit(), options_.artifact_workers);
    if (auto started = start_workers(); !started) return started;
    const auto whose = inherited_ ? Listener::Socket::inherited : Listener::Socket::bound;
    auto listening = inherited_ ? take_inherited() : bind_and_listen();
    if (!listening) return Unexpected(listening.error());
    auto listener = Listener::start(
        std::move(*listening), whose, stats_, [this](int socket) { gate_->adopt(socket); },
        [this](const SysError& why) { listener_stopped(why); });
    if (!listener) return Unexpected(listener.error());
    listener_ = std::move(*listener);
    log(LogLevel::info, "serving on ", where_, " (", options_.artifact_workers, " artifact and ", options_.api_workers,
        " api workers, at most ", gate.max_connections, " connections)");
    return {};
  }

  void drain() {
    if (stopping_ || draining_.exchange(true)) return;
    if (listener_) listener_->stop_for_drain();
    if (gate_) gate_->drain();
  }

  bool draining() const { return draining_ || stopping_; }

  void stop() {
    if (stopping_.exchange(true)) return;
    svr_sock_ = INVALID_SOCKET;  // bodies being written end (cpp-httplib's shutdown flag)
    if (listener_) listener_->stop();
    if (gate_) gate_->stop();
    if (stop_) stop_->notify();  // aborts writes in flight
    if (artifacts_) artifacts_->shutdown();
    if (api_) api_->shutdown();
  }

  int port() const { return port_; }
  const ServerOptions& options() const { return options_; }
  const WorkerPool& artifact_pool() const { return *artifacts_; }
  const WorkerPool& api_pool() const { return *api_; }

 private:
  // The stop eventfd, the pools and the gate, before anything is accepted.
  Expected<void, SysError> start_workers() {
    auto stop = EventFd::open(EventFd::Mode::blocking);
    if (!stop) return Unexpected(stop.error());
    stop_.emplace(std::move(*stop));
    const size_t max_connections = options_.gate.max_connections;
    try {
      // A transfer holds its worker only until the socket is full, so syncing
      // nodes are queued, not shed, up to the connection limit.
      artifacts_ = std::make_unique<WorkerPool>("artifact", options_.artifact_workers,
                                                options_.artifact_queue ? options_.artifact_queue : max_connections);
      api_ =
          std::make_unique<WorkerPool>("api", options_.api_workers, options_.api_workers * options_.queue_per_worker);
    } catch (const std::system_error& e) {
      return Unexpected(SysError{e.code().value(), "worker threads"});
    }
    auto gate = Gate::open(
        options_.gate, stats_,
        [this](std::shared_ptr<Connection> conn, RequestHead head) { dispatch(std::move(conn), std::move(head)); },
        on_gate_answer_);
    if (!gate) return Unexpected(gate.error());
    gate_ = std::move(*gate);
    return {};
  }

  // The inherited socket (socket activation), as it is: its backlog and
  // options are the activator's. svr_sock_ is cpp-httplib's running flag, as
  // for a bound socket.
  Expected<UniqueFd, SysError> take_inherited() {
    UniqueFd socket = std::move(inherited_->fd);
    const SocketAddress local = local_address(socket.get());
    port_ = local.port;
    where_ = local.text();
    log(LogLevel::info, "listening socket inherited (LISTEN_FDS, socket activation",
        inherited_->name.empty() ? "" : ", " + inherited_->name, "): ", where_,
        "; --bind and --port are not used; left open for the next process when this one stops");
    svr_sock_ = socket.get();
    return socket;
  }

  // The listening socket: bound by cpp-httplib (its address lookup, and the
  // socket options above), then taken from it for the Listener.
  Expected<UniqueFd, SysError> bind_and_listen() {
    if (options_.port == 0) {
      port_ = std::max(0, bind_to_any_port(options_.bind));
    } else if (bind_to_port(options_.bind, options_.port)) {
      port_ = options_.port;
    }
    const std::string where = "cannot listen on " + options_.bind + ":" + std::to_string(options_.port);
    if (port_ <= 0) return Unexpected(last_sys_error(where + " (bind)"));
    // The Listener owns the socket from here. svr_sock_ keeps its number
    // only as cpp-httplib's "running" flag: it stops writing a body once
    // svr_sock_ is INVALID_SOCKET, which stop() sets.
    UniqueFd socket(svr_sock_.load());
    // cpp-httplib 0.11.4 listens with a backlog of 5: a burst of connections
    // (syncing nodes, an attack) overflows it, and the kernel drops SYNs that
    // clients, health probes included, retry only after a second or more.
    // Listening again on a listening socket updates its backlog.
    if (::listen(socket.get(), SOMAXCONN) != 0) return Unexpected(last_sys_error(where + " (listen)"));
    where_ = options_.bind + ":" + std::to_string(port_);
    return socket;
  }

  // On the listen thread: the socket is gone (listener.h). Nothing is served
  // any more; the owner decides (the service exits for its supervisor).
  void listener_stopped(const SysError& why) {
    log(LogLevel::error, "stopped accepting connections on ", where_, ": ", why.text());
    if (on_listener_stopped_) on_listener_stopped_(why);
  }

  // The request a worker is answering, for the pre-routing handler and the
  // logger that cpp-httplib calls back on the same thread.
  struct Current {
    const Route* route = nullptr;
    RequestContext context;
    bool answered = false;  // the route's handler ran: cpp-httplib parsed the head
    int status = 0;         // as written (cpp-httplib's logger)
  };
  static thread_local Current* t_request;

  static void answer(const httplib::Request& req, httplib::Response& res) {
    const Route& route = *t_request->route;
    if (!(route.methods & method_bit(req.method))) {
      res.status = 405;
      res.set_content("method not allowed\n", "text/plain");
      return;
    }
    route.handler(req, res, t_request->context);
  }

  // On the gate thread, or on a worker for a pipelined request: the pool is
  // the one the request's route names.
  void dispatch(std::shared_ptr<Connection> conn, RequestHead head) {
    const Route& route = routes_->find(head.path);
    if (conn->probe_only && !route.probe) {
      gate_->shed(conn, too_many_connections());
      return;
    }
    WorkerPool& pool = route.pool == PoolClass::artifact ? *artifacts_ : *api_;
    // The job owns the connection: a job refused, or dropped at shutdown, closes it.
    auto job = [this, conn, &route, head = std::move(head), received = Clock::now()]() mutable {
      serve(conn, &route, std::move(head), received);
    };
    if (!pool.submit(std::move(job))) {
      gate_->shed(conn, canned_response(503, pool.name() + " workers busy\n", "Retry-After: 1\r\n"));
    }
  }

  // The worker is done with a watched response (connection.h): it ends now
  // if nothing is queued, else when the gate has sent the rest.
  static void seal_response(Connection& conn, const Route& route, int status, Clock::time_point received) {
    if (!conn.watched.watch) return;
    conn.watched.end.route = route.label;
    conn.watched.end.status = status;
    conn.watched.end.received = received;
    conn.watched.sealed = true;
    if (conn.out.empty()) conn.end_response();
  }

  // On a worker: answers the request whose route dispatch found. A request
  // pipelined behind it goes through dispatch again, to the pool its own
  // route names: a download behind a probe must not hold an api worker.
  void serve(std::shared_ptr<Connection> conn, const Route* route, RequestHead head, Clock::time_point received) {
    ConnStream stream(*conn, std::chrono::milliseconds(options_.gate.stall_timeout_ms), stop_->fd());
    Current current;
    current.route = route;
    current.context.range = std::move(head.range);
    current.context.body_owner = &conn->body_owner;
    current.context.watch = &conn->watched.watch;
    t_request = &current;
    bool closed = false;
    // Draining, this response is the connection's last (drain()).
    const bool close = stopping_ || draining_ || conn->probe_only || conn->requests + 1 >= kMaxRequestsPerConnection;
    const bool ok = process_request(stream, close, closed, [](httplib::Request& req) {
      // cpp-httplib adds these after the client's own headers, and a lookup
      // finds the first: make the server's the only ones.
      for (const char* name : {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"}) req.headers.erase(name);
      req.set_header("REMOTE_ADDR", req.remote_addr);
      req.set_header("REMOTE_PORT", std::to_string(req.remote_port));
      req.ranges.clear();
    });
    t_request = nullptr;
    conn->body_owner.reset();  // queued pieces hold their own references
    seal_response(*conn, *route, current.status, received);
    ++conn->requests;
    stream.consume();
    if (!ok || stream.broken()) return;  // the connection closes with `conn`
    // Without the handler, cpp-httplib refused the head itself (the screen
    // refuses all it would; this is the backstop): what it left unread of
    // the head must never be read as another request.
    const bool last = closed || close || !current.answered || draining_;
    if (!conn->out.empty()) {
      // The socket is full: the gate sends the rest, and this worker is free.
      // It reads the next request (pipelined or not) once the output is out.
      conn->close_after_output = last;
      gate_->resume(std::move(conn));
      return;
    }
    if (last) return;
    if (!head_ready(conn->input)) return gate_->resume(std::move(conn));
    auto next = read_head(conn->input);
    if (!next) return gate_->refuse(conn, next.error());
    dispatch(std::move(conn), std::move(*next));
  }

  ServerOptions options_;
  ServerStats& stats_;
  std::optional<RouteTable> routes_;
  std::optional<EventFd> stop_;  // readable on stop: aborts a worker's wait for room
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::optional<InheritedSocket> inherited_;  // until start()
  int port_ = 0;
  std::string where_;  // the listening address, for the log
  std::unique_ptr<WorkerPool> artifacts_;
  std::unique_ptr<WorkerPool> api_;
  std::unique_ptr<Gate> gate_;
  std::unique_ptr<Listener> listener_;
  Listener::Stopped on_listener_stopped_;
  Gate::Answered on_gate_answer_;  // until start()
};

thread_local HttpServer::Impl::Current* HttpServer::Impl::t_request = nullptr;

HttpServer::HttpServer(ServerOptions options, ServerStats& stats)
    : impl_(std::make_unique<Impl>(std::move(options), stats)) {}
HttpServer::~HttpServer() { impl_->stop(); }
void HttpServer::set_routes(RouteTable routes) { impl_->set_routes(std::move(routes)); }
void HttpServer::on_listener_stopped(std::function<void(const SysError&)> stopped) {
  impl_->on_listener_stopped(std::move(stopped));
}
void HttpServer::on_gate_answer(std::function<void(const GateAnswer&)> answered) {
  impl_->on_gate_answer(std::move(answered));
}
void HttpServer::use_inherited_socket(InheritedSocket socket) { impl_->use_inherited_socket(std::move(socket)); }
Expected<void, SysError> HttpServer::start() { return impl_->start(); }
void HttpServer::drain() { impl_->drain(); }
bool HttpServer::draining() const { return impl_->draining(); }
void HttpServer::stop() { impl_->stop(); }
int HttpServer::port() const { return impl_->port(); }
const ServerOptions& HttpServer::options() const { return impl_->options(); }
const WorkerPool& HttpServer::artifact_pool() const { return impl_->artifact_pool(); }
const WorkerPool& HttpServer::api_pool() const { return impl_->api_pool(); }

}  // namespace leanpoint
