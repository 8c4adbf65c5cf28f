#include "fork_choice.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <streambuf>
#include <string>
#include <utility>
#include <vector>

#include "text.h"

namespace leanpoint {
namespace {

// A checkpoint being read: its slot and root as they arrive, in either order.
struct PartialCheckpoint {
  std::optional<uint64_t> slot;
  std::optional<ssz::Root> root;
};

// The SAX events of one document, folded into a ForkChoice as they come. The
// position is tracked by depth: 1 is the document, 2 a value of one of its
// keys (a checkpoint object, the nodes array), 3 a node in `nodes`.
class Reader : public nlohmann::json_sax<nlohmann::json> {
 public:
  Expected<ForkChoice, Failure> result() {
    if (error_) return Unexpected(Failure{FailureKind::malformed, *error_});
    if (!saw_document_) return fail_result("fork_choice is not a JSON object");
    if (!finalized_) return fail_result("fork_choice has no \"finalized\" object");
    ForkChoice fc;
    fc.finalized = *finalized_;
    fc.justified = justified_;
    fc.head = head_;
    fc.validator_count = validator_count_;
    if (head_)
      for (const auto& [slot, root] : candidates_)
        if (root == *head_) fc.head_slot = slot;
    return fc;
  }

  bool null() override { return scalar(Scalar{Scalar::null, std::nullopt, std::nullopt}); }
  bool boolean(bool) override { return scalar(Scalar{Scalar::other, std::nullopt, std::nullopt}); }
  bool number_integer(number_integer_t) override { return scalar(Scalar{Scalar::other, std::nullopt, std::nullopt}); }
  bool number_unsigned(number_unsigned_t v) override {
    return scalar(Scalar{Scalar::unsigned_number, v, std::nullopt});
  }
  bool number_float(number_float_t, const string_t&) override {
    return scalar(Scalar{Scalar::other, std::nullopt, std::nullopt});
  }
  bool string(string_t& s) override { return scalar(Scalar{Scalar::string, std::nullopt, std::string_view(s)}); }
  bool binary(binary_t&) override { return scalar(Scalar{Scalar::other, std::nullopt, std::nullopt}); }

  bool start_object(std::size_t) override {
    if (!enter()) return false;
    if (depth_ == 1) saw_document_ = true;
    if (depth_ == 2) {
      if (key1_ == "finalized" || key1_ == "justified") checkpoint_ = PartialCheckpoint{};
      if (key1_ == "head") return fail("head is not a 32-byte 0x-hex root");
    }
    if (depth_ == 3 && in_nodes_) node_ = PartialCheckpoint{};
    return true;
  }

  bool end_object() override {
    if (depth_ == 2 && checkpoint_) {
      if (!checkpoint_->slot || !checkpoint_->root) return fail(key1_ + " lacks slot or root");
      const lean::Checkpoint c{*checkpoint_->root, *checkpoint_->slot};
      (key1_ == "finalized" ? finalized_ : justified_) = c;
      checkpoint_.reset();
    }
    if (depth_ == 3 && node_) {
      if (node_->slot && node_->root) keep_node(*node_->slot, *node_->root);
      node_.reset();
    }
    --depth_;
    return true;
  }

  bool start_array(std::size_t) override {
    if (!enter()) return false;
    if (depth_ == 1) return fail("fork_choice is not a JSON object");
    if (depth_ == 2) {
      if (key1_ == "finalized" || key1_ == "justified") return fail("fork_choice has no \"" + key1_ + "\" object");
      if (key1_ == "head") return fail("head is not a 32-byte 0x-hex root");
      in_nodes_ = key1_ == "nodes";
    }
    return true;
  }

  bool end_array() override {
    if (depth_ == 2) in_nodes_ = false;
    --depth_;
    return true;
  }

  bool key(string_t& k) override {
    if (depth_ == 1) key1_ = k;
    if (depth_ == 2 || depth_ == 3) inner_key_ = k;
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    return fail("invalid JSON at byte " + std::to_string(position));
  }

 private:
  struct Scalar {
    enum Type { null, unsigned_number, string, other } type;
    std::optional<uint64_t> number;
    std::optional<std::string_view> text;
  };

