// fork_choice.h: the streamed parser keeps finalized, justified and head,
// tolerates what nodes leave out, and refuses what is not a fork_choice
// quickly and in constant memory. And checkpoint_json.h, the probe's small
// parser of checkpoints/justified.
#include "fork_choice.h"

#include <chrono>
#include <string>

#include "checkpoint_json.h"
#include "hex.h"
#include "rss.h"
#include "sanitizers.h"
#include "testing.h"

using leanpoint::FailureKind;
using leanpoint::parse_fork_choice;

namespace {

std::string root(int n) {
  leanpoint::ssz::Root r{};
  r[0] = static_cast<uint8_t>(n);
  r[1] = static_cast<uint8_t>(n >> 8);
  r[2] = static_cast<uint8_t>(n >> 16);
  return leanpoint::to_hex(r);
}

std::string checkpoint(int slot, int r) {
  return R"({"slot":)" + std::to_string(slot) + R"(,"root":")" + root(r) + R"("})";
}

// A fork_choice as the clients write it: nodes first, then head and the checkpoints.
std::string document(int nodes, const std::string& head, const std::string& justified = checkpoint(90, 90),
                     const std::string& finalized = checkpoint(80, 80)) {
  std::string out = R"({"nodes":[)";
  for (int i = 0; i < nodes; ++i) {
    if (i) out += ',';
    out += R"({"root":")" + root(1000 + i) + R"(","slot":)" + std::to_string(100 + i) + R"(,"parent_root":")" +
           root(999 + i) + R"(","proposer_index":3,"weight":12})";
  }
  return out + R"(],"head":)" + head + R"(,"justified":)" + justified + R"(,"finalized":)" + finalized +
         R"(,"safe_target":")" + root(5) + R"(","validator_count":12})";
}

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

std::string error_of(const std::string& json) {
  const auto r = parse_fork_choice(json);
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == FailureKind::malformed);
  return r.error().detail;
}

}  // namespace

TEST_CASE("a fork_choice as nodes write it: the checkpoints, the head and its slot") {
  const auto fc = parse_fork_choice(document(5, quoted(root(1003))));
  REQUIRE(fc);
  CHECK(fc->finalized.slot == 80);
  CHECK(leanpoint::to_hex(fc->finalized.root) == root(80));
  REQUIRE(fc->justified);
  CHECK(fc->justified->slot == 90);
  REQUIRE(fc->head);
  CHECK(leanpoint::to_hex(*fc->head) == root(1003));
  CHECK(fc->head_slot == 103);
  CHECK(fc->validator_count == 12);
}

TEST_CASE("head before nodes, keys in any order, slots as decimal strings") {
  const std::string doc = R"({"finalized":{"root":")" + root(80) + R"(","slot":"80"},"head":")" + root(1001) +
                          R"(","nodes":[{"slot":"101","root":")" + root(1001) + R"("}],"justified":)" +
                          checkpoint(90, 90) + "}";
  const auto fc = parse_fork_choice(doc);
  REQUIRE(fc);
  CHECK(fc->finalized.slot == 80);
  CHECK(fc->head_slot == 101);
}

TEST_CASE("head null or absent, justified null or absent: tolerated") {
  auto fc = parse_fork_choice(document(3, "null", "null"));
  REQUIRE(fc);
  CHECK_FALSE(fc->head);
  CHECK_FALSE(fc->head_slot);
  CHECK_FALSE(fc->justified);
  fc = parse_fork_choice(R"({"finalized":)" + checkpoint(7, 7) + "}");
  REQUIRE(fc);
  CHECK(fc->finalized.slot == 7);
  CHECK_FALSE(fc->justified);
  CHECK_FALSE(fc->head);
}

TEST_CASE("a head among many nodes: found while it is among the newest kept") {
  const auto fc = parse_fork_choice(document(1000, quoted(root(1000 + 990))));
  REQUIRE(fc);
  CHECK(fc->head_slot == 1090);
  // A head far older than the newest nodes is not worth keeping every node for.
  const auto old = parse_fork_choice(document(1000, quoted(root(1000 + 10))));
  REQUIRE(old);
  CHECK(old->head);
  CHECK_FALSE(old->head_slot);
}

TEST_CASE("finalized missing or invalid: malformed, naming it") {
  CHECK(error_of(R"({"head":null})") == R"(fork_choice has no "finalized" object)");
  CHECK(error_of(document(1, "null", checkpoint(1, 1), "null")) == R"(fork_choice has no "finalized" object)");
  CHECK(error_of(document(1, "null", checkpoint(1, 1), "[1,2]")) == R"(fork_choice has no "finalized" object)");
  CHECK(error_of(document(1, "null", checkpoint(1, 1), R"({"slot":1})")) == "finalized lacks slot or root");
  CHECK(error_of(document(1, "null", checkpoint(1, 1), R"({"slot":-1,"root":")" + root(1) + "\"}")) ==
        "finalized.slot is not an unsigned integer");
  CHECK(error_of(document(1, "null", checkpoint(1, 1), R"({"slot":1,"root":"0x12"})")) ==
        "finalized is not a 32-byte 0x-hex root");
}

