// pin_file.h: the pins.journal format (round trip, a torn tail, garbage,
// bounds) and the live set it folds into; pin_store.h: events written by
// the writer thread and read back by the next start with their anchors,
// expired ones left behind, the journal compacted, anchor files pruned;
// data_dir.h: the lock handed over from a stopping process.
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "chain.h"
#include "data_dir.h"
#include "pin_file.h"
#include "pin_store.h"
#include "tempdir.h"
#include "testing.h"

using leanpoint::DataDir;
using leanpoint::PinEvent;
using leanpoint::PinEventKind;
using leanpoint::PinLiveSet;
using leanpoint::PinStore;
using leanpoint::VerifiedAnchor;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

PinEvent pin(const std::string& client, uint64_t slot, int64_t at, int64_t expires, uint32_t states = 0,
             uint32_t blocks = 0) {
  PinEvent e;
  e.kind = PinEventKind::pin;
  e.client = client;
  e.checkpoint = {leanpoint::lean::Root{static_cast<uint8_t>(slot), 7}, slot};
  e.at_ms = at;
  e.expires_ms = expires;
  e.states_sent = states;
  e.blocks_sent = blocks;
  return e;
}

PinEvent current(uint64_t slot, int64_t since) {
  PinEvent e = pin("", slot, since, 0);
  e.kind = PinEventKind::current;
  return e;
}

bool same(const PinEvent& a, const PinEvent& b) {
  return a.kind == b.kind && a.client == b.client && a.checkpoint == b.checkpoint && a.at_ms == b.at_ms &&
         a.expires_ms == b.expires_ms && a.states_sent == b.states_sent && a.blocks_sent == b.blocks_sent;
}

std::string journal(const std::vector<PinEvent>& events) {
  std::string out(leanpoint::kPinJournalMagic);
  for (const auto& e : events) out += leanpoint::encode_pin_record(e);
  return out;
}

std::shared_ptr<const VerifiedAnchor> verified(const leanpoint::sim::Anchor& a, bool with_block = true) {
  auto v = std::make_shared<VerifiedAnchor>();
  v->checkpoint = a.checkpoint;
  v->state = std::make_shared<const std::vector<uint8_t>>(a.state);
  if (with_block) v->block = std::make_shared<const std::vector<uint8_t>>(a.block);
  v->genesis_time = 1'700'000'000;
  return v;
}

// A pin event naming a real anchor.
PinEvent pin_of(const std::string& client, const std::shared_ptr<const VerifiedAnchor>& a, int64_t at, int64_t expires,
                uint32_t states = 1) {
  PinEvent e = pin(client, 0, at, expires, states);
  e.checkpoint = a->checkpoint;
  e.anchor = a;
  return e;
}

PinEvent current_of(const std::shared_ptr<const VerifiedAnchor>& a, int64_t since) {
  PinEvent e = pin_of("", a, since, 0, 0);
  e.kind = PinEventKind::current;
  e.client.clear();
  return e;
}

std::unique_ptr<DataDir> open_dir(const std::string& path) {
  auto d = DataDir::open(path);
  REQUIRE(d);
  return std::move(*d);
}

size_t pinned_files(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.path().filename().string().rfind("pinned.", 0) == 0;
  return n;
}

constexpr int64_t kNow = 1'800'000'000'000;

}  // namespace

TEST_CASE("pin events round-trip through the journal format, every kind and field") {
  const std::vector<PinEvent> events = {current(10, 5), pin("10.0.0.1", 10, 100, 900, 3, 2),
                                        pin("2001:db8:1:2::/64", 14, -1, INT64_MAX, UINT32_MAX, 0), current(14, 7),
                                        PinEvent{PinEventKind::clear, "", {}, 0, 0, 0, 0, nullptr}};
  const std::string file = journal(events);
  const auto read = leanpoint::parse_pin_journal(file);
  REQUIRE(read);
  REQUIRE(read->events.size() == events.size());
  for (size_t i = 0; i < events.size(); ++i) CHECK(same(read->events[i], events[i]));
  CHECK(read->good_bytes == file.size());
  CHECK(read->ignored_bytes == 0);
  CHECK(leanpoint::encode_pin_record(events[1]).size() == 4 + leanpoint::kPinPayloadFixed + 8 + 8);
}

