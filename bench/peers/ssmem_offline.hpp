// ssmem-offline: ssmem whose threads are offline between operations, with today's API --
// thread_scope::online() when an operation begins, offline() when it ends, and no version bump
// on allocation or free (bump_on = none: the transitions move the version). A thread outside an
// operation holds no collection back, so the stall scenario (W5) sleeps there. The stand-in,
// and the template, for issue 18's critical-section API: its peer ssmem-section is this file
// with begin()/end() opening and closing a section (a C-style pair called there, or an RAII
// guard kept in `local`: begin() emplaces a std::optional<guard>, end() resets it), registered
// with an entry in register_core.cc.
#ifndef SSMEM_BENCH_PEERS_SSMEM_OFFLINE_HPP
#define SSMEM_BENCH_PEERS_SSMEM_OFFLINE_HPP

#include "bench/peers/ssmem.hpp"

namespace bench::peers {

struct ssmem_offline : ssmem_variant {
  static ssmem::options scheme_options(use) {
    ssmem::options o;
    o.bump_on = ssmem::ts_policy::none;
    return o;
  }
  static void begin(ssmem::thread_scope& s, local&) noexcept { s.online(); }
  static void end(ssmem::thread_scope& s, local&, use) noexcept { s.offline(); }
  static constexpr bool own_stall = true;  // ssmem_variant::stall: sleeps, offline
};

}  // namespace bench::peers

#endif
