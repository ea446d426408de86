// liburcu, memb flavour (membarrier-based read side; Debian's liburcu 0.13), inlined read side
// (_LGPL_SOURCE). Two reclamation styles: `Batch = false` retires with call_rcu (callbacks run
// on liburcu's call_rcu worker thread, which competes for the cores); `Batch = true` collects
// retired objects and frees them after synchronize_rcu every urcu_batch::capacity retires.
#ifndef SSMEM_BENCH_PEERS_URCU_MEMB_HPP
#define SSMEM_BENCH_PEERS_URCU_MEMB_HPP

#define _LGPL_SOURCE
#include <urcu/urcu-memb.h>

#include "bench/peers/urcu.hpp"

namespace bench::peers {

template <bool Batch>
struct urcu_memb_scheme {
  static constexpr bool tracks_pending = true;
  struct hook {
    rcu_head head;
  };
  struct global {
    explicit global(const run_params&) {}
    ~global() {
      if constexpr (!Batch) urcu_memb_barrier();  // every call_rcu callback has run
    }
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t bytes, use) : bytes_(bytes) {
      urcu_memb_register_thread();
      current_counts = &counts_;
    }
    ~thread() {
      if constexpr (Batch) flush();
      urcu_memb_unregister_thread();
      current_counts = nullptr;
    }
    [[gnu::always_inline]] void* alloc() { return malloc_or_abort(bytes_); }
    [[gnu::always_inline]] void begin() { urcu_memb_read_lock(); }
    [[gnu::always_inline]] void end() {
      urcu_memb_read_unlock();
      if constexpr (Batch) {
        if (batch_.full()) flush();
      }
    }
    template <class T, class F>
    [[gnu::always_inline]] T protect(unsigned, const std::atomic<T>& src, F) {
      return plain_load(src);
    }
    [[gnu::always_inline]] void retire(void* p) {
      counts_.add_retired();
      if constexpr (Batch) {
        batch_.add(p);
      } else {
        urcu_memb_call_rcu(&static_cast<hook*>(p)->head, reclaim);
      }
    }
    void dispose_now(void* p) { std::free(p); }
    void idle() {}
    long long pending() const { return counts_.pending(); }

   private:
    static void reclaim(rcu_head* h) {
      std::free(h);  // the head is the object's first member
      note_reclaimed();
    }
    void flush() {
      if (batch_.empty()) return;
      urcu_memb_synchronize_rcu();
      batch_.free_all(counts_);
    }
    std::size_t bytes_;
    reclaim_counts counts_;
    urcu_batch batch_;
  };
};

}  // namespace bench::peers

#endif
