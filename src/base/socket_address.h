// The two ends of a connected socket as text, for logs and cpp-httplib.
#pragma once

#include <string>

namespace leanpoint {

struct SocketAddress {
  std::string ip;  // "?" when unknown
  int port = 0;
  std::string text() const { return ip + ":" + std::to_string(port); }
};

SocketAddress peer_address(int fd);
SocketAddress local_address(int fd);

}  // namespace leanpoint
