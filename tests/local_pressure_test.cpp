// local_pressure.h: local failures are counted, and an episode ends with a
// round without one.
#include "local_pressure.h"

#include "testing.h"

TEST_CASE("local failures are counted across rounds and episodes") {
  leanpoint::LocalPressure p;
  const leanpoint::Failure f{leanpoint::FailureKind::local, "socket: Too many open files"};
  CHECK(p.total() == 0);
  p.note(f);
  p.note(f);
  p.end_round();
  CHECK(p.total() == 2);
  p.end_round();  // a clear round ends the episode
  p.note(f);      // a new one
  p.end_round();
  CHECK(p.total() == 3);
}
