// Small text helpers for HTTP heads, URLs and flags: case-insensitive
// comparison, trimming, and walking the header lines of a head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace leanpoint {

bool iequals(std::string_view a, std::string_view b);
bool starts_with_nocase(std::string_view s, std::string_view prefix);
bool ends_with_nocase(std::string_view s, std::string_view suffix);
std::string to_lower(std::string_view s);

// A whole string of decimal digits as a number; nullopt for anything else
// (empty, a sign, other characters, overflow).
std::optional<uint64_t> parse_decimal(std::string_view s);

// 'text', in single quotes: a value quoted in an error message.
std::string single_quoted(std::string_view s);

// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
std::string_view trim(std::string_view s);

// "16 KiB", "4 MiB", "1000 bytes": a size for messages, exact when it can be.
std::string describe_size(size_t bytes);

// One header line of an HTTP head: "Name: value".
struct HeaderLine {
  std::string_view line;   // the whole line, without its CRLF
  size_t offset = 0;       // where `line` starts in the head
  bool has_colon = false;  // false: not a header line at all
  std::string_view name;   // up to the colon, as sent (not trimmed)
  std::string_view value;  // after the colon, trimmed
};

// The header lines of a head (the start line skipped), in order, up to the
// blank line or the end of `head`:
//   for (const HeaderLine& h : HeaderLines(head)) ...
class HeaderLines {
 public:
  explicit HeaderLines(std::string_view head) : head_(head) {}

  class iterator {
   public:
    const HeaderLine& operator*() const { return line_; }
    const HeaderLine* operator->() const { return &line_; }
    iterator& operator++() {
      advance();
      return *this;
    }
    bool operator==(const iterator& other) const { return at_ == other.at_; }

   private:
    friend class HeaderLines;
    iterator(std::string_view head, size_t at) : head_(head), next_(at) { advance(); }
    void advance();  // reads the line at next_, or ends (at_ = npos)

    std::string_view head_;
    size_t at_ = 0;  // where line_ starts; npos: the end
    size_t next_;    // where the line after it starts; npos: none
    HeaderLine line_;
  };

  iterator begin() const;
  iterator end() const { return iterator(head_, std::string_view::npos); }

 private:
  std::string_view head_;
};

}  // namespace leanpoint
