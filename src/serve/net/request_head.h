// A request head, from the bytes a client sent to what the server acts on
// (ARCHITECTURE.md §6): where it ends, whether it may proceed, and what the
// gate and the worker need of it. Everything two parsers could disagree on is
// decided here, once, before cpp-httplib reads the same bytes:
//
//   the request line   method SP target SP version, one space each, no
//                      control characters, at most kMaxLine bytes; the
//                      target origin-form or absolute-form (rewritten to
//                      origin-form in place), without a fragment ('#') and
//                      with at most one '?'
//   the version        HTTP/1.0 or HTTP/1.1
//   the method         GET or HEAD
//   header lines       a token right up to the colon (no folding, no space
//                      before it), a value without control characters, at
//                      most kMaxLine bytes
//   a body             none: any Transfer-Encoding, or a Content-Length but 0
//   the size           at most kMaxRequestHead, the blank line included
//   Range              taken out (renamed in place): range.h decides
//   Expect             taken out (renamed in place): without a body there is
//                      nothing to continue, and cpp-httplib would answer
//                      "100 Continue" before the response
//
// A refusal is a HeadError; the gate answers it (gate.h) and closes, so the
// rest of such a head is never read as another request. The limits past
// which cpp-httplib 0.11.4 refuses a head itself (kMaxLine, the '?' and '#'
// rules) are here too: a head it would refuse is refused here first, so that
// no head gets cpp-httplib's answer and then, for its unread rest, another.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "expected.h"

namespace leanpoint {

constexpr size_t kMaxRequestHead = 16 * 1024;
// A request line or a header line, its CRLF included: cpp-httplib 0.11.4's
// CPPHTTPLIB_REQUEST_URI_MAX_LENGTH and CPPHTTPLIB_HEADER_MAX_LENGTH.
constexpr size_t kMaxLine = 8192;

enum Method : uint8_t { kGet = 1, kHead = 2 };

// The Method of a method name; 0 for any other.
uint8_t method_bit(std::string_view method);

enum class HeadErrorKind : uint8_t {
  malformed,  // 400: a request line or header line that does not parse strictly
  method,     // 405: neither GET nor HEAD
  body,       // 413: the request has a body
  too_large,  // 431: no end of the head within kMaxRequestHead, or a header line over kMaxLine
  too_long,   // 414: a request line over kMaxLine
  version,    // 505: neither HTTP/1.0 nor HTTP/1.1
  timeout,    // 408: the head was not complete by its deadline (the gate's)
};

struct HeadError {
  HeadErrorKind kind = HeadErrorKind::malformed;
  std::string detail;  // one line for the client: "bad request line"
};

// The status code a head refused for `kind` is answered with.
int status_code(HeadErrorKind kind);

struct RequestHead {
  size_t size = 0;                   // bytes of the input it takes, its blank line included
  uint8_t method = 0;                // kGet or kHead
  std::string target;                // origin-form: "/path?query"
  std::string path;                  // the target decoded (decoded_path): what routes match
  std::optional<std::string> range;  // the Range header, several joined by ','; absent: none
};

// Where the head at the start of `input` ends (just past its blank line),
// or 0 while it is incomplete.
size_t head_end(std::string_view input);

// Whether `input` holds enough to decide on the head at its start: a whole
// head, or more than kMaxRequestHead bytes without one.
bool head_ready(std::string_view input);

// Reads the request head at the start of `input` (once head_ready): screens
// it, then, in place, rewrites an absolute-form target to origin-form and
// renames Range and Expect headers ("Xange:", "Xxpect:"), so that
// cpp-httplib sees one path and never a Range or an Expect. On a refusal `input` is left as it was.
Expected<RequestHead, HeadError> read_head(std::string& input);

// The screening alone, of one complete head, which it leaves as it is.
Expected<void, HeadError> screen_head(std::string_view head);

// The path of a request target ("/a%2fb?x=1" -> "/a/b"): the query dropped,
// %XX sequences decoded, as cpp-httplib decodes req.path (its rare %uXXXX
// form is left as is: the route chosen here is the one that answers).
std::string decoded_path(std::string_view target);

}  // namespace leanpoint
