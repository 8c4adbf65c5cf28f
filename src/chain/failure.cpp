#include "failure.h"

#include <cerrno>

namespace leanpoint {

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::dns: return "dns";
    case FailureKind::refused: return "refused";
    case FailureKind::unreachable: return "unreachable";
    case FailureKind::connect_timeout: return "connect_timeout";
    case FailureKind::reset: return "reset";
    case FailureKind::timeout: return "timeout";
    case FailureKind::truncated: return "truncated";
    case FailureKind::too_large: return "too_large";
    case FailureKind::malformed: return "malformed";
    case FailureKind::cancelled: return "cancelled";
    case FailureKind::local: return "local";
    case FailureKind::http_status: return "http_status";
    case FailureKind::not_ssz: return "not_ssz";
    case FailureKind::layout: return "layout";
    case FailureKind::genesis_time: return "genesis_time";
    case FailureKind::slot_mismatch: return "slot_mismatch";
    case FailureKind::root_mismatch: return "root_mismatch";
    case FailureKind::block_slot: return "block_slot";
    case FailureKind::block_parent: return "block_parent";
    case FailureKind::block_state_root: return "block_state_root";
    case FailureKind::block_root: return "block_root";
  }
  return "unknown";
}

bool is_local_errno(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM || err == ENOBUFS || err == EADDRNOTAVAIL;
}

}  // namespace leanpoint
