#include "http_response.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "text.h"

namespace leanpoint {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kHeadEnd = "\r\n\r\n";
constexpr std::string_view kVersion = "HTTP/1.";

std::string over(const char* what, size_t cap) { return std::string(what) + " over " + describe_size(cap); }

}  // namespace

void abort_with(FailureKind kind, std::string detail) { throw HttpAbort(Failure{kind, std::move(detail)}); }

namespace {

[[noreturn]] void body_over(uint64_t cap, const std::string& what) {
  Failure f{FailureKind::too_large, what + " over the cap of " + std::to_string(cap)};
  f.body_over_cap = true;
  throw HttpAbort(std::move(f));
}

}  // namespace

ResponseReader::ResponseReader(ByteSource& source, const ResponseLimits& limits)
    : source_(source), limits_(limits), buf_(new char[kBuffer]) {
  // A head or a line must fit in the buffer with room to spare.
  limits_.head = std::min(limits_.head, kBuffer / 2);
  limits_.line = std::min(limits_.line, kBuffer / 2);
}

bool ResponseReader::fill() {
  if (begin_ > 0) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == kBuffer) return true;  // full: the caller's cap will stop it
  const size_t n = source_.read(buf_.get() + end_, kBuffer - end_);
  end_ += n;
  return n > 0;
}

void ResponseReader::read_head() {
  for (size_t interim = 0;; ++interim) {
    read_one_head();
    if (status_ >= 200) break;
    if (status_ == 101) abort_with(FailureKind::malformed, "101 Switching Protocols, but no upgrade was asked for");
    if (interim + 1 > limits_.interim)
      abort_with(FailureKind::too_large, "more than " + std::to_string(limits_.interim) + " interim responses");
  }
  if (status_ / 100 != 2) return;  // the caller reports the status; the body is not read
  if (chunked_) {
    framing_ = Framing::chunked;
  } else if (content_length_ || status_ == 204) {
    framing_ = Framing::length;
    remaining_ = content_length_.value_or(0);
    if (remaining_ > limits_.body) body_over(limits_.body, "Content-Length " + std::to_string(remaining_));
  } else {
    framing_ = Framing::close;
  }
}

void ResponseReader::read_one_head() {
  size_t end;
  while ((end = buffered().find(kHeadEnd)) == std::string_view::npos) {
    // Something that is not HTTP (a TLS or SSH server) is known from its
    // first bytes; do not wait for a head that will never come.
    const std::string_view start = buffered().substr(0, kVersion.size());
    if (start != kVersion.substr(0, start.size())) abort_with(FailureKind::malformed, "not an HTTP response");
    if (buffered().size() > limits_.head) abort_with(FailureKind::too_large, over("response head", limits_.head));
    if (!fill())
      abort_with(FailureKind::truncated,
                 buffered().empty() ? "closed without a response" : "closed inside the response head");
  }
  if (end + kHeadEnd.size() > limits_.head) abort_with(FailureKind::too_large, over("response head", limits_.head));
  parse_head(buffered().substr(0, end));
  consume(end + kHeadEnd.size());
}

void ResponseReader::parse_head(std::string_view head) {
  status_ = 0;
  content_type_.clear();
  content_length_.reset();
  chunked_ = false;
  const std::string_view status_line = head.substr(0, head.find(kCrlf));
  // "HTTP/1.x SSS reason"
  if (status_line.size() < 12 || status_line.substr(0, 7) != kVersion || status_line[8] != ' ' ||
      (status_line.size() > 12 && status_line[12] != ' '))
    abort_with(FailureKind::malformed, "bad status line");
  const auto [p, ec] = std::from_chars(status_line.data() + 9, status_line.data() + 12, status_);
  if (ec != std::errc() || p != status_line.data() + 12 || status_ < 100)
    abort_with(FailureKind::malformed, "bad status code");

  size_t count = 0;
  for (const HeaderLine& h : HeaderLines(head)) {
    if (++count > limits_.headers)
      abort_with(FailureKind::too_large, "more than " + std::to_string(limits_.headers) + " header lines");
    if (!h.has_colon || h.name.empty() || h.line.front() == ' ' || h.line.front() == '\t')
      abort_with(FailureKind::malformed, "bad header line");
    if (iequals(h.name, "content-length")) {
      uint64_t n = 0;
      const auto [q, e] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
      if (h.value.empty() || e != std::errc() || q != h.value.data() + h.value.size())
        abort_with(FailureKind::malformed, "bad Content-Length");
      if (content_length_ && *content_length_ != n) abort_with(FailureKind::malformed, "conflicting Content-Length");
      content_length_ = n;
    } else if (iequals(h.name, "transfer-encoding")) {
      if (!iequals(h.value, "chunked"))
        abort_with(FailureKind::malformed, "unsupported Transfer-Encoding: " + std::string(h.value));
      chunked_ = true;
    } else if (iequals(h.name, "content-type")) {
      content_type_ = to_lower(trim(h.value.substr(0, h.value.find(';'))));
    }
  }
}