TEST_CASE("a torn last record (a kill mid-write) is ignored, whatever byte it ends at; what precedes is kept") {
  const std::vector<PinEvent> events = {pin("a", 1, 1, 2), pin("b", 2, 3, 4), pin("client-c", 3, 5, 6)};
  const std::string whole = journal(events);
  const size_t last = leanpoint::encode_pin_record(events[2]).size();
  for (size_t cut = 1; cut < last; ++cut) {
    CAPTURE(cut);
    const auto read = leanpoint::parse_pin_journal(std::string_view(whole).substr(0, whole.size() - cut));
    REQUIRE(read);
    REQUIRE(read->events.size() == 2);
    CHECK(same(read->events[1], events[1]));
    CHECK(read->ignored_bytes == last - cut);
  }
}

TEST_CASE("garbage: a flipped bit ends the read there; no magic is foreign; random bytes never throw") {
  const std::vector<PinEvent> events = {pin("a", 1, 1, 2), pin("b", 2, 3, 4), pin("c", 3, 5, 6)};
  const std::string whole = journal(events);
  const size_t second = leanpoint::kPinJournalMagic.size() + leanpoint::encode_pin_record(events[0]).size();
  for (size_t at = second; at < second + leanpoint::encode_pin_record(events[1]).size(); ++at) {
    std::string bad = whole;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    const auto read = leanpoint::parse_pin_journal(bad);
    REQUIRE(read);
    CHECK(read->events.size() == 1);  // the length, the payload or the check no longer agree
  }
  const auto foreign = leanpoint::parse_pin_journal("leanpoint-anchor 1\n...");
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().kind == leanpoint::PersistErrorKind::foreign);
  CHECK_FALSE(leanpoint::parse_pin_journal(""));

  std::mt19937 rng(21);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(leanpoint::kPinJournalMagic);
    const size_t n = rng() % 400;
    for (size_t j = 0; j < n; ++j) junk.push_back(static_cast<char>(rng()));
    const auto read = leanpoint::parse_pin_journal(junk);
    REQUIRE(read);
    CHECK(read->good_bytes + read->ignored_bytes == junk.size());
  }
}

