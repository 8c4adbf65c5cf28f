// Streaming a body to a client: the verified anchor from shared immutable
// bytes (never copied per request), or a file from --static-dir. Both go
// through one path: ETag and If-None-Match (304), one Range (206/416, see
// range.h), HEAD, and the ConnStream underneath with its stall rule.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "fd.h"
#include "route_table.h"
#include "snapshot.h"

namespace leanpoint {

struct BodySource {
  SharedBytes bytes;                     // either the bytes...
  std::shared_ptr<const UniqueFd> file;  // ...or an open file (closed with the last reference)
  uint64_t size = 0;
  // Held until the last byte is handed to the socket, or the connection
  // goes: its release marks the end of the transfer (pins.h). Bytes queued
  // for the gate keep it with them.
  std::shared_ptr<const void> lease = nullptr;
};

struct BodyHeaders {
  std::string content_type;
  std::string etag;           // quoted
  std::string cache_control;  // empty: none
  std::vector<std::pair<std::string, std::string>> extra;
};

// Answers `req` with `body`: 304 if If-None-Match matches, else 200, 206 or
// 416 per the client's Range header (in `context`, taken out before routing),
// which counts only if If-Range is absent or the current strong ETag.
void respond_body(const httplib::Request& req, httplib::Response& res, BodySource body, const BodyHeaders& headers,
                  const RequestContext& context);

}  // namespace leanpoint
