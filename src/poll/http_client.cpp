#include "http_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <new>
#include <optional>
#include <streambuf>
#include <utility>

#include "fd.h"
#include "resolve.h"
#include "version.h"

namespace leanpoint {
namespace {

std::string errno_text(const char* step, int err) { return std::string(step) + ": " + std::strerror(err); }

void wait_or_fail(int fd, short events, Clock::time_point deadline, int cancel_fd, FailureKind on_timeout,
                  const char* step) {
  switch (wait_fd(fd, events, deadline, cancel_fd)) {
    case WaitResult::ready: return;
    case WaitResult::cancelled: abort_with(FailureKind::cancelled, std::string(step) + ": stop requested");
    case WaitResult::timeout: abort_with(on_timeout, std::string(step) + ": deadline passed");
  }
}

// Checked before every send and read, not only when one would block: an
// upstream that always has the next byte ready must not outlive the deadline.
void check_deadline(Clock::time_point deadline, int cancel_fd, const char* step) {
  if (Clock::now() >= deadline) abort_with(FailureKind::timeout, std::string(step) + ": deadline passed");
  if (cancelled(cancel_fd)) abort_with(FailureKind::cancelled, std::string(step) + ": stop requested");
}

UniqueFd connect_any(const std::vector<sockaddr_storage>& addrs, Clock::time_point deadline, int cancel_fd) {
  Failure last{FailureKind::unreachable, "connect: no address"};
  for (const auto& addr : addrs) {
    UniqueFd s(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!s.valid()) {
      const int err = errno;
      abort_with(is_local_errno(err) ? FailureKind::local : FailureKind::unreachable, errno_text("socket", err));
    }
    const socklen_t len = addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    int err = 0;
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        wait_or_fail(s.get(), POLLOUT, deadline, cancel_fd, FailureKind::connect_timeout, "connect");
        socklen_t err_len = sizeof err;
        // The connect's outcome; failing to read it is this process's
        // trouble, not the upstream's.
        if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0)
          abort_with(FailureKind::local, errno_text("getsockopt SO_ERROR", errno));
      }
    }
    if (err == 0) return s;
    // A local errno (no ephemeral port for this family, say) is ours, but
    // another address may still work: it stands only if it is the last.
    last = Failure{is_local_errno(err)   ? FailureKind::local
                   : err == ECONNREFUSED ? FailureKind::refused
                   : err == ETIMEDOUT    ? FailureKind::connect_timeout
                                         : FailureKind::unreachable,
                   errno_text("connect", err)};
  }
  throw HttpAbort(std::move(last));
}

// The connected socket, read under the deadline.
class SocketSource : public ByteSource {
 public:
  SocketSource(int fd, Clock::time_point deadline, int cancel_fd, uint64_t* read_bytes)
      : fd_(fd), deadline_(deadline), cancel_fd_(cancel_fd), read_bytes_(read_bytes) {}

  void send_all(std::string_view data) {
    while (!data.empty()) {
      check_deadline(deadline_, cancel_fd_, "send");
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        wait_or_fail(fd_, POLLOUT, deadline_, cancel_fd_, FailureKind::timeout, "send");
      } else {
        const int err = errno;
        abort_with(is_local_errno(err) ? FailureKind::local : FailureKind::reset, errno_text("send", err));
      }
    }
  }

  size_t read(char* out, size_t size) override {
    for (;;) {
      check_deadline(deadline_, cancel_fd_, "receive");
      const ssize_t n = ::recv(fd_, out, size, 0);
      if (n >= 0) {
        if (read_bytes_) *read_bytes_ += static_cast<uint64_t>(n);
        return static_cast<size_t>(n);
      }
      const int err = errno;
      if (err == EAGAIN || err == EINTR) {
        wait_or_fail(fd_, POLLIN, deadline_, cancel_fd_, FailureKind::timeout, "receive");
        continue;
      }
      abort_with(is_local_errno(err) ? FailureKind::local : FailureKind::reset, errno_text("receive", err));
    }
  }

 private:
  int fd_;
  Clock::time_point deadline_;
  int cancel_fd_;
  uint64_t* read_bytes_;
};

// A body as a std::streambuf, for parsers that read streams. A failure
// reading it propagates as HttpAbort through the parser (nlohmann's reads
// the streambuf directly); it is also kept, for readers that swallow it.
class BodyBuf : public std::streambuf {
 public:
  explicit BodyBuf(ResponseReader& reader) : reader_(reader) {}
  const std::optional<Failure>& failure() const { return failure_; }

 protected:
  int_type underflow() override {
    size_t n = 0;
    try {
      n = reader_.read_body(buf_, sizeof buf_);
    } catch (const HttpAbort& a) {
      failure_ = a.failure;
      throw;
    }
    if (n == 0) return traits_type::eof();
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  ResponseReader& reader_;
  std::optional<Failure> failure_;
  char buf_[8192];
};

std::string host_header(const HttpRequest& r) {
  const bool v6 = r.host.find(':') != std::string::npos;
  return (v6 ? "[" + r.host + "]" : r.host) + ":" + std::to_string(r.port);
}

}  // namespace

Expected<HttpResponse, Failure> http_get(const HttpRequest& request, Clock::time_point deadline, int cancel_fd,
                                         const BodyConsumer& consume) {
  auto addrs = resolve(request.host, request.port, deadline, cancel_fd);
  if (!addrs) return Unexpected(std::move(addrs.error()));
  try {
    const UniqueFd socket = connect_any(*addrs, deadline, cancel_fd);
    SocketSource source(socket.get(), deadline, cancel_fd, request.read_bytes);
    source.send_all("GET " + request.target + " HTTP/1.1\r\nHost: " + host_header(request) +
                    "\r\nUser-Agent: leanpoint/" LEANPOINT_VERSION "\r\nAccept: " + request.accept +
                    "\r\nConnection: close\r\n\r\n");
    ResponseLimits limits;
    limits.body = request.max_body;
    ResponseReader reader(source, limits);
    reader.read_head();
    HttpResponse response;
    response.status = reader.status();
    response.content_type = reader.content_type();
    if (response.status / 100 != 2) return response;
    if (consume && response.status != 200) return response;  // another 2xx: the caller reports it, unread
    if (!consume) {
      response.body = reader.read_all();
      return response;
    }
    BodyBuf buf(reader);
    std::istream body(&buf);
    Expected<void, Failure> consumed = consume(body);
    // A failure reading the body comes first: the consumer may have seen
    // only its effect (a stream that ended early).
    if (buf.failure()) return Unexpected(*buf.failure());
    if (!consumed) return Unexpected(std::move(consumed.error()));
    return response;
  } catch (const HttpAbort& abort) {
    return Unexpected(abort.failure);
  } catch (const std::bad_alloc&) {
    return Unexpected(Failure{FailureKind::local, "out of memory reading the response"});
  }
}

}  // namespace leanpoint
