// A certificate authority and a server certificate made at test time with
// the openssl command (Debian's openssl package), in a TempDir: nothing is
// checked in, nothing outlives the test. The server certificate names
// "localhost" and 127.0.0.1; both keys are P-256, quick to make and to use.
#pragma once

#include <string>
#include <vector>

#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

namespace testing {

inline const char* const kOpenssl = "/usr/bin/openssl";

struct TestCa {
  std::string ca;     // the CA's certificate: what clients verify against
  std::string chain;  // the server's certificate (ssl_certificate)
  std::string key;    // its key (ssl_certificate_key)
};

// Makes them under `dir`/tls/.
inline TestCa make_test_ca(const TempDir& dir) {
  const std::string at = dir.path() + "/tls/";
  std::filesystem::create_directories(at);
  const TestCa out{at + "ca.pem", at + "fullchain.pem", at + "privkey.pem"};
  const std::vector<std::string> p256 = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"};
  auto openssl = [](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.begin(), kOpenssl);
    args.insert(args.end(), more.begin(), more.end());
    const Result r = run(args);
    INFO(r.err);
    REQUIRE(r.status == 0);
  };
  openssl({"req", "-x509", "-keyout", at + "ca.key", "-out", out.ca, "-days", "2", "-subj", "/CN=leanpoint test CA",
           "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
          p256);
  openssl({"req", "-keyout", out.key, "-out", at + "server.csr", "-subj", "/CN=localhost"}, p256);
  dir.write("tls/server.ext",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl({"x509", "-req", "-in", at + "server.csr", "-CA", out.ca, "-CAkey", at + "ca.key", "-CAcreateserial", "-out",
           out.chain, "-days", "2", "-extfile", at + "server.ext"},
          {});
  return out;
}

}  // namespace testing
