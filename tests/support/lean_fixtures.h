// Real leanSpec vectors, loaded for tests that change one field at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "hex.h"

namespace testing {

// The `serialized` bytes of the first fixture in tests/data/lean-devnet4/<name>.
inline std::vector<uint8_t> fixture_bytes(const std::string& name) {
  const char* data = std::getenv("LEANPOINT_TEST_DATA");
  if (!data) throw std::runtime_error("LEANPOINT_TEST_DATA is not set; run through meson test");
  std::ifstream in(std::filesystem::path(data) / "lean-devnet4" / name);
  if (!in) throw std::runtime_error("cannot open fixture " + name);
  const auto doc = nlohmann::json::parse(in);
  const auto bytes = leanpoint::from_hex(doc.begin().value().at("serialized").get<std::string>());
  if (!bytes) throw std::runtime_error("bad hex in fixture " + name);
  return *bytes;
}

}  // namespace testing
