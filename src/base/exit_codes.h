// The process's exit statuses, one meaning each, for every program and
// subcommand (leanpoint, leanpoint inspect, leanpoint probe).
#pragma once

namespace leanpoint {

constexpr int kExitOk = 0;
// The service could not start or run (a port taken, eventfd or epoll
// refused), or a probe's answer was not 200: logged as one line.
constexpr int kExitFailure = 1;
// The operator asked for something that cannot be (flags, environment,
// files, a data directory another leanpoint holds): one line on stderr.
constexpr int kExitUsage = 2;

}  // namespace leanpoint
