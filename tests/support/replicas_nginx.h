// nginx running contrib/nginx/leanpoint-replicas.conf as shipped, with only
// its literal addresses replaced by a test's ports, in a private prefix under
// a TempDir (no root, no system config). For scale_out_test and
// nginx_replicas_test, which must test the file operators install.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

namespace testing {

inline const char* const kNginx = "/usr/sbin/nginx";

// The shipped file, each of `replace`'s first values replaced by its second.
// Each must appear exactly once in the shipped text, and all are found there
// before any is replaced, so a value put in (a port such as 55561) can never
// be taken for one still to replace (127.0.0.1:5556).
inline std::string shipped_with(const std::string& file,
                                const std::vector<std::pair<std::string, std::string>>& replace) {
  std::ifstream in(source_dir() + "/" + file);
  std::stringstream shipped;
  shipped << in.rdbuf();
  const std::string conf = shipped.str();
  REQUIRE_MESSAGE(!conf.empty(), file << " is missing or empty");
  std::map<size_t, const std::pair<std::string, std::string>*> at;  // where each is, in the shipped text
  for (const auto& r : replace) {
    const size_t found = conf.find(r.first);
    REQUIRE_MESSAGE(found != std::string::npos,
                    file << " no longer holds `" << r.first << "`: update the test and README");
    REQUIRE_MESSAGE(conf.find(r.first, found + 1) == std::string::npos,
                    file << " holds `" << r.first << "` more than once");
    at[found] = &r;
  }
  std::string out;
  size_t done = 0;
  for (const auto& [pos, r] : at) {
    REQUIRE(pos >= done);  // no two overlap
    out += conf.substr(done, pos - done) + r->second;
    done = pos + r->first.size();
  }
  return out + conf.substr(done);
}

// Writes the configuration: the replicas at 127.0.0.1:`one` and :`two`,
// listening on 127.0.0.1:`front`. Returns nginx's command line.
inline std::vector<std::string> replicas_nginx(const TempDir& dir, uint16_t front, uint16_t one, uint16_t two) {
  const std::string conf = shipped_with("contrib/nginx/leanpoint-replicas.conf",
                                        {{"127.0.0.1:5556", "127.0.0.1:" + std::to_string(one)},
                                         {"127.0.0.1:5557", "127.0.0.1:" + std::to_string(two)},
                                         {"listen 5555;", "listen 127.0.0.1:" + std::to_string(front) + ";"}});
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
