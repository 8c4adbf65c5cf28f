#include "node.h"

#include <nlohmann/json.hpp>

#include "hex.h"

namespace leanpoint::sim {
namespace {

const std::pair<const char*, Fault> kFaults[] = {
    {"healthy", Fault::none},
    {"black-hole", Fault::black_hole},
    {"syn", Fault::syn},
    {"drip", Fault::drip},
    {"half-close", Fault::half_close},
    {"reset", Fault::reset},
    {"short-body", Fault::short_body},
    {"chunked", Fault::chunked},
    {"oversize", Fault::oversize},
    {"garbage", Fault::garbage},
    {"html", Fault::html},
    {"fork", Fault::fork},
    {"lag", Fault::lag},
    {"flap", Fault::flap},
    {"no-block", Fault::no_block},
    {"old-client", Fault::old_client},
    {"wrong-state", Fault::wrong_state},
    {"trailer-flood", Fault::trailer_flood},
    {"header-flood", Fault::header_flood},
    {"deep-json", Fault::deep_json},
    {"no-justified", Fault::no_justified},
    {"stale-justified", Fault::stale_justified},
};

Script json(int status, const nlohmann::json& body) { return respond(status, "application/json", body.dump()); }

Script not_found() { return json(404, {{"code", 404}, {"message", "not found"}}); }

Script ssz(const std::vector<uint8_t>& bytes) {
  return respond(200, "application/octet-stream", std::string(bytes.begin(), bytes.end()));
}

}  // namespace

std::shared_ptr<const std::string> synthetic_nodes(size_t count) {
  auto out = std::make_shared<std::string>();
  char node[256];
  for (size_t i = 0; i < count; ++i) {
    std::snprintf(node, sizeof node,
                  "%s{\"root\":\"0x%064zx\",\"slot\":%zu,\"parent_root\":\"0x%064zx\",\"proposer_index\":%zu,"
                  "\"weight\":0}",
                  i ? "," : "", 0x5e000000 + i, i, 0x5e000000 + i - 1, i % 4);
    *out += node;
  }
  return out;
}

std::optional<Fault> parse_fault(const std::string& name) {
  for (const auto& [n, f] : kFaults)
    if (name == n) return f;
  return std::nullopt;
}

std::string to_string(Fault f) {
  for (const auto& [n, fault] : kFaults)
    if (fault == f) return n;
  return "unknown";
}

Node::Node(std::shared_ptr<const Chain> canonical, std::shared_ptr<const Chain> fork, std::function<uint64_t()> head,
           NodeOptions options, uint16_t port)
    : canonical_(std::move(canonical)), fork_(std::move(fork)), head_(std::move(head)), options_(options) {
  if (options_.fault == Fault::syn)
    server_ = ScriptedServer::full_backlog(port);
  else
    server_ = std::make_unique<ScriptedServer>(
        [this](const std::string& target, const std::string& head) { return handle(target, head); }, port);
}

namespace {

// Re-frames a Content-Length response (as respond() builds it) as chunked.
Script rechunk(const Script& script) {
  const std::string& whole = script[0].data;
  const size_t end = whole.find("\r\n\r\n");
  std::string head = whole.substr(0, end + 2);
  const size_t cl = head.find("Content-Length: ");
  head.erase(cl, head.find("\r\n", cl) + 2 - cl);
  std::string out = head + "Transfer-Encoding: chunked\r\n\r\n";
  const std::string body = whole.substr(end + 4);
  for (size_t at = 0; at < body.size(); at += 4096) {
    const std::string piece = body.substr(at, 4096);
    char size[16];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    out += size + piece + "\r\n";
  }
  return {{Step::Kind::send, out + "0\r\n\r\n"}};
}

}  // namespace

bool Node::down() const {
  const auto age = std::chrono::steady_clock::now() - born_;
  return options_.fault == Fault::flap && (age / options_.flap_period) % 2 == 1;
}

Script Node::handle(const std::string& target, const std::string& head) {
  switch (options_.fault) {
    case Fault::black_hole: return {{Step::Kind::hang}};
    case Fault::reset: return {{Step::Kind::reset}};
    case Fault::half_close:
      return {{Step::Kind::send, sim::head(200, "application/json", {"Content-Length: 100000"})},
              {Step::Kind::half_close}};
    case Fault::oversize:
      return {{Step::Kind::send, sim::head(200, "application/octet-stream", {"Content-Length: 4294967296"})},
              {Step::Kind::stream, std::string(64 * 1024, '\0')}};
    case Fault::garbage: {
      // The start of a TLS handshake, as a node behind a misconfigured proxy might answer.
      static const std::string tls("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
      return {{Step::Kind::send, tls + std::string(64, '\0')}};
    }
    case Fault::html: return respond(200, "text/html", "<html><body>It works!</body></html>");
    case Fault::header_flood:
      return {{Step::Kind::send, "HTTP/1.1 200 OK\r\n"},
              {Step::Kind::stream, "X-Flood: " + std::string(100, 'h') + "\r\n"}};
    case Fault::deep_json:
      if (target == "/lean/v0/fork_choice") return respond(200, "application/json", std::string(4 << 20, '['));
      break;
    case Fault::flap:
      if (down()) return {{Step::Kind::reset}};
      break;
    default: break;
  }
  Script script = answer(target, head);
  switch (options_.fault) {
    case Fault::drip: return {{Step::Kind::drip, script[0].data, static_cast<int>(options_.drip_interval.count())}};
    case Fault::chunked: return rechunk(script);
    case Fault::trailer_flood: {
      Script flood = rechunk(script);
      std::string& whole = flood[0].data;
      whole.resize(whole.size() - 2);  // "0\r\n": the trailers begin
      flood.push_back({Step::Kind::stream, "X-Trailer: " + std::string(1000, 't') + "\r\n"});
      return flood;
    }
    case Fault::short_body: {
      const std::string& whole = script[0].data;
      const size_t body = whole.find("\r\n\r\n") + 4;
      return {{Step::Kind::send, whole.substr(0, body + (whole.size() - body) / 2)}};
    }
    default: return script;
  }
}

Script Node::answer(const std::string& target, const std::string& request_head) {
  const bool forked = options_.fault == Fault::fork || (options_.on_fork && options_.on_fork());
  const Chain& chain = forked ? *fork_ : *canonical_;
  uint64_t head = head_();
  if (options_.fault == Fault::lag) head = head > options_.lag ? head - options_.lag : 0;
  const uint64_t finality = options_.finality_from ? options_.finality_from(head) : head;
  const uint64_t finalized = finalized_slot(finality), justified = justified_slot(finality);

  if (target == "/lean/v0/health") return json(200, {{"status", "healthy"}, {"service", "lean-rpc-api"}});
  if (target == "/lean/v0/fork_choice") {
    if (options_.fault == Fault::old_client) return not_found();
    std::string doc = chain.fork_choice_json(head, justified, finalized);
    // Older blocks are listed through a non-finality: always without a
    // finality_from, else while finality stands still (after it resumes,
    // fork_choice shrinks to the blocks since the new finalized one).
    const bool stalled = !options_.finality_from || finality != head;
    if (stalled && options_.extra_nodes && !options_.extra_nodes->empty()) {
      const size_t at = doc.find("\"nodes\":[") + 9;  // the real nodes follow, at least the finalized one
      doc.insert(at, *options_.extra_nodes + ",");
    }
    return respond(200, "application/json", doc);
  }
  if (target == "/lean/v0/checkpoints/justified") {
    if (options_.fault == Fault::no_justified) return not_found();
    auto c = chain.checkpoint_at(justified);
    if (options_.fault == Fault::stale_justified) {
      std::lock_guard lock(stale_mutex_);
      if (!stale_justified_) stale_justified_ = c;
      c = *stale_justified_;
    }
    return json(200, {{"slot", c.slot}, {"root", to_hex(c.root)}});
  }
  if (target == "/lean/v0/states/finalized") {
    const Chain& source = options_.fault == Fault::wrong_state ? *fork_ : chain;
    const auto anchor = source.anchor_at(finalized);
    // Like ream: without exactly this Accept, the answer is JSON.
    if (request_head.find("\r\nAccept: application/octet-stream\r\n") == std::string::npos)
      return json(200, {{"slot", finalized}, {"note", "ask with Accept: application/octet-stream for SSZ"}});
    return ssz(anchor->state);
  }
  if (target == "/lean/v0/blocks/finalized") {
    if (options_.fault == Fault::no_block) return not_found();
    return ssz(chain.anchor_at(finalized)->block);
  }
  return not_found();
}

}  // namespace leanpoint::sim
