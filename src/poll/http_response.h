// Reading one HTTP/1.x response from a stream of bytes, every part of it
// capped: what http_get does once its request is sent, apart from the socket
// so that a fuzzer can feed it any bytes (tests/fuzz/http_response_fuzzer.cpp).
//
// Memory is one fixed buffer plus what the caller asks for; time is bounded by
// the ByteSource, which http_get gives the request's absolute deadline.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "failure.h"

namespace leanpoint {

constexpr size_t kMaxResponseHead = 16 * 1024;

// Ends a response being read, from any depth; http_get returns its failure.
struct HttpAbort : std::exception {
  explicit HttpAbort(Failure f) : failure(std::move(f)) {}
  const char* what() const noexcept override { return failure.detail.c_str(); }
  Failure failure;
};

[[noreturn]] void abort_with(FailureKind kind, std::string detail);

// Where a response's bytes come from.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads at most `size` bytes into `out`; 0 only at the end of the stream.
  // Fails by throwing HttpAbort.
  virtual size_t read(char* out, size_t size) = 0;
};

// What one response may cost. Past any of them: too_large.
struct ResponseLimits {
  size_t head = kMaxResponseHead;  // a status line and its headers (each response, interim ones too)
  size_t headers = 100;            // header lines in one head
  size_t line = 1024;              // a chunk-size line with its extensions; one trailer line
  size_t trailers = 16 * 1024;     // all trailer lines together
  size_t interim = 8;              // 1xx responses before the final one
  size_t body = 0;                 // the body, after chunked framing is undone
};

class ResponseReader {
 public:
  ResponseReader(ByteSource& source, const ResponseLimits& limits);

  // Reads heads until the final one (1xx interim responses are skipped, as
  // RFC 9110 asks). Fails malformed, too_large or truncated.
  void read_head();
  int status() const { return status_; }
  const std::string& content_type() const { return content_type_; }  // lowercased, without parameters

  // Reads at most `size` bytes of the body into `out`, framing undone
  // (Content-Length, chunked, or until close); 0 at its end and only there.
  // Fails too_large past limits.body, truncated, malformed.
  size_t read_body(char* out, size_t size);
  // The rest of the body.
  std::vector<uint8_t> read_all();

 private:
  static constexpr size_t kBuffer = 64 * 1024;  // holds a whole head, or a line

  std::string_view buffered() const { return {buf_.get() + begin_, end_ - begin_}; }
  void consume(size_t n) { begin_ += n; }
  bool fill();                                   // more bytes into the buffer; false at the end of the stream
  size_t take(char* out, size_t size);           // body bytes, from the buffer or the source
  std::string_view read_line(const char* what);  // valid until the next fill
  void read_one_head();
  void parse_head(std::string_view head);
  bool next_chunk();  // false after the last chunk and the trailers

  ByteSource& source_;
  ResponseLimits limits_;
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0, end_ = 0;

  int status_ = 0;
  std::string content_type_;
  std::optional<uint64_t> content_length_;
  bool chunked_ = false;

  enum class Framing { length, chunked, close } framing_ = Framing::close;
  uint64_t remaining_ = 0;  // length: of the body; chunked: of the current chunk
  bool in_chunk_ = false;   // a chunk's data was read and its CRLF is due
  bool done_ = false;
  uint64_t body_read_ = 0;
};

}  // namespace leanpoint