std::string_view ResponseReader::read_line(const char* what) {
  for (;;) {
    const size_t eol = buffered().find(kCrlf);
    if (eol != std::string_view::npos && eol <= limits_.line) {
      const std::string_view line = buffered().substr(0, eol);
      consume(eol + kCrlf.size());
      return line;
    }
    if (eol != std::string_view::npos || buffered().size() > limits_.line + 1)
      abort_with(FailureKind::too_large, over((std::string(what) + " line").c_str(), limits_.line));
    if (!fill()) abort_with(FailureKind::truncated, std::string("body ended in a ") + what + " line");
  }
}

bool ResponseReader::next_chunk() {
  if (in_chunk_) {
    while (buffered().size() < kCrlf.size())
      if (!fill()) abort_with(FailureKind::truncated, "body ended after a chunk");
    if (buffered().substr(0, kCrlf.size()) != kCrlf) abort_with(FailureKind::malformed, "chunk not followed by CRLF");
    consume(kCrlf.size());
  }
  in_chunk_ = false;
  const std::string_view line = read_line("chunk size");
  const std::string_view digits = line.substr(0, line.find(';'));
  uint64_t size = 0;
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size, 16);
  if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size())
    abort_with(FailureKind::malformed, "bad chunk size");
  if (size == 0) {
    size_t total = 0;
    for (std::string_view trailer; !(trailer = read_line("trailer")).empty();)
      if ((total += trailer.size() + kCrlf.size()) > limits_.trailers)
        abort_with(FailureKind::too_large, over("trailers", limits_.trailers));
    return false;
  }
  if (size > limits_.body - body_read_) body_over(limits_.body, "body");
  remaining_ = size;
  in_chunk_ = true;
  return true;
}

size_t ResponseReader::take(char* out, size_t size) {
  if (buffered().empty()) {
    // Large reads go straight to the caller: a body is copied once.
    if (size >= kBuffer / 4) return source_.read(out, size);
    if (!fill()) return 0;
  }
  const size_t n = std::min(size, buffered().size());
  std::memcpy(out, buf_.get() + begin_, n);
  consume(n);
  return n;
}

size_t ResponseReader::read_body(char* out, size_t size) {
  if (done_ || size == 0) return 0;
  switch (framing_) {
    case Framing::length: {
      if (remaining_ == 0) break;
      const size_t n = take(out, static_cast<size_t>(std::min<uint64_t>(size, remaining_)));
      if (n == 0)
        abort_with(FailureKind::truncated, "body ended after " + std::to_string(body_read_) + " of " +
                                               std::to_string(body_read_ + remaining_) + " bytes");
      remaining_ -= n;
      body_read_ += n;
      return n;
    }
    case Framing::close: {
      // One byte past the cap is asked for, to tell a body at the cap from one over it.
      const uint64_t room = limits_.body - body_read_;
      const size_t n = take(out, room >= size ? size : static_cast<size_t>(room) + 1);
      if (n == 0) break;
      if ((body_read_ += n) > limits_.body) body_over(limits_.body, "body");
      return n;
    }
    case Framing::chunked: {
      if (remaining_ == 0 && !next_chunk()) break;
      const size_t n = take(out, static_cast<size_t>(std::min<uint64_t>(size, remaining_)));
      if (n == 0) abort_with(FailureKind::truncated, "body ended inside a chunk");
      remaining_ -= n;
      body_read_ += n;
      return n;
    }
  }
  done_ = true;
  return 0;
}

std::vector<uint8_t> ResponseReader::read_all() {
  std::vector<uint8_t> body;
  if (framing_ == Framing::length) body.reserve(static_cast<size_t>(remaining_));
  for (;;) {
    const size_t old = body.size();
    const size_t want = framing_ == Framing::length ? static_cast<size_t>(remaining_) : kBuffer;
    body.resize(old + std::max<size_t>(want, 1));
    const size_t n = read_body(reinterpret_cast<char*>(body.data() + old), body.size() - old);
    body.resize(old + n);
    if (n == 0) return body;
  }
}

}  // namespace leanpoint
