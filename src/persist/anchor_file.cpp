#include "anchor_file.h"

#include <nlohmann/json.hpp>

#include "failure.h"
#include "hex.h"

namespace leanpoint {
namespace {

using nlohmann::json;

// The header's fields, each checked for its type: nlohmann's own conversions
// would throw (or wrap) on a hostile file.
template <typename T>
std::optional<T> field(const json& j, const char* name) {
  const auto it = j.find(name);
  if (it == j.end()) return std::nullopt;
  if constexpr (std::is_same_v<T, std::string>) {
    if (!it->is_string()) return std::nullopt;
  } else if constexpr (std::is_signed_v<T>) {
    if (!it->is_number_integer()) return std::nullopt;
  } else {
    if (!it->is_number_unsigned()) return std::nullopt;
  }
  return it->get<T>();
}

}  // namespace

std::string anchor_file_header(const VerifiedAnchor& a) {
  const json header = {
      {"slot", a.checkpoint.slot},
      {"root", to_hex(a.checkpoint.root)},
      {"state_bytes", a.state->size()},
      {"block_bytes", a.block ? a.block->size() : 0},
      {"block_sha256", a.block ? to_hex(ssz::sha256(*a.block)) : std::string()},
      {"genesis_time", a.genesis_time},
      {"state_source", a.state_source},
      {"block_source", a.block ? a.block_source : std::string()},
      {"verified_at_ms", a.verified_at_ms},
  };
  // Sources are upstream names from the operator's config, but a header that
  // does not fit would make the file unreadable: cut them, never the file.
  std::string line = header.dump(-1, ' ', true, json::error_handler_t::replace);
  if (line.size() >= kAnchorFileMaxHeader) {
    json shorter = header;
    shorter["state_source"] = "";
    shorter["block_source"] = "";
    line = shorter.dump(-1, ' ', true, json::error_handler_t::replace);
  }
  return std::string(kAnchorFileMagic) + line + "\n";
}

namespace {

PersistError corrupt(std::string detail) { return PersistError{PersistErrorKind::corrupt, std::move(detail)}; }

// The header line's fields that must be there, and where the bytes start.
struct Header {
  json fields;
  lean::Checkpoint checkpoint;
  uint64_t genesis_time = 0;
  uint64_t state_bytes = 0, block_bytes = 0;
  size_t body_start = 0;  // the first byte after the header line
};

Expected<Header, PersistError> parse_header(std::string_view text) {
  if (text.substr(0, kAnchorFileMagic.size()) != kAnchorFileMagic)
    return Unexpected(
        PersistError{PersistErrorKind::foreign, "not a leanpoint anchor file (no \"leanpoint-anchor 1\" line)"});
  const size_t start = kAnchorFileMagic.size();
  const size_t end = text.find('\n', start);
  if (end == std::string_view::npos || end - start > kAnchorFileMaxHeader)
    return Unexpected(
        corrupt("the header line is missing or longer than " + std::to_string(kAnchorFileMaxHeader) + " bytes"));
  Header h;
  h.fields = json::parse(text.substr(start, end - start), nullptr, false);
  if (!h.fields.is_object()) return Unexpected(corrupt("the header line is not a JSON object"));
  const auto slot = field<uint64_t>(h.fields, "slot");
  const auto root = field<std::string>(h.fields, "root");
  const auto state_bytes = field<uint64_t>(h.fields, "state_bytes");
  const auto block_bytes = field<uint64_t>(h.fields, "block_bytes");
  const auto genesis = field<uint64_t>(h.fields, "genesis_time");
  const auto parsed_root = root ? lean::parse_root(*root) : std::nullopt;
  if (!slot || !parsed_root || !state_bytes || !block_bytes || !genesis)
    return Unexpected(corrupt("the header lacks slot, root, state_bytes, block_bytes or genesis_time"));
  h.checkpoint = lean::Checkpoint{*parsed_root, *slot};
  h.genesis_time = *genesis;
  h.state_bytes = *state_bytes;
  h.block_bytes = *block_bytes;
  h.body_start = end + 1;
  return h;
}

}  // namespace

Expected<AnchorFileView, PersistError> parse_anchor_file(ssz::Bytes file) {
  auto header = parse_header(std::string_view(reinterpret_cast<const char*>(file.data()), file.size()));
  if (!header) return Unexpected(std::move(header.error()));
  const Header& h = *header;
  const uint64_t body = file.size() - h.body_start;
  if (h.state_bytes > body || h.block_bytes > body - h.state_bytes)
    return Unexpected(corrupt("truncated: the header announces " + std::to_string(h.state_bytes) + " + " +
                              std::to_string(h.block_bytes) + " bytes, the file holds " + std::to_string(body)));
  if (h.state_bytes + h.block_bytes != body)
    return Unexpected(
        corrupt(std::to_string(body - h.state_bytes - h.block_bytes) + " bytes after the state and block"));
  AnchorFileView v;
  v.checkpoint = h.checkpoint;
  v.genesis_time = h.genesis_time;
  v.state_source = field<std::string>(h.fields, "state_source").value_or("");
  v.block_source = field<std::string>(h.fields, "block_source").value_or("");
  v.verified_at_ms = field<int64_t>(h.fields, "verified_at_ms").value_or(0);
  v.state = file.subspan(h.body_start, h.state_bytes);
  if (h.block_bytes) {
    v.block = file.subspan(h.body_start + h.state_bytes, h.block_bytes);
    const auto sum = field<std::string>(h.fields, "block_sha256");
    const auto expected = sum ? lean::parse_root(*sum) : std::nullopt;
    if (!expected || *expected != ssz::sha256(*v.block))
      return Unexpected(corrupt("the block's bytes do not match block_sha256"));
  }
  return v;
}

Expected<LoadedAnchor, PersistError> load_anchor(ssz::Bytes file, std::optional<uint64_t> genesis_time) {
  auto view = parse_anchor_file(file);
  if (!view) return Unexpected(std::move(view.error()));
  const auto verified = verify_anchor(view->state, view->block, view->checkpoint, genesis_time);
  if (!verified)
    return Unexpected(PersistError{PersistErrorKind::verify,
                                   std::string(to_string(verified.error().kind)) + ": " + verified.error().detail});
  auto a = std::make_shared<VerifiedAnchor>();
  a->checkpoint = view->checkpoint;
  a->state = std::make_shared<const std::vector<uint8_t>>(view->state.begin(), view->state.end());
  if (view->block) a->block = std::make_shared<const std::vector<uint8_t>>(view->block->begin(), view->block->end());
  a->state_root = verified->state_root;
  a->state_source = view->state_source;
  a->block_source = view->block ? view->block_source : std::string();
  a->verified_at_ms = view->verified_at_ms;
  a->genesis_time = verified->genesis_time;
  a->restored = true;
  return LoadedAnchor{std::move(a), *verified};
}

}  // namespace leanpoint
