#include "http_client.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <utility>

#include "fd.h"
#include "resolve.h"
#include "text.h"
#include "version.h"

namespace leanpoint {
namespace {

// One recv() asks for kReadSize while reading lines and heads, and for at
// most kMaxRead while reading a body of known size; consumed chunked input
// is dropped from the buffer once it passes kMaxRead.
constexpr size_t kReadSize = 64 * 1024;
constexpr size_t kMaxRead = 1 << 20;

// Unwinds an exchange from any depth; thrown inside this file only, and
// turned into http_get's result there.
struct Abort : std::exception {
  explicit Abort(Failure f) : failure(std::move(f)) {}
  const char* what() const noexcept override { return failure.detail.c_str(); }
  Failure failure;
};

[[noreturn]] void fail(FailureKind kind, std::string detail) { throw Abort(Failure{kind, std::move(detail)}); }

std::string errno_text(const char* step, int err) { return std::string(step) + ": " + std::strerror(err); }

void wait_or_fail(int fd, short events, Clock::time_point deadline, int cancel_fd, FailureKind on_timeout,
                  const char* step) {
  switch (wait_fd(fd, events, deadline, cancel_fd)) {
    case WaitResult::ready:
      return;
    case WaitResult::cancelled:
      fail(FailureKind::cancelled, std::string(step) + ": stop requested");
    case WaitResult::timeout:
      fail(on_timeout, std::string(step) + ": deadline passed");
  }
}

// --- connecting ---------------------------------------------------------------

UniqueFd connect_any(const std::vector<sockaddr_storage>& addrs, Clock::time_point deadline, int cancel_fd) {
  Failure last{FailureKind::unreachable, "connect: no address"};
  for (const auto& addr : addrs) {
    UniqueFd s(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.get() < 0) fail(FailureKind::unreachable, errno_text("socket", errno));
    const socklen_t len = addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    int err = 0;
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        wait_or_fail(s.get(), POLLOUT, deadline, cancel_fd, FailureKind::connect_timeout, "connect");
        socklen_t err_len = sizeof err;
        if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
      }
    }
    if (err == 0) return s;
    last = Failure{err == ECONNREFUSED ? FailureKind::refused
                   : err == ETIMEDOUT  ? FailureKind::connect_timeout
                                       : FailureKind::unreachable,
                   errno_text("connect", err)};
  }
  throw Abort(std::move(last));
}

// --- the exchange -------------------------------------------------------------

class Exchange {
 public:
  Exchange(int fd, Clock::time_point deadline, int cancel_fd) : fd_(fd), deadline_(deadline), cancel_fd_(cancel_fd) {}

