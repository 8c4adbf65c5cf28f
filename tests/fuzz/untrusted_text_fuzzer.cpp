// libFuzzer target: text from outside through everything that stores or
// prints it: untrusted_text (untrusted_text.h), a JSON document holding the
// raw bytes dumped by json_text (json_text.h), and escape_label_value
// (metrics.h). The first input byte picks the cap.
//
// Properties checked: untrusted_text's output is valid UTF-8 with no control
// byte, at most the cap, idempotent, and unchanged for input that is already
// printable UTF-8 under the cap; json_text never throws, leaves no C0
// byte, and gives printable UTF-8 for sanitized text; a label value is
// printable UTF-8 with every quote and backslash escaped.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "metrics.h"
#include "status.h"
#include "untrusted_text.h"

namespace {

bool has_control_byte(std::string_view s) {
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t cap = 8 + data[0] * 4;  // 8 to 1028
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const std::string safe = leanpoint::untrusted_text(text, cap);
    if (!leanpoint::is_printable_utf8(safe) || has_control_byte(safe) || safe.size() > cap) __builtin_trap();
    if (leanpoint::untrusted_text(safe, cap) != safe) __builtin_trap();
    if (leanpoint::is_printable_utf8(text) && text.size() <= cap && safe != text) __builtin_trap();

    // The raw bytes: no throw, no C0 byte (JSON escapes those; DEL and C1
    // may remain, as valid UTF-8);
    // the stored, sanitized text: printable UTF-8 throughout.
    const std::string raw = leanpoint::json_text(nlohmann::ordered_json{{"detail", std::string(text)}});
    for (const char c : raw)
      if (static_cast<unsigned char>(c) < 0x20) __builtin_trap();
    const std::string dumped = leanpoint::json_text(nlohmann::ordered_json{{"detail", safe}});
    if (!leanpoint::is_printable_utf8(dumped)) __builtin_trap();

    const std::string label = leanpoint::escape_label_value(text);
    if (label.find('\n') != std::string::npos || !leanpoint::is_printable_utf8(label)) __builtin_trap();
    for (size_t i = 0; i < label.size(); ++i) {  // each '"' and '\' is escaped by a '\'
      if (label[i] == '\\') {
        if (i + 1 == label.size() || (label[i + 1] != '\\' && label[i + 1] != '"')) __builtin_trap();
        ++i;
      } else if (label[i] == '"') {
        __builtin_trap();
      }
    }
  } catch (...) {  // nothing may throw
    __builtin_trap();
  }
  return 0;
}
