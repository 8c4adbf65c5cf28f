#include "quickstart_config.h"

#include <yaml-cpp/yaml.h>

#include "config.h"
#include "text.h"

namespace leanpoint {
namespace {

// A scalar child as text, or "" when absent or not a scalar.
std::string scalar(const YAML::Node& node, const char* key) {
  const YAML::Node child = node[key];
  return child && child.IsScalar() ? child.Scalar() : std::string();
}

}  // namespace

bool is_validator_config(const std::string& path, std::string_view text) {
  if (ends_with_nocase(path, ".yaml") || ends_with_nocase(path, ".yml")) return true;
  if (ends_with_nocase(path, ".json")) return false;
  const std::string_view body = trim(text);
  return !body.empty() && body.front() != '{';
}

namespace {

std::vector<Upstream> parse(std::string_view text, const std::string& source);

}  // namespace

std::vector<Upstream> parse_validator_config(std::string_view text, const std::string& source) {
  try {
    return parse(text, source);
  } catch (const ConfigError& e) {
    // Messages quote names, hosts and YAML's own text: one line, printable.
    std::string line = e.what();
    for (char& c : line)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    throw ConfigError(line);
  }
}

namespace {

std::vector<Upstream> parse(std::string_view text, const std::string& source) {
  YAML::Node doc;
  try {
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    throw ConfigError(source + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                      std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  const YAML::Node validators = doc.IsMap() ? doc["validators"] : YAML::Node();
  if (!validators || !validators.IsSequence())
    throw ConfigError(source + ": no 'validators' list (a lean-quickstart validator-config.yaml has one)");
  std::vector<Upstream> upstreams;
  for (size_t i = 0; i < validators.size(); ++i) {
    const YAML::Node v = validators[i];
    const std::string where = source + ": validators[" + std::to_string(i) + "]";
    if (!v.IsMap()) throw ConfigError(where + " is not a mapping");
    const std::string name = scalar(v, "name");
    if (name.empty()) throw ConfigError(where + " has no name");
    std::string ip = v["enrFields"] && v["enrFields"].IsMap() ? scalar(v["enrFields"], "ip") : "";
    if (ip.empty()) ip = "127.0.0.1";
    std::string port;
    for (const char* key : {"apiPort", "httpPort", "metricsPort"})
      if (port.empty()) port = scalar(v, key);
    if (port.empty())
      throw ConfigError(where + " (" + name +
                        ") has no apiPort, httpPort or metricsPort: leanpoint cannot reach "
                        "its lean API");
    const bool v6 = ip.find(':') != std::string::npos;
    upstreams.push_back(
        parse_upstream_url(name, "http://" + (v6 ? "[" + ip + "]" : ip) + ":" + port, where + " (" + name + ")"));
  }
  return upstreams;
}

}  // namespace

}  // namespace leanpoint
