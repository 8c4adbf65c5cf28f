// Runs a program with pipes on stdout and stderr and a hard deadline, for
// tests that drive the real leanpoint binary. The child's environment is the
// test's minus every LEANPOINT_* variable, plus `env`; its stdin is the file
// `stdin_path`.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace testing {

using Clock = std::chrono::steady_clock;

class Subprocess {
 public:
  // `own_group`: the child leads a new process group (see signal_group).
  // `listen_fds`: passed as systemd's socket activation passes them
  // (sd_listen_fds(3)): as descriptors 3, 4, ..., with LISTEN_FDS their count
  // and LISTEN_PID the child's own pid (set by a shell that then execs the
  // program, so the pid is the program's).
  Subprocess(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
             const std::string& stdin_path = "/dev/null", bool own_group = false,
             const std::vector<int>& listen_fds = {});
  ~Subprocess();  // kills and reaps a child still running
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  // Reads output until stderr contains `needle`, the child closes its pipes,
  // or `deadline` passes. Returns whether `needle` was seen.
  bool wait_for_stderr(const std::string& needle, Clock::time_point deadline);
  bool wait_for_stdout(const std::string& needle, Clock::time_point deadline);

  void send_signal(int sig);
  // Signals the child's whole process group, as a terminal's Ctrl-C does.
  void signal_group(int sig);

  // Reads the remaining output and reaps the child. Returns its exit status,
  // 128 + signal if a signal ended it, or -1 if it was still running at
  // `deadline` (it is then killed).
  int wait(Clock::time_point deadline);

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  pid_t pid() const { return pid_; }

 private:
  // Reads whatever is available within `deadline`; false once both pipes closed.
  bool pump(Clock::time_point deadline);
  bool wait_for(const std::string& buffer, const std::string& needle, Clock::time_point deadline);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  bool reaped_ = false;
  int status_ = -1;
};

struct Result {
  int status;
  std::string out;
  std::string err;
};

// Runs to completion (at most `timeout`) and returns status and output.
Result run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {},
           std::chrono::milliseconds timeout = std::chrono::seconds(10), const std::string& stdin_path = "/dev/null");

// The path of the leanpoint binary under test (LEANPOINT_BIN, set by meson).
std::string leanpoint_bin();
// The path of lean-devnet-sim (LEANPOINT_SIM_BIN, set by meson).
std::string sim_bin();

// The project's source and build directories (set by meson).
std::string source_dir();
std::string build_dir();

// Processes whose command line contains `needle` (excluding this one).
std::vector<std::string> processes_matching(const std::string& needle);

}  // namespace testing
