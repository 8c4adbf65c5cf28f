// --data-dir (data_dir.h, anchor_file.h): the stored anchor round-trips and
// is verified again at load; bad files are refused and set aside; a restored
// anchor gives way to the upstreams (poller.h); and, with the binary, a
// restart with every upstream down serves the same bytes at once, kill -9
// mid-write never leaves the directory without a valid anchor, and a full or
// read-only directory costs a counted error, not the service.
#include "data_dir.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "anchor_file.h"
#include "chain.h"
#include "devnet.h"
#include "exit_codes.h"
#include "poller.h"
#include "ports.h"
#include "subprocess.h"
#include "tempdir.h"
#include "test_server.h"
#include "testing.h"

using leanpoint::DataDir;
using leanpoint::DataDirStatus;
using leanpoint::PersistErrorKind;
using leanpoint::RestoreOutcome;
using leanpoint::VerifiedAnchor;
using testing::Clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<VerifiedAnchor> verified(const leanpoint::sim::Anchor& a, bool with_block = true) {
  auto v = std::make_shared<VerifiedAnchor>();
  v->checkpoint = a.checkpoint;
  v->state = std::make_shared<const std::vector<uint8_t>>(a.state);
  if (with_block) v->block = std::make_shared<const std::vector<uint8_t>>(a.block);
  v->state_source = "node0";
  v->block_source = "node1";
  v->verified_at_ms = 1'796'000'000'000;
  v->genesis_time = 1'700'000'000;
  return v;
}

std::unique_ptr<DataDir> open_dir(const std::string& path) {
  auto d = DataDir::open(path);
  REQUIRE(d);
  return std::move(*d);
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

// The file names that start with `prefix`.
size_t count_prefixed(const std::string& dir, const std::string& prefix) {
  size_t n = 0;
  for (const auto& name : names_in(dir)) n += name.rfind(prefix, 0) == 0;
  return n;
}

}  // namespace

TEST_CASE("an anchor written and read back: the same bytes, verified again, marked restored") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  const auto a = verified(*chain.anchor_at(40));
  auto dir = open_dir(tmp.path() + "/data");
  auto written = dir->write(*a);
  REQUIRE(written);
  CHECK(names_in(dir->path()) == std::set<std::string>{"anchor"});

  const auto restored = dir->restore(64 << 20, std::nullopt);
  const auto& loaded = restored.anchor;
  REQUIRE(loaded);
  CHECK(restored.status.restore == RestoreOutcome::serving);
  CHECK(restored.status.restored == a->checkpoint);
  CHECK(restored.status.path == dir->path());
  const VerifiedAnchor& r = *loaded->anchor;
  CHECK(r.restored);
  CHECK(r.checkpoint == a->checkpoint);
  CHECK(*r.state == *a->state);
  REQUIRE(r.block);
  CHECK(*r.block == *a->block);
  CHECK(r.state_source == "node0");
  CHECK(r.block_source == "node1");
  CHECK(r.genesis_time == chain.genesis_time());
  CHECK(loaded->summary.slot == 40);
  CHECK(*written == fs::file_size(dir->path() + "/anchor"));

  SUBCASE("without a block") {
    REQUIRE(dir->write(*verified(*chain.anchor_at(44), false)));
    const auto no_block = dir->restore(64 << 20, std::nullopt).anchor;
    REQUIRE(no_block);
    CHECK(no_block->anchor->checkpoint.slot == 44);
    CHECK(no_block->anchor->block == nullptr);
  }
}

TEST_CASE("no stored anchor: nothing restored, nothing refused") {
  testing::TempDir tmp;
  auto dir = open_dir(tmp.path());
  const auto restored = dir->restore(64 << 20, std::nullopt);
  CHECK_FALSE(restored.anchor);
  CHECK(restored.status.restore == RestoreOutcome::none);
  CHECK(restored.status.path == dir->path());
}

