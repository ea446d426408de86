// Registers ssmem (C++ and C API, and its variants), leak and the allocators of W1.
#include <string>

#include "bench/peers.hpp"
#include "bench/peers/freelist.hpp"
#include "bench/peers/glibc.hpp"
#include "bench/peers/jemalloc.hpp"
#include "bench/peers/leak.hpp"
#include "bench/peers/mimalloc.hpp"
#include "bench/peers/ssmem.hpp"
#include "bench/peers/ssmem_c.hpp"
#include "bench/peers/ssmem_offline.hpp"
#include "bench/peers/ssmem_section.hpp"
#include "bench/peers/tcmalloc.hpp"
#include "bench/workloads.hpp"

namespace bench {

namespace {
template <class A>
void add_loaded(registry& r, const char* name, const char* note) {
  std::string error;
  if (A::load(error)) {
    r.peers.push_back({name, note, pair_fn<A>(), nullptr, nullptr, nullptr});
  } else {
    r.excluded.push_back({name, error});
  }
}
}  // namespace

void register_core(registry& r) {
  using namespace peers;
  r.peers.push_back({"ssmem",
                     "this library: C++ API, one domain per run, default options (W3: one bump per operation; "
                     "W4: malloc + allocator::release)",
                     pair_fn<ssmem_allocator<>>(), swap_fn<ssmem_scheme<>>(), set_fn<ssmem_scheme<>>(),
                     release_fn<ssmem_scheme<>>()});
  r.peers.push_back({"ssmem-c",
                     "W1-W2: this library through its C API from a C translation unit, as C programs use it "
                     "(ssmem_alloc_init with SSMEM_DEFAULT_MEM_SIZE per thread, default timestamp policy)",
                     pair_fn<ssmem_c_allocator>(), swap_fn<ssmem_c_scheme>(), nullptr, nullptr});
  r.peers.push_back({"ssmem-unbatched",
                     "ssmem stamping every full set at once (stamp_batch = 0, the original's rule and this "
                     "library's before batches: one membarrier per 507 frees or per 3 releases)",
                     pair_fn<ssmem_allocator<ssmem_unbatched>>(), swap_fn<ssmem_scheme<ssmem_unbatched>>(),
                     set_fn<ssmem_scheme<ssmem_unbatched>>(), release_fn<ssmem_scheme<ssmem_unbatched>>()});
  r.peers.push_back({"ssmem-retire",
                     "W4: ssmem's deferred destruction, allocator::retire(p, fn, ctx) with a deleter that "
                     "calls free() (the counterpart of ck_epoch_call / call_rcu); otherwise as ssmem",
                     nullptr, nullptr, nullptr, release_fn<ssmem_scheme<ssmem_retire>>()});
  // A variant of the ssmem peer is its header (a struct over peers::ssmem_variant) and an
  // entry here.
  r.peers.push_back({"ssmem-section",
                     "W2-W3, W5 over W2: ssmem whose threads read only inside critical sections "
                     "(ssmem::critical_section around each operation, offline between them, bump_on = "
                     "none); its stalling thread sleeps between sections",
                     nullptr, swap_fn<ssmem_scheme<ssmem_section>>(), set_fn<ssmem_scheme<ssmem_section>>(),
                     nullptr});
  r.peers.push_back({"ssmem-offline",
                     "W2-W3, W5 over W2: ssmem whose threads are offline between operations "
                     "(thread_scope::online() / offline() around each, bump_on = none); its stalling "
                     "thread sleeps offline. Today's API for what issue 18's critical sections do",
                     nullptr, swap_fn<ssmem_scheme<ssmem_offline>>(), set_fn<ssmem_scheme<ssmem_offline>>(),
                     nullptr});
  r.peers.push_back({"freelist", "W1 reference: a bare thread-local LIFO free list (no reclamation)",
                     pair_fn<freelist_allocator>(), nullptr, nullptr, nullptr});
  r.peers.push_back({"glibc", "W1: glibc malloc/free (the process's malloc; checked at start-up)",
                     pair_fn<glibc_allocator>(), nullptr, nullptr, nullptr});
  add_loaded<jemalloc_allocator>(r, "jemalloc", "W1: jemalloc malloc/free from libjemalloc2 opened locally (dlopen RTLD_LOCAL: not the process malloc)");
  add_loaded<mimalloc_allocator<false>>(r, "mimalloc", "W1: mimalloc mi_malloc/mi_free_size (dlopen'd locally)");
  add_loaded<mimalloc_allocator<true>>(r, "mimalloc-hold1",
                                       "W1: mimalloc, one object of the size kept allocated (fairness, see docs)");
  add_loaded<tcmalloc_allocator>(r, "tcmalloc",
                                 "W1: gperftools tc_malloc/tc_free_sized (libtcmalloc_minimal, dlopen'd locally)");
  r.peers.push_back({"leak", "W2-W3 upper bound: never reclaim (bump allocation from pooled, pre-faulted blocks)",
                     nullptr, swap_fn<leak_scheme>(), set_fn<leak_scheme>(), nullptr});
}

}  // namespace bench
