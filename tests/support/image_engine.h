// The container engine the image tests drive, as scripts/image detects it
// (`source scripts/image --env`): the engine, the global flags it needs on
// this machine (ENGINE_FLAGS, e.g. --runtime runc) and the flags each `run`
// needs (RUN_FLAGS, e.g. --ulimit nproc=...).
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "subprocess.h"
#include "testing.h"

namespace testing {

// A command's output without its trailing newline and spaces.
inline std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

struct ImageEngine {
  std::vector<std::string> base;       // "/usr/bin/podman" and its ENGINE_FLAGS
  std::vector<std::string> run_flags;  // RUN_FLAGS

  // base + args, ready for testing::run.
  std::vector<std::string> cmd(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
};

inline ImageEngine image_engine() {
  const auto r = run({"/bin/bash", "-c",
                      "cd \"$0\" && source scripts/image --env >/dev/null && "
                      "printf '%s\\n' \"$ENGINE\" \"${ENGINE_FLAGS[@]}\" && echo -- && "
                      "printf '%s\\n' \"${RUN_FLAGS[@]}\"",
                      source_dir()},
                     {}, std::chrono::seconds(60));
  REQUIRE_MESSAGE(r.status == 0, r.err);
  ImageEngine e;
  bool after_split = false;
  std::istringstream in(r.out);
  for (std::string w; std::getline(in, w);) {
    if (w.empty()) continue;
    if (w == "--") {
      after_split = true;
      continue;
    }
    (after_split ? e.run_flags : e.base).push_back(w);
  }
  REQUIRE(after_split);
  REQUIRE(!e.base.empty());
  e.base[0] = "/usr/bin/" + e.base[0];
  return e;
}

}  // namespace testing
