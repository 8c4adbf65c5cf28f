// nginx running contrib/nginx/leanpoint-public.conf as shipped, with only the
// values a deployment replaces (README.md, "Public endpoint") replaced by a
// test's: the listen port, the two replicas' addresses, the certificate and
// its key. Each must appear in the file exactly once, or the test fails here:
// the file and its test cannot drift apart. In a private prefix under a
// TempDir, as replicas_nginx.h runs the replicas recipe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "replicas_nginx.h"
#include "tempdir.h"
#include "test_ca.h"
#include "testing.h"

namespace testing {

// Writes the configuration: TLS with `ca`'s server certificate on
// 127.0.0.1:`front`, the replicas at 127.0.0.1:`one` and :`two`. Returns
// nginx's command line.
inline std::vector<std::string> public_nginx(const TempDir& dir, const TestCa& ca, uint16_t front, uint16_t one,
                                             uint16_t two) {
  const std::string conf =
      shipped_with("contrib/nginx/leanpoint-public.conf",
                   {{"listen 443", "listen 127.0.0.1:" + std::to_string(front)},
                    {"127.0.0.1:5555", "127.0.0.1:" + std::to_string(one)},
                    {"127.0.0.1:5556", "127.0.0.1:" + std::to_string(two)},
                    {"ssl_certificate /etc/leanpoint/tls/fullchain.pem", "ssl_certificate " + ca.chain},
                    {"ssl_certificate_key /etc/leanpoint/tls/privkey.pem", "ssl_certificate_key " + ca.key}});
  const std::string prefix = dir.path() + "/nginx-public";
  std::filesystem::create_directories(prefix + "/logs");
  dir.write("nginx-public/public.conf", conf);
  // Inside http {}, what Debian's stock nginx.conf sets there (its older
  // TLS versions and gzip included), since the file is dropped beside it.
  dir.write("nginx-public/nginx.conf",
            "worker_processes 1;\ndaemon off;\npid " + prefix + "/nginx.pid;\nerror_log " + prefix +
                "/error.log warn;\nevents { worker_connections 1024; }\nhttp {\n"
                "  sendfile on;\n  tcp_nopush on;\n  default_type application/octet-stream;\n"
                "  ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;\n  ssl_prefer_server_ciphers on;\n  gzip on;\n"
                "  access_log off;\n  client_body_temp_path " +
                prefix + "/body;\n  proxy_temp_path " + prefix + "/proxy;\n  include " + prefix + "/public.conf;\n}\n");
  return {kNginx, "-p", prefix, "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf"};
}

}  // namespace testing
