#include "lean_api.h"

#include "http_client.h"

namespace leanpoint {
namespace {

Unexpected<Failure> status_failure(std::string_view path, int status) {
  return Unexpected(
      Failure{FailureKind::http_status, std::string(path) + " answered " + std::to_string(status), status});
}

HttpRequest request_for(const Upstream& up, std::string_view path, const char* accept, size_t max_body,
                        uint64_t* read_bytes) {
  return {up.host, up.port, std::string(path), accept, max_body, read_bytes};
}

}  // namespace

Expected<ForkChoice, Failure> fetch_fork_choice(const Upstream& up, size_t max_bytes, Clock::time_point deadline,
                                                int cancel_fd, uint64_t* read_bytes) {
  // Parsed as it arrives: the body is never held whole.
  std::optional<Expected<ForkChoice, Failure>> parsed;
  const auto r = http_get(request_for(up, kForkChoicePath, "application/json", max_bytes, read_bytes), deadline,
                          cancel_fd, [&parsed](std::istream& body) -> Expected<void, Failure> {
                            parsed.emplace(parse_fork_choice(body));
                            if (!*parsed) return Unexpected(parsed->error());
                            return {};
                          });
  if (!r) return Unexpected(r.error());
  if (r->status != 200) return status_failure(kForkChoicePath, r->status);
  return std::move(*parsed);
}

Expected<lean::Checkpoint, Failure> fetch_justified(const Upstream& up, Clock::time_point deadline, int cancel_fd,
                                                    uint64_t* read_bytes) {
  const auto r = http_get(request_for(up, kJustifiedCheckpointPath, "application/json", kMaxCheckpointJson, read_bytes),
                          deadline, cancel_fd);
  if (!r) return Unexpected(r.error());
  if (r->status != 200) return status_failure(kJustifiedCheckpointPath, r->status);
  return parse_checkpoint_json(std::string_view(reinterpret_cast<const char*>(r->body.data()), r->body.size()));
}

Expected<std::vector<uint8_t>, Failure> fetch_ssz(const Upstream& up, std::string_view path, size_t max_bytes,
                                                  Clock::time_point deadline, int cancel_fd, uint64_t* read_bytes) {
  auto r = http_get(request_for(up, path, "application/octet-stream", max_bytes, read_bytes), deadline, cancel_fd);
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
