// base/: text helpers, HeaderLines, descriptor ownership, Expected.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "expected.h"
#include "fd.h"
#include "fds.h"
#include "testing.h"
#include "text.h"

using leanpoint::HeaderLine;
using leanpoint::HeaderLines;

namespace {

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

std::vector<HeaderLine> lines_of(std::string_view head) {
  std::vector<HeaderLine> out;
  for (const HeaderLine& h : HeaderLines(head)) out.push_back(h);
  return out;
}

}  // namespace

TEST_CASE("trim: spaces and tabs at both ends, nothing else") {
  CHECK(leanpoint::trim(" \t a b \t ") == "a b");
  CHECK(leanpoint::trim("") == "");
  CHECK(leanpoint::trim(" \t ") == "");
  CHECK(leanpoint::trim("\r\nx\r\n") == "\r\nx\r\n");
}

TEST_CASE("iequals, starts_with_nocase, to_lower") {
  CHECK(leanpoint::iequals("Content-Length", "content-LENGTH"));
  CHECK_FALSE(leanpoint::iequals("Content-Length", "Content-Lengt"));
  CHECK(leanpoint::starts_with_nocase("HTTP://x", "http://"));
  CHECK_FALSE(leanpoint::starts_with_nocase("htt", "http://"));
  CHECK(leanpoint::to_lower("Application/JSON") == "application/json");
}

TEST_CASE("describe_size: exact units only") {
  CHECK(leanpoint::describe_size(16 * 1024) == "16 KiB");
  CHECK(leanpoint::describe_size(4 << 20) == "4 MiB");
  CHECK(leanpoint::describe_size(1000) == "1000 bytes");
  CHECK(leanpoint::describe_size(1536) == "1536 bytes");
  CHECK(leanpoint::describe_size(0) == "0 bytes");
}

TEST_CASE("HeaderLines: names as sent, values trimmed, offsets into the head") {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nRange:  bytes=0-1 \r\nno colon\r\nX-Empty:\r\n\r\nbody: no";
  const auto lines = lines_of(head);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].name == "Host");
  CHECK(lines[0].value == "a");
  CHECK(head.substr(lines[0].offset, 7) == "Host: a");
  CHECK(lines[1].name == "Range");
  CHECK(lines[1].value == "bytes=0-1");
  CHECK(lines[1].line == "Range:  bytes=0-1 ");
  CHECK_FALSE(lines[2].has_colon);
  CHECK(lines[2].line == "no colon");
  CHECK(lines[3].has_colon);
  CHECK(lines[3].value == "");
}

TEST_CASE("HeaderLines: a head without its final CRLF, a space before the colon, no headers") {
  auto lines = lines_of("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding : chunked");
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].name == "Transfer-Encoding ");  // as sent: callers decide
  CHECK(lines[1].value == "chunked");
  CHECK(lines_of("GET / HTTP/1.1\r\n\r\n").empty());
  CHECK(lines_of("GET / HTTP/1.1").empty());
  CHECK(lines_of("").empty());
}

TEST_CASE("UniqueFd: closes once, on reset or destruction; release gives it up") {
  int raw = -1;
  {
    leanpoint::UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    raw = fd.get();
    REQUIRE(fd.valid());
    leanpoint::UniqueFd moved(std::move(fd));
    CHECK_FALSE(fd.valid());
    CHECK(moved.get() == raw);
    CHECK(is_open(raw));
  }
  CHECK_FALSE(is_open(raw));

  leanpoint::UniqueFd kept(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const int released = kept.release();
  CHECK_FALSE(kept.valid());
  CHECK(is_open(released));
  kept.reset(released);
  kept.reset();
  CHECK_FALSE(is_open(released));
}

TEST_CASE("EventFd: readable after notify until drained; no descriptor left") {
  const size_t before = testing::open_fds();
  {
    auto opened = leanpoint::EventFd::open(leanpoint::EventFd::Mode::nonblocking);
    REQUIRE(opened);
    const leanpoint::EventFd& e = *opened;
    CHECK_FALSE(readable(e.fd()));
    e.notify();
    e.notify();
    CHECK(readable(e.fd()));
    e.drain();
    CHECK_FALSE(readable(e.fd()));
    e.drain();  // nothing to drain: returns at once
  }
  CHECK(testing::open_fds() == before);
}

TEST_CASE("Expected: a value or an error, never both") {
  using E = leanpoint::Expected<std::string, int>;
  const E ok = std::string("v");
  REQUIRE(ok);
  CHECK(*ok == "v");
  CHECK(ok->size() == 1);
  const E bad = leanpoint::Unexpected(7);
  CHECK_FALSE(bad.has_value());
  CHECK(bad.error() == 7);
  using Same = leanpoint::Expected<int, int>;  // the same type on both sides stays unambiguous
  CHECK(Same(1).has_value());
  CHECK(Same(leanpoint::Unexpected(1)).error() == 1);
}
