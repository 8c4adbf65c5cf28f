// Reading a node's GET /lean/v0/fork_choice as a stream, in constant memory.
//
// fork_choice lists every block since the finalized one (about 214 bytes
// each): through a long non-finality it grows to tens of MB. leanpoint needs
// three fields of it, so it parses with nlohmann's SAX interface and keeps
// only those: `nodes` is walked, never built. Nesting deeper than any
// fork_choice has is refused at once.
//
// nlohmann's lexer keeps the text since the last string or number began (for
// its error messages), and hands strings over whole. So the text is screened
// on its way in: a string or number, or a run without one, longer than
// kMaxJsonToken is refused. Memory is then a few buffers of that size,
// whatever the document's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <istream>
#include <optional>
#include <string_view>

#include "expected.h"
#include "failure.h"
#include "lean.h"

namespace leanpoint {

struct ForkChoice {
  lean::Checkpoint finalized;
  std::optional<lean::Checkpoint> justified;  // absent or null: tolerated
  std::optional<ssz::Root> head;              // absent or null: tolerated
  std::optional<uint64_t> head_slot;          // when the head is among the nodes kept (below)
  std::optional<uint64_t> validator_count;
};

// fork_choice is three levels deep ({"nodes":[{...}]}); this is far beyond.
constexpr size_t kMaxJsonDepth = 32;
// The head is usually the newest node, and `head` may come after `nodes`:
// the nodes of the highest slots are kept until it does, at most this many.
constexpr size_t kHeadCandidates = 64;
// Roots are 66 characters; nothing in a fork_choice comes near this.
constexpr size_t kMaxJsonToken = 64 * 1024;

// Parses a fork_choice document: `finalized` must be there, an object with a
// `slot` (a number, or a decimal string) and a 32-byte 0x-hex `root`; so must
// `justified` and `head` be, when present and not null. Fails `malformed`,
// naming what is wrong. A failure of the stream itself (HttpAbort) passes through.
Expected<ForkChoice, Failure> parse_fork_choice(std::istream& json);
Expected<ForkChoice, Failure> parse_fork_choice(std::string_view json);

}  // namespace leanpoint
