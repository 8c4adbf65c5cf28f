#include "socket_activation.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "text.h"

namespace leanpoint {
namespace {

SysError invalid(const std::string& detail) { return SysError{EINVAL, detail}; }

}  // namespace

Expected<int, SysError> listen_fds_for(const char* listen_pid, const char* listen_fds, pid_t self) {
  if (!listen_pid || !listen_fds) return 0;
  const auto pid = parse_decimal(listen_pid);
  if (!pid) return Unexpected(invalid("LISTEN_PID=" + std::string(listen_pid) + " is not a process id"));
  if (*pid != static_cast<uint64_t>(self)) return 0;  // meant for another process
  const auto count = parse_decimal(listen_fds);
  if (!count) return Unexpected(invalid("LISTEN_FDS=" + std::string(listen_fds) + " is not a count"));
  if (*count > 1)
    return Unexpected(invalid("LISTEN_FDS=" + std::string(listen_fds) +
                              ": leanpoint serves one socket; give its socket unit one ListenStream="));
  return static_cast<int>(*count);
}

Expected<void, SysError> check_listening_socket(int fd) {
  const std::string what = "LISTEN_FDS: descriptor " + std::to_string(fd);
  int type = 0, listening = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    return Unexpected(last_sys_error(what + " is not a socket"));
  len = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0)
    return Unexpected(last_sys_error(what + ": getsockopt SO_ACCEPTCONN"));
  sockaddr_storage address{};
  len = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &len) != 0)
    return Unexpected(last_sys_error(what + ": getsockname"));
  const bool inet = address.ss_family == AF_INET || address.ss_family == AF_INET6;
  if (type != SOCK_STREAM || !listening || !inet)
    return Unexpected(invalid(what + " is not a listening TCP socket (ListenStream= with Accept=no)"));
  if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) return Unexpected(last_sys_error(what + ": fcntl FD_CLOEXEC"));
  return {};
}

Expected<std::optional<InheritedSocket>, SysError> take_activated_socket() {
  auto copy = [](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
  const auto pid = copy("LISTEN_PID"), fds = copy("LISTEN_FDS"), names = copy("LISTEN_FDNAMES");
  for (const char* name : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"}) (void)::unsetenv(name);  // only EINVAL
  auto count = listen_fds_for(pid ? pid->c_str() : nullptr, fds ? fds->c_str() : nullptr, ::getpid());
  if (!count) return Unexpected(count.error());
  if (*count == 0) return std::optional<InheritedSocket>();
  if (auto checked = check_listening_socket(kListenFdsStart); !checked) return Unexpected(checked.error());
  InheritedSocket socket{UniqueFd(kListenFdsStart), names ? names->substr(0, names->find(':')) : ""};
  return std::optional<InheritedSocket>(std::move(socket));
}

}  // namespace leanpoint
