// A lean node that answers each request target with its script and anything
// else 404, for tests of one poller unit (observe, anchor_fetch) against real
// sockets on 127.0.0.1.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "scripted_server.h"
#include "upstream_url.h"

namespace testing {

// 200 with `bytes` as an SSZ body.
inline leanpoint::sim::Script ssz(const std::vector<uint8_t>& bytes) {
  return leanpoint::sim::respond(200, "application/octet-stream", std::string(bytes.begin(), bytes.end()));
}

class ScriptedNode {
 public:
  explicit ScriptedNode(std::map<std::string, leanpoint::sim::Script> answers)
      : server_([answers = std::move(answers)](const std::string& target, const std::string&) {
          const auto it = answers.find(target);
          return it != answers.end() ? it->second : leanpoint::sim::respond(404, "text/plain", "not found");
        }) {}
  leanpoint::Upstream upstream(const std::string& name = "node") const {
    return *leanpoint::parse_upstream_url(name, server_.url(), "test");
  }
  size_t requests() const { return server_.requests(); }

 private:
  leanpoint::sim::ScriptedServer server_;
};

}  // namespace testing