TEST_CASE("a corrupted, truncated, foreign or other-genesis file is refused, set aside untouched, never served") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  auto dir = open_dir(tmp.path());
  REQUIRE(dir->write(*verified(*chain.anchor_at(40))));
  const std::string path = tmp.path() + "/anchor";
  const std::vector<uint8_t> good = read_bytes(path);

  struct Case {
    const char* name;
    std::vector<uint8_t> bytes;
    std::optional<uint64_t> genesis_time;
    PersistErrorKind kind;  // the status detail starts with its name
    const char* reason;     // in the status detail
  };
  using K = PersistErrorKind;
  std::vector<Case> cases;
  auto flipped = good;
  flipped[flipped.size() - chain.anchor_at(40)->block.size() - 100] ^= 0x01;  // a byte of the state
  cases.push_back({"a flipped state byte", flipped, std::nullopt, K::verify, "root_mismatch"});
  auto bad_block = good;
  bad_block[bad_block.size() - 10] ^= 0x01;  // a byte of the block's signature
  cases.push_back({"a flipped block byte", bad_block, std::nullopt, K::corrupt, "block_sha256"});
  cases.push_back(
      {"truncated", std::vector<uint8_t>(good.begin(), good.end() - 100), std::nullopt, K::corrupt, "truncated"});
  auto longer = good;
  longer.push_back(0);
  cases.push_back({"a byte too many", longer, std::nullopt, K::corrupt, "after the state and block"});
  const std::string foreign = "{\"hello\": \"world\"}\n";
  cases.push_back(
      {"foreign", std::vector<uint8_t>(foreign.begin(), foreign.end()), std::nullopt, K::foreign, "not a leanpoint"});
  cases.push_back({"empty", {}, std::nullopt, K::foreign, "not a leanpoint"});
  cases.push_back({"another genesis", good, uint64_t{1'600'000'000}, K::verify, "genesis"});

  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    for (const auto& name : names_in(tmp.path()))
      if (name != "anchor") fs::remove(tmp.path() + "/" + name);
    write_bytes(path, c.bytes);
    const auto restored = dir->restore(64 << 20, c.genesis_time);
    CHECK_FALSE(restored.anchor);
    CHECK(restored.status.restore == RestoreOutcome::refused);
    CHECK(restored.status.restore_detail.find(c.reason) != std::string::npos);
    CHECK(restored.status.restore_detail.rfind(std::string(to_string(c.kind)) + ": ", 0) == 0);
    CHECK_FALSE(fs::exists(path));  // never read again
    const auto names = names_in(tmp.path());
    REQUIRE(names.size() == 1);
    CHECK(names.begin()->rfind("anchor.refused-", 0) == 0);
    CHECK(read_bytes(tmp.path() + "/" + *names.begin()) == c.bytes);  // kept as it was
  }
}

TEST_CASE("refused files are kept, the newest four") {
  testing::TempDir tmp;
  auto dir = open_dir(tmp.path());
  for (int i = 0; i < 7; ++i) {
    write_bytes(tmp.path() + "/anchor", {'x', static_cast<uint8_t>('0' + i)});
    CHECK_FALSE(dir->restore(64 << 20, std::nullopt).anchor);
  }
  CHECK(count_prefixed(tmp.path(), "anchor.refused-") == leanpoint::kRefusedFilesKept);
  // The newest ones: the last written holds "x6".
  std::set<std::string> kept;
  for (const auto& name : names_in(tmp.path())) {
    const auto b = read_bytes(tmp.path() + "/" + name);
    kept.insert(std::string(b.begin(), b.end()));
  }
  CHECK(kept == std::set<std::string>{"x3", "x4", "x5", "x6"});
}

TEST_CASE("the directory: created when missing, locked against a second leanpoint, a leftover temp file removed") {
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/a/b";
  auto first = open_dir(path);
  CHECK(fs::is_directory(path));
  const auto second = DataDir::open(path);
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == leanpoint::PersistErrorKind::locked);
  CHECK(second.error().detail.find("in use by another leanpoint") != std::string::npos);
  first.reset();  // unlocked
  tmp.write("a/b/anchor.tmp", "half a write");
  auto third = open_dir(path);
  CHECK_FALSE(fs::exists(path + "/anchor.tmp"));
}

// --- PersistError: each kind from the failure that produces it --------------

