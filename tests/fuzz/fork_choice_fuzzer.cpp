// libFuzzer target: the streamed fork_choice parser (fork_choice.h) on
// arbitrary bytes.
//
// Properties checked, besides no sanitizer report: the result is a
// ForkChoice or a `malformed` failure with a reason; what it keeps is
// consistent (a head slot only with a head). The input's first byte decides
// whether the stream fails (HttpAbort, as a socket would) part-way: then the
// failure comes out of the parser unchanged, and nothing else does.
#include <cstddef>
#include <cstdint>
#include <istream>
#include <streambuf>
#include <string_view>

#include "fork_choice.h"
#include "http_response.h"

namespace {

// The input, failing with HttpAbort after `fail_at` bytes.
class Failing : public std::streambuf {
 public:
  Failing(const uint8_t* data, size_t size, size_t fail_at) : data_(data), size_(size), fail_at_(fail_at) {}

 protected:
  int_type underflow() override {
    if (at_ >= fail_at_) leanpoint::abort_with(leanpoint::FailureKind::timeout, "receive: deadline passed");
    if (at_ >= size_) return traits_type::eof();
    byte_ = static_cast<char>(data_[at_++]);
    setg(&byte_, &byte_, &byte_ + 1);
    return traits_type::to_int_type(byte_);
  }

 private:
  const uint8_t* data_;
  size_t size_, fail_at_, at_ = 0;
  char byte_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] == 'F' && size > 2) {
    Failing buf(data + 2, size - 2, data[1]);
    std::istream in(&buf);
    try {
      (void)leanpoint::parse_fork_choice(in);
    } catch (const leanpoint::HttpAbort& a) {
      if (a.failure.kind != leanpoint::FailureKind::timeout) __builtin_trap();
    }
    return 0;
  }
  const auto fc = leanpoint::parse_fork_choice(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!fc) {
    if (fc.error().kind != leanpoint::FailureKind::malformed || fc.error().detail.empty()) __builtin_trap();
    return 0;
  }
  if (fc->head_slot && !fc->head) __builtin_trap();
  return 0;
}