TEST_CASE("bounds: a client key is cut to 64 bytes; a length past the largest record, or not 66 + c, ends the read") {
  const std::string long_key(200, 'k');
  const auto read = leanpoint::parse_pin_journal(journal({pin(long_key, 1, 1, 2)}));
  REQUIRE(read);
  REQUIRE(read->events.size() == 1);
  CHECK(read->events[0].client == long_key.substr(0, leanpoint::kMaxPinClientBytes));

  std::string huge(leanpoint::kPinJournalMagic);
  huge += std::string("\xff\xff\xff\x7f", 4) + std::string(100, 'x');
  CHECK(leanpoint::parse_pin_journal(huge)->events.empty());

  // A record whose length says 67 but whose client byte says 0: the check
  // matches (it is computed over what is there), the shape does not.
  std::string payload = leanpoint::encode_pin_record(pin("ab", 1, 1, 2)).substr(4, 68);
  payload[65] = 0;
  payload.pop_back();
  std::string bad(leanpoint::kPinJournalMagic);
  bad += std::string("\x43\0\0\0", 4) + payload;
  const auto sum = leanpoint::ssz::sha256({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
  bad.append(reinterpret_cast<const char*>(sum.data()), 8);
  CHECK(leanpoint::parse_pin_journal(bad)->events.empty());
}

TEST_CASE("the live set: the newest event per client, the last current, clear forgets, expired pins pruned") {
  PinLiveSet live;
  live.apply(current(10, 1));
  live.apply(pin("a", 10, 1, 100, 1));
  live.apply(pin("b", 10, 1, 50));
  live.apply(pin("a", 12, 2, 200, 1, 1));
  CHECK(live.pins() == 2);
  live.prune(50);  // b's expires_ms is not after 50
  REQUIRE(live.pins() == 1);
  const auto events = live.events();
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == PinEventKind::current);
  CHECK(same(events[1], pin("a", 12, 2, 200, 1, 1)));
  CHECK(live.checkpoints().size() == 2);  // slots 10 (current) and 12 (a)
  live.apply(PinEvent{PinEventKind::clear, "", {}, 0, 0, 0, 0, nullptr});
  CHECK(live.pins() == 0);
  CHECK_FALSE(live.has_current());
  live.apply(current(14, 3));
  CHECK(live.checkpoints().size() == 1);
}

TEST_CASE("the store: events written with their anchors, restored by the next start, expired ones left behind") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  const auto a = verified(*chain.anchor_at(40)), b = verified(*chain.anchor_at(44), false);
  const std::string path = tmp.path() + "/data";
  {
    auto dir = open_dir(path);
    PinStore store(*dir, 64 << 20, std::nullopt, nullptr, kNow);
    CHECK(store.take_restored().empty());
    store.record(current_of(a, kNow - 10));
    store.record(pin_of("10.0.0.1", a, kNow - 5, kNow + 60'000));
    store.record(pin_of("10.0.0.2", b, kNow - 5, kNow + 60'000));
    store.record(pin_of("10.0.0.3", b, kNow - 90'000, kNow - 1));  // expired by the next start
    store.stop();
    leanpoint::DataDirStatus status;
    store.add_to(status);
    CHECK(status.pin_records_total == 4);
    CHECK(status.pin_records_dropped_total == 0);
    CHECK(pinned_files(path) == 2);
  }
  auto dir = open_dir(path);
  PinStore store(*dir, 64 << 20, chain.genesis_time(), nullptr, kNow);
  auto restored = store.take_restored();
  REQUIRE(restored.size() == 3);
  CHECK(restored[0].kind == PinEventKind::current);
  CHECK(restored[0].at_ms == kNow - 10);
  REQUIRE(restored[0].anchor);
  CHECK(*restored[0].anchor->state == *a->state);
  REQUIRE(restored[0].anchor->block);
  CHECK(restored[0].anchor->restored);
  CHECK(restored[1].client == "10.0.0.1");
  CHECK(restored[1].states_sent == 1);
  CHECK(restored[1].anchor == restored[0].anchor);  // one copy per checkpoint
  CHECK(restored[2].client == "10.0.0.2");
  REQUIRE(restored[2].anchor);
  CHECK(restored[2].anchor->checkpoint == b->checkpoint);
  CHECK(restored[2].anchor->block == nullptr);
  store.stop();

  SUBCASE("an anchor file that does not verify: its pins are not restored, the others are") {
    std::string name;
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().filename().string().rfind("pinned.44.", 0) == 0) name = e.path().string();
    REQUIRE_FALSE(name.empty());
    std::ofstream(name, std::ios::binary | std::ios::trunc) << "leanpoint-anchor 1\n{}\n";
    PinStore again(*dir, 64 << 20, std::nullopt, nullptr, kNow);
    const auto left = again.take_restored();
    REQUIRE(left.size() == 2);
    CHECK(left[1].client == "10.0.0.1");
    CHECK(pinned_files(path) == 1);  // the refused one is removed
  }
  SUBCASE("once every pin has expired, nothing is restored and no anchor file is kept but current's") {
    PinStore later(*dir, 64 << 20, std::nullopt, nullptr, kNow + 61'000);
    const auto left = later.take_restored();
    REQUIRE(left.size() == 1);
    CHECK(left[0].kind == PinEventKind::current);
    CHECK(pinned_files(path) == 1);
  }
  SUBCASE("the stored anchor stands in for a pinned file of its checkpoint, and the file is written again") {
    for (const auto& e : fs::directory_iterator(path))
      if (e.path().filename().string().rfind("pinned.40.", 0) == 0) fs::remove(e.path());
    PinStore again(*dir, 64 << 20, std::nullopt, a, kNow);
    const auto left = again.take_restored();
    REQUIRE(left.size() == 3);
    CHECK(left[0].anchor == a);
    CHECK(pinned_files(path) == 2);
  }
}

TEST_CASE("the journal is compacted: many events of few clients keep it near the live set, across starts") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  const auto a = verified(*chain.anchor_at(40));
  const std::string path = tmp.path() + "/data";
  auto dir = open_dir(path);
  const int kEvents = 40000;  // some 3.5 MB of records, for 3 clients
  {
    PinStore store(*dir, 64 << 20, std::nullopt, nullptr, kNow);
    for (int i = 0; i < kEvents; ++i) {
      store.record(pin_of("10.0.0." + std::to_string(i % 3), a, kNow, kNow + 60'000, static_cast<uint32_t>(i)));
      if (i % 1000 == 999) std::this_thread::sleep_for(1ms);  // let the writer keep up: nothing dropped
    }
    store.stop();
    leanpoint::DataDirStatus status;
    store.add_to(status);
    CHECK(status.pin_records_total + status.pin_records_dropped_total == kEvents);
    CHECK(status.pin_records_total > 0);
    CHECK(fs::file_size(path + "/pins.journal") <= PinStore::kCompactMinBytes + 64 * leanpoint::kPinRecordMax);
  }
  PinStore store(*dir, 64 << 20, std::nullopt, nullptr, kNow);
  const auto restored = store.take_restored();
  REQUIRE(restored.size() == 3);
  // Rewritten at start: the three live records and the magic.
  CHECK(fs::file_size(path + "/pins.journal") < leanpoint::kPinJournalMagic.size() + 3 * leanpoint::kPinRecordMax);
  CHECK_FALSE(fs::exists(path + "/pins.journal.tmp"));
}

TEST_CASE("a full queue drops and counts; every event is written or counted as dropped") {
  testing::TempDir tmp;
  const leanpoint::sim::Chain chain(1);
  const auto a = verified(*chain.anchor_at(40));
  auto dir = open_dir(tmp.path() + "/data");
  PinStore store(*dir, 64 << 20, std::nullopt, nullptr, kNow);
  const size_t n = 4 * PinStore::kQueueMax;
  for (size_t i = 0; i < n; ++i) store.record(pin_of("c" + std::to_string(i), a, kNow, kNow + 60'000));
  store.stop();
  store.record(pin_of("after", a, kNow, kNow + 60'000));  // after the stop: not written, not counted
  leanpoint::DataDirStatus status;
  store.add_to(status);
  CHECK(status.pin_records_total + status.pin_records_dropped_total == n);
  MESSAGE(status.pin_records_dropped_total << " of " << n << " dropped, recorded as fast as a loop can");
}

TEST_CASE("the lock: a start waits for a stopping process to release it; without a wait it is refused") {
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/data";
  auto old = open_dir(path);

  const auto refused = DataDir::open(path);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == leanpoint::PersistErrorKind::locked);

  SUBCASE("started while the old one stops: waits, and has it once released") {
    std::thread releaser([&] {
      std::this_thread::sleep_for(300ms);  // the old process draining
      old->release();
    });
    const auto start = std::chrono::steady_clock::now();
    auto next = DataDir::open(path, 5000);
    const auto waited = std::chrono::steady_clock::now() - start;
    releaser.join();
    REQUIRE(next);
    CHECK(waited >= 250ms);
    CHECK(waited < 5s);
  }
  SUBCASE("the old one gone first: taken at once") {
    old.reset();
    const auto start = std::chrono::steady_clock::now();
    CHECK(DataDir::open(path, 5000));
    CHECK(std::chrono::steady_clock::now() - start < 1s);
  }
  SUBCASE("never released: refused after the wait") {
    const auto start = std::chrono::steady_clock::now();
    const auto next = DataDir::open(path, 200);
    REQUIRE_FALSE(next);
    CHECK(next.error().kind == leanpoint::PersistErrorKind::locked);
    CHECK(std::chrono::steady_clock::now() - start >= 200ms);
  }
}

TEST_CASE("a journal that is not one, or a symlink, restores nothing and is replaced by a fresh one") {
  testing::TempDir tmp;
  const std::string path = tmp.path() + "/data";
  auto dir = open_dir(path);
  SUBCASE("foreign bytes") { std::ofstream(path + "/pins.journal") << "not a journal"; }
  SUBCASE("a symlink, not followed") {
    std::ofstream(tmp.path() + "/elsewhere") << leanpoint::kPinJournalMagic;
    fs::create_symlink(tmp.path() + "/elsewhere", path + "/pins.journal");
  }
  PinStore store(*dir, 64 << 20, std::nullopt, nullptr, kNow);
  CHECK(store.take_restored().empty());
  store.stop();
  CHECK_FALSE(fs::is_symlink(path + "/pins.journal"));
  std::ifstream in(path + "/pins.journal", std::ios::binary);
  CHECK(std::string(std::istreambuf_iterator<char>(in), {}) == leanpoint::kPinJournalMagic);
  if (fs::exists(tmp.path() + "/elsewhere"))
    CHECK(fs::file_size(tmp.path() + "/elsewhere") == leanpoint::kPinJournalMagic.size());
}