TEST_CASE("the error kinds of parsing and loading an anchor file") {
  const leanpoint::sim::Chain chain(1);
  const std::string header = leanpoint::anchor_file_header(*verified(*chain.anchor_at(40)));
  const auto a = verified(*chain.anchor_at(40));
  std::vector<uint8_t> good(header.begin(), header.end());
  good.insert(good.end(), a->state->begin(), a->state->end());
  good.insert(good.end(), a->block->begin(), a->block->end());
  REQUIRE(leanpoint::load_anchor(good, std::nullopt));

  const auto kind_of = [](const std::vector<uint8_t>& bytes, std::optional<uint64_t> genesis = std::nullopt) {
    const auto loaded = leanpoint::load_anchor(bytes, genesis);
    REQUIRE_FALSE(loaded);
    CHECK_FALSE(loaded.error().detail.empty());
    // Parsing alone agrees, except for what only the proof can see.
    const auto parsed = leanpoint::parse_anchor_file(bytes);
    if (!parsed) CHECK(parsed.error().kind == loaded.error().kind);
    return loaded.error().kind;
  };
  const std::string foreign = "GET / HTTP/1.1\r\n";
  CHECK(kind_of({foreign.begin(), foreign.end()}) == PersistErrorKind::foreign);
  CHECK(kind_of(std::vector<uint8_t>(good.begin(), good.end() - 1)) == PersistErrorKind::corrupt);  // truncated
  auto trailing = good;
  trailing.push_back(0);
  CHECK(kind_of(trailing) == PersistErrorKind::corrupt);
  const std::string no_json = std::string(leanpoint::kAnchorFileMagic) + "slot=40\n";
  CHECK(kind_of({no_json.begin(), no_json.end()}) == PersistErrorKind::corrupt);
  auto flipped = good;
  flipped[header.size() + 10] ^= 0x01;  // a byte of the state: it parses, and does not prove
  REQUIRE(leanpoint::parse_anchor_file(flipped));
  CHECK(kind_of(flipped) == PersistErrorKind::verify);
  const auto genesis = leanpoint::load_anchor(good, uint64_t{1'600'000'000});
  REQUIRE_FALSE(genesis);
  CHECK(genesis.error().kind == PersistErrorKind::verify);
  CHECK(genesis.error().detail.rfind("genesis_time: ", 0) == 0);  // the proof's Failure kind, then its detail
  CHECK(genesis.error().text().rfind("verify: genesis_time: ", 0) == 0);
}

TEST_CASE("the error kinds of restore: too large, not a regular file, unreadable") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  auto dir = open_dir(tmp.path());
  const std::string path = tmp.path() + "/anchor";
  const auto refused_as = [&](uint64_t max_bytes) {
    const auto restored = dir->restore(max_bytes, std::nullopt);
    CHECK_FALSE(restored.anchor);
    CHECK(restored.status.restore == RestoreOutcome::refused);
    CHECK(names_in(tmp.path()).count("anchor") == 0);  // set aside, whatever it was
    CHECK(count_prefixed(tmp.path(), "anchor.refused-") >= 1);
    return restored.status.restore_detail;
  };
  SUBCASE("larger than a state and a block of --max-state-bytes") {
    REQUIRE(dir->write(*verified(*chain.anchor_at(40))));
    const auto detail = refused_as(1);  // at most 2 + the header: less than the file
    CHECK(detail.rfind("too_large: ", 0) == 0);
    CHECK(detail.find("--max-state-bytes") != std::string::npos);
  }
  SUBCASE("a directory where the file should be") {
    fs::create_directory(path);
    const auto detail = refused_as(64 << 20);
    CHECK(detail.rfind("foreign: ", 0) == 0);
    CHECK(detail.find("not a regular file") != std::string::npos);
  }
  SUBCASE("a FIFO: refused at once, not waited on") {
    REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
    CHECK(refused_as(64 << 20).rfind("foreign: ", 0) == 0);
  }
  SUBCASE("a symlink, a loop even: not followed") {
    fs::create_symlink("anchor", path);
    CHECK(refused_as(64 << 20) == "foreign: " + path + " is a symbolic link; it is not followed");
  }
}

TEST_CASE("the error kinds of writing and dropping: io, with the call, the file and errno's text") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  const auto a = verified(*chain.anchor_at(40));
  SUBCASE("the temp file cannot be created") {
    auto dir = open_dir(tmp.path());
    fs::create_directory(tmp.path() + "/anchor.tmp");
    const auto written = dir->write(*a);
    REQUIRE_FALSE(written);
    CHECK(written.error().kind == PersistErrorKind::io);
    CHECK(written.error().detail == "remove " + tmp.path() + "/anchor.tmp: " + std::strerror(EISDIR));
    CHECK(names_in(tmp.path()) == std::set<std::string>{"anchor.tmp"});
  }
  SUBCASE("the directory cannot be created: open fails, it is never used without its lock") {
    tmp.write("file", "a regular file");
    const auto dir = DataDir::open(tmp.path() + "/file/data");
    REQUIRE_FALSE(dir);
    CHECK(dir.error().kind == PersistErrorKind::io);
    CHECK(dir.error().detail.find("--data-dir: create " + tmp.path() + "/file/data") == 0);
    CHECK(dir.error().detail.find(std::strerror(ENOTDIR)) != std::string::npos);
  }
  SUBCASE("drop: nothing stored is not an error; a rename that fails is io") {
    auto dir = open_dir(tmp.path());
    CHECK(dir->drop());
    REQUIRE(dir->write(*a));
    fs::create_directories(tmp.path() + "/anchor.dropped/in-the-way");
    const auto dropped = dir->drop();
    REQUIRE_FALSE(dropped);
    CHECK(dropped.error().kind == PersistErrorKind::io);
    CHECK(dropped.error().detail.find("anchor.dropped") != std::string::npos);
    CHECK(fs::exists(tmp.path() + "/anchor"));  // left where it was
    fs::remove_all(tmp.path() + "/anchor.dropped");
    CHECK(dir->drop());
    CHECK(names_in(tmp.path()) == std::set<std::string>{"anchor.dropped"});
  }
}

