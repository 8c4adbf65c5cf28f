// 0x-prefixed lowercase hex, as the lean API and leanSpec's vectors write roots.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace leanpoint {

std::string to_hex(std::span<const uint8_t> bytes);

// The value of one hex digit, either case; -1 for any other character.
int hex_digit(char c);

// Accepts an optional 0x prefix and either case; nullopt on anything else.
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);

}  // namespace leanpoint
