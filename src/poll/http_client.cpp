#include "http_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <mutex>
#include <utility>

#include "version.h"

namespace leanpoint {

std::string_view to_string(FetchError e) {
  switch (e) {
    case FetchError::dns: return "dns";
    case FetchError::refused: return "refused";
    case FetchError::unreachable: return "unreachable";
    case FetchError::connect_timeout: return "connect_timeout";
    case FetchError::reset: return "reset";
    case FetchError::timeout: return "timeout";
    case FetchError::truncated: return "truncated";
    case FetchError::too_large: return "too_large";
    case FetchError::malformed: return "malformed";
    case FetchError::cancelled: return "cancelled";
  }
  return "unknown";
}

namespace {

// Thrown inside this file only; http_get turns it into an HttpResult.
struct Abort {
  FetchError kind;
  std::string detail;
};

[[noreturn]] void fail(FetchError kind, std::string detail) { throw Abort{kind, std::move(detail)}; }

std::string errno_text(const char* step, int err) { return std::string(step) + ": " + std::strerror(err); }

// Owns a socket: closed on every path out of http_get.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(Socket&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

void wait_or_fail(int fd, short events, Clock::time_point deadline, int cancel_fd, FetchError on_timeout,
                  const char* step) {
  switch (wait_fd(fd, events, deadline, cancel_fd)) {
    case WaitResult::ready: return;
    case WaitResult::cancelled: fail(FetchError::cancelled, std::string(step) + ": stop requested");
    case WaitResult::timeout: fail(on_timeout, std::string(step) + ": deadline passed");
  }
}

// --- name lookup --------------------------------------------------------------

// getaddrinfo blocks for as long as the resolver likes, so names are looked up
// with getaddrinfo_a and awaited under the deadline. A lookup glibc cannot
// cancel keeps running in glibc's own resolver thread; its request block must
// outlive it, so it is parked here until done. A bounded number may be
// parked: past that, lookups fail fast instead of piling up.
struct Lookup {
  std::string host, service;
  addrinfo hints{};
  gaicb cb{};
};

constexpr size_t kMaxParkedLookups = 8;
std::mutex g_parked_mutex;
std::vector<std::unique_ptr<Lookup>> g_parked;

void release(std::unique_ptr<Lookup> lookup) {
  if (gai_cancel(&lookup->cb) == EAI_NOTCANCELED) {
    std::lock_guard lock(g_parked_mutex);
    g_parked.push_back(std::move(lookup));
    return;
  }
  if (lookup->cb.ar_result) freeaddrinfo(lookup->cb.ar_result);
}

size_t reap_parked() {
  std::lock_guard lock(g_parked_mutex);
  std::erase_if(g_parked, [](const std::unique_ptr<Lookup>& l) {
    if (gai_error(&l->cb) == EAI_INPROGRESS) return false;
    if (l->cb.ar_result) freeaddrinfo(l->cb.ar_result);
    return true;
  });
  return g_parked.size();
}

std::vector<sockaddr_storage> resolve(const std::string& host, uint16_t port, Clock::time_point deadline,
                                      int cancel_fd) {
  sockaddr_storage numeric{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&numeric);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&numeric);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return {numeric};
  }
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return {numeric};
  }

  if (reap_parked() >= kMaxParkedLookups)
    fail(FetchError::dns, "lookup of " + host + ": " + std::to_string(kMaxParkedLookups) +
                              " earlier lookups are still hanging in the resolver");
  auto lookup = std::make_unique<Lookup>();
  lookup->host = host;
  lookup->service = std::to_string(port);
  lookup->hints.ai_socktype = SOCK_STREAM;
  lookup->hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  lookup->cb.ar_name = lookup->host.c_str();
  lookup->cb.ar_service = lookup->service.c_str();
  lookup->cb.ar_request = &lookup->hints;
  gaicb* list[1] = {&lookup->cb};
  if (const int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, nullptr); rc != 0)
    fail(FetchError::dns, "lookup of " + host + ": " + gai_strerror(rc));

  // gai_suspend cannot watch the stop fd, so wait in short slices.
  int rc;
  while ((rc = gai_error(&lookup->cb)) == EAI_INPROGRESS) {
    if (cancelled(cancel_fd)) {
      release(std::move(lookup));
      fail(FetchError::cancelled, "lookup of " + host + ": stop requested");
    }
    const int left = ms_until(deadline);
    if (left == 0) {
      release(std::move(lookup));
      fail(FetchError::dns, "lookup of " + host + " did not finish before the deadline");
    }
    const int slice = std::min(left, 50);
    const timespec ts{slice / 1000, (slice % 1000) * 1'000'000L};
    gai_suspend(list, 1, &ts);
  }
  if (rc != 0) {
    release(std::move(lookup));
    fail(FetchError::dns, "lookup of " + host + ": " + gai_strerror(rc));
  }
  std::vector<sockaddr_storage> addrs;
  for (const addrinfo* ai = lookup->cb.ar_result; ai; ai = ai->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, std::min<size_t>(ai->ai_addrlen, sizeof ss));
    addrs.push_back(ss);
  }
  release(std::move(lookup));
  if (addrs.empty()) fail(FetchError::dns, "lookup of " + host + ": no addresses");
  return addrs;
}

