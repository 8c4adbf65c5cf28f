#include "body.h"

#include <httplib.h>
#include <unistd.h>

#include "range.h"
#include "text.h"

namespace leanpoint {
namespace {

constexpr size_t kSlice = 256 * 1024;  // per read and write of a file

bool etag_matches(const std::string& if_none_match, const std::string& etag) {
  size_t at = 0;
  while (at < if_none_match.size()) {
    size_t end = if_none_match.find(',', at);
    if (end == std::string::npos) end = if_none_match.size();
    std::string_view tag = trim(std::string_view(if_none_match).substr(at, end - at));
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    at = end + 1;
  }
  return false;
}

// RFC 9110 §13.1.5: a Range is honoured only when If-Range, if sent, is a
// strong ETag equal to the current one. A weak tag or a date (anchors have
// no Last-Modified) never matches: the client gets the whole body, never the
// rest of another representation spliced onto what it has.
bool range_applies(const httplib::Request& req, const std::string& etag) {
  return !req.has_header("If-Range") || trim(req.get_header_value("If-Range")) == etag;
}

}  // namespace

void respond_body(const httplib::Request& req, httplib::Response& res, BodySource body, const BodyHeaders& h,
                  const RequestContext& context) {
  res.set_header("ETag", h.etag);
  if (!h.cache_control.empty()) res.set_header("Cache-Control", h.cache_control);
  res.set_header("Accept-Ranges", "bytes");
  for (const auto& [k, v] : h.extra) res.set_header(k.c_str(), v);
  if (req.has_header("If-None-Match") && etag_matches(req.get_header_value("If-None-Match"), h.etag)) {
    res.status = 304;
    return;
  }
  const RangeDecision d = decide_range(range_applies(req, h.etag) ? context.range : std::nullopt, body.size);
  if (d.kind == RangeDecision::Kind::unsatisfiable) {
    res.status = 416;
    res.set_header("Content-Range", "bytes */" + std::to_string(body.size));
    return;
  }
  if (d.kind == RangeDecision::Kind::partial) {
    res.status = 206;
    res.set_header("Content-Range", "bytes " + std::to_string(d.first) + "-" + std::to_string(d.first + d.length - 1) +
                                        "/" + std::to_string(body.size));
  } else {
    res.status = 200;
  }
  if (body.lease && body.bytes) {
    // The lease rides in the bytes' own reference (one that owns both and
    // points at the bytes): every queued piece holds it, and it goes with
    // the last of them.
    struct Leased {
      SharedBytes bytes;
      std::shared_ptr<const void> lease;
    };
    const auto* data = body.bytes.get();
    body.bytes =
        SharedBytes(std::make_shared<const Leased>(Leased{std::move(body.bytes), std::move(body.lease)}), data);
  }
  const uint64_t first = d.first;
  // Shared bytes go in one write: what the socket cannot take is queued by
  // reference and sent by the gate, and the worker moves on.
  if (body.bytes && context.body_owner) *context.body_owner = body.bytes;
  res.set_content_provider(
      d.length, h.content_type.c_str(),
      [body = std::move(body), first](size_t offset, size_t length, httplib::DataSink& sink) {
        if (body.bytes) return sink.write(reinterpret_cast<const char*>(body.bytes->data()) + first + offset, length);
        const size_t n = std::min(length, kSlice);
        std::vector<char> buf(n);
        const ssize_t got = ::pread(body.file->get(), buf.data(), n, static_cast<off_t>(first + offset));
        return got > 0 && sink.write(buf.data(), static_cast<size_t>(got));
      });
}

}  // namespace leanpoint
