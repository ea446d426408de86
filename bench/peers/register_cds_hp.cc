#include "bench/peers.hpp"
#include "bench/peers/cds_hp.hpp"
#include "bench/workloads.hpp"

namespace bench {
void register_cds_hp(registry& r) {
  using S = peers::cds_hp_scheme;
  r.peers.push_back({"cds-hp", "libcds hazard pointers (cds::gc::HP defaults, in-place scan); glibc malloc/free",
                     nullptr, swap_fn<S>(), set_fn<S>(), release_fn<S>()});
}
}  // namespace bench
