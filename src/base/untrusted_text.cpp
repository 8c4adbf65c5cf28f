#include "untrusted_text.h"

#include <algorithm>
#include <cstdint>

namespace leanpoint {
namespace {

constexpr std::string_view kEllipsis = "...";

// The length of the valid UTF-8 sequence at the start of `s` (1-4), or 0 when
// its first byte does not start one: a stray continuation byte, a truncated
// or overlong sequence, a surrogate, or a code point above U+10FFFF.
size_t utf8_length(std::string_view s) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  uint8_t lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;  // overlong
    if (b0 == 0xed) hi = 0x9f;  // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;  // overlong
    if (b0 == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n || byte(1) < lo || byte(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  return n;
}

// A control character: C0, DEL, or C1 (U+0080-U+009F, encoded C2 80-C2 9F).
bool is_control(std::string_view ch) {
  const auto b0 = static_cast<uint8_t>(ch[0]);
  if (ch.size() == 1) return b0 < 0x20 || b0 == 0x7f;
  return ch.size() == 2 && b0 == 0xc2 && static_cast<uint8_t>(ch[1]) < 0xa0;
}

void append_escaped(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out += "\\x";
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
}

}  // namespace

std::string untrusted_text(std::string_view text, size_t cap) {
  cap = std::max<size_t>(cap, 8);
  std::string out;
  out.reserve(std::min(text.size(), cap));
  size_t kept = 0;  // out's length at the last character boundary that leaves room for the ellipsis
  while (!text.empty()) {
    const size_t n = utf8_length(text);
    const std::string_view ch = text.substr(0, n ? n : 1);
    if (n == 0 || is_control(ch)) {
      append_escaped(out, ch);
    } else {
      out.append(ch);
    }
    text.remove_prefix(ch.size());
    if (out.size() > cap) {
      out.resize(kept);
      return out.append(kEllipsis);
    }
    if (out.size() + kEllipsis.size() <= cap) kept = out.size();
  }
  return out;
}

bool is_printable_utf8(std::string_view text) {
  while (!text.empty()) {
    const size_t n = utf8_length(text);
    if (n == 0 || is_control(text.substr(0, n))) return false;
    text.remove_prefix(n);
  }
  return true;
}

}  // namespace leanpoint
