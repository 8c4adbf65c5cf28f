// libFuzzer target: what the server does with a request head before any
// handler sees it, on arbitrary bytes: screen_head and admit_head (gate.h), HeaderLines
// (text.h), request_target and decoded_path (route_table.h), the Range
// filter (take_range_header) and the Range decision (range.h).
//
// Properties checked, besides no sanitizer report: every header line lies
// inside the head where it says; a decoded path is never longer than its
// target; the Range filter changes no byte but the first of a Range line;
// a Range decision stays inside the body. Any failure traps.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "gate.h"
#include "http_server.h"
#include "range.h"
#include "route_table.h"
#include "text.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace leanpoint;
  const std::string head(reinterpret_cast<const char*>(data), size);

  // admit_head: a head it lets through has an origin-form target (the
  // absolute-form rewritten in place) and no control character in it.
  {
    std::string admitted = head;
    const size_t end = head.find("\r\n\r\n");
    const size_t head_size = end == std::string::npos ? head.size() : end + 4;
    if (!admit_head(admitted, head_size)) {
      const std::string_view t = request_target(admitted);
      check(!t.empty() && t[0] == '/');
      for (const char c : t) check(static_cast<unsigned char>(c) > 0x20 && c != 0x7f);
      check(screen_head(admitted.substr(0, admitted.find("\r\n\r\n") + 4)) == std::nullopt ||
            admitted.find("\r\n\r\n") == std::string::npos);
    }
  }

  size_t count = 0;
  for (const HeaderLine& h : HeaderLines(head)) {
    check(++count <= size);
    check(h.offset + h.line.size() <= head.size());
    check(head.compare(h.offset, h.line.size(), h.line) == 0);
    check(h.line.find("\r\n") == std::string_view::npos);
    check(!h.has_colon || (h.name.size() < h.line.size() && h.value == trim(h.value)));
  }

  const std::string_view target = request_target(head);
  const std::string path = decoded_path(target);
  check(path.size() <= target.size());
  if (target.find_first_of("%?") == std::string_view::npos) check(path == target);

  std::string input = head;
  const auto range = take_range_header(input, input.size());
  check(input.size() == head.size());
  size_t changed = 0;
  for (size_t i = 0; i < input.size(); ++i) changed += input[i] != head[i];
  check(changed <= count);
  const uint64_t body = size * 977;  // some body size the input also decides
  const RangeDecision d = decide_range(range, body);
  if (d.kind == RangeDecision::Kind::partial) check(d.length > 0 && d.first + d.length <= body);
  if (d.kind == RangeDecision::Kind::full) check(d.first == 0);
  return 0;
}
