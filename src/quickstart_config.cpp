#include "quickstart_config.h"

#include <yaml-cpp/yaml.h>

#include "text.h"
#include "untrusted_text.h"
#include "upstream_url.h"

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

// Messages quote names, hosts and YAML's own text: one line, printable.
std::string printable(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return text;
}

YAML::Node load_yaml(std::string_view text, const std::string& source) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {  // yaml-cpp's; it ends here
    throw ConfigError(printable(source + ": invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                                std::to_string(e.mark.column + 1) + ": " + e.msg));
  }
}

Upstream upstream_of(const YAML::Node& v, const std::string& where) {
  if (!v.IsMap()) throw ConfigError(where + " is not a mapping");
  std::string name = scalar(v, "name");
  if (name.empty()) throw ConfigError(where + " has no name");
  const std::string named = where + " (" + untrusted_text(name, 80) + ")";
  name = upstream_name_or_throw(std::move(name), named);
  std::string ip = v["enrFields"] && v["enrFields"].IsMap() ? scalar(v["enrFields"], "ip") : "";
  if (ip.empty()) ip = "127.0.0.1";
  std::string port;
  for (const char* key : {"apiPort", "httpPort", "metricsPort"})
    if (port.empty()) port = scalar(v, key);
  if (port.empty())
    throw ConfigError(named + " has no apiPort, httpPort or metricsPort: leanpoint cannot reach its lean API");
  // Printable: a host or port with a control character does not parse either way.
  const bool v6 = ip.find(':') != std::string::npos;
  Upstream up = upstream_url_or_throw(
      name, "http://" + (v6 ? "[" + printable(ip) + "]" : printable(ip)) + ":" + printable(port), named);
  up.name = name;
  up.client = client_from_name(up.name);  // quickstart names each node after its client: zeam_0
  return up;
}

}  // namespace

std::vector<Upstream> upstreams_from_validator_config(std::string_view text, const std::string& source) {
  const YAML::Node doc = load_yaml(text, source);
  const YAML::Node validators = doc.IsMap() ? doc["validators"] : YAML::Node();
  if (!validators || !validators.IsSequence())
    throw ConfigError(printable(source) + ": no 'validators' list (a lean-quickstart validator-config.yaml has one)");
  std::vector<Upstream> upstreams;
  for (size_t i = 0; i < validators.size(); ++i)
    upstreams.push_back(upstream_of(validators[i], printable(source) + ": validators[" + std::to_string(i) + "]"));
  return upstreams;
}

Expected<std::vector<Upstream>, ConfigError> parse_validator_config(std::string_view text, const std::string& source) {
  return config_result([&] { return upstreams_from_validator_config(text, source); });
}

}  // namespace leanpoint
