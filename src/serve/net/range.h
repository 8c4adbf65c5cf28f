// What to send for a Range header: the whole body, one slice, or 416.
//
// Decided here, before cpp-httplib routes the request, because 0.11.4's own
// Range handling answers `bytes=N-` past the end with a Content-Length near
// 2^64 and amplifies overlapping multi-ranges (16 x `0-` of a 16 MB body
// took 268 MB). leanpoint serves at most one range, clamped to the body.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace leanpoint {

struct RangeDecision {
  enum class Kind {
    full,           // 200 with the whole body
    partial,        // 206 with bytes [first, first + length)
    unsatisfiable,  // 416 with Content-Range: bytes */size
  };
  Kind kind = Kind::full;
  uint64_t first = 0;
  uint64_t length = 0;
};

// `header` is the Range header's value, if any. Following RFC 9110: a header
// that does not parse, another unit, or several ranges are ignored (the whole
// body, 200); a single range starting at or past the end is unsatisfiable; an
// end past the end is clamped; a suffix longer than the body is the body.
RangeDecision decide_range(std::optional<std::string_view> header, uint64_t size);

}  // namespace leanpoint
