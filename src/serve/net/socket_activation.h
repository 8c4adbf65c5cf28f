// Socket activation (systemd's protocol, sd_listen_fds(3)), without
// libsystemd: the protocol is three environment variables, and the library
// would be a dependency for one function. A supervisor that holds the
// listening socket (a systemd .socket unit, podman) passes it as descriptor 3
// with LISTEN_FDS=1 and LISTEN_PID set to the new process's pid
// (LISTEN_FDNAMES optional). leanpoint then serves on that socket instead of
// binding --bind/--port, and never closes or shuts it down before it exits:
// connections that arrive while it restarts wait in the socket's backlog for
// the next process instead of being refused (ARCHITECTURE.md §6).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "expected.h"
#include "fd.h"
#include "sys_error.h"

namespace leanpoint {

// The first descriptor passed (SD_LISTEN_FDS_START).
constexpr int kListenFdsStart = 3;

// What LISTEN_PID and LISTEN_FDS say to process `self`: how many sockets
// start at kListenFdsStart; 0 when the variables are absent or name another
// process (they were inherited from a parent that was activated). An error
// for values that do not parse, and for more than one socket: leanpoint
// serves one.
Expected<int, SysError> listen_fds_for(const char* listen_pid, const char* listen_fds, pid_t self);

// Checks that `fd` is a listening TCP socket (AF_INET or AF_INET6,
// SOCK_STREAM, SO_ACCEPTCONN) and marks it close-on-exec. An error names
// what it is instead.
Expected<void, SysError> check_listening_socket(int fd);

struct InheritedSocket {
  UniqueFd fd;
  std::string name;  // LISTEN_FDNAMES' first name, or empty
};

// Reads LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES, unsets them (so no child
// inherits them), and returns the socket passed, checked; none when nothing
// was passed to this process. Before any thread starts: it changes the
// environment.
Expected<std::optional<InheritedSocket>, SysError> take_activated_socket();

}  // namespace leanpoint
