// The peers that //bench:throughput knows, in their default order. Each register_* function
// lives in the translation unit of its adapter (bench/peers/*.cc): liburcu's flavours cannot
// share one. A peer that cannot run here is added to registry::excluded with the reason.
#ifndef SSMEM_BENCH_PEERS_HPP
#define SSMEM_BENCH_PEERS_HPP

#include "bench/harness.hpp"

namespace bench {

void register_core(registry& r);       // ssmem, leak, the bare free list, glibc, jemalloc, mimalloc, tcmalloc
void register_ck_epoch(registry& r);
void register_urcu_memb(registry& r);
void register_urcu_qsbr(registry& r);
void register_cds_hp(registry& r);

inline registry all_peers() {
  registry r;
  register_core(r);
  register_ck_epoch(r);
  register_urcu_memb(r);
  register_urcu_qsbr(r);
  register_cds_hp(r);
  return r;
}

}  // namespace bench

#endif
