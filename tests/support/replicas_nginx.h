// nginx running contrib/nginx/leanpoint-replicas.conf as shipped, with only
// its literal addresses replaced by a test's ports, in a private prefix under
// a TempDir (no root, no system config). For scale_out_test and
// nginx_replicas_test, which must test the file operators install.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

namespace testing {

inline const char* const kNginx = "/usr/sbin/nginx";

// Writes the configuration: the replicas at 127.0.0.1:`one` and :`two`,
// listening on 127.0.0.1:`front`. Returns nginx's command line.
inline std::vector<std::string> replicas_nginx(const TempDir& dir, uint16_t front, uint16_t one, uint16_t two) {
  std::ifstream in(source_dir() + "/contrib/nginx/leanpoint-replicas.conf");
  std::stringstream shipped;
  shipped << in.rdbuf();
  std::string conf = shipped.str();
  conf = std::regex_replace(conf, std::regex("127\\.0\\.0\\.1:5556"), "127.0.0.1:" + std::to_string(one));
  conf = std::regex_replace(conf, std::regex("127\\.0\\.0\\.1:5557"), "127.0.0.1:" + std::to_string(two));
  conf = std::regex_replace(conf, std::regex("listen 5555;"), "listen 127.0.0.1:" + std::to_string(front) + ";");
  REQUIRE(conf.find(std::to_string(two)) != std::string::npos);
  const std::string prefix = dir.path() + "/nginx";
  std::filesystem::create_directories(prefix + "/logs");
  dir.write("nginx/replicas.conf", conf);
  dir.write("nginx/nginx.conf", "worker_processes 1;\ndaemon off;\npid " + prefix + "/nginx.pid;\nerror_log " + prefix +
                                    "/error.log warn;\nevents { worker_connections 1024; }\nhttp {\n"
                                    "  access_log off;\n  client_body_temp_path " +
                                    prefix + "/body;\n  proxy_temp_path " + prefix + "/proxy;\n  include " + prefix +
                                    "/replicas.conf;\n}\n");
  return {kNginx, "-p", prefix, "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf"};
}

}  // namespace testing
