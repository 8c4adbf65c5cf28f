// Text that came from outside (an upstream's headers and bodies, a client's
// request, names in a config file), made safe to store: whatever it holds,
// the result is valid UTF-8 with no control character and a bounded length,
// so JSON can always encode it, a log line stays one line and no terminal
// escape sequence reaches an operator's screen.
//
// Sanitize where such text is STORED (an error detail, a snapshot row), so
// that everything downstream can print it as is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace leanpoint {

// Long enough for any detail leanpoint writes itself, short enough that a
// hostile upstream cannot grow /status or a log line.
inline constexpr size_t kUntrustedTextCap = 256;

// `text` with each control character (C0, DEL and the C1 range U+0080-U+009F)
// and each byte that is not part of valid UTF-8 written as \xNN, and, when the
// result is longer than `cap` bytes (cap >= 8), cut at a character boundary
// and ended with "..." so it is at most `cap` bytes. Printable text, valid
// UTF-8, passes unchanged; a backslash is kept, so the function is
// idempotent: untrusted_text(untrusted_text(t)) == untrusted_text(t) for
// text under the cap.
std::string untrusted_text(std::string_view text, size_t cap = kUntrustedTextCap);

// True when `text` is valid UTF-8 without control characters (C0, DEL, C1):
// what untrusted_text() leaves unchanged, cap aside.
bool is_printable_utf8(std::string_view text);

}  // namespace leanpoint