TEST_CASE("a symlink planted as anchor.tmp is not followed: its target is not written") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  const std::string data = tmp.path() + "/data";
  auto dir = open_dir(data);
  tmp.write("victim", "not an anchor");
  fs::create_symlink(tmp.path() + "/victim", data + "/anchor.tmp");
  REQUIRE(dir->write(*verified(*chain.anchor_at(40))));
  CHECK(read_bytes(tmp.path() + "/victim") ==
        std::vector<uint8_t>{'n', 'o', 't', ' ', 'a', 'n', ' ', 'a', 'n', 'c', 'h', 'o', 'r'});
  CHECK(fs::is_regular_file(fs::symlink_status(data + "/anchor")));
  CHECK(dir->restore(64 << 20, std::nullopt).anchor);
  // And a dangling one: created anew, not through the link.
  fs::create_symlink(tmp.path() + "/elsewhere", data + "/anchor.tmp");
  REQUIRE(dir->write(*verified(*chain.anchor_at(44))));
  CHECK_FALSE(fs::exists(tmp.path() + "/elsewhere"));
}

TEST_CASE("a symlink as anchor is not followed: refused, set aside, its target untouched") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  const std::string data = tmp.path() + "/data";
  const std::string other = tmp.path() + "/other";
  {  // a valid anchor file somewhere else
    auto elsewhere = open_dir(other);
    REQUIRE(elsewhere->write(*verified(*chain.anchor_at(40))));
  }
  const auto target = read_bytes(other + "/anchor");
  auto dir = open_dir(data);
  fs::create_symlink(other + "/anchor", data + "/anchor");
  const auto restored = dir->restore(64 << 20, std::nullopt);
  CHECK_FALSE(restored.anchor);
  CHECK(restored.status.restore == RestoreOutcome::refused);
  CHECK(restored.status.restore_detail == "foreign: " + data + "/anchor is a symbolic link; it is not followed");
  CHECK(read_bytes(other + "/anchor") == target);
  CHECK(count_prefixed(data, "anchor.refused-") == 1);
  CHECK_FALSE(fs::exists(fs::symlink_status(data + "/anchor")));
  // A dangling one is refused too, not taken for "nothing stored".
  fs::create_symlink(tmp.path() + "/nowhere", data + "/anchor");
  CHECK(dir->restore(64 << 20, std::nullopt).status.restore == RestoreOutcome::refused);
}

TEST_CASE("a save after a drop keeps the drop: the disowned anchor is set aside before the new one is written") {
  const leanpoint::sim::Chain chain(1);
  // The writer thread may run between drop() and save(): both orders must
  // end the same way. Repeated, so that the order where both wait is hit.
  for (int i = 0; i < 20; ++i) {
    CAPTURE(i);
    testing::TempDir tmp;
    auto dir = open_dir(tmp.path());
    REQUIRE(dir->write(*verified(*chain.anchor_at(40))));
    const auto disowned = read_bytes(tmp.path() + "/anchor");
    {
      leanpoint::AnchorWriter writer(*dir, DataDirStatus{});
      writer.drop();
      writer.save(verified(*chain.anchor_at(44)));
    }  // stops after doing what waits
    CHECK(read_bytes(tmp.path() + "/anchor.dropped") == disowned);
    const auto loaded = dir->restore(64 << 20, std::nullopt).anchor;
    REQUIRE(loaded);
    CHECK(loaded->anchor->checkpoint.slot == 44);
  }
}

TEST_CASE("PersistErrorKind names") {
  using K = PersistErrorKind;
  CHECK(to_string(K::locked) == "locked");
  CHECK(to_string(K::io) == "io");
  CHECK(to_string(K::too_large) == "too_large");
  CHECK(to_string(K::foreign) == "foreign");
  CHECK(to_string(K::corrupt) == "corrupt");
  CHECK(to_string(K::verify) == "verify");
  CHECK(leanpoint::PersistError{K::locked, "x"}.text() == "locked: x");
}

