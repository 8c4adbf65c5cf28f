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

Expected<AnchorFileView, std::string> parse_anchor_file(ssz::Bytes file) {
  const std::string_view text(reinterpret_cast<const char*>(file.data()), file.size());
  if (text.substr(0, kAnchorFileMagic.size()) != kAnchorFileMagic)
    return Unexpected<std::string>("not a leanpoint anchor file (no \"leanpoint-anchor 1\" line)");
  const size_t start = kAnchorFileMagic.size();
  const size_t end = text.find('\n', start);
  if (end == std::string_view::npos || end - start > kAnchorFileMaxHeader)
    return Unexpected<std::string>("the header line is missing or longer than " + std::to_string(kAnchorFileMaxHeader) +
                                   " bytes");
  const json header = json::parse(text.substr(start, end - start), nullptr, false);
  if (!header.is_object()) return Unexpected<std::string>("the header line is not a JSON object");
  const auto slot = field<uint64_t>(header, "slot");
  const auto root = field<std::string>(header, "root");
  const auto state_bytes = field<uint64_t>(header, "state_bytes");
  const auto block_bytes = field<uint64_t>(header, "block_bytes");
  const auto genesis = field<uint64_t>(header, "genesis_time");
  const auto parsed_root = root ? lean::parse_root(*root) : std::nullopt;
  if (!slot || !parsed_root || !state_bytes || !block_bytes || !genesis)
    return Unexpected<std::string>("the header lacks slot, root, state_bytes, block_bytes or genesis_time");
  const uint64_t body = file.size() - (end + 1);
  if (*state_bytes > body || *block_bytes > body - *state_bytes)
    return Unexpected<std::string>("truncated: the header announces " + std::to_string(*state_bytes) + " + " +
                                   std::to_string(*block_bytes) + " bytes, the file holds " + std::to_string(body));
  if (*state_bytes + *block_bytes != body)
    return Unexpected<std::string>(std::to_string(body - *state_bytes - *block_bytes) +
                                   " bytes after the state and block");
  AnchorFileView v;
  v.checkpoint = lean::Checkpoint{*parsed_root, *slot};
  v.genesis_time = *genesis;
  v.state_source = field<std::string>(header, "state_source").value_or("");
  v.block_source = field<std::string>(header, "block_source").value_or("");
  v.verified_at_ms = field<int64_t>(header, "verified_at_ms").value_or(0);
  v.state = file.subspan(end + 1, *state_bytes);
  if (*block_bytes) {
    v.block = file.subspan(end + 1 + *state_bytes, *block_bytes);
    const auto sum = field<std::string>(header, "block_sha256");
    const auto expected = sum ? lean::parse_root(*sum) : std::nullopt;
    if (!expected || *expected != ssz::sha256(*v.block))
      return Unexpected<std::string>("the block's bytes do not match block_sha256");
  }
  return v;
}

Expected<LoadedAnchor, std::string> load_anchor(ssz::Bytes file, std::optional<uint64_t> genesis_time) {
  auto view = parse_anchor_file(file);
  if (!view) return Unexpected(std::move(view.error()));
  const auto verified = verify_anchor(view->state, view->block, view->checkpoint, genesis_time);
  if (!verified)
    return Unexpected<std::string>(std::string(to_string(verified.error().kind)) + ": " + verified.error().detail);
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
