// http_client.h against real sockets on 127.0.0.1: every fault ends within the
// deadline (+100 ms) with the right kind, and no descriptor is left behind.
#include "http_client.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fd.h"
#include "fds.h"
#include "ports.h"
#include "sanitizers.h"
#include "scripted_server.h"
#include "testing.h"
#include "upstream_faults.h"

using leanpoint::Clock;
using leanpoint::FailureKind;
using leanpoint::http_get;
using leanpoint::HttpRequest;
using HttpResult = leanpoint::Expected<leanpoint::HttpResponse, leanpoint::Failure>;
using leanpoint::sim::always;
using leanpoint::sim::Script;
using leanpoint::sim::ScriptedServer;
using leanpoint::sim::Step;
using testing::kDeadlineSlack;
using testing::kRequestDeadline;
using namespace std::chrono_literals;

namespace {

struct Timed {
  HttpResult result;
  Clock::duration took;
};

Timed get(uint16_t port, const std::string& target = "/lean/v0/fork_choice", size_t max_body = 1 << 20,
          std::string host = "127.0.0.1", int cancel_fd = -1) {
  HttpRequest req{host, port, target, "application/json", max_body};
  const auto start = Clock::now();
  HttpResult r = http_get(req, start + kRequestDeadline, cancel_fd);
  return {std::move(r), Clock::now() - start};
}

std::string body_of(const HttpResult& r) { return std::string(r->body.begin(), r->body.end()); }

std::string detail_of(const HttpResult& r) { return r ? std::string() : r.error().detail; }

// Asserts the kind and that the call ended by the deadline plus slack.
void expect_error(const Timed& t, FailureKind kind) {
  REQUIRE(!t.result.has_value());
  CAPTURE(t.result.error().detail);
  CHECK(leanpoint::to_string(t.result.error().kind) == leanpoint::to_string(kind));
  CHECK(t.took <= kRequestDeadline + kDeadlineSlack);
}

}  // namespace

TEST_CASE("Content-Length body") {
  ScriptedServer up(always(leanpoint::sim::respond(200, "application/json; charset=utf-8", R"({"ok":true})")));
  const auto t = get(up.port());
  REQUIRE(t.result.has_value());
  CHECK(t.result->status == 200);
  CHECK(t.result->content_type == "application/json");
  CHECK(body_of(t.result) == R"({"ok":true})");
}

TEST_CASE("the request: exact target, Host, Accept, Connection: close") {
  ScriptedServer up(always(leanpoint::sim::respond(200, "application/octet-stream", "x")));
  HttpRequest req{"127.0.0.1", up.port(), "/lean/v0/states/finalized", "application/octet-stream", 100};
  REQUIRE(http_get(req, Clock::now() + kRequestDeadline).has_value());
  const std::string h = up.last_head();
  CHECK(h.rfind("GET /lean/v0/states/finalized HTTP/1.1\r\n", 0) == 0);
  CHECK(h.find("\r\nHost: 127.0.0.1:" + std::to_string(up.port()) + "\r\n") != std::string::npos);
  CHECK(h.find("\r\nAccept: application/octet-stream\r\n") != std::string::npos);
  CHECK(h.find("\r\nConnection: close\r\n") != std::string::npos);
  CHECK(h.find('?') == std::string::npos);
}

TEST_CASE("chunked body with extensions and trailers") {
  ScriptedServer up(
      always({{Step::Kind::send, leanpoint::sim::head(200, "application/json", {"Transfer-Encoding: chunked"}) +
                                     "4;ext=1\r\n{\"a\"\r\n5\r\n:123}\r\n0\r\nX-Trailer: 1\r\n\r\n"}}));
  const auto t = get(up.port());
  REQUIRE(t.result.has_value());
  CHECK(body_of(t.result) == R"({"a":123})");
}

TEST_CASE("close-delimited body") {
  ScriptedServer up(always({{Step::Kind::send, leanpoint::sim::head(200, "application/json") + "[1,2,3]"}}));
  const auto t = get(up.port());
  REQUIRE(t.result.has_value());
  CHECK(body_of(t.result) == "[1,2,3]");
}

TEST_CASE("body arriving in pieces") {
  ScriptedServer up(always({{Step::Kind::send, leanpoint::sim::head(200, "application/json", {"Content-Length: 6"})},
                            {Step::Kind::drip, "abcdef", 10}}));
  const auto t = get(up.port());
  REQUIRE(t.result.has_value());
  CHECK(body_of(t.result) == "abcdef");
}

TEST_CASE("non-2xx status: returned with the code, body not read") {
  ScriptedServer up(always(leanpoint::sim::respond(404, "text/plain", "not found")));
  const auto t = get(up.port());
  REQUIRE(t.result.has_value());
  CHECK(t.result->status == 404);
  CHECK(t.result->body.empty());
}

TEST_CASE("fault: refused") { expect_error(get(testing::free_port()), FailureKind::refused); }

TEST_CASE("fault: accepts and never answers -> timeout") {
  ScriptedServer up(always({{Step::Kind::hang}}));
  const auto t = get(up.port());
  expect_error(t, FailureKind::timeout);
  CHECK(t.took >= kRequestDeadline - 5ms);
}

