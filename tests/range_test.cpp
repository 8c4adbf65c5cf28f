// range.h: the Range decision table.
#include "range.h"

#include "testing.h"

using leanpoint::decide_range;
using Kind = leanpoint::RangeDecision::Kind;

TEST_CASE("Range decisions on a 1000-byte body") {
  struct Row {
    const char* header;  // nullptr: no header
    Kind kind;
    uint64_t first, length;
  };
  const Row rows[] = {
      {nullptr, Kind::full, 0, 1000},
      {"bytes=0-99", Kind::partial, 0, 100},
      {"bytes=100-199", Kind::partial, 100, 100},
      {"bytes=990-", Kind::partial, 990, 10},
      {"bytes=0-", Kind::partial, 0, 1000},
      {"bytes=500-99999", Kind::partial, 500, 500},  // end clamped
      {"bytes=999-999", Kind::partial, 999, 1},
      {"bytes=-100", Kind::partial, 900, 100},
      {"bytes=-5000", Kind::partial, 0, 1000},     // suffix longer than the body: the body
      {"bytes=1000-", Kind::unsatisfiable, 0, 0},  // 0.11.4 answered this with Content-Length ~2^64
      {"bytes=5000-6000", Kind::unsatisfiable, 0, 0},
      {"bytes=-0", Kind::unsatisfiable, 0, 0},
      {"bytes=0-0,0-0", Kind::full, 0, 1000},  // several ranges: the whole body
      {"bytes=0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-,0-", Kind::full, 0, 1000},
      {"bytes=200-100", Kind::full, 0, 1000},  // invalid: ignored
      {"items=0-10", Kind::full, 0, 1000},
      {"bytes=abc-", Kind::full, 0, 1000},
      {"bytes=1-2x", Kind::full, 0, 1000},
      {"bytes=", Kind::full, 0, 1000},
      {"bytes=-", Kind::full, 0, 1000},
      {"bytes=99999999999999999999999-", Kind::full, 0, 1000},  // overflows: ignored
      {" bytes= 10 - 19 ", Kind::partial, 10, 10},
  };
  for (const Row& r : rows) {
    CAPTURE(r.header ? r.header : "(none)");
    const auto d = r.header ? decide_range(std::string_view(r.header), 1000) : decide_range(std::nullopt, 1000);
    CHECK(d.kind == r.kind);
    if (d.kind != Kind::unsatisfiable) {
      CHECK(d.first == r.first);
      CHECK(d.length == r.length);
    }
  }
}

TEST_CASE("Range on an empty body is unsatisfiable") {
  CHECK(decide_range(std::string_view("bytes=0-"), 0).kind == Kind::unsatisfiable);
  CHECK(decide_range(std::string_view("bytes=-1"), 0).kind == Kind::unsatisfiable);
  CHECK(decide_range(std::nullopt, 0).kind == Kind::full);
}
