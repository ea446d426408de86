#include "bench/peers.hpp"
#include "bench/peers/ck_epoch.hpp"
#include "bench/workloads.hpp"

namespace bench {
void register_ck_epoch(registry& r) {
  using S = peers::ck_epoch_scheme;
  r.peers.push_back({"ck-epoch", "Concurrency Kit ck_epoch: section per operation, ck_epoch_call + poll every 64 retires; glibc malloc/free",
                     nullptr, swap_fn<S>(), set_fn<S>(), release_fn<S>()});
}
}  // namespace bench
