// request_head.h: a head read, screened and parsed; each refusal's kind.
#include "request_head.h"

#include <utility>
#include <vector>

#include "testing.h"

using leanpoint::decoded_path;
using leanpoint::HeadErrorKind;
using leanpoint::read_head;

namespace {

// The kind a head is refused for; nullopt when it is read.
std::optional<HeadErrorKind> refusal(std::string input) {
  const auto head = read_head(input);
  if (head) return std::nullopt;
  return head.error().kind;
}

}  // namespace

TEST_CASE("decoded_path: the query dropped, %XX decoded, anything else kept") {
  CHECK(decoded_path("/lean/v0/states/finalized?cache=1") == "/lean/v0/states/finalized");
  CHECK(decoded_path("/lean%2fv0%2Fstates%2ffinalized") == "/lean/v0/states/finalized");
  CHECK(decoded_path("/a%20b") == "/a b");
  CHECK(decoded_path("/100%") == "/100%");
  CHECK(decoded_path("/%4") == "/%4");
  CHECK(decoded_path("/%zz") == "/%zz");
  CHECK(decoded_path("/%2") == "/%2");
  CHECK(decoded_path("/a+b") == "/a+b");  // '+' is a space only in a query
  CHECK(decoded_path("/x%3Fy?z") == "/x?y");
  CHECK(decoded_path("") == "");
}

TEST_CASE("method_bit: GET and HEAD, nothing else") {
  CHECK(leanpoint::method_bit("GET") == leanpoint::kGet);
  CHECK(leanpoint::method_bit("HEAD") == leanpoint::kHead);
  CHECK(leanpoint::method_bit("POST") == 0);
  CHECK(leanpoint::method_bit("get") == 0);
}