TEST_CASE("fault: full listen backlog -> connect_timeout") {
  const auto up = ScriptedServer::full_backlog();
  const auto t = get(up->port());
  expect_error(t, FailureKind::connect_timeout);
  CHECK(t.took >= kRequestDeadline - 5ms);
}

TEST_CASE("fault: half-close after the headers -> truncated") {
  ScriptedServer up(always({{Step::Kind::send, leanpoint::sim::head(200, "application/json", {"Content-Length: 1000"})},
                            {Step::Kind::half_close}}));
  expect_error(get(up.port()), FailureKind::truncated);
}

TEST_CASE("fault: reset before answering") {
  ScriptedServer up(always({{Step::Kind::reset}}));
  expect_error(get(up.port()), FailureKind::reset);
}

TEST_CASE("fault: reset mid-body") {
  ScriptedServer up(
      always({{Step::Kind::send,
               leanpoint::sim::head(200, "application/json", {"Content-Length: 100000"}) + std::string(1000, 'x')},
              {Step::Kind::reset}}));
  const auto t = get(up.port());
  REQUIRE(!t.result.has_value());
  // The RST may overtake the data in the receive queue: either way the body is lost.
  const bool reset_or_truncated =
      t.result.error().kind == FailureKind::reset || t.result.error().kind == FailureKind::truncated;
  CHECK(reset_or_truncated);
  CHECK(t.took <= kRequestDeadline + kDeadlineSlack);
}

TEST_CASE("fault: drip one byte every 200 ms -> timeout at the deadline") {
  const std::string whole = leanpoint::sim::respond(200, "application/json", "{}")[0].data;
  ScriptedServer up(always({{Step::Kind::drip, whole, 200}}));
  const auto t = get(up.port());
  expect_error(t, FailureKind::timeout);
  CHECK(t.took >= kRequestDeadline - 5ms);
}

TEST_CASE("fault: claims 4 GiB -> too_large before reading it") {
  ScriptedServer up(
      always({{Step::Kind::send, leanpoint::sim::head(200, "application/octet-stream", {"Content-Length: 4294967296"})},
              {Step::Kind::stream, std::string(65536, 'z')}}));
  const auto t = get(up.port(), "/lean/v0/states/finalized", 64 << 20);
  expect_error(t, FailureKind::too_large);
  CHECK(t.took < kRequestDeadline / 2);
}

TEST_CASE("fault: endless chunked stream -> too_large at the cap") {
  std::string chunk = "10000\r\n" + std::string(65536, 'c') + "\r\n";
  ScriptedServer up(
      always({{Step::Kind::send, leanpoint::sim::head(200, "application/json", {"Transfer-Encoding: chunked"})},
              {Step::Kind::stream, chunk}}));
  expect_error(get(up.port(), "/x", 1 << 20), FailureKind::too_large);
}

TEST_CASE("fault: endless close-delimited stream -> too_large at the cap") {
  ScriptedServer up(always({{Step::Kind::send, leanpoint::sim::head(200, "application/json")},
                            {Step::Kind::stream, std::string(65536, 's')}}));
  expect_error(get(up.port(), "/x", 1 << 20), FailureKind::too_large);
}

TEST_CASE("fault: short body -> truncated") {
  ScriptedServer up(always({{Step::Kind::send, leanpoint::sim::head(200, "application/json", {"Content-Length: 100"}) +
                                                   std::string(50, 'a')}}));
  const auto t = get(up.port());
  expect_error(t, FailureKind::truncated);
  CHECK(detail_of(t.result) == "body ended after 50 of 100 bytes");
}

TEST_CASE("fault: closes without a response -> truncated") {
  ScriptedServer up(always({}));
  const auto t = get(up.port());
  expect_error(t, FailureKind::truncated);
  CHECK(detail_of(t.result) == "closed without a response");
}

TEST_CASE("fault: bad chunks -> malformed") {
  const std::string h = leanpoint::sim::head(200, "application/json", {"Transfer-Encoding: chunked"});
  for (const std::string body : {"zz\r\nabc\r\n0\r\n\r\n", "3\r\nabcXY0\r\n\r\n", "\r\n"}) {
    CAPTURE(body);
    ScriptedServer up(always({{Step::Kind::send, h + body}}));
    expect_error(get(up.port()), FailureKind::malformed);
  }
  // A stream that ends inside a chunk is truncated, not malformed.
  ScriptedServer cut(always({{Step::Kind::send, h + "10\r\nabc"}}));
  expect_error(get(cut.port()), FailureKind::truncated);
}

TEST_CASE("fault: not HTTP -> malformed") {
  for (const std::string reply :
       {"SSH-2.0-OpenSSH_9.2\r\n\r\n", "HTTP/1.1 2xx OK\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"}) {
    CAPTURE(reply);
    ScriptedServer up(always({{Step::Kind::send, reply}}));
    expect_error(get(up.port()), FailureKind::malformed);
  }
}