TEST_CASE("justified or head present but invalid: malformed") {
  CHECK(error_of(document(1, "null", R"({"slot":1})")) == "justified lacks slot or root");
  CHECK(error_of(document(1, "7")) == "head is not a 32-byte 0x-hex root");
  CHECK(error_of(document(1, R"("0xzz")")) == "head is not a 32-byte 0x-hex root");
  CHECK(error_of(document(1, "{}")) == "head is not a 32-byte 0x-hex root");
}

TEST_CASE("not a JSON object, or not JSON: malformed") {
  CHECK(error_of("[]") == "fork_choice is not a JSON object");
  CHECK(error_of("42") == "fork_choice is not a JSON object");
  CHECK(error_of("").rfind("invalid JSON at byte", 0) == 0);
  CHECK(error_of(R"({"finalized":)" + checkpoint(1, 1) + "} trailing").rfind("invalid JSON", 0) == 0);
  CHECK(error_of(R"({"finalized":)" + checkpoint(1, 1)).rfind("invalid JSON", 0) == 0);
}

TEST_CASE("4 MB of unclosed [ and 2M-deep nesting: refused at once, in constant memory") {
  const std::string unclosed(4 << 20, '[');
  const std::string nested = "{\"a\":" + std::string(4 << 20, '[');
  const std::string deep = R"({"finalized":)" + checkpoint(1, 1) + R"(,"x":)" + std::string(2'000'000, '[') +
                           std::string(2'000'000, ']') + "}";
  testing::reset_peak_rss();
  const size_t before = testing::peak_rss_bytes();
  const auto start = std::chrono::steady_clock::now();
  CHECK(error_of(unclosed) == "fork_choice is not a JSON object");
  CHECK(error_of(nested) == "nested deeper than 32 levels");
  CHECK(error_of(deep) == "nested deeper than 32 levels");
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
  if (testing::kMemoryBoundsHold) CHECK(testing::peak_rss_bytes() < before + (4u << 20));
}

TEST_CASE("4 MB of null, or of spaces: refused at 64 KiB, before the lexer holds them") {
  std::string nulls = "{\"x\":[null";
  while (nulls.size() < (4u << 20)) nulls += ",null";
  CHECK(error_of(nulls + "]}") == "a JSON string, number or run between them over 64 KiB");
  CHECK(error_of("{" + std::string(4 << 20, ' ') + "}") == "a JSON string, number or run between them over 64 KiB");
  // Long documents of short tokens pass.
  CHECK(parse_fork_choice(document(20'000, "null")));
}

// --- checkpoints/justified (checkpoint_json.h), the probe's answer -----------

TEST_CASE("checkpoint JSON: slot and root in either order, slot as a number or a decimal string") {
  using leanpoint::parse_checkpoint_json;
  for (const std::string& doc :
       {checkpoint(42, 7), R"({"root":")" + root(7) + R"(","slot":42})", R"({"slot":"42","root":")" + root(7) + R"("})",
        R"({"extra":{"nested":1},"list":[1,2],"slot":42,"root":")" + root(7) + R"(","more":null})"}) {
    CAPTURE(doc);
    const auto c = parse_checkpoint_json(doc);
    REQUIRE(c);
    CHECK(c->slot == 42);
    CHECK(leanpoint::to_hex(c->root) == root(7));
  }
}

TEST_CASE("checkpoint JSON: anything else is malformed (or too_large), naming why") {
  using leanpoint::parse_checkpoint_json;
  const struct {
    std::string doc;
    const char* why;
  } cases[] = {
      {"", "invalid JSON"},
      {"[]", "not a JSON object"},
      {"42", "not a JSON object"},
      {"{}", "lacks slot or root"},
      {R"({"slot":42})", "lacks slot or root"},
      {R"({"slot":-1,"root":")" + root(1) + R"("})", "slot is not an unsigned integer"},
      {R"({"slot":1.5,"root":")" + root(1) + R"("})", "slot is not an unsigned integer"},
      {R"({"slot":{"a":1},"root":")" + root(1) + R"("})", "slot is not a scalar"},
      {R"({"slot":1,"root":"0x1234"})", "root is not a 32-byte 0x-hex root"},
      {R"({"slot":1,"root":7})", "root is not a 32-byte 0x-hex root"},
      {R"({"a":[[1]],"slot":1,"root":")" + root(1) + R"("})", "nested deeper than 2 levels"},
      {checkpoint(1, 1) + "x", "invalid JSON"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.doc);
    const auto r = parse_checkpoint_json(c.doc);
    REQUIRE_FALSE(r);
    CHECK(r.error().kind == FailureKind::malformed);
    CHECK(r.error().detail.find(c.why) != std::string::npos);
  }
  const auto big = parse_checkpoint_json(std::string(leanpoint::kMaxCheckpointJson, ' ') + checkpoint(1, 1));
  REQUIRE_FALSE(big);
  CHECK(big.error().kind == FailureKind::too_large);
}