TEST_CASE("a write that fails leaves the stored anchor as it was and is counted; the next success recovers") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  auto dir = open_dir(tmp.path());
  REQUIRE(dir->write(*verified(*chain.anchor_at(40))));
  const auto before = read_bytes(tmp.path() + "/anchor");
  // A directory where the temp file should go: creating it fails.
  fs::create_directory(tmp.path() + "/anchor.tmp");
  {
    leanpoint::AnchorWriter writer(*dir, DataDirStatus{});
    writer.save(verified(*chain.anchor_at(44)));
    for (int i = 0; i < 500 && writer.status().write_errors_total == 0; ++i) std::this_thread::sleep_for(10ms);
    const DataDirStatus s = writer.status();
    CHECK(s.write_errors_total == 1);
    CHECK(s.writes_total == 0);
    CHECK(s.last_write_error.find("anchor.tmp") != std::string::npos);
    CHECK(read_bytes(tmp.path() + "/anchor") == before);

    fs::remove(tmp.path() + "/anchor.tmp");
    writer.save(verified(*chain.anchor_at(48)));
    for (int i = 0; i < 500 && writer.status().writes_total == 0; ++i) std::this_thread::sleep_for(10ms);
    CHECK(writer.status().writes_total == 1);
    CHECK(writer.status().last_write_error.empty());
  }
  const auto loaded = dir->restore(64 << 20, std::nullopt).anchor;
  REQUIRE(loaded);
  CHECK(loaded->anchor->checkpoint.slot == 48);
}

TEST_CASE("the writer: only the newest waiting anchor is written; what waits at stop is written") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  auto dir = open_dir(tmp.path());
  {
    leanpoint::AnchorWriter writer(*dir, DataDirStatus{});
    for (uint64_t slot = 40; slot <= 80; slot += 4) writer.save(verified(*chain.anchor_at(slot)));
  }  // stops after writing what waits
  const auto loaded = dir->restore(64 << 20, std::nullopt).anchor;
  REQUIRE(loaded);
  CHECK(loaded->anchor->checkpoint.slot == 80);
}

// --- the restored anchor meets the upstreams (poller.h) ---------------------

namespace {

struct Restored {
  testing::Devnet net;
  leanpoint::SnapshotStore store;
  std::vector<std::shared_ptr<const VerifiedAnchor>> saved;  // what the poller handed to on_anchor
  std::unique_ptr<leanpoint::Poller> poller;

  explicit Restored(leanpoint::sim::Fault fault = leanpoint::sim::Fault::none) {
    for (int i = 0; i < 3; ++i) net.add(fault);
  }
  void start(const leanpoint::sim::Anchor& stored) {
    testing::TempDir tmp;
    auto dir = open_dir(tmp.path());
    REQUIRE(dir->write(*verified(stored)));
    auto loaded = dir->restore(64 << 20, std::nullopt).anchor;
    REQUIRE(loaded);
    leanpoint::PersistHooks hooks;
    hooks.restored = loaded->anchor;
    hooks.restored_summary = loaded->summary;
    hooks.on_anchor = [this](std::shared_ptr<const VerifiedAnchor> a) { saved.push_back(std::move(a)); };
    hooks.data_dir_status = [] { return DataDirStatus{}; };
    poller = std::make_unique<leanpoint::Poller>(net.poller_options(), net.upstreams(), store, std::move(hooks));
  }
  std::shared_ptr<const leanpoint::Snapshot> round() {
    poller->run_round();
    return store.load();
  }
};

}  // namespace

TEST_CASE("a restored anchor is served before the first round") {
  Restored r;
  r.start(*r.net.canonical().anchor_at(r.net.finalized().slot));
  const auto s = r.store.load();
  CHECK(s->round == 0);
  REQUIRE(s->anchor);
  CHECK(s->anchor->restored);
  CHECK(s->anchor->checkpoint == r.net.finalized());
  REQUIRE(s->data_dir);
  CHECK(s->data_dir->restore == RestoreOutcome::serving);
}

TEST_CASE("the upstreams agree on the restored checkpoint: confirmed, kept, not written again") {
  Restored r;
  r.start(*r.net.canonical().anchor_at(r.net.finalized().slot));
  const auto restored_state = r.store.load()->anchor->state;
  const auto s = r.round();
  REQUIRE(s->anchor);
  CHECK_FALSE(s->anchor->restored);
  CHECK(s->anchor->state == restored_state);  // the same bytes, not fetched again
  CHECK(s->data_dir->restore == RestoreOutcome::confirmed);
  CHECK(r.saved.empty());
}

