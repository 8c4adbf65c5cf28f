// Files from --static-dir, served through the same streaming path as the
// anchor (body.h): a path is resolved under the directory or refused.
#pragma once

#include <cstdint>
#include <string>

#include "expected.h"
#include "route_table.h"

namespace leanpoint {

enum class PathError : uint8_t {
  invalid,    // a `..` segment, a backslash, a NUL: 400
  not_found,  // nothing there, or it resolves outside the root: 404
};

// Resolves a request path under `root` (a canonical directory): percent-
// decoded `..` segments and symlinks leading outside are refused. "/" and
// directories map to index.html. Returns the canonical file path.
Expected<std::string, PathError> resolve_static(const std::string& root, const std::string& path);

// Content type by extension.
std::string mime_type(const std::string& path);

// Answers `req` with the file its path names under `root`.
void serve_static(const std::string& root, const httplib::Request& req, httplib::Response& res,
                  const RequestContext& context);

}  // namespace leanpoint
