// The poller under pressure that is not the upstreams' doing: this process
// out of descriptors (FailureKind::local), and fork_choice documents over
// --max-json-bytes (read from the state instead).
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "devnet.h"
#include "fd.h"
#include "fds.h"
#include "poller.h"
#include "testing.h"

using leanpoint::FailureKind;
using leanpoint::Poller;
using leanpoint::PollerOptions;
using leanpoint::SnapshotStore;
using namespace std::chrono_literals;

namespace {

// Holds every descriptor this process may still open, until destroyed: the
// soft RLIMIT_NOFILE is lowered to a little above the descriptors open, and
// the rest filled with /dev/null.
class NoDescriptorsLeft {
 public:
  NoDescriptorsLeft() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit low = saved_;
    low.rlim_cur = testing::open_fds() + 8;
    setrlimit(RLIMIT_NOFILE, &low);
    for (int i = 0; i < 4096; ++i) {
      leanpoint::UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      if (!fd.valid()) break;
      held_.push_back(std::move(fd));
    }
  }
  ~NoDescriptorsLeft() {
    held_.clear();
    setrlimit(RLIMIT_NOFILE, &saved_);
  }
  bool exhausted() const {
    const leanpoint::UniqueFd probe(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    return !probe.valid() && errno == EMFILE;
  }

 private:
  rlimit saved_{};
  std::vector<leanpoint::UniqueFd> held_;
};

}  // namespace

TEST_CASE("out of descriptors: local, counted, nobody backs off; the next round polls every upstream") {
  testing::Devnet net;
  for (int i = 0; i < 3; ++i) net.add();
  SnapshotStore store;
  Poller poller(net.poller_options(), net.upstreams(), store);
  poller.run_round();
  REQUIRE(store.load()->agreement.checkpoint);
  // The nodes' connection threads must be done with their sockets: one that
  // closed after the table is full would let a request through.
  const auto by = std::chrono::steady_clock::now() + 5s;
  auto busy = [&net] {
    for (size_t i = 0; i < 3; ++i)
      if (net.node(i).active() > 0) return true;
    return false;
  };
  while (busy() && std::chrono::steady_clock::now() < by) std::this_thread::sleep_for(1ms);
  REQUIRE_FALSE(busy());

  {
    NoDescriptorsLeft pressure;
    REQUIRE(pressure.exhausted());
    poller.run_round();
    poller.run_round();
  }
  auto s = store.load();
  CHECK(s->local_errors_total == 6);
  CHECK_FALSE(s->agreement.checkpoint);  // nobody was heard
  CHECK(s->agreement.answered == 0);
  for (const auto& u : s->upstreams) {
    CAPTURE(u.name);
    CHECK_FALSE(u.polled);
    CHECK_FALSE(u.agrees);
    CHECK(u.consecutive_failures == 0);
    CHECK(u.backoff_until_ms == 0);
    CHECK(u.error == std::nullopt);
    CHECK(u.errors_total.empty());
  }
  CHECK(s->anchor);  // the anchor verified before is still served

  poller.run_round();
  s = store.load();
  CHECK(s->local_errors_total == 6);
  REQUIRE(s->agreement.checkpoint);
  CHECK(s->agreement.answered == 3);
  for (const auto& u : s->upstreams) CHECK(u.polled);
}

TEST_CASE("fork_choice over --max-json-bytes: too_large, and the node is read through its state") {
  testing::Devnet net;
  for (int i = 0; i < 3; ++i) net.add();
  SnapshotStore store;
  PollerOptions o = net.poller_options();
  o.max_json_bytes = 100;  // smaller than any fork_choice the devnet serves
  Poller poller(o, net.upstreams(), store);
  poller.run_round();
  const auto s = store.load();
  REQUIRE(s->agreement.checkpoint);
  CHECK(*s->agreement.checkpoint == net.finalized());
  for (const auto& u : s->upstreams) {
    CHECK(u.healthy);
    CHECK(u.observed_via == leanpoint::ObservedVia::state);
  }
  REQUIRE(s->anchor);
  CHECK(s->anchor->checkpoint == net.finalized());
}