TEST_CASE("the upstreams agree on a newer checkpoint of the chain: the restored anchor is replaced and written") {
  Restored r;
  r.start(*r.net.canonical().anchor_at(r.net.finalized().slot - 4));
  const auto s = r.round();
  REQUIRE(s->anchor);
  CHECK_FALSE(s->anchor->restored);
  CHECK(s->anchor->checkpoint == r.net.finalized());
  CHECK(s->data_dir->restore == RestoreOutcome::replaced);
  REQUIRE(r.saved.size() == 1);
  CHECK(r.saved[0] == s->anchor);
}

TEST_CASE("the upstreams agree on another chain: the restored anchor is dropped and never served again") {
  // Their own anchor does not verify (another chain's state): what is left is
  // no anchor at all, round after round.
  Restored r(leanpoint::sim::Fault::wrong_state);
  SUBCASE("the same slot, another root") { r.start(*r.net.fork().anchor_at(r.net.finalized().slot)); }
  SUBCASE("a lower slot") { r.start(*r.net.canonical().anchor_at(r.net.finalized().slot + 8)); }
  for (int round = 0; round < 2; ++round) {
    const auto s = r.round();
    CHECK(s->agreement.checkpoint == r.net.finalized());
    CHECK(s->anchor == nullptr);
    CHECK(s->data_dir->restore == RestoreOutcome::dropped);
    CHECK(s->data_dir->restore_detail.find("another chain") != std::string::npos);
  }
  REQUIRE(r.saved.size() == 1);
  CHECK(r.saved[0] == nullptr);  // the stored file is set aside
}

TEST_CASE("dropped, then the fleet's anchor verifies: served and written") {
  Restored r;
  r.start(*r.net.fork().anchor_at(r.net.finalized().slot));
  const auto s = r.round();
  REQUIRE(s->anchor);
  CHECK(s->anchor->checkpoint == r.net.finalized());
  CHECK_FALSE(s->anchor->restored);
  CHECK(s->data_dir->restore == RestoreOutcome::dropped);
  REQUIRE(r.saved.size() == 2);
  CHECK(r.saved[0] == nullptr);
  CHECK(r.saved[1] == s->anchor);
}

// --- the binary: restarts, kills, bad disks ---------------------------------

namespace {

using Json = nlohmann::json;

// A simulated devnet in its own process; finality moves every 4 slots.
struct Sim {
  Sim(const testing::TempDir& dir, const std::string& slot_ms, const std::string& validators = "8")
      : upstreams(dir.path() + "/upstreams.json"),
        process({testing::sim_bin(), "--nodes", "3", "--base-port", "0", "--slot-ms", slot_ms, "--validators",
                 validators, "--upstreams-out", upstreams}) {
    REQUIRE(process.wait_for_stdout("ready:", Clock::now() + 10s));
  }
  std::string upstreams;
  testing::Subprocess process;
};

std::vector<std::string> leanpoint_argv(const std::string& upstreams, uint16_t port, const std::string& data_dir) {
  return {testing::leanpoint_bin(),
          "--upstreams-config",
          upstreams,
          "--bind",
          "127.0.0.1",
          "--port",
          std::to_string(port),
          "--poll-ms",
          "100",
          "--timeout-ms",
          "80",
          "--data-dir",
          data_dir};
}

// GETs `path` until it answers `status` or `within` passes; the last body.
std::optional<std::string> await_status(uint16_t port, const std::string& path, int status,
                                        std::chrono::milliseconds within) {
  const auto until = Clock::now() + within;
  do {
    if (auto r = testing::get(port, path); r && r->status == status) return r->body;
    std::this_thread::sleep_for(10ms);
  } while (Clock::now() < until);
  return std::nullopt;
}

// GETs /status until `pred` holds for it or `within` passes.
std::optional<Json> await_json(uint16_t port, const std::function<bool(const Json&)>& pred,
                               std::chrono::milliseconds within) {
  const auto until = Clock::now() + within;
  do {
    if (auto r = testing::get(port, "/status"); r && r->status == 200) {
      const Json j = Json::parse(r->body, nullptr, false);
      if (!j.is_discarded() && pred(j)) return j;
    }
    std::this_thread::sleep_for(20ms);
  } while (Clock::now() < until);
  return std::nullopt;
}

bool written(const Json& j) { return j["data_dir"].is_object() && j["data_dir"]["writes_total"].get<int>() >= 1; }

}  // namespace

