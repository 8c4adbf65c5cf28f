// Logging to stderr, one line per event: "2026-11-21T19:42:01.123Z WARN message".
//
// Lines are written with a single write() so that lines from the poller and
// the server threads never interleave mid-line, and the message is escaped
// (untrusted_text.h, no length cap): control characters and invalid UTF-8
// become \xNN, so one call is one line whatever text it quotes.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace leanpoint {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

std::string_view to_string(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view name);

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view message);

// log(LogLevel::info, "polling ", n, " upstreams") — arguments are only
// formatted when the level is enabled.
template <typename... Args>
void log(LogLevel level, const Args&... args) {
  if (!log_enabled(level)) return;
  std::ostringstream out;
  (out << ... << args);
  log_line(level, out.str());
}

}  // namespace leanpoint
