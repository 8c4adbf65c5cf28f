// `leanpoint inspect`: on leanSpec's vectors, on files made by the encoder,
// on stdin, and on malformed input (message naming the reason, exit 1).
#include "inspect.h"

#include <filesystem>
#include <fstream>

#include "hex.h"
#include "lean.h"
#include "lean_fixtures.h"
#include "subprocess.h"
#include "tempdir.h"
#include "testing.h"

namespace lean = leanpoint::lean;
namespace ssz = leanpoint::ssz;
using leanpoint::ArtifactType;
using leanpoint::inspect_artifact;
using leanpoint::to_hex;
using nlohmann::json;

namespace {

std::string write_bytes(const testing::TempDir& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  return dir.write(name, std::string(bytes.begin(), bytes.end()));
}

// Runs `leanpoint inspect ARGS...`; returns status, stdout parsed if it is JSON.
struct Inspected {
  int status;
  json out;
  std::string err;
};

Inspected inspect_cli(std::vector<std::string> args, const std::string& stdin_path = "/dev/null") {
  args.insert(args.begin(), {testing::leanpoint_bin(), "inspect"});
  const auto r = testing::run(args, {}, std::chrono::seconds(10), stdin_path);
  return {r.status, json::parse(r.out, nullptr, false), r.err};
}

}  // namespace

TEST_CASE("inspect: every State and SignedBlock vector") {
  size_t states = 0, blocks = 0;
  const std::filesystem::path dir = std::filesystem::path(std::getenv("LEANPOINT_TEST_DATA")) / "lean-devnet4";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    const auto doc = json::parse(std::ifstream(entry.path()));
    const auto& fixture = doc.begin().value();
    const std::string type = fixture.at("typeName");
    if (type != "State" && type != "SignedBlock") continue;
    CAPTURE(entry.path().filename().string());
    const auto bytes = *leanpoint::from_hex(fixture.at("serialized").get<std::string>());
    const auto described = inspect_artifact(bytes, ArtifactType::detect);
    REQUIRE(described);
    const auto& j = *described;
    CHECK(j["size"] == bytes.size());
    if (type == "State") {
      ++states;
      const auto& v = fixture.at("value");
      CHECK(j["type"] == "state");
      CHECK(j["state_root"] == fixture.at("root"));  // the vector's root is hash_tree_root(state)
      CHECK(j["slot"] == v["slot"]);
      CHECK(j["genesis_time"] == v["config"]["genesisTime"]);
      CHECK(j["latest_justified"]["slot"] == v["latestJustified"]["slot"]);
      CHECK(j["latest_finalized"]["root"] == v["latestFinalized"]["root"]);
      CHECK(j["validator_count"] == v["validators"]["data"].size());
      CHECK(j["historical_block_hashes"] == v["historicalBlockHashes"]["data"].size());
      CHECK(j["parent_root"] == v["latestBlockHeader"]["parentRoot"]);
    } else {
      ++blocks;
      CHECK(j["type"] == "block");
      CHECK(j["slot"] == fixture["value"]["block"]["slot"]);
      CHECK(j["block_root"] == to_hex(lean::hash_tree_root(lean::decode_signed_block(bytes).message)));
    }
  }
  CHECK(states == 3);
  CHECK(blocks == 1);
}

TEST_CASE("inspect: a state made by the encoder reports the root it anchors") {
  lean::State s = lean::decode_state(testing::fixture_bytes("test_state_minimal.json"));
  s.slot = 77;
  s.latest_block_header = {77, 1, ssz::Root{5}, {}, ssz::Root{6}};
  s.historical_block_hashes.assign(77, ssz::Root{8});
  const ssz::Root state_root = lean::hash_tree_root(s);
  lean::BlockHeader filled = s.latest_block_header;
  filled.state_root = state_root;

  testing::TempDir dir;
  const std::string path = write_bytes(dir, "state.ssz", lean::encode(s));
  const auto r = inspect_cli({path});
  CHECK(r.status == 0);
  CHECK(r.out["type"] == "state");
  CHECK(r.out["slot"] == 77);
  CHECK(r.out["state_root"] == to_hex(state_root));
  CHECK(r.out["block_root"] == to_hex(lean::hash_tree_root(filled)));
  CHECK(r.out["historical_block_hashes"] == 77);

  // The same bytes on stdin, and with the type given.
  const auto piped = inspect_cli({"-"}, path);
  CHECK(piped.status == 0);
  CHECK(piped.out == r.out);
  CHECK(inspect_cli({"--type", "state", path}).out == r.out);
}

TEST_CASE("inspect: a block made by the encoder") {
  lean::SignedBlock sb;
  sb.message = {12, 4, ssz::Root{1}, ssz::Root{2}, {}};
  sb.message.body.attestations.push_back({ssz::make_bitlist({true, true}), {}});
  sb.signature = {9, 9, 9};
  testing::TempDir dir;
  const std::string path = write_bytes(dir, "block.ssz", lean::encode(sb));
  const auto r = inspect_cli({"--type", "block", path});
  CHECK(r.status == 0);
  CHECK(r.out["type"] == "block");
  CHECK(r.out["slot"] == 12);
  CHECK(r.out["proposer_index"] == 4);
  CHECK(r.out["state_root"] == to_hex(ssz::Root{2}));
  CHECK(r.out["block_root"] == to_hex(lean::hash_tree_root(sb.message)));
  CHECK(r.out["attestation_count"] == 1);
  CHECK(inspect_cli({path}).out == r.out);  // detected
}

TEST_CASE("inspect: malformed input names the reason and exits 1") {
  testing::TempDir dir;
  auto bytes = testing::fixture_bytes("test_state_with_full_history.json");
  bytes.resize(300);
  const std::string path = write_bytes(dir, "cut.ssz", bytes);

  auto r = inspect_cli({"--type", "state", path});
  CHECK(r.status == 1);
  CHECK(r.err == "leanpoint inspect: " + path + ": State.justified_slots: offset 388 is past the end (300 bytes)\n");
  CHECK(r.out.is_discarded());

  r = inspect_cli({path});
  CHECK(r.status == 1);
  CHECK(r.err.find("neither a State (State.justified_slots") != std::string::npos);
  CHECK(r.err.find("nor a SignedBlock (SignedBlock.message: first offset") != std::string::npos);

  r = inspect_cli({"-"}, "/dev/null");
  CHECK(r.status == 1);
  CHECK(r.err.find("stdin: ") != std::string::npos);
}

TEST_CASE("inspect: unreadable file or bad flags exit 2") {
  auto r = inspect_cli({"/nonexistent/state.ssz"});
  CHECK(r.status == 2);
  CHECK(r.err == "leanpoint inspect: cannot read '/nonexistent/state.ssz': No such file or directory\n");
  r = inspect_cli({"--type", "receipt", "x"});
  CHECK(r.status == 2);
  CHECK(r.err.find("--type") != std::string::npos);
  r = inspect_cli({});
  CHECK(r.status == 2);
  CHECK(r.err.find("FILE is required") != std::string::npos);
}
