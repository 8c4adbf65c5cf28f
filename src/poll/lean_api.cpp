#include "lean_api.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "hex.h"
#include "http_client.h"

namespace leanpoint {
namespace {

// Unwinds parse_fork_choice from any depth; never leaves this file.
struct Malformed : std::exception {
  explicit Malformed(std::string d) : detail(std::move(d)) {}
  const char* what() const noexcept override { return detail.c_str(); }
  std::string detail;
};

[[noreturn]] void malformed(std::string detail) { throw Malformed(std::move(detail)); }

// Slots are JSON numbers in most clients; accept decimal strings too.
uint64_t slot_of(const nlohmann::json& j, const char* where) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    uint64_t v = 0;
    const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size() && !s.empty()) return v;
  }
  malformed(std::string(where) + ".slot is not an unsigned integer");
}

ssz::Root root_of(const nlohmann::json& j, const char* where) {
  if (j.is_string()) {
    const auto bytes = from_hex(j.get_ref<const std::string&>());
    if (bytes && bytes->size() == 32) {
      ssz::Root r;
      std::copy(bytes->begin(), bytes->end(), r.begin());
      return r;
    }
  }
  malformed(std::string(where) + " is not a 32-byte 0x-hex root");
}

lean::Checkpoint checkpoint_of(const nlohmann::json& doc, const char* key) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_object()) malformed(std::string("fork_choice has no \"") + key + "\" object");
  const auto slot = it->find("slot");
  const auto root = it->find("root");
  if (slot == it->end() || root == it->end()) malformed(std::string(key) + " lacks slot or root");
  return {root_of(*root, key), slot_of(*slot, key)};
}

Unexpected<Failure> status_failure(std::string_view path, int status) {
  return Unexpected(
      Failure{FailureKind::http_status, std::string(path) + " answered " + std::to_string(status), status});
}

HttpRequest request_for(const Upstream& up, std::string_view path, const char* accept, size_t max_body) {
  return {up.host, up.port, std::string(path), accept, max_body};
}

ForkChoice parse(std::string_view json) {
  const auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) malformed("fork_choice is not a JSON object");
  ForkChoice fc;
  fc.finalized = checkpoint_of(doc, "finalized");
  fc.justified = checkpoint_of(doc, "justified");
  if (const auto head = doc.find("head"); head != doc.end()) {
    fc.head = root_of(*head, "head");
    if (const auto nodes = doc.find("nodes"); nodes != doc.end() && nodes->is_array()) {
      for (const auto& node : *nodes) {
        if (!node.is_object() || !node.contains("root") || !node.contains("slot")) continue;
        if (node["root"].is_string() && from_hex(node["root"].get_ref<const std::string&>()) ==
                                            std::vector<uint8_t>(fc.head.begin(), fc.head.end())) {
          fc.head_slot = slot_of(node["slot"], "nodes[]");
          break;
        }
      }
    }
  }
  if (const auto n = doc.find("validator_count"); n != doc.end() && n->is_number_unsigned())
    fc.validator_count = n->get<uint64_t>();
  return fc;
}

}  // namespace

Expected<ForkChoice, Failure> parse_fork_choice(std::string_view json) {
  try {
    return parse(json);
  } catch (const Malformed& m) {
    return Unexpected(Failure{FailureKind::malformed, m.detail});
  }
}

Expected<ForkChoice, Failure> fetch_fork_choice(const Upstream& up, Clock::time_point deadline, int cancel_fd) {
  const auto r = http_get(request_for(up, kForkChoicePath, "application/json", kMaxJsonBytes), deadline, cancel_fd);
  if (!r) return Unexpected(r.error());
  if (r->status != 200) return status_failure(kForkChoicePath, r->status);
  return parse_fork_choice(std::string_view(reinterpret_cast<const char*>(r->body.data()), r->body.size()));
}

Expected<std::vector<uint8_t>, Failure> fetch_ssz(const Upstream& up, std::string_view path, size_t max_bytes,
                                                  Clock::time_point deadline, int cancel_fd) {
  auto r = http_get(request_for(up, path, "application/octet-stream", max_bytes), deadline, cancel_fd);
  if (!r) return Unexpected(std::move(r.error()));
  if (r->status != 200) return status_failure(path, r->status);
  // Verification, not the label, is what guards the bytes; but a node that
  // answers JSON or HTML is not serving SSZ (ream sends JSON without Accept).
  const std::string& type = r->content_type;
  if (!type.empty() && type != "application/octet-stream" && type != "application/ssz")
    return Unexpected(Failure{FailureKind::not_ssz, std::string(path) + " answered " + type});
  return std::move(r->body);
}

}  // namespace leanpoint