  bool enter() {
    if (++depth_ > kMaxJsonDepth) return fail("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    return true;
  }

  // A value that is not an object or an array, at the current position.
  bool scalar(const Scalar& v) {
    if (depth_ == 0) return fail("fork_choice is not a JSON object");
    if (depth_ == 1) return top_level(v);
    if (depth_ == 2 && checkpoint_) return checkpoint_field(*checkpoint_, v, key1_);
    if (depth_ == 3 && node_) {
      if (inner_key_ == "slot" || inner_key_ == "root") return checkpoint_field(*node_, v, "nodes[]", /*strict=*/false);
    }
    return true;
  }

  bool top_level(const Scalar& v) {
    if (key1_ == "finalized" || key1_ == "justified") {
      if (key1_ == "justified" && v.type == Scalar::null) {
        justified_.reset();  // tolerated as absent
        return true;
      }
      return fail("fork_choice has no \"" + key1_ + "\" object");
    }
    if (key1_ == "head") {
      if (v.type == Scalar::null) {
        head_.reset();  // tolerated as absent
        return true;
      }
      head_ = v.text ? lean::parse_root(*v.text) : std::nullopt;
      if (!head_) return fail("head is not a 32-byte 0x-hex root");
      return true;
    }
    if (key1_ == "validator_count" && v.number) validator_count_ = v.number;
    return true;
  }

  bool checkpoint_field(PartialCheckpoint& c, const Scalar& v, const std::string& where, bool strict = true) {
    if (inner_key_ == "slot") {
      c.slot = v.number ? v.number : v.text ? parse_decimal(*v.text) : std::nullopt;
      if (!c.slot && strict) return fail(where + ".slot is not an unsigned integer");
    } else if (inner_key_ == "root") {
      c.root = v.text ? lean::parse_root(*v.text) : std::nullopt;
      if (!c.root && strict) return fail(where + " is not a 32-byte 0x-hex root");
    }
    return true;
  }

  void keep_node(uint64_t slot, const ssz::Root& root) {
    if (head_) {  // known already: keep only the match
      if (root == *head_) candidates_ = {{slot, root}};
      return;
    }
    if (candidates_.size() < kHeadCandidates) {
      candidates_.emplace_back(slot, root);
      return;
    }
    const auto lowest = std::min_element(candidates_.begin(), candidates_.end());
    if (slot > lowest->first) *lowest = {slot, root};
  }

  bool fail(std::string why) {
    if (!error_) error_ = std::move(why);
    return false;
  }
  Unexpected<Failure> fail_result(std::string why) {
    return Unexpected(Failure{FailureKind::malformed, std::move(why)});
  }

  size_t depth_ = 0;
  bool saw_document_ = false;
  std::string key1_, inner_key_;
  bool in_nodes_ = false;
  std::optional<PartialCheckpoint> checkpoint_, node_;
  std::optional<lean::Checkpoint> finalized_, justified_;
  std::optional<ssz::Root> head_;
  std::optional<uint64_t> validator_count_;
  std::vector<std::pair<uint64_t, ssz::Root>> candidates_;
  std::optional<std::string> error_;
};

// The text on its way to nlohmann's lexer, screened so that the lexer's own
// buffers stay small: no string or number, and no run between the starts of
// two of them, may pass kMaxJsonToken (see fork_choice.h).
class TokenGuard : public std::streambuf {
 public:
  explicit TokenGuard(std::streambuf& source) : source_(source) {}
  const std::optional<std::string>& refused() const { return refused_; }

 protected:
  int_type underflow() override {
    const std::streamsize n = source_.sgetn(buf_, sizeof buf_);
    if (n <= 0) return traits_type::eof();
    for (std::streamsize i = 0; i < n; ++i) screen(buf_[i]);
    if (refused_) return traits_type::eof();  // the lexer sees a truncated document; result() says why
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }

 private:
  void screen(char c) {
    if (in_string_) {
      if (escaped_)
        escaped_ = false;
      else if (c == '\\')
        escaped_ = true;
      else if (c == '"')
        in_string_ = false;
    } else if (c == '"') {
      in_string_ = true;
      in_number_ = false;
      run_ = 0;
    } else if ((c >= '0' && c <= '9') || c == '-') {
      if (!in_number_) run_ = 0;
      in_number_ = true;
    } else if (c != '.' && c != 'e' && c != 'E' && c != '+') {
      in_number_ = false;
    }
    if (++run_ > kMaxJsonToken && !refused_)
      refused_ = "a JSON string, number or run between them over " + std::to_string(kMaxJsonToken / 1024) + " KiB";
  }

  std::streambuf& source_;
  char buf_[8192];
  bool in_string_ = false, escaped_ = false, in_number_ = false;
  size_t run_ = 0;
  std::optional<std::string> refused_;
};

// A read-only streambuf over memory, for parsing a string as a stream.
class MemoryBuf : public std::streambuf {
 public:
  explicit MemoryBuf(std::string_view s) {
    char* p = const_cast<char*>(s.data());  // never written: no put area
    setg(p, p, p + s.size());
  }
};

}  // namespace

Expected<ForkChoice, Failure> parse_fork_choice(std::istream& json) {
  TokenGuard guard(*json.rdbuf());
  std::istream screened(&guard);
  Reader reader;
  nlohmann::json::sax_parse(screened, &reader, nlohmann::json::input_format_t::json, /*strict=*/true);
  if (guard.refused()) return Unexpected(Failure{FailureKind::malformed, *guard.refused()});
  return reader.result();
}

Expected<ForkChoice, Failure> parse_fork_choice(std::string_view json) {
  MemoryBuf buf(json);
  std::istream in(&buf);
  return parse_fork_choice(in);
}

}  // namespace leanpoint
