#include "subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

extern char** environ;

namespace testing {
namespace {

int decode_status(int raw) {
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
  return -1;
}

}  // namespace

Subprocess::Subprocess(const std::vector<std::string>& argv_in, const std::vector<std::string>& env,
                       const std::string& stdin_path, bool own_group, const std::vector<int>& listen_fds) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");

  std::vector<std::string> child_env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "LEANPOINT_", 10) != 0) child_env.emplace_back(*e);
  child_env.insert(child_env.end(), env.begin(), env.end());

  // Socket activation: the pid is known only in the child, so a shell sets
  // LISTEN_PID to its own and execs the program in its place.
  std::vector<std::string> argv = argv_in;
  if (!listen_fds.empty()) {
    argv.insert(argv.begin(), {"/bin/sh", "-c", "LISTEN_PID=$$; export LISTEN_PID; exec \"$@\"", "sh"});
    child_env.push_back("LISTEN_FDS=" + std::to_string(listen_fds.size()));
  }
  // Each passed descriptor first goes above the range it lands in, so no
  // dup2 overwrites another still to be passed (and none is a no-op that
  // would leave close-on-exec set).
  std::vector<int> staged;
  for (const int fd : listen_fds) staged.push_back(fcntl(fd, F_DUPFD_CLOEXEC, 64));

  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : child_env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
  for (size_t i = 0; i < staged.size(); ++i)
    posix_spawn_file_actions_adddup2(&actions, staged[i], 3 + static_cast<int>(i));
  // The child starts with default signal dispositions and an empty mask, even
  // if the test runner blocks or ignores some.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (own_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);
  }
  posix_spawnattr_setflags(&attr, flags);
  const int rc = posix_spawn(&pid_, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (const int fd : staged) close(fd);
  close(out_pipe[1]);
  close(err_pipe[1]);
  out_fd_ = out_pipe[0];
  err_fd_ = err_pipe[0];
  if (rc != 0) {
    close(out_fd_);
    close(err_fd_);
    throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
  }
}

Subprocess::~Subprocess() {
  if (!reaped_ && pid_ > 0) {
    kill(pid_, SIGKILL);
    int raw = 0;
    waitpid(pid_, &raw, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

bool Subprocess::pump(Clock::time_point deadline) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (out_fd_ < 0 && err_fd_ < 0) return false;
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return true;
  if (poll(fds, 2, static_cast<int>(left.count())) <= 0) return true;
  int* fd_of[2] = {&out_fd_, &err_fd_};
  std::string* buf_of[2] = {&out_, &err_};
  for (int i = 0; i < 2; ++i) {
    if (*fd_of[i] < 0 || fds[i].revents == 0) continue;
    char chunk[4096];
    const ssize_t n = read(*fd_of[i], chunk, sizeof chunk);
    if (n > 0) {
      buf_of[i]->append(chunk, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close(*fd_of[i]);
      *fd_of[i] = -1;
    }
  }
  return out_fd_ >= 0 || err_fd_ >= 0;
}

bool Subprocess::wait_for(const std::string& buffer, const std::string& needle, Clock::time_point deadline) {
  while (buffer.find(needle) == std::string::npos) {
    if (Clock::now() >= deadline || !pump(deadline)) break;
  }
  return buffer.find(needle) != std::string::npos;
}

bool Subprocess::wait_for_stderr(const std::string& needle, Clock::time_point deadline) {
  return wait_for(err_, needle, deadline);
}

bool Subprocess::wait_for_stdout(const std::string& needle, Clock::time_point deadline) {
  return wait_for(out_, needle, deadline);
}

void Subprocess::send_signal(int sig) {
  if (!reaped_) kill(pid_, sig);
}

void Subprocess::signal_group(int sig) {
  if (!reaped_) kill(-pid_, sig);
}

int Subprocess::wait(Clock::time_point deadline) {
  if (reaped_) return status_;
  while (Clock::now() < deadline && pump(deadline)) {
  }
  // The pipes close a moment before the child is reapable: await its exit.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
    close(pidfd);
  }
  int raw = 0;
  if (waitpid(pid_, &raw, WNOHANG) == pid_) {
    reaped_ = true;
    status_ = decode_status(raw);
    return status_;
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &raw, 0);
  reaped_ = true;
  status_ = -1;
  return status_;
}

Result run(const std::vector<std::string>& argv, const std::vector<std::string>& env, std::chrono::milliseconds timeout,
           const std::string& stdin_path) {
  Subprocess p(argv, env, stdin_path);
  const int status = p.wait(Clock::now() + timeout);
  return {status, p.out(), p.err()};
}

namespace {

// A path meson sets for the tests (tests/meson.build).
std::string from_meson(const char* name) {
  const char* value = std::getenv(name);
  if (!value) throw std::runtime_error(std::string(name) + " is not set; run the tests through meson test");
  return value;
}

}  // namespace

std::string leanpoint_bin() { return from_meson("LEANPOINT_BIN"); }
std::string sim_bin() { return from_meson("LEANPOINT_SIM_BIN"); }
std::string source_dir() { return from_meson("LEANPOINT_SOURCE_DIR"); }
std::string build_dir() { return from_meson("LEANPOINT_BUILD_DIR"); }

std::vector<std::string> processes_matching(const std::string& needle) {
  std::vector<std::string> found;
  const std::string self = std::to_string(getpid());
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos || pid == self) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(needle) != std::string::npos) found.push_back(pid + " " + cmd);
  }
  return found;
}

}  // namespace testing
