#include "bench/peers.hpp"
#include "bench/peers/urcu_qsbr.hpp"
#include "bench/workloads.hpp"

namespace bench {
void register_urcu_qsbr(registry& r) {
  using S = peers::urcu_qsbr_scheme;
  r.peers.push_back({"urcu-qsbr", "liburcu qsbr flavour, quiescent state every 64 operations, batches of 4096 freed after synchronize_rcu; glibc malloc/free",
                     nullptr, swap_fn<S>(), set_fn<S>(), release_fn<S>()});
}
}  // namespace bench
