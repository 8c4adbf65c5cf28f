#include "pin_file.h"

#include <cstring>

#include "ssz.h"

namespace leanpoint {
namespace {

template <typename T>
void put(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>(static_cast<uint64_t>(value) >> (8 * i)));
}

template <typename T>
T get(const char* p) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<T>(v);
}

// The check written after a payload: the first 8 bytes of its SHA-256.
void put_check(std::string& out, std::string_view payload) {
  const auto sum = ssz::sha256({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
  out.append(reinterpret_cast<const char*>(sum.data()), 8);
}

bool checks(std::string_view payload, const char* check) {
  const auto sum = ssz::sha256({reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
  return std::memcmp(sum.data(), check, 8) == 0;
}

bool known_kind(uint8_t kind) {
  return kind == static_cast<uint8_t>(PinEventKind::pin) || kind == static_cast<uint8_t>(PinEventKind::current) ||
         kind == static_cast<uint8_t>(PinEventKind::clear);
}

// The event in one payload, which has checked; nullopt if it says nothing
// an event can (an unknown kind, a length that is not 66 + c).
std::optional<PinEvent> decode(std::string_view payload) {
  if (payload.size() < kPinPayloadFixed) return std::nullopt;
  const char* p = payload.data();
  const auto kind = static_cast<uint8_t>(p[0]);
  const size_t client_bytes = static_cast<uint8_t>(p[65]);
  if (!known_kind(kind) || client_bytes > kMaxPinClientBytes || payload.size() != kPinPayloadFixed + client_bytes)
    return std::nullopt;
  PinEvent e;
  e.kind = static_cast<PinEventKind>(kind);
  e.checkpoint.slot = get<uint64_t>(p + 1);
  std::memcpy(e.checkpoint.root.data(), p + 9, 32);
  e.at_ms = get<int64_t>(p + 41);
  e.expires_ms = get<int64_t>(p + 49);
  e.states_sent = get<uint32_t>(p + 57);
  e.blocks_sent = get<uint32_t>(p + 61);
  e.client.assign(p + kPinPayloadFixed, client_bytes);
  if (e.kind == PinEventKind::pin && e.client.empty()) return std::nullopt;
  return e;
}

}  // namespace

std::string encode_pin_record(const PinEvent& e) {
  const size_t client_bytes = std::min(e.client.size(), kMaxPinClientBytes);
  std::string payload;
  payload.reserve(kPinPayloadFixed + client_bytes);
  put<uint8_t>(payload, static_cast<uint8_t>(e.kind));
  put<uint64_t>(payload, e.checkpoint.slot);
  payload.append(reinterpret_cast<const char*>(e.checkpoint.root.data()), 32);
  put<int64_t>(payload, e.at_ms);
  put<int64_t>(payload, e.expires_ms);
  put<uint32_t>(payload, e.states_sent);
  put<uint32_t>(payload, e.blocks_sent);
  put<uint8_t>(payload, static_cast<uint8_t>(client_bytes));
  payload.append(e.client, 0, client_bytes);
  std::string record;
  record.reserve(4 + payload.size() + 8);
  put<uint32_t>(record, static_cast<uint32_t>(payload.size()));
  record += payload;
  put_check(record, payload);
  return record;
}

Expected<PinJournalRead, PersistError> parse_pin_journal(std::string_view file) {
  if (file.substr(0, kPinJournalMagic.size()) != kPinJournalMagic)
    return Unexpected(PersistError{PersistErrorKind::foreign, "not a leanpoint pin journal (no \"leanpoint-pins 1\")"});
  PinJournalRead read;
  size_t at = kPinJournalMagic.size();
  while (file.size() - at >= 4) {
    const uint32_t n = get<uint32_t>(file.data() + at);
    if (n < kPinPayloadFixed || n > kPinPayloadFixed + kMaxPinClientBytes || file.size() - at - 4 < uint64_t{n} + 8)
      break;
    const std::string_view payload = file.substr(at + 4, n);
    if (!checks(payload, file.data() + at + 4 + n)) break;
    auto event = decode(payload);
    if (!event) break;
    read.events.push_back(std::move(*event));
    at += 4 + n + 8;
  }
  read.good_bytes = at;
  read.ignored_bytes = file.size() - at;
  return read;
}

void PinLiveSet::apply(PinEvent e) {
  e.anchor.reset();  // only the checkpoint is kept: the set holds no bytes
  switch (e.kind) {
    case PinEventKind::clear:
      current_.reset();
      pins_.clear();
      return;
    case PinEventKind::current: current_ = std::move(e); return;
    case PinEventKind::pin: {
      std::string client = e.client;
      pins_.insert_or_assign(std::move(client), std::move(e));
      return;
    }
  }
}

void PinLiveSet::prune(int64_t now_ms) {
  std::erase_if(pins_, [now_ms](const auto& entry) { return entry.second.expires_ms <= now_ms; });
}

std::vector<PinEvent> PinLiveSet::events() const {
  std::vector<PinEvent> out;
  out.reserve(pins_.size() + 1);
  if (current_) out.push_back(*current_);
  for (const auto& [client, e] : pins_) out.push_back(e);
  return out;
}

std::set<std::pair<uint64_t, lean::Root>> PinLiveSet::checkpoints() const {
  std::set<std::pair<uint64_t, lean::Root>> out;
  if (current_) out.emplace(current_->checkpoint.slot, current_->checkpoint.root);
  for (const auto& [client, e] : pins_) out.emplace(e.checkpoint.slot, e.checkpoint.root);
  return out;
}

}  // namespace leanpoint
