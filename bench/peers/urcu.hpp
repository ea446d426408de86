// liburcu flavours, shared parts. Each flavour's adapter (urcu_memb.hpp, urcu_qsbr.hpp) is
// compiled in its own translation unit: the flavour headers map the same names differently.
// Batching (retire into a per-thread batch, then synchronize_rcu and free the batch) is done
// here, in end(), outside any read-side section.
#ifndef SSMEM_BENCH_PEERS_URCU_HPP
#define SSMEM_BENCH_PEERS_URCU_HPP

#include <cstdlib>
#include <vector>

#include "bench/peers/common.hpp"

namespace bench::peers {

/// Objects retired since the last grace period; freed after the next synchronize_rcu().
class urcu_batch {
 public:
  static constexpr std::size_t capacity = 4096;
  urcu_batch() { objs_.reserve(capacity); }
  [[gnu::always_inline]] void add(void* p) { objs_.push_back(p); }
  bool full() const { return objs_.size() >= capacity; }
  bool empty() const { return objs_.empty(); }
  /// After a grace period: frees every object of the batch.
  void free_all(reclaim_counts& c) {
    for (void* p : objs_) std::free(p);
    c.reclaimed.store(c.reclaimed.load(std::memory_order_relaxed) + static_cast<long long>(objs_.size()),
                      std::memory_order_relaxed);
    objs_.clear();
  }

 private:
  std::vector<void*> objs_;
};

}  // namespace bench::peers

#endif