TEST_CASE("restarted with every upstream down, leanpoint serves the same state and block within 2 s") {
  testing::TempDir tmp;
  const std::string data = tmp.path() + "/data";
  const uint16_t port = testing::free_port();
  std::string state, block;
  {
    Sim sim(tmp, "60000");
    testing::Subprocess lp(leanpoint_argv(sim.upstreams, port, data));
    REQUIRE(await_status(port, "/readyz", 200, 10s));
    REQUIRE(await_json(port, written, 10s));
    state = testing::get(port, "/lean/v0/states/finalized")->body;
    block = testing::get(port, "/lean/v0/blocks/finalized")->body;
    lp.send_signal(SIGKILL);
    CHECK(lp.wait(Clock::now() + 5s) == 128 + SIGKILL);
  }  // the devnet is gone: every upstream refuses
  const auto start = Clock::now();
  testing::Subprocess lp(leanpoint_argv(tmp.path() + "/upstreams.json", port, data));
  const auto served = await_status(port, "/lean/v0/states/finalized", 200, 5s);
  const auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  MESSAGE("state served " << gap.count() << " ms after the restart, every upstream down");
  REQUIRE(served);
  CHECK(gap < 2s);
  CHECK(*served == state);
  CHECK(testing::get(port, "/lean/v0/blocks/finalized")->body == block);
  const auto status = await_json(
      port, [](const Json&) { return true; }, 5s);
  REQUIRE(status);
  CHECK((*status)["anchor"]["restored"] == true);
  CHECK((*status)["data_dir"]["restore"] == "serving");
  CHECK(await_status(port, "/readyz", 200, 1s));
  CHECK(await_status(port, "/livez", 200, 1s));
  CHECK(await_status(port, "/healthz", 503, 1s));  // unchanged: no agreement
  const auto metrics = testing::get(port, "/metrics")->body;
  CHECK(metrics.find("leanpoint_anchor_restored 1") != std::string::npos);
  CHECK(metrics.find("leanpoint_data_dir_restore{outcome=\"serving\"} 1") != std::string::npos);
}

TEST_CASE("a stored anchor that fails verification: refused and set aside; /livez 200, /readyz 503") {
  testing::TempDir tmp;
  const std::string data = tmp.path() + "/data";
  fs::create_directory(data);
  tmp.write("data/anchor", std::string(leanpoint::kAnchorFileMagic) + "{\"slot\":1}\nnot an anchor");
  tmp.write("upstreams.json", R"({"upstreams":[{"name":"a","url":"http://127.0.0.1:1"}]})");
  const uint16_t port = testing::free_port();
  testing::Subprocess lp(leanpoint_argv(tmp.path() + "/upstreams.json", port, data));
  REQUIRE(lp.wait_for_stderr("ready; waiting", Clock::now() + 10s));
  CHECK(lp.err().find("the stored anchor is refused") != std::string::npos);
  CHECK(await_status(port, "/livez", 200, 2s));
  const auto ready = await_status(port, "/readyz", 503, 2s);
  REQUIRE(ready);
  CHECK(ready->find("no_anchor") != std::string::npos);
  CHECK(testing::get(port, "/lean/v0/states/finalized")->status == 503);
  CHECK_FALSE(fs::exists(data + "/anchor"));
  CHECK(count_prefixed(data, "anchor.refused-") == 1);
  const auto status = await_json(
      port, [](const Json&) { return true; }, 2s);
  REQUIRE(status);
  CHECK((*status)["data_dir"]["restore"] == "refused");
  CHECK((*status)["anchor"].is_null());
}

namespace {

// The first child of `pid` (/proc), or 0.
pid_t child_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t child = 0;
  in >> child;
  return child;
}

}  // namespace

