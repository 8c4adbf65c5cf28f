#include "request_head.h"

#include <algorithm>
#include <cctype>

#include "hex.h"
#include "text.h"

namespace leanpoint {
namespace {

Unexpected<HeadError> refuse(HeadErrorKind kind, std::string detail) {
  return Unexpected(HeadError{kind, std::move(detail)});
}

// RFC 9110 §5.6.2: the characters of a method or a header name.
bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// NUL, CR, LF and the other control characters (a tab only where `tab_ok`).
bool has_control(std::string_view s, bool tab_ok) {
  return std::any_of(s.begin(), s.end(), [tab_ok](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(tab_ok && c == '\t')) || u == 0x7f;
  });
}

bool is_absolute_form(std::string_view target) {
  return starts_with_nocase(target, "http://") || starts_with_nocase(target, "https://");
}

struct RequestLine {
  std::string_view method, target, version;
};

// method SP target SP version, one space each; nothing else is split.
std::optional<RequestLine> split_request_line(std::string_view head) {
  const std::string_view line = head.substr(0, head.find("\r\n"));
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return std::nullopt;
  return RequestLine{line.substr(0, sp1), line.substr(sp1 + 1, sp2 - sp1 - 1), line.substr(sp2 + 1)};
}

// cpp-httplib drops a fragment before it splits the target at '?', and
// refuses a target that splits into more than two parts: both refused here,
// so that the path routed on is the one the handler sees.
bool is_plain_target(std::string_view target) {
  return target.find('#') == std::string_view::npos && std::count(target.begin(), target.end(), '?') <= 1;
}

Expected<void, HeadError> screen_request_line(std::string_view head) {
  const std::string_view request_line = head.substr(0, head.find("\r\n"));
  if (request_line.size() + 2 > kMaxLine)
    return refuse(HeadErrorKind::too_long, "request line over " + describe_size(kMaxLine));
  const auto line = split_request_line(head);
  if (!line || has_control(request_line, false)) return refuse(HeadErrorKind::malformed, "bad request line");
  const auto& [method, target, version] = *line;
  if (!is_token(method) || target.empty() || (target[0] != '/' && !is_absolute_form(target)) ||
      !is_plain_target(target))
    return refuse(HeadErrorKind::malformed, "bad request line");
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return refuse(HeadErrorKind::version, "HTTP/1.x only");
  if (method_bit(method) == 0) return refuse(HeadErrorKind::method, "GET and HEAD only");
  return {};
}

// Header lines: a name that is a token right up to the colon (no space
// before it, RFC 9112 §5.1; no folded lines), a value without control
// characters. Anything looser is where two parsers disagree about where a
// request ends: refused, and the connection closed, never read on. A body
// (any Content-Length but 0, any Transfer-Encoding) is refused too.
Expected<void, HeadError> screen_header_lines(std::string_view head) {
  for (const HeaderLine& h : HeaderLines(head)) {
    if (h.line.size() + 2 > kMaxLine)
      return refuse(HeadErrorKind::too_large, "header line over " + describe_size(kMaxLine));
    if (!h.has_colon || !is_token(h.name) || has_control(h.value, true))
      return refuse(HeadErrorKind::malformed, "malformed header line");
    if (iequals(h.name, "transfer-encoding") || (iequals(h.name, "content-length") && h.value != "0"))
      return refuse(HeadErrorKind::body, "request bodies are not accepted");
  }
  return {};
}

// Absolute-form (a proxy's "GET http://host/path HTTP/1.1"): the target
// becomes its path and query, in place, before anything routes on it.
void to_origin_form(std::string& input, const RequestLine& line) {
  if (!is_absolute_form(line.target)) return;
  const size_t at = static_cast<size_t>(line.target.data() - input.data());
  const std::string_view target = line.target;
  const size_t scheme = target.find("//") + 2;
  const size_t path = target.find_first_of("/?", scheme);
  const std::string origin = path == std::string_view::npos ? std::string("/")
                             : target[path] == '?'          ? "/" + std::string(target.substr(path))
                                                            : std::string(target.substr(path));
  input.replace(at, target.size(), origin);
}

// Renames the Range and Expect headers of the head at the start of `input`
// ("Xange:", "Xxpect:", unknown headers to cpp-httplib) and returns the
// Range values joined by ','.
std::optional<std::string> take_range(std::string& input, size_t head_size) {
  std::optional<std::string> value;
  for (const HeaderLine& h : HeaderLines(std::string_view(input).substr(0, head_size))) {
    if (!h.has_colon) continue;
    if (iequals(h.name, "expect")) input[h.offset] = 'X';
    if (!iequals(h.name, "range")) continue;
    value = value ? *value + "," + std::string(h.value) : std::string(h.value);
    input[h.offset] = 'X';
  }
  return value;
}

}  // namespace

uint8_t method_bit(std::string_view method) {
  if (method == "GET") return kGet;
  if (method == "HEAD") return kHead;
  return 0;
}

int status_code(HeadErrorKind kind) {
  switch (kind) {
    case HeadErrorKind::malformed: return 400;
    case HeadErrorKind::method: return 405;
    case HeadErrorKind::body: return 413;
    case HeadErrorKind::too_large: return 431;
    case HeadErrorKind::too_long: return 414;
    case HeadErrorKind::version: return 505;
    case HeadErrorKind::timeout: return 408;
  }
  return 400;
}

size_t head_end(std::string_view input) {
  const size_t at = input.find("\r\n\r\n");
  return at == std::string_view::npos ? 0 : at + 4;
}

bool head_ready(std::string_view input) { return head_end(input) > 0 || input.size() > kMaxRequestHead; }

Expected<void, HeadError> screen_head(std::string_view head) {
  if (auto line = screen_request_line(head); !line) return line;
  return screen_header_lines(head);
}

Expected<RequestHead, HeadError> read_head(std::string& input) {
  const size_t end = head_end(input);
  if (end == 0 && input.size() <= kMaxRequestHead) return refuse(HeadErrorKind::malformed, "incomplete request head");
  if (end == 0 || end > kMaxRequestHead)
    return refuse(HeadErrorKind::too_large, "request head over " + describe_size(kMaxRequestHead));
  if (auto screened = screen_head(std::string_view(input).substr(0, end)); !screened)
    return Unexpected(screened.error());
  RequestHead head;
  const RequestLine line = *split_request_line(input);  // screened: it splits
  head.method = method_bit(line.method);
  to_origin_form(input, line);
  head.size = head_end(input);
  head.target = std::string(split_request_line(input)->target);
  head.path = decoded_path(head.target);
  head.range = take_range(input, head.size);
  return head;
}

std::string decoded_path(std::string_view target) {
  target = target.substr(0, target.find('?'));
  std::string out;
  out.reserve(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '%' && i + 2 < target.size() && hex_digit(target[i + 1]) >= 0 && hex_digit(target[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(target[i + 1]) * 16 + hex_digit(target[i + 2]));
      i += 2;
    } else {
      out += target[i];
    }
  }
  return out;
}

}  // namespace leanpoint
