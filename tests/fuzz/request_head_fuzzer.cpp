// libFuzzer target: what the server does with a request head before any
// handler sees it, on arbitrary bytes: read_head and screen_head
// (request_head.h), HeaderLines (text.h), decoded_path, and the Range
// decision (range.h) on the Range header read_head takes out.
//
// Properties checked, besides no sanitizer report: every header line lies
// inside the head where it says; a decoded path is never longer than its
// target; a head read_head lets through has an origin-form target without
// control characters, no '#', at most one '?' and lines within cpp-httplib's
// limit (kMaxLine) and screens again as it is; reading an origin-form head
// changes no byte but the first of a Range or Expect line; a refused head is left as
// it was; a Range decision stays inside the body. Any failure traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "range.h"
#include "request_head.h"
#include "text.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// A Range decision on some body size the input also decides stays inside it.
void check_range(std::optional<std::string_view> range, size_t size) {
  const uint64_t body = size * 977;
  const leanpoint::RangeDecision d = leanpoint::decide_range(range, body);
  if (d.kind == leanpoint::RangeDecision::Kind::partial) check(d.length > 0 && d.first + d.length <= body);
  if (d.kind == leanpoint::RangeDecision::Kind::full) check(d.first == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace leanpoint;
  const std::string head(reinterpret_cast<const char*>(data), size);

  size_t count = 0;
  for (const HeaderLine& h : HeaderLines(head)) {
    check(++count <= size);
    check(h.offset + h.line.size() <= head.size());
    check(head.compare(h.offset, h.line.size(), h.line) == 0);
    check(h.line.find("\r\n") == std::string_view::npos);
    check(!h.has_colon || (h.name.size() < h.line.size() && h.value == trim(h.value)));
  }

  check_range(std::string_view(head), size);  // any bytes as a Range value

  const std::string path = decoded_path(head);
  const std::string_view target = std::string_view(head).substr(0, head.find('?'));
  check(path.size() <= head.size());
  if (target.find('%') == std::string_view::npos) check(path == target);

  // read_head: a head it lets through has an origin-form target without a
  // control character, and screens again as it is now.
  std::string input = head;
  const auto read = read_head(input);
  if (!read) {
    check(input == head);
    check(read.error().kind != HeadErrorKind::timeout);
    return 0;
  }
  check(read->size == head_end(input) && read->size <= kMaxRequestHead);
  check(!read->target.empty() && read->target[0] == '/');
  for (const char c : read->target) check(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);
  check(read->target.find('#') == std::string::npos);
  check(read->target.find('?') == read->target.rfind('?'));
  for (size_t at = 0; at < read->size;) {  // what cpp-httplib reads as lines: none over its limit
    const size_t end = input.find("\r\n", at);
    check(end != std::string::npos && end + 2 - at <= kMaxLine);
    at = end + 2;
  }
  check(read->path == decoded_path(read->target));
  check(screen_head(std::string_view(input).substr(0, read->size)).has_value());
  check(read->method == kGet || read->method == kHead);
  if (head[head.find(' ') + 1] == '/') {
    // Origin-form already: nothing rewritten but the first byte of Range lines.
    check(input.size() == head.size());
    size_t changed = 0;
    for (size_t i = 0; i < input.size(); ++i) changed += input[i] != head[i];
    check(changed <= count);
  }
  check_range(read->range, size);
  return 0;
}
