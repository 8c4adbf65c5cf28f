// libFuzzer target: ResponseReader (http_response.h) on arbitrary bytes,
// under small caps, delivered in pieces whose sizes the input also decides:
// status line, headers, interim responses, Content-Length, chunked framing
// with extensions and trailers, close-delimited bodies.
//
// Properties checked, besides no sanitizer report: a failure is an
// HttpAbort and nothing else; a body never exceeds its cap; once the body has
// ended the reader asks the source for nothing more.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "http_response.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// The input after its first byte, handed out in pieces of 1 to 64 bytes.
class Pieces : public leanpoint::ByteSource {
 public:
  Pieces(const uint8_t* data, size_t size, uint8_t seed) : data_(data), size_(size), seed_(seed) {}
  size_t read(char* out, size_t size) override {
    check(!closed);  // nothing is read once the body has ended
    seed_ = static_cast<uint8_t>(seed_ * 33 + 7);
    const size_t n = std::min({size, size_ - at_, size_t{1} + seed_ % 64});
    std::copy(data_ + at_, data_ + at_ + n, out);
    at_ += n;
    return n;
  }
  bool closed = false;

 private:
  const uint8_t* data_;
  size_t size_, at_ = 0;
  uint8_t seed_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Pieces source(data + 1, size - 1, data[0]);
  leanpoint::ResponseLimits limits;
  limits.head = 512;
  limits.headers = 8;
  limits.line = 32;
  limits.trailers = 64;
  limits.interim = 2;
  limits.body = 256;
  leanpoint::ResponseReader reader(source, limits);
  try {
    reader.read_head();
    check(reader.status() >= 100 && reader.status() <= 999);
    if (reader.status() / 100 != 2) return 0;
    // The first byte's low bit: read in small pieces, or all at once (the
    // path that reads large bodies straight from the source).
    if (data[0] & 1) {
      check(reader.read_all().size() <= limits.body);
    } else {
      size_t total = 0;
      char buf[48];
      for (size_t n; (n = reader.read_body(buf, sizeof buf)) > 0;) check((total += n) <= limits.body);
    }
    source.closed = true;
    char rest[16];
    check(reader.read_body(rest, sizeof rest) == 0);  // the end stays the end
  } catch (const leanpoint::HttpAbort& a) {
    check(!a.failure.detail.empty());
  }
  return 0;
}
