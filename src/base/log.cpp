#include "log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <limits>

#include "untrusted_text.h"

namespace leanpoint {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::info)};

constexpr std::string_view kNames[] = {"error", "warn", "info", "debug"};
constexpr std::string_view kLabels[] = {"ERROR", "WARN", "INFO", "DEBUG"};

}  // namespace

std::string_view to_string(LogLevel level) { return kNames[static_cast<int>(level)]; }

std::optional<LogLevel> parse_log_level(std::string_view name) {
  for (int i = 0; i < 4; ++i)
    if (kNames[i] == name) return static_cast<LogLevel>(i);
  return std::nullopt;
}

void set_log_level(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool log_enabled(LogLevel level) { return static_cast<int>(level) <= g_level.load(); }

void log_line(LogLevel level, std::string_view message) {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const std::time_t secs = system_clock::to_time_t(now);
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[32];
  const size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis));

  std::string line;
  line.reserve(message.size() + 48);
  line.append(stamp).append(" ").append(kLabels[static_cast<int>(level)]).append(" ");
  // Escaped: a message quoting outside text (an upstream's header, a name)
  // stays one line, and no escape sequence reaches the operator's terminal.
  line.append(untrusted_text(message, std::numeric_limits<size_t>::max())).append("\n");
  // One write per line; a short write to stderr is not worth retrying.
  [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace leanpoint
