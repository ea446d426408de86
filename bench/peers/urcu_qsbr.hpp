// liburcu, qsbr flavour, inlined (_LGPL_SOURCE): read-side sections cost nothing; each worker
// announces a quiescent state every `quiescent_every` operations (end()), and retires in
// batches freed after synchronize_rcu (from end(), where the worker holds no reference).
// Not defer_rcu: on this machine it deadlocked at 2 threads (a thread blocked on the defer
// lock while online). Workers go offline before they block (idle()).
#ifndef SSMEM_BENCH_PEERS_URCU_QSBR_HPP
#define SSMEM_BENCH_PEERS_URCU_QSBR_HPP

#define _LGPL_SOURCE
#include <urcu/urcu-qsbr.h>

#include "bench/peers/urcu.hpp"

namespace bench::peers {

struct urcu_qsbr_scheme {
  static constexpr bool tracks_pending = true;
  static constexpr unsigned quiescent_every = 64;
  struct hook {};
  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t bytes, use) : bytes_(bytes) {
      urcu_qsbr_register_thread();
      current_counts = &counts_;
    }
    ~thread() {
      urcu_qsbr_thread_offline();
      flush();
      urcu_qsbr_unregister_thread();
      current_counts = nullptr;
    }
    [[gnu::always_inline]] void* alloc() { return malloc_or_abort(bytes_); }
    void begin() {}
    [[gnu::always_inline]] void end() {
      if (++ops_ % quiescent_every == 0) {
        urcu_qsbr_quiescent_state();
        if (batch_.full()) flush();
      }
    }
    template <class T, class F>
    [[gnu::always_inline]] T protect(unsigned, const std::atomic<T>& src, F) {
      return plain_load(src);
    }
    [[gnu::always_inline]] void retire(void* p) {
      counts_.add_retired();
      batch_.add(p);
    }
    void dispose_now(void* p) { std::free(p); }
    void idle() { urcu_qsbr_thread_offline(); }
    long long pending() const { return counts_.pending(); }

   private:
    // synchronize_rcu from an online qsbr thread marks it offline while it waits.
    void flush() {
      if (batch_.empty()) return;
      urcu_qsbr_synchronize_rcu();
      batch_.free_all(counts_);
    }
    std::size_t bytes_;
    unsigned ops_ = 0;
    reclaim_counts counts_;
    urcu_batch batch_;
  };
};

}  // namespace bench::peers

#endif
