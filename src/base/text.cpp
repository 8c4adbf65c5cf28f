#include "text.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace leanpoint {
namespace {

char lower(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool ends_with_nocase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

std::optional<uint64_t> parse_decimal(std::string_view s) {
  uint64_t v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string single_quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string describe_size(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (1u << 10) && bytes % (1u << 10) == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

HeaderLines::iterator HeaderLines::begin() const {
  const size_t first = head_.find("\r\n");  // the start line is skipped
  return iterator(head_, first == std::string_view::npos ? first : first + 2);
}

void HeaderLines::iterator::advance() {
  at_ = next_;
  if (at_ == std::string_view::npos || at_ >= head_.size()) {
    at_ = std::string_view::npos;
    return;
  }
  const size_t eol = head_.find("\r\n", at_);
  const std::string_view line = head_.substr(at_, eol == std::string_view::npos ? std::string_view::npos : eol - at_);
  if (line.empty()) {  // the blank line that ends the head
    at_ = std::string_view::npos;
    return;
  }
  line_ = HeaderLine{};
  line_.line = line;
  line_.offset = at_;
  const size_t colon = line.find(':');
  line_.has_colon = colon != std::string_view::npos;
  if (line_.has_colon) {
    line_.name = line.substr(0, colon);
    line_.value = trim(line.substr(colon + 1));
  }
  next_ = eol == std::string_view::npos ? eol : eol + 2;
}

}  // namespace leanpoint
