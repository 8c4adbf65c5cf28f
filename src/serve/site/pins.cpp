#include "pins.h"

#include <algorithm>
#include <set>

#include "text.h"

namespace leanpoint {

Pins::Pins(std::chrono::milliseconds window, size_t max_clients)
    : window_ms_(window.count()), hold_ms_(window.count() / 8), max_clients_(max_clients) {}

void Pins::advance(const std::shared_ptr<const VerifiedAnchor>& newest, int64_t now_ms) {
  if (current_ && current_->checkpoint == newest->checkpoint) {
    current_ = newest;  // the same checkpoint, perhaps with its block now
    return;
  }
  if (current_ && now_ms - current_since_ms_ < hold_ms_) return;
  current_ = newest;
  current_since_ms_ = now_ms;
}

std::shared_ptr<const VerifiedAnchor> Pins::serve(const std::string& client,
                                                  const std::shared_ptr<const VerifiedAnchor>& newest, int64_t now_ms) {
  if (window_ms_ <= 0) return newest;
  std::lock_guard lock(mutex_);
  if (!newest) {
    pins_.clear();
    current_.reset();
    return nullptr;
  }
  advance(newest, now_ms);
  auto it = pins_.find(client);
  if (it != pins_.end() && now_ms - it->second.set_ms < window_ms_) {
    Pin& pin = it->second;
    if (pin.anchor->checkpoint == current_->checkpoint) pin.anchor = current_;
    return pin.anchor;
  }
  if (it == pins_.end() && pins_.size() >= max_clients_) make_room(now_ms);
  pins_[client] = Pin{current_, now_ms};
  return current_;
}

void Pins::make_room(int64_t now_ms) {
  for (auto it = pins_.begin(); it != pins_.end();)
    it = now_ms - it->second.set_ms >= window_ms_ ? pins_.erase(it) : std::next(it);
  if (pins_.size() < max_clients_) return;
  // Still full of live pins: the oldest gives way (that client may then get
  // a pair of two anchors; with 65536 addresses pinned, that is the bound).
  pins_.erase(std::min_element(pins_.begin(), pins_.end(),
                               [](const auto& a, const auto& b) { return a.second.set_ms < b.second.set_ms; }));
}

PinsView Pins::view(int64_t now_ms) const {
  PinsView v;
  v.window_ms = window_ms_;
  std::lock_guard lock(mutex_);
  v.current = current_;
  v.current_since_ms = current_since_ms_;
  std::set<const VerifiedAnchor*> anchors;
  if (current_) anchors.insert(current_.get());
  for (const auto& [client, pin] : pins_) {
    if (now_ms - pin.set_ms >= window_ms_) continue;
    ++v.clients;
    anchors.insert(pin.anchor.get());
  }
  v.anchors = anchors.size();
  return v;
}

std::string client_address(const std::string& peer_ip, const std::string& forwarded_for, const std::string& real_ip,
                           const std::vector<Cidr>& trusted_proxies) {
  if (!any_contains(trusted_proxies, peer_ip)) return peer_ip;
  // Each proxy appends the address it got the request from: the rightmost
  // entry that is not one of ours is the client.
  std::string_view rest = forwarded_for;
  while (!trim(rest).empty()) {
    const size_t comma = rest.rfind(',');
    const std::string_view entry = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    if (entry.find('/') != std::string_view::npos || !Cidr::parse(entry)) break;  // not an address: stop here
    if (!any_contains(trusted_proxies, entry)) return std::string(entry);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(0, comma);
  }
  const std::string_view real = trim(real_ip);
  if (!real.empty() && Cidr::parse(real)) return std::string(real);
  return peer_ip;
}

}  // namespace leanpoint
