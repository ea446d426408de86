#include "bench/peers.hpp"
#include "bench/peers/urcu_memb.hpp"
#include "bench/workloads.hpp"

namespace bench {
void register_urcu_memb(registry& r) {
  using C = peers::urcu_memb_scheme<false>;
  using B = peers::urcu_memb_scheme<true>;
  r.peers.push_back({"urcu-memb", "liburcu memb flavour, call_rcu (callbacks on liburcu's worker thread); glibc malloc/free",
                     nullptr, swap_fn<C>(), set_fn<C>(), release_fn<C>()});
  r.peers.push_back({"urcu-memb-batch", "liburcu memb flavour, batches of 4096 freed after synchronize_rcu; glibc malloc/free",
                     nullptr, swap_fn<B>(), set_fn<B>(), release_fn<B>()});
}
}  // namespace bench
