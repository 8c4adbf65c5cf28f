// leanpoint: checkpoint-sync provider for lean Ethereum devnets.
#include <iostream>

#include "cli.h"
#include "probe.h"
#include "service.h"

int main(int argc, char** argv) {
  leanpoint::block_stop_signals();
  const leanpoint::Invocation inv = leanpoint::parse_command_line(argc, argv, std::cout, std::cerr);
  if (inv.action == leanpoint::Invocation::Action::exit) return inv.exit_code;
  if (inv.action == leanpoint::Invocation::Action::probe)
    return leanpoint::run_probe(inv.probe_url, inv.probe_timeout_ms, std::cout, std::cerr);
  if (inv.action == leanpoint::Invocation::Action::inspect)
    return leanpoint::run_inspect(inv.inspect_path, inv.inspect_type, std::cin, std::cout, std::cerr);
  leanpoint::set_log_level(inv.config.log_level);
  return leanpoint::run_service(inv.config);
}
