// An image registry on 127.0.0.1 for the image tests: Debian's
// docker-registry (the reference "distribution" registry) with a config file
// of its own, a free port and its storage in a temporary directory; stopped
// with the object. It speaks plain http, so clients must be told it is
// insecure (registries.conf, see `registries_conf`).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

namespace testing {

class LocalRegistry {
 public:
  static constexpr const char* kBinary = "/usr/bin/docker-registry";

  LocalRegistry() : port_(free_port()) {
    const std::string config = dir_.write("registry.yml",
                                          "version: 0.1\n"
                                          "log:\n  level: info\n"
                                          "storage:\n  filesystem:\n    rootdirectory: " +
                                              dir_.path() +
                                              "/storage\n"
                                              "http:\n  addr: " +
                                              address() + "\n");
    process_ = std::make_unique<Subprocess>(std::vector<std::string>{kBinary, "serve", config});
    // distribution logs `listening on ADDR` once the socket is bound.
    REQUIRE_MESSAGE(process_->wait_for_stderr("listening on", Clock::now() + std::chrono::seconds(20)),
                    process_->err());
  }

  // host:port, as image references name the registry.
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // A registries.conf (containers-registries.conf(5), for
  // CONTAINERS_REGISTRIES_CONF) that lets podman use this registry over plain http.
  std::string registries_conf() const { return "[[registry]]\nlocation = \"" + address() + "\"\ninsecure = true\n"; }

 private:
  TempDir dir_;
  uint16_t port_;
  std::unique_ptr<Subprocess> process_;
};

}  // namespace testing
