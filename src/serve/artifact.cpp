#include "artifact.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <variant>

#include "range.h"

namespace leanpoint {
namespace {

constexpr size_t kSlice = 256 * 1024;  // per write; the stall rule applies to each

bool etag_matches(const std::string& if_none_match, const std::string& etag) {
  size_t at = 0;
  while (at < if_none_match.size()) {
    size_t end = if_none_match.find(',', at);
    if (end == std::string::npos) end = if_none_match.size();
    std::string_view tag(if_none_match.data() + at, end - at);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    at = end + 1;
  }
  return false;
}

}  // namespace

void respond_body(const httplib::Request& req, httplib::Response& res, BodySource body, const BodyHeaders& h,
                  const std::optional<std::string>& range) {
  res.set_header("ETag", h.etag);
  if (!h.cache_control.empty()) res.set_header("Cache-Control", h.cache_control);
  res.set_header("Accept-Ranges", "bytes");
  for (const auto& [k, v] : h.extra) res.set_header(k.c_str(), v);
  if (req.has_header("If-None-Match") && etag_matches(req.get_header_value("If-None-Match"), h.etag)) {
    res.status = 304;
    return;
  }
  const RangeDecision d = decide_range(range, body.size);
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
  const uint64_t first = d.first;
  res.set_content_provider(
      d.length, h.content_type.c_str(),
      [body = std::move(body), first](size_t offset, size_t length, httplib::DataSink& sink) {
        const size_t n = std::min(length, kSlice);
        if (body.bytes) return sink.write(reinterpret_cast<const char*>(body.bytes->data()) + first + offset, n);
        std::vector<char> buf(n);
        const ssize_t got = ::pread(*body.file, buf.data(), n, static_cast<off_t>(first + offset));
        return got > 0 && sink.write(buf.data(), static_cast<size_t>(got));
      });
}

std::variant<std::string, int> resolve_static(const std::string& root, const std::string& path) {
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos) return 400;
  // cpp-httplib has percent-decoded the path: %2e%2e arrives here as "..".
  for (size_t at = 0; at != std::string::npos;) {
    const size_t next = path.find('/', at + 1);
    const std::string_view seg(path.data() + at + 1, (next == std::string::npos ? path.size() : next) - at - 1);
    if (seg == ".." || seg.find('\\') != std::string_view::npos) return 400;
    at = next;
  }
  std::error_code ec;
  std::filesystem::path file = std::filesystem::path(root) / path.substr(1);
  if (path.back() == '/' || std::filesystem::is_directory(file, ec)) file /= "index.html";
  const auto real = std::filesystem::canonical(file, ec);
  if (ec) return 404;
  const std::string r = real.string();
  // A symlink may point anywhere: only what resolves inside the root is served.
  if (r.size() <= root.size() || r.compare(0, root.size(), root) != 0 || r[root.size()] != '/') return 404;
  if (!std::filesystem::is_regular_file(real, ec)) return 404;
  return r;
}

std::string mime_type(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"}, {".js", "application/javascript"},
      {".mjs", "application/javascript"},     {".css", "text/css"},                 {".json", "application/json"},
      {".png", "image/png"},                  {".svg", "image/svg+xml"},            {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},  {".wasm", "application/wasm"},        {".ssz", "application/octet-stream"},
  };
  const std::string ext = std::filesystem::path(path).extension().string();
  for (const auto& [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

}  // namespace leanpoint