TEST_CASE("fault: not HTTP at all is malformed at once, not a timeout") {
  ScriptedServer up(always({{Step::Kind::send, "SSH-2.0-OpenSSH_9.2\r\n"}, {Step::Kind::hang}}));
  const auto t = get(up.port());
  expect_error(t, FailureKind::malformed);
  CHECK(detail_of(t.result) == "not an HTTP response");
  CHECK(t.took < kRequestDeadline / 2);
}

TEST_CASE("fault: response head over 16 KiB -> too_large") {
  ScriptedServer up(always({{Step::Kind::send, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(17000, 'h') + "\r\n\r\n"}}));
  expect_error(get(up.port()), FailureKind::too_large);
  ScriptedServer endless(always({{Step::Kind::send, "HTTP/1.1 200 OK\r\n"}, {Step::Kind::stream, "X-A: b\r\n"}}));
  expect_error(get(endless.port()), FailureKind::too_large);
}

TEST_CASE("HTML where JSON or SSZ was asked for: the content type is reported") {
  ScriptedServer up(always(leanpoint::sim::respond(200, "text/html", "<html>hi</html>")));
  const auto t = get(up.port());
  REQUIRE(t.result.has_value());
  CHECK(t.result->content_type == "text/html");
}

// glibc's getaddrinfo_a resolves on threads it creates internally, which
// ThreadSanitizer cannot see: its allocator crashes on them. Natively and
// under ASan this test runs.
TEST_CASE("names resolve under the deadline" * doctest::skip(testing::kThreadSanitizer)) {
  ScriptedServer up(always(leanpoint::sim::respond(200, "application/json", "{}")));
  const auto t = get(up.port(), "/x", 1024, "localhost");
  CAPTURE(detail_of(t.result));
  CHECK(t.result.has_value());
  expect_error(get(up.port(), "/x", 1024, "no-such-host.invalid"), FailureKind::dns);
}

TEST_CASE("a stop request ends a request at once") {
  auto opened = leanpoint::EventFd::open();
  REQUIRE(opened);
  const leanpoint::EventFd cancel = std::move(*opened);
  // The upstream signals the stop when the request arrives, then hangs.
  ScriptedServer up([&cancel](const std::string&, const std::string&) {
    cancel.notify();
    return Script{{Step::Kind::hang}};
  });
  const auto t = get(up.port(), "/x", 1024, "127.0.0.1", cancel.fd());
  expect_error(t, FailureKind::cancelled);
  CHECK(t.took < kRequestDeadline);
}

TEST_CASE("no descriptor outlives a request, whatever the upstream does") {
  // The test upstreams live in this process too, so count with none of them
  // alive: before they start and after they are gone.
  const size_t before = testing::open_fds();
  size_t calls = 0;
  {
    ScriptedServer hang(always({{Step::Kind::hang}}));
    ScriptedServer reset(always({{Step::Kind::reset}}));
    ScriptedServer huge(always(
        {{Step::Kind::send, leanpoint::sim::head(200, "x/y", {"Content-Length: 4294967296"})}, {Step::Kind::hang}}));
    ScriptedServer drip(always({{Step::Kind::drip, "HTTP/1.1 200 OK\r\n", 50}}));
    ScriptedServer ok(always(leanpoint::sim::respond(200, "application/json", "{}")));
    const auto syn = ScriptedServer::full_backlog();
    const uint16_t closed = testing::free_port();
    for (int i = 0; i < 3; ++i) {
      for (uint16_t port : {hang.port(), reset.port(), huge.port(), drip.port(), ok.port(), syn->port(), closed}) {
        HttpRequest req{"127.0.0.1", port, "/x", "application/json", 1024};
        [[maybe_unused]] const auto result = http_get(req, Clock::now() + 100ms);
        ++calls;
      }
    }
  }
  CHECK(calls == 21);
  CHECK(testing::open_fds() == before);
}

TEST_CASE("a body consumer: streamed a 200's body, its own failure returned, a read failure first") {
  using leanpoint::Expected;
  using leanpoint::Failure;
  ScriptedServer ok(always(leanpoint::sim::respond(200, "application/json", "hello")));
  HttpRequest req{"127.0.0.1", ok.port(), "/x", "application/json", 1024};
  std::string seen;
  auto r = http_get(req, Clock::now() + kRequestDeadline, -1, [&seen](std::istream& body) -> Expected<void, Failure> {
    std::getline(body, seen);
    return {};
  });
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->body.empty());
  CHECK(seen == "hello");

  r = http_get(req, Clock::now() + kRequestDeadline, -1, [](std::istream&) -> Expected<void, Failure> {
    return leanpoint::Unexpected(Failure{FailureKind::malformed, "not what was expected"});
  });
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == FailureKind::malformed);
  CHECK(r.error().detail == "not what was expected");

  // Over the cap: the read fails too_large, even where the consumer, seeing
  // only a stream that ended, reports success.
  req.max_body = 2;
  r = http_get(req, Clock::now() + kRequestDeadline, -1, [](std::istream& body) -> Expected<void, Failure> {
    char sink[64];
    while (body.read(sink, sizeof sink) || body.gcount() > 0) {  // std::istream swallows the failure
    }
    return {};
  });
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == FailureKind::too_large);
}
