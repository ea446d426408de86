// ssmem-section: ssmem whose threads read only inside critical sections (issue 18): the scope
// goes offline once, each operation of W2-W3 runs in an ssmem::critical_section (online for
// the section, offline at its end), and no version bump on allocation or free (bump_on = none:
// leaving a section is the version change). A thread between sections holds no collection
// back, so the stall scenario (W5) sleeps there.
#ifndef SSMEM_BENCH_PEERS_SSMEM_SECTION_HPP
#define SSMEM_BENCH_PEERS_SSMEM_SECTION_HPP

#include <optional>

#include "bench/peers/ssmem.hpp"

namespace bench::peers {

struct ssmem_section : ssmem_variant {
  static ssmem::options scheme_options(use) {
    ssmem::options o;
    o.bump_on = ssmem::ts_policy::none;
    return o;
  }
  struct local {
    bool offline = false;                     // the scope went offline once
    std::optional<ssmem::critical_section> section;
  };
  static void begin(ssmem::thread_scope& s, local& l) noexcept {
    if (!l.offline) [[unlikely]] {
      s.offline();
      l.offline = true;
    }
    l.section.emplace(s);
  }
  static void end(ssmem::thread_scope&, local& l, use) noexcept { l.section.reset(); }
  static constexpr bool own_stall = true;  // ssmem_variant::stall: sleeps between sections
};

}  // namespace bench::peers

#endif
