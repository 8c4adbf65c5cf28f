#include "range.h"

#include <charconv>

#include "text.h"

namespace leanpoint {
namespace {}  // namespace

RangeDecision decide_range(std::optional<std::string_view> header, uint64_t size) {
  using Kind = RangeDecision::Kind;
  const RangeDecision full{Kind::full, 0, size};
  if (!header) return full;
  std::string_view spec = trim(*header);
  if (spec.substr(0, 6) != "bytes=") return full;
  spec = trim(spec.substr(6));
  if (spec.find(',') != std::string_view::npos) return full;  // several ranges: the whole body
  const size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return full;
  const std::string_view first_text = trim(spec.substr(0, dash)), last_text = trim(spec.substr(dash + 1));

  if (first_text.empty()) {  // bytes=-S: the last S bytes
    const auto suffix = parse_decimal(last_text);
    if (!suffix) return full;
    if (*suffix == 0 || size == 0) return {Kind::unsatisfiable, 0, 0};
    const uint64_t length = std::min(*suffix, size);
    return {Kind::partial, size - length, length};
  }
  const auto first = parse_decimal(first_text);
  if (!first) return full;
  std::optional<uint64_t> last;
  if (!last_text.empty()) {
    last = parse_decimal(last_text);
    if (!last || *last < *first) return full;  // invalid: ignored
  }
  if (*first >= size) return {Kind::unsatisfiable, 0, 0};
  const uint64_t end = last ? std::min(*last, size - 1) : size - 1;
  return {Kind::partial, *first, end - *first + 1};
}

}  // namespace leanpoint
