// meson install and the systemd units: `meson install --destdir` puts the
// binary, the man page, the service unit (with the installed binary's path)
// and the socket unit in place; the service passes `systemd-analyze verify`
// alone and with the socket (Wants=), its `security` exposure is at most
// 2.0, and its TimeoutStopSec exceeds the default --drain-ms; the man page
// renders without a warning.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "http_server.h"
#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

namespace fs = std::filesystem;

namespace {

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The one file under `root` whose path ends in `suffix`.
fs::path find_installed(const fs::path& root, const std::string& suffix) {
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    const std::string p = e.path().string();
    if (p.size() >= suffix.size() && p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0) return e.path();
  }
  return {};
}

}  // namespace

TEST_CASE("meson install --destdir: the binary, the man page, the unit; the unit verifies and is hardened") {
  testing::TempDir dest;
  const auto install = testing::run(
      {"/usr/bin/meson", "install", "-C", testing::build_dir(), "--no-rebuild", "--destdir", dest.path(), "--quiet"},
      {}, std::chrono::seconds(120));
  REQUIRE_MESSAGE(install.status == 0, install.err);
  const fs::path binary = find_installed(dest.path(), "/bin/leanpoint");
  const fs::path man = find_installed(dest.path(), "/man1/leanpoint.1");
  const fs::path unit = find_installed(dest.path(), "/lib/systemd/system/leanpoint.service");
  const fs::path socket_unit = find_installed(dest.path(), "/lib/systemd/system/leanpoint.socket");
  REQUIRE(!binary.empty());
  REQUIRE(!man.empty());
  REQUIRE(!unit.empty());
  REQUIRE(!socket_unit.empty());
  CHECK(testing::run({binary.string(), "--version"}).out.find("leanpoint ") == 0);

  // ExecStart names where the binary was installed (without the destdir).
  const std::string text = read_text(unit);
  const std::string installed = binary.string().substr(dest.path().size());
  CHECK(text.find("\nExecStart=" + installed + "\n") != std::string::npos);
  CHECK(text.find("StateDirectory=leanpoint") != std::string::npos);
  CHECK(text.find("ExecReload=/bin/kill -HUP $MAINPID") != std::string::npos);
  // The socket is wanted, not required: the service runs without it.
  CHECK(text.find("\nWants=network-online.target leanpoint.socket\n") != std::string::npos);
  CHECK(text.find("\nRequires=") == std::string::npos);
  // systemd kills at TimeoutStopSec: it must leave the drain its time.
  std::smatch stop;
  REQUIRE(std::regex_search(text, stop, std::regex("\nTimeoutStopSec=([0-9]+)s\n")));
  CHECK(std::stoll(stop[1]) * 1000 > leanpoint::ServerOptions{}.drain_ms);
  const std::string socket_text = read_text(socket_unit);
  CHECK(socket_text.find("\nListenStream=5555\n") != std::string::npos);
  CHECK(socket_text.find("\nAccept=no\n") != std::string::npos);

  if (!fs::exists("/usr/bin/systemd-analyze")) {
    MESSAGE("systemd-analyze missing (Debian: systemd); the unit is not verified");
    return;
  }
  // verify checks that ExecStart exists: point it at the installed copy.
  testing::TempDir check;
  const std::string copy = check.write("leanpoint.service", std::regex_replace(text, std::regex("\nExecStart=[^\n]*"),
                                                                               "\nExecStart=" + binary.string()));
  const auto verify = testing::run({"/usr/bin/systemd-analyze", "verify", "--man=no", copy});
  CHECK_MESSAGE(verify.status == 0, (verify.out + verify.err));
  // With the socket unit beside it, as installed.
  const std::string socket_copy = check.write("leanpoint.socket", socket_text);
  const auto both = testing::run({"/usr/bin/systemd-analyze", "verify", "--man=no", socket_copy, copy});
  CHECK_MESSAGE(both.status == 0, (both.out + both.err));
  CHECK_MESSAGE(both.err.empty(), both.err);
  const auto security = testing::run({"/usr/bin/systemd-analyze", "security", "--offline=true", copy});
  std::smatch m;
  const std::string report = security.out + security.err;
  REQUIRE(std::regex_search(report, m, std::regex("Overall exposure level for leanpoint.service: ([0-9.]+) (\\w+)")));
  MESSAGE("systemd-analyze security: " << m[1] << " " << m[2]);
  CHECK(std::stod(m[1]) <= 2.0);

  if (fs::exists("/usr/bin/man")) {
    const auto rendered =
        testing::run({"/usr/bin/man", "--warnings", "-l", man.string()}, {"MANWIDTH=80", "PATH=/usr/bin:/bin"});
    CHECK(rendered.status == 0);
    CHECK(rendered.out.find("checkpoint-sync provider") != std::string::npos);
    CHECK_MESSAGE(rendered.err.empty(), rendered.err);
  }
}
