// The contract the HTTP client's tests hold every faulty upstream to: a
// request ends by its deadline, give or take the slack a loaded machine
// needs, whatever the upstream does.
#pragma once

#include <chrono>

namespace testing {

constexpr auto kRequestDeadline = std::chrono::milliseconds(600);
constexpr auto kDeadlineSlack = std::chrono::milliseconds(100);

}  // namespace testing