  void send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        wait_or_fail(fd_, POLLOUT, deadline_, cancel_fd_, FailureKind::timeout, "send");
      } else {
        fail(FailureKind::reset, errno_text("send", errno));
      }
    }
  }

  // Appends at most `max` more bytes to in_; false at end of stream.
  bool fill(size_t max = kReadSize) {
    for (;;) {
      const size_t old = in_.size();
      in_.resize(old + max);
      const ssize_t n = ::recv(fd_, in_.data() + old, max, 0);
      const int err = errno;
      in_.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      if (n > 0) return true;
      if (n == 0) return false;
      if (err == EAGAIN || err == EINTR) {
        wait_or_fail(fd_, POLLIN, deadline_, cancel_fd_, FailureKind::timeout, "receive");
        continue;
      }
      fail(FailureKind::reset, errno_text("receive", err));
    }
  }

  HttpResponse read_response(size_t max_body) {
    const size_t head_size = read_head();
    HttpResponse response;
    response.status = status_;
    response.content_type = content_type_;
    if (status_ / 100 != 2) return response;  // the caller reports the status; the body is not needed
    in_.erase(in_.begin(), in_.begin() + static_cast<long>(head_size));
    if (chunked_)
      response.body = read_chunked(max_body);
    else if (content_length_)
      response.body = read_length(*content_length_, max_body);
    else
      response.body = read_until_close(max_body);
    return response;
  }

 private:
  // Reads the status line and headers; returns their size including the blank line.
  size_t read_head() {
    static constexpr std::string_view kEnd = "\r\n\r\n";
    size_t end;
    static constexpr std::string_view kVersion = "HTTP/1.";
    while ((end = std::string_view(reinterpret_cast<const char*>(in_.data()), in_.size()).find(kEnd)) ==
           std::string_view::npos) {
      // Something that is not HTTP (a TLS or SSH server) is known from its
      // first bytes; do not wait for a head that will never come.
      const size_t n = std::min(in_.size(), kVersion.size());
      if (std::string_view(reinterpret_cast<const char*>(in_.data()), n) != kVersion.substr(0, n))
        fail(FailureKind::malformed, "not an HTTP response");
      if (in_.size() > kMaxResponseHead)
        fail(FailureKind::too_large, "response head over " + describe_size(kMaxResponseHead));
      if (!fill(kMaxResponseHead + 1 - std::min(in_.size(), kMaxResponseHead)))
        fail(FailureKind::truncated, in_.empty() ? "closed without a response" : "closed inside the response head");
    }
    if (end + kEnd.size() > kMaxResponseHead)
      fail(FailureKind::too_large, "response head over " + describe_size(kMaxResponseHead));
    parse_head(std::string_view(reinterpret_cast<const char*>(in_.data()), end));
    return end + kEnd.size();
  }

  void parse_head(std::string_view head) {
    const std::string_view status_line = head.substr(0, head.find("\r\n"));
    // "HTTP/1.x SSS reason"
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' '))
      fail(FailureKind::malformed, "bad status line");
    const auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status_);
    if (ec != std::errc() || p != status_line.data() + 12 || status_ < 100)
      fail(FailureKind::malformed, "bad status code");

    HeaderLines lines(head);
    for (HeaderLine h; lines.next(h);) {
      if (!h.has_colon || h.name.empty() || h.line.front() == ' ' || h.line.front() == '\t')
        fail(FailureKind::malformed, "bad header line");
      if (iequals(h.name, "content-length")) {
        uint64_t n = 0;
        const auto [q, e] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
        if (e != std::errc() || q != h.value.data() + h.value.size())
          fail(FailureKind::malformed, "bad Content-Length");
        if (content_length_ && *content_length_ != n) fail(FailureKind::malformed, "conflicting Content-Length");
        content_length_ = n;
      } else if (iequals(h.name, "transfer-encoding")) {
        if (!iequals(h.value, "chunked"))
          fail(FailureKind::malformed, "unsupported Transfer-Encoding: " + std::string(h.value));
        chunked_ = true;
      } else if (iequals(h.name, "content-type")) {
        content_type_ = to_lower(trim(h.value.substr(0, h.value.find(';'))));
      }
    }
  }

  std::vector<uint8_t> read_length(uint64_t length, size_t max_body) {
    if (length > max_body)
      fail(FailureKind::too_large,
           "Content-Length " + std::to_string(length) + " over the cap of " + std::to_string(max_body));
    while (in_.size() < length)
      if (!fill(std::min<size_t>(length - in_.size(), kMaxRead)))
        fail(FailureKind::truncated,
             "body ended after " + std::to_string(in_.size()) + " of " + std::to_string(length) + " bytes");
    in_.resize(length);
    return std::move(in_);
  }

  std::vector<uint8_t> read_until_close(size_t max_body) {
    while (in_.size() <= max_body)
      if (!fill(std::min<size_t>(max_body + 1 - in_.size(), kMaxRead))) return std::move(in_);
    fail(FailureKind::too_large, "body over the cap of " + std::to_string(max_body));
  }

  // in_ holds unparsed chunked data from pos_ on.
  std::vector<uint8_t> read_chunked(size_t max_body) {
    std::vector<uint8_t> body;
    for (;;) {
      const std::string line = read_line("chunk size");
      uint64_t size = 0;
      const auto end = line.find(';');
      const std::string_view digits = std::string_view(line).substr(0, end);
      const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
        fail(FailureKind::malformed, "bad chunk size");
      if (size == 0) break;
      if (size > max_body - body.size())
        fail(FailureKind::too_large, "body over the cap of " + std::to_string(max_body));
      while (in_.size() - pos_ < size + 2)
        if (!fill(std::min<size_t>(size + 2 - (in_.size() - pos_), kMaxRead)))
          fail(FailureKind::truncated, "body ended inside a chunk");
      body.insert(body.end(), in_.begin() + static_cast<long>(pos_), in_.begin() + static_cast<long>(pos_ + size));
      if (in_[pos_ + size] != '\r' || in_[pos_ + size + 1] != '\n')
        fail(FailureKind::malformed, "chunk not followed by CRLF");
      pos_ += size + 2;
      compact();
    }
    while (!read_line("trailer").empty()) {
    }
    return body;
  }

  // Reads one CRLF-terminated line (at most 1 KiB) from pos_ on.
  std::string read_line(const char* what) {
    static constexpr size_t kMaxLine = 1024;
    for (;;) {
      const auto begin = in_.begin() + static_cast<long>(pos_);
      const auto limit = in_.begin() + static_cast<long>(std::min(in_.size(), pos_ + kMaxLine + 2));
      static constexpr char kCrlf[] = "\r\n";
      const auto it = std::search(begin, limit, kCrlf, kCrlf + 2);
      if (it != limit) {
        std::string line(begin, it);
        pos_ = static_cast<size_t>(it - in_.begin()) + 2;
        return line;
      }
      if (in_.size() - pos_ > kMaxLine) fail(FailureKind::malformed, std::string(what) + " line too long");
      if (!fill()) fail(FailureKind::truncated, std::string("body ended in a ") + what + " line");
    }
  }

  void compact() {
    if (pos_ > kMaxRead) {
      in_.erase(in_.begin(), in_.begin() + static_cast<long>(pos_));
      pos_ = 0;
    }
  }

  int fd_;
  Clock::time_point deadline_;
  int cancel_fd_;
  std::vector<uint8_t> in_;
  size_t pos_ = 0;
  int status_ = 0;
  std::optional<uint64_t> content_length_;
  bool chunked_ = false;
  std::string content_type_;
};

std::string host_header(const HttpRequest& r) {
  const bool v6 = r.host.find(':') != std::string::npos;
  return (v6 ? "[" + r.host + "]" : r.host) + ":" + std::to_string(r.port);
}

}  // namespace

Expected<HttpResponse, Failure> http_get(const HttpRequest& request, Clock::time_point deadline, int cancel_fd) {
  auto addrs = resolve(request.host, request.port, deadline, cancel_fd);
  if (!addrs) return Unexpected(std::move(addrs.error()));
  try {
    const UniqueFd socket = connect_any(*addrs, deadline, cancel_fd);
    Exchange exchange(socket.get(), deadline, cancel_fd);
    exchange.send_all("GET " + request.target + " HTTP/1.1\r\nHost: " + host_header(request) +
                      "\r\nUser-Agent: leanpoint/" LEANPOINT_VERSION "\r\nAccept: " + request.accept +
                      "\r\nConnection: close\r\n\r\n");
    return exchange.read_response(request.max_body);
  } catch (const Abort& abort) {
    return Unexpected(abort.failure);
  }
}

}  // namespace leanpoint
