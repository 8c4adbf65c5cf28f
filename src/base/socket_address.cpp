#include "socket_address.h"

#include <arpa/inet.h>
#include <sys/socket.h>

namespace leanpoint {
namespace {

SocketAddress describe(const sockaddr_storage& ss) {
  char text[INET6_ADDRSTRLEN] = "?";
  SocketAddress a;
  if (ss.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    a.port = ntohs(v4->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    a.port = ntohs(v6->sin6_port);
  }
  a.ip = text;
  return a;
}

}  // namespace

SocketAddress peer_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  return ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 ? describe(ss) : SocketAddress{"?", 0};
}

SocketAddress local_address(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 ? describe(ss) : SocketAddress{"?", 0};
}

}  // namespace leanpoint
