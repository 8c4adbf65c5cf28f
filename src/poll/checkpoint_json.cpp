#include "checkpoint_json.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "text.h"

namespace leanpoint {
namespace {

// Nothing a checkpoint answer holds is deeper than its own object; a little
// room for fields other clients may add.
constexpr size_t kMaxCheckpointDepth = 2;

// The SAX events of one document: only the top-level `slot` and `root` are kept.
class CheckpointReader : public nlohmann::json_sax<nlohmann::json> {
 public:
  Expected<lean::Checkpoint, Failure> result() {
    if (error_) return fail_result(*error_);
    if (!saw_object_) return fail_result("the checkpoint is not a JSON object");
    if (!slot_ || !root_) return fail_result("the checkpoint lacks slot or root");
    return lean::Checkpoint{*root_, *slot_};
  }

  bool null() override { return scalar(std::nullopt, std::nullopt); }
  bool boolean(bool) override { return scalar(std::nullopt, std::nullopt); }
  bool number_integer(number_integer_t) override { return scalar(std::nullopt, std::nullopt); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v, std::nullopt); }
  bool number_float(number_float_t, const string_t&) override { return scalar(std::nullopt, std::nullopt); }
  bool string(string_t& s) override { return scalar(std::nullopt, std::string_view(s)); }
  bool binary(binary_t&) override { return scalar(std::nullopt, std::nullopt); }

  bool start_object(std::size_t) override {
    if (depth_ == 0) saw_object_ = true;
    return enter();
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return fail("the checkpoint is not a JSON object");
    return enter();
  }
  bool end_object() override { return leave(); }
  bool end_array() override { return leave(); }
  bool key(string_t& k) override {
    if (depth_ == 1) key_ = k;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    return fail("invalid JSON at byte " + std::to_string(position));
  }

 private:
  bool enter() {
    if (depth_ == 1 && (key_ == "slot" || key_ == "root")) return fail(key_ + " is not a scalar");
    if (++depth_ > kMaxCheckpointDepth)
      return fail("nested deeper than " + std::to_string(kMaxCheckpointDepth) + " levels");
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }

  bool scalar(std::optional<uint64_t> number, std::optional<std::string_view> text) {
    if (depth_ == 0) return fail("the checkpoint is not a JSON object");
    if (depth_ != 1) return true;
    if (key_ == "slot") {
      slot_ = number ? number : text ? parse_decimal(*text) : std::nullopt;
      if (!slot_) return fail("slot is not an unsigned integer");
    } else if (key_ == "root") {
      root_ = text ? lean::parse_root(*text) : std::nullopt;
      if (!root_) return fail("root is not a 32-byte 0x-hex root");
    }
    return true;
  }

  bool fail(std::string why) {
    if (!error_) error_ = std::move(why);
    return false;
  }
  static Unexpected<Failure> fail_result(std::string why) {
    return Unexpected(Failure{FailureKind::malformed, "checkpoints/justified: " + std::move(why)});
  }

  size_t depth_ = 0;
  bool saw_object_ = false;
  std::string key_;
  std::optional<uint64_t> slot_;
  std::optional<ssz::Root> root_;
  std::optional<std::string> error_;
};

}  // namespace

Expected<lean::Checkpoint, Failure> parse_checkpoint_json(std::string_view json) {
  if (json.size() > kMaxCheckpointJson)
    return Unexpected(Failure{FailureKind::too_large,
                              "checkpoints/justified: over " + std::to_string(kMaxCheckpointJson) + " bytes"});
  CheckpointReader reader;
  nlohmann::json::sax_parse(json, &reader, nlohmann::json::input_format_t::json, /*strict=*/true);
  return reader.result();
}

}  // namespace leanpoint
