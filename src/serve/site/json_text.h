// The one way the site writes a JSON document: invalid UTF-8 in a string is
// replaced (U+FFFD) instead of throwing, so no text from outside can turn an
// answer into a 500, or an access log line into two. (Stored outside text is
// already sanitized, untrusted_text.h; this is the second line of defence.)
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace leanpoint {

std::string json_text(const nlohmann::ordered_json& doc);

// A value, or null when absent.
template <typename T>
nlohmann::ordered_json or_null(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

}  // namespace leanpoint