// --- connecting ---------------------------------------------------------------

Socket connect_any(const std::vector<sockaddr_storage>& addrs, Clock::time_point deadline, int cancel_fd) {
  Abort last{FetchError::unreachable, "connect: no address"};
  for (const auto& addr : addrs) {
    Socket s(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.get() < 0) fail(FetchError::unreachable, errno_text("socket", errno));
    const socklen_t len = addr.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    int err = 0;
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        wait_or_fail(s.get(), POLLOUT, deadline, cancel_fd, FetchError::connect_timeout, "connect");
        socklen_t err_len = sizeof err;
        if (::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
      }
    }
    if (err == 0) return s;
    last = {err == ECONNREFUSED ? FetchError::refused
            : err == ETIMEDOUT  ? FetchError::connect_timeout
                                : FetchError::unreachable,
            errno_text("connect", err)};
  }
  throw last;
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
        wait_or_fail(fd_, POLLOUT, deadline_, cancel_fd_, FetchError::timeout, "send");
      } else {
        fail(FetchError::reset, errno_text("send", errno));
      }
    }
  }

  // Appends at most `max` more bytes to in_; false at end of stream.
  bool fill(size_t max = 64 * 1024) {
    for (;;) {
      const size_t old = in_.size();
      in_.resize(old + max);
      const ssize_t n = ::recv(fd_, in_.data() + old, max, 0);
      const int err = errno;
      in_.resize(old + static_cast<size_t>(std::max<ssize_t>(n, 0)));
      if (n > 0) return true;
      if (n == 0) return false;
      if (err == EAGAIN || err == EINTR) {
        wait_or_fail(fd_, POLLIN, deadline_, cancel_fd_, FetchError::timeout, "receive");
        continue;
      }
      fail(FetchError::reset, errno_text("receive", err));
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
        fail(FetchError::malformed, "not an HTTP response");
      if (in_.size() > kMaxResponseHead) fail(FetchError::too_large, "response head over 16 KiB");
      if (!fill(kMaxResponseHead + 1 - std::min(in_.size(), kMaxResponseHead)))
        fail(FetchError::truncated, in_.empty() ? "closed without a response" : "closed inside the response head");
    }
    if (end + kEnd.size() > kMaxResponseHead) fail(FetchError::too_large, "response head over 16 KiB");
    parse_head(std::string_view(reinterpret_cast<const char*>(in_.data()), end));
    return end + kEnd.size();
  }

  void parse_head(std::string_view head) {
    size_t eol = head.find("\r\n");
    const std::string_view status_line = head.substr(0, eol);
    // "HTTP/1.x SSS reason"
    if (status_line.size() < 12 || status_line.substr(0, 7) != "HTTP/1." || status_line[8] != ' ' ||
        (status_line.size() > 12 && status_line[12] != ' '))
      fail(FetchError::malformed, "bad status line");
    const auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status_);
    if (ec != std::errc() || p != status_line.data() + 12 || status_ < 100) fail(FetchError::malformed, "bad status code");

    while (eol != std::string_view::npos) {
      const size_t start = eol + 2;
      eol = head.find("\r\n", start);
      const std::string_view line = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
      const size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos || line.front() == ' ' || line.front() == '\t')
        fail(FetchError::malformed, "bad header line");
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
      std::string lower(value);
      std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
      if (name == "content-length") {
        uint64_t n = 0;
        const auto [q, e] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (e != std::errc() || q != value.data() + value.size()) fail(FetchError::malformed, "bad Content-Length");
        if (content_length_ && *content_length_ != n) fail(FetchError::malformed, "conflicting Content-Length");
        content_length_ = n;
      } else if (name == "transfer-encoding") {
        if (lower != "chunked") fail(FetchError::malformed, "unsupported Transfer-Encoding: " + std::string(value));
        chunked_ = true;
      } else if (name == "content-type") {
        content_type_ = lower.substr(0, lower.find(';'));
        while (!content_type_.empty() && content_type_.back() == ' ') content_type_.pop_back();
      }
    }
  }

  std::vector<uint8_t> read_length(uint64_t length, size_t max_body) {
    if (length > max_body)
      fail(FetchError::too_large, "Content-Length " + std::to_string(length) + " over the cap of " +
                                      std::to_string(max_body));
    while (in_.size() < length)
      if (!fill(std::min<size_t>(length - in_.size(), 1 << 20)))
        fail(FetchError::truncated, "body ended after " + std::to_string(in_.size()) + " of " +
                                        std::to_string(length) + " bytes");
    in_.resize(length);
    return std::move(in_);
  }

  std::vector<uint8_t> read_until_close(size_t max_body) {
    while (in_.size() <= max_body)
      if (!fill(std::min<size_t>(max_body + 1 - in_.size(), 1 << 20))) return std::move(in_);
    fail(FetchError::too_large, "body over the cap of " + std::to_string(max_body));
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
        fail(FetchError::malformed, "bad chunk size");
      if (size == 0) break;
      if (size > max_body - body.size()) fail(FetchError::too_large, "body over the cap of " + std::to_string(max_body));
      while (in_.size() - pos_ < size + 2)
        if (!fill(std::min<size_t>(size + 2 - (in_.size() - pos_), 1 << 20)))
          fail(FetchError::truncated, "body ended inside a chunk");
      body.insert(body.end(), in_.begin() + static_cast<long>(pos_), in_.begin() + static_cast<long>(pos_ + size));
      if (in_[pos_ + size] != '\r' || in_[pos_ + size + 1] != '\n') fail(FetchError::malformed, "chunk not followed by CRLF");
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
      if (in_.size() - pos_ > kMaxLine) fail(FetchError::malformed, std::string(what) + " line too long");
      if (!fill()) fail(FetchError::truncated, std::string("body ended in a ") + what + " line");
    }
  }

  void compact() {
    if (pos_ > (1 << 20)) {
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

HttpResult http_get(const HttpRequest& request, Clock::time_point deadline, int cancel_fd) {
  HttpResult result;
  try {
    const auto addrs = resolve(request.host, request.port, deadline, cancel_fd);
    const Socket socket = connect_any(addrs, deadline, cancel_fd);
    Exchange exchange(socket.get(), deadline, cancel_fd);
    exchange.send_all("GET " + request.target + " HTTP/1.1\r\nHost: " + host_header(request) +
                      "\r\nUser-Agent: leanpoint/" LEANPOINT_VERSION "\r\nAccept: " + request.accept +
                      "\r\nConnection: close\r\n\r\n");
    result.response = exchange.read_response(request.max_body);
  } catch (const Abort& f) {
    result.error = f.kind;
    result.detail = f.detail;
  }
  return result;
}

}  // namespace leanpoint
