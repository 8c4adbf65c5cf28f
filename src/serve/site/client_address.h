// Who a request comes from, for its pin (pins.h): the peer, or, when the peer
// is a trusted proxy (--trusted-proxies), the client the proxies name.
//
// Each proxy appends to X-Forwarded-For the address it got the request from,
// so the list is read from the right: past the trusted proxies, the first
// entry is the client. Everything left of it the client wrote itself and is
// never read. Repeated header lines count as one list, joined in order (a
// proxy that appends a line of its own leaves the client's line first). An
// entry that is not an address ("unknown", empty, garbage) ends the walk: the
// client is then the last trusted hop, i.e. the nearest address a trusted
// proxy named, or the peer; never something the client could have written.
//
// With --real-ip-header NAME (X-Real-IP, say: a proxy that overwrites it),
// that header alone names the client of a trusted peer: its one address if
// it is one, else the peer. Never read unless the operator names it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cidr.h"

namespace leanpoint {

// An address as a forwarded header writes it: "ip", "ip:port", "[v6]" or
// "[v6]:port" (surrounding blanks ignored) -> the bare address; else nullopt.
std::optional<std::string> forwarded_address(std::string_view entry);

struct ForwardedHeaders {
  std::vector<std::string> forwarded_for;  // every X-Forwarded-For line, in order
  std::vector<std::string> real_ip;        // every line of the operator's header; unused when it names none
  bool use_real_ip = false;                // --real-ip-header names a header other than X-Forwarded-For
};

// The bare address the request comes from.
std::string client_address(const std::string& peer_ip, const ForwardedHeaders& headers,
                           const std::vector<Cidr>& trusted_proxies);

}  // namespace leanpoint
