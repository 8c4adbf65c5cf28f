#include "static_files.h"

#include <fcntl.h>
#include <httplib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>

#include "body.h"
#include "fd.h"

namespace leanpoint {
namespace {

void plain(httplib::Response& res, int status, const char* body) {
  res.status = status;
  res.set_content(body, "text/plain; charset=utf-8");
}

// Changes when the file does: its size and modification time.
std::string file_etag(const struct stat& st) {
  char tag[64];
  std::snprintf(tag, sizeof tag, "\"%llx-%llx\"", static_cast<unsigned long long>(st.st_size),
                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                    static_cast<unsigned long long>(st.st_mtim.tv_nsec));
  return tag;
}

}  // namespace

Expected<std::string, PathError> resolve_static(const std::string& root, const std::string& path) {
  if (path.empty() || path.front() != '/' || path.find('\0') != std::string::npos)
    return Unexpected(PathError::invalid);
  // cpp-httplib has percent-decoded the path: %2e%2e arrives here as "..".
  for (size_t at = 0; at != std::string::npos;) {
    const size_t next = path.find('/', at + 1);
    const std::string_view seg(path.data() + at + 1, (next == std::string::npos ? path.size() : next) - at - 1);
    if (seg == ".." || seg.find('\\') != std::string_view::npos) return Unexpected(PathError::invalid);
    at = next;
  }
  std::error_code ec;
  std::filesystem::path file = std::filesystem::path(root) / path.substr(1);
  if (path.back() == '/' || std::filesystem::is_directory(file, ec)) file /= "index.html";
  const auto real = std::filesystem::canonical(file, ec);
  if (ec) return Unexpected(PathError::not_found);
  const std::string r = real.string();
  // A symlink may point anywhere: only what resolves inside the root is served.
  if (r.size() <= root.size() || r.compare(0, root.size(), root) != 0 || r[root.size()] != '/')
    return Unexpected(PathError::not_found);
  if (!std::filesystem::is_regular_file(real, ec)) return Unexpected(PathError::not_found);
  return r;
}

std::string mime_type(const std::string& path) {
  static const std::pair<const char*, const char*> types[] = {
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "application/javascript"},
      {".mjs", "application/javascript"},
      {".css", "text/css"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".ssz", "application/octet-stream"},
  };
  const std::string ext = std::filesystem::path(path).extension().string();
  for (const auto& [e, t] : types)
    if (ext == e) return t;
  return "application/octet-stream";
}

void serve_static(const std::string& root, const httplib::Request& req, httplib::Response& res,
                  const RequestContext& context) {
  const auto path = resolve_static(root, req.path);
  if (!path)
    return plain(res, path.error() == PathError::invalid ? 400 : 404,
                 path.error() == PathError::invalid ? "invalid path\n" : "Not found\n");
  auto file = std::make_shared<const UniqueFd>(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!file->valid() || ::fstat(file->get(), &st) != 0) return plain(res, 404, "Not found\n");
  BodyHeaders h;
  h.content_type = mime_type(*path);
  h.etag = file_etag(st);
  h.cache_control = "no-cache";
  respond_body(req, res, BodySource{nullptr, std::move(file), static_cast<uint64_t>(st.st_size)}, h, context);
}

}  // namespace leanpoint