TEST_CASE("head_end and head_ready: a whole head, or more than the cap without one") {
  CHECK(leanpoint::head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nnext") == 27);
  CHECK(leanpoint::head_end("GET / HTTP/1.1\r\nHost: a\r\n") == 0);
  CHECK_FALSE(leanpoint::head_ready("GET / HTTP/1.1\r\n"));
  CHECK(leanpoint::head_ready("GET / HTTP/1.1\r\n\r\n"));
  CHECK(leanpoint::head_ready(std::string(leanpoint::kMaxRequestHead + 1, 'a')));
}

TEST_CASE("read_head: the target, its decoded path, the method; the rest of the input kept") {
  std::string input = "HEAD /x%2Fy?z HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n\r\n";
  const auto head = read_head(input);
  REQUIRE(head);
  CHECK(head->method == leanpoint::kHead);
  CHECK(head->target == "/x%2Fy?z");
  CHECK(head->path == "/x/y");
  CHECK(head->size == 35);
  CHECK_FALSE(head->range);
  CHECK(input.substr(head->size) == "GET /next HTTP/1.1\r\n\r\n");
}

TEST_CASE("read_head: an absolute-form target becomes origin-form, in place") {
  for (const auto& [target, origin] : std::vector<std::pair<std::string, std::string>>{
           {"http://h/lean/v0/states/finalized", "/lean/v0/states/finalized"},
           {"HTTPS://h:8080/a?b", "/a?b"},
           {"http://h?q", "/?q"},
           {"http://h", "/"}}) {
    CAPTURE(target);
    std::string input = "GET " + target + " HTTP/1.1\r\nHost: h\r\n\r\n";
    const auto head = read_head(input);
    REQUIRE(head);
    CHECK(head->target == origin);
    CHECK(input == "GET " + origin + " HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(head->size == input.size());
  }
}

TEST_CASE("read_head: Range headers are taken out (renamed in place) and joined") {
  std::string input = "GET / HTTP/1.1\r\nRange: bytes=0-1\r\nHost: a\r\nrange: bytes=5-\r\n\r\n";
  const auto head = read_head(input);
  REQUIRE(head);
  CHECK(head->range == "bytes=0-1,bytes=5-");
  CHECK(input == "GET / HTTP/1.1\r\nXange: bytes=0-1\r\nHost: a\r\nXange: bytes=5-\r\n\r\n");
}

TEST_CASE("read_head: Expect is taken out too (no body: nothing to continue)") {
  std::string input = "GET / HTTP/1.1\r\nExpect: 100-continue\r\nHost: a\r\n\r\n";
  REQUIRE(read_head(input));
  CHECK(input == "GET / HTTP/1.1\r\nXxpect: 100-continue\r\nHost: a\r\n\r\n");
}

TEST_CASE("read_head: what cpp-httplib 0.11.4 would refuse is refused here, at its limits exactly") {
  using leanpoint::kMaxLine;
  // A request line of kMaxLine bytes with its CRLF passes; one more is 414.
  const std::string fixed = "GET /? HTTP/1.1\r\n";
  const std::string fits = "GET /?" + std::string(kMaxLine - fixed.size(), 'a') + " HTTP/1.1\r\n";
  CHECK(fits.size() == kMaxLine);
  CHECK(refusal(fits + "\r\n") == std::nullopt);
  CHECK(refusal("GET /?a" + fits.substr(6) + "\r\n") == HeadErrorKind::too_long);
  // A header line likewise, 431.
  const std::string line = "X: " + std::string(kMaxLine - 5, 'a') + "\r\n";
  CHECK(line.size() == kMaxLine);
  CHECK(refusal("GET / HTTP/1.1\r\n" + line + "\r\n") == std::nullopt);
  CHECK(refusal("GET / HTTP/1.1\r\nX: a" + line.substr(3) + "\r\n") == HeadErrorKind::too_large);
  for (const char* target : {"/a?b?c", "/a??", "/a#b", "/#", "http://h/a?b?c"}) {
    CAPTURE(target);
    CHECK(refusal(std::string("GET ") + target + " HTTP/1.1\r\n\r\n") == HeadErrorKind::malformed);
  }
  CHECK(refusal("GET /a?b=c HTTP/1.1\r\n\r\n") == std::nullopt);
  CHECK(leanpoint::status_code(HeadErrorKind::too_long) == 414);
}

TEST_CASE("read_head: each refusal has its kind, and its status") {
  const std::pair<std::string, std::optional<HeadErrorKind>> heads[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n\r\n", std::nullopt},
      {"GET  / HTTP/1.1\r\n\r\n", HeadErrorKind::malformed},
      {"GET /\x01 HTTP/1.1\r\n\r\n", HeadErrorKind::malformed},
      {"GET x HTTP/1.1\r\n\r\n", HeadErrorKind::malformed},
      {"GARBAGE\r\n\r\n", HeadErrorKind::malformed},
      {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", HeadErrorKind::malformed},
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", HeadErrorKind::malformed},
      {"GET / HTTP/2.0\r\n\r\n", HeadErrorKind::version},
      {"POST / HTTP/1.1\r\n\r\n", HeadErrorKind::method},
      {"GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", HeadErrorKind::body},
      {"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", std::nullopt},
      {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", HeadErrorKind::body},
      {"GET / HTTP/1.1\r\nX: " + std::string(leanpoint::kMaxRequestHead, 'a') + "\r\n\r\n", HeadErrorKind::too_large}};
  for (const auto& [head, kind] : heads) {
    CAPTURE(head);
    CHECK(refusal(head) == kind);
  }
  CHECK(refusal(std::string(leanpoint::kMaxRequestHead + 1, 'a')) == HeadErrorKind::too_large);
  const std::pair<HeadErrorKind, int> statuses[] = {{HeadErrorKind::malformed, 400}, {HeadErrorKind::method, 405},
                                                    {HeadErrorKind::body, 413},      {HeadErrorKind::too_large, 431},
                                                    {HeadErrorKind::version, 505},   {HeadErrorKind::timeout, 408}};
  for (const auto& [kind, status] : statuses) CHECK(leanpoint::status_code(kind) == status);
}

TEST_CASE("read_head: a refused head leaves the input as it was") {
  const std::string sent = "GET http://h/x HTTP/1.1\r\nRange: bytes=0-1\r\nContent-Length: 3\r\n\r\nabc";
  std::string input = sent;
  CHECK_FALSE(read_head(input));
  CHECK(input == sent);
}
