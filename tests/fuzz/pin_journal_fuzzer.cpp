// libFuzzer target: parse_pin_journal (pin_file.h) on arbitrary bytes, as a
// damaged, torn or planted --data-dir/pins.journal would present them.
//
// Properties checked: nothing throws; an input without the magic is refused
// `foreign` with a message; otherwise the good and ignored bytes add up to
// the input, every event has a known kind and a client key of at most
// kMaxPinClientBytes (a pin's never empty), and encoding the events again
// gives back exactly the good bytes (the parse neither invents nor loses a
// field). Folding them (PinLiveSet) never yields more pins than events. A
// failed property is a trap.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pin_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto read = leanpoint::parse_pin_journal(input);
  if (!read) {
    if (read.error().kind != leanpoint::PersistErrorKind::foreign || read.error().detail.empty()) __builtin_trap();
    return 0;
  }
  if (read->good_bytes + read->ignored_bytes != size) __builtin_trap();
  std::string again(leanpoint::kPinJournalMagic);
  leanpoint::PinLiveSet live;
  for (const auto& e : read->events) {
    if (e.client.size() > leanpoint::kMaxPinClientBytes) __builtin_trap();
    if (e.kind == leanpoint::PinEventKind::pin && e.client.empty()) __builtin_trap();
    if (e.kind != leanpoint::PinEventKind::pin && e.kind != leanpoint::PinEventKind::current &&
        e.kind != leanpoint::PinEventKind::clear)
      __builtin_trap();
    again += leanpoint::encode_pin_record(e);
    live.apply(e);
  }
  if (again != input.substr(0, read->good_bytes)) __builtin_trap();
  if (live.pins() > read->events.size()) __builtin_trap();
  live.prune(0);
  (void)live.events();
  return 0;
}