TEST_CASE("kill -9 at random moments while anchors advance: the directory always holds one valid anchor") {
  testing::TempDir tmp;
  const std::string data = tmp.path() + "/data";
  // Finality moves every 4 slots of 60 ms; states of 4096 validators (450 KB).
  Sim sim(tmp, "60", "4096");
  // Under strace each fsync and rename takes 100 ms more, so that a write
  // lasts long enough for kills to land between its steps.
  const bool slowed =
      fs::exists("/usr/bin/strace") && testing::run({"/usr/bin/strace", "-o", "/dev/null", "/bin/true"}).status == 0;
  std::mt19937 rng(7);
  std::set<uint64_t> slots;
  int temp_left = 0;
  const int kKills = 12;
  for (int i = 0; i < kKills; ++i) {
    CAPTURE(i);
    const uint16_t port = testing::free_port();
    std::vector<std::string> argv = leanpoint_argv(sim.upstreams, port, data);
    if (slowed)
      argv.insert(argv.begin(), {"/usr/bin/strace", "-f", "-o", "/dev/null", "-e", "trace=fsync,rename", "-e",
                                 "inject=fsync:delay_exit=100000", "-e", "inject=rename:delay_exit=100000"});
    testing::Subprocess lp(argv);
    if (i == 0) REQUIRE(await_json(port, written, 20s));  // from then on there is always an anchor
    // The kill lands anywhere: a random moment, not a wait for an event.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(100, 900)(rng)));
    const pid_t target = slowed ? child_of(lp.pid()) : lp.pid();
    REQUIRE(target > 0);
    ::kill(target, SIGKILL);
    CHECK(lp.wait(Clock::now() + 5s) == 128 + SIGKILL);
    for (const auto& name : names_in(data)) {
      CAPTURE(name);
      // And the pair rule's files (pin_store.h), when a request made a pin.
      CHECK((name == "anchor" || name == "anchor.tmp" || name == "pins.journal" || name.rfind("pinned.", 0) == 0));
      temp_left += name == "anchor.tmp";
    }
    const auto bytes = read_bytes(data + "/anchor");
    const auto loaded = leanpoint::load_anchor(bytes, std::nullopt);
    REQUIRE_MESSAGE(loaded, (loaded ? std::string() : loaded.error().text()));
    slots.insert(loaded->anchor->checkpoint.slot);
  }
  MESSAGE(kKills << " kills" << std::string(slowed ? " (writes slowed by strace)" : "") << ": anchors of "
                 << slots.size() << " slots seen, " << temp_left << " kills left a partial anchor.tmp");
  CHECK(slots.size() >= 2);  // the anchors did advance under the kills
}

namespace {

// Whether this machine lets the test mount a tmpfs in a mount namespace of
// its own (root, or user namespaces).
bool can_mount_tmpfs() {
  return fs::exists("/usr/bin/unshare") && testing::run({"/usr/bin/unshare", "-m", "/bin/true"}).status == 0;
}

}  // namespace

TEST_CASE("a full or read-only data directory: each failed write logged and counted, serving goes on") {
  if (!can_mount_tmpfs()) {
    MESSAGE("skipped: unshare -m is not permitted here");
    return;
  }
  testing::TempDir tmp;
  const std::string data = tmp.path() + "/data";
  fs::create_directory(data);
  Sim sim(tmp, "60000", "512");  // states of some 60 KB
  struct Case {
    const char* name;
    const char* mount;  // run before leanpoint, in its own mount namespace
    const char* error;
  };
  const Case cases[] = {
      {"full", "mount -t tmpfs -o size=16k none \"$0\"", "No space left on device"},
      {"read-only", "mount -t tmpfs none \"$0\" && mount -o remount,ro \"$0\"", "Read-only file system"},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    const uint16_t port = testing::free_port();
    std::vector<std::string> argv = {
        "/usr/bin/unshare", "-m", "/bin/sh", "-c", std::string(c.mount) + " && shift && exec \"$@\"", data,
        "leanpoint"};
    for (const auto& a : leanpoint_argv(sim.upstreams, port, data)) argv.push_back(a);
    testing::Subprocess lp(argv);
    const auto status = await_json(
        port, [](const Json& j) { return j["data_dir"].is_object() && j["data_dir"]["write_errors_total"] >= 1; }, 10s);
    REQUIRE(status);
    CHECK((*status)["data_dir"]["last_write_error"].get<std::string>().find(c.error) != std::string::npos);
    CHECK((*status)["data_dir"]["writes_total"] == 0);
    CHECK(await_status(port, "/readyz", 200, 5s));  // serving goes on
    CHECK(testing::get(port, "/lean/v0/states/finalized")->status == 200);
    CHECK(testing::get(port, "/metrics")->body.find("leanpoint_data_dir_write_errors_total 0") == std::string::npos);
    CHECK(lp.wait_for_stderr(c.error, Clock::now() + 5s));
    lp.send_signal(SIGTERM);
    CHECK(lp.wait(Clock::now() + 10s) == 0);
  }
}

TEST_CASE("a data directory that cannot be created or opened: leanpoint exits at once, naming it") {
  testing::TempDir tmp;
  tmp.write("file", "a regular file");
  const std::string data = tmp.path() + "/file/data";
  const auto r = testing::run({testing::leanpoint_bin(), "--upstream", "a=http://127.0.0.1:1", "--bind", "127.0.0.1",
                               "--port", std::to_string(testing::free_port()), "--data-dir", data},
                              {}, 10s);
  CAPTURE(r.err);
  CHECK(r.status == leanpoint::kExitUsage);
  CHECK(r.err.find("--data-dir: create " + data + ": ") != std::string::npos);
  CHECK(r.err.find("serving on") == std::string::npos);
}
