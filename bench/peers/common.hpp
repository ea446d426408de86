// What every peer adapter shares: the interface a workload expects of an allocator (W1) and
// of a reclamation scheme (W2-W4), and the counters through which schemes that free in
// callbacks report how many retired objects are still waiting.
//
// Allocator A (W1):
//   A::global g(params);                  per-run state (a domain, nothing, ...)
//   A::thread t(g, index, object_size);   per-thread state, built on the worker thread
//   void* t.allocate();  void t.deallocate(void*);
//   A::tracks_pending, long long t.pending()   freed-but-not-reusable objects, if meaningful
//
// Reclamation scheme S (W2-W4); every object starts with an S::hook:
//   S::global g(params);  S::thread t(g, index, object_bytes, use);
//   void* t.alloc();                      memory for one object (ssmem's allocator, malloc, ...)
//   t.begin(); ... t.end();               one operation; end() may reclaim (outside sections)
//   T t.protect(i, atomic<T>&, to_ptr);   load a shared reference; hazard slot i where used
//   t.retire(obj);                        unlinked: free after the grace period
//   t.dispose_now(obj);                   free at teardown, every thread quiescent
//   t.idle();                             before blocking (qsbr goes offline)
//   S::tracks_pending, t.pending()
//
// Optional, for a peer whose loops are not C++ (ssmem-c, ssmem_c.hpp): A::thread may have
// pair_batch(n) and S::thread swap_batch(slots, nslots, rng, n); the workload then hands it each
// batch of its loop body instead of calling allocate/deallocate or alloc/protect/retire.
//
// Optional, on A::thread and S::thread alike (workloads.hpp detects them):
//   void t.stall(std::chrono::microseconds d)   W5: sleep d where this peer's programs block.
//       Without it the workload sleeps registered and holding collection back in the peer's
//       sense: W1 between allocate() and deallocate() of one object; W2 between begin() and
//       end() with a protected reference (a ck-epoch section, a urcu read-side section or
//       qsbr without a quiescent state, a libcds hazard, ssmem online with its version
//       unchanged). A peer whose threads are offline between operations (ssmem-offline,
//       ssmem_offline.hpp) sleeps there.
//   void t.report(counters&)                  its own counters at the end of the run (summed
//       over the workers into throughput.csv's `counters` column), e.g. ssmem's stats
//   long long t.pending_bound()               this worker's share of the bound on pending
//       objects that the peer promises (summed: the `pending_bound` column); -1: none
#ifndef SSMEM_BENCH_PEERS_COMMON_HPP
#define SSMEM_BENCH_PEERS_COMMON_HPP

#include <atomic>
#include <cstddef>
#include <cstdlib>

#include "bench/harness.hpp"

namespace bench {

/// How a workload uses a reclamation scheme.
enum class use {
  swap,     ///< W2: one allocation and one retire per operation
  set,      ///< W3: a lock-free set; references live until end()
  release,  ///< W4: objects come from malloc and go back to it after the grace period
};

/// Retired/reclaimed counts of one worker, for schemes whose reclamation runs in callbacks.
struct alignas(64) reclaim_counts {
  std::atomic<long long> retired{0};    ///< written by the owner
  std::atomic<long long> reclaimed{0};  ///< written by the owner (callbacks it runs)
  void add_retired() { retired.store(retired.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  long long pending() const {
    return retired.load(std::memory_order_relaxed) - reclaimed.load(std::memory_order_relaxed);
  }
};

/// The counts of the worker running on this thread (nullptr elsewhere, e.g. liburcu's
/// call_rcu thread: its reclamations go to foreign_reclaimed).
inline thread_local reclaim_counts* current_counts = nullptr;

/// A callback freed one retired object.
inline void note_reclaimed() {
  if (reclaim_counts* c = current_counts) {
    c->reclaimed.store(c->reclaimed.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  } else {
    foreign_reclaimed.fetch_add(1, std::memory_order_relaxed);
  }
}

/// `std::malloc(bytes)`; a failure ends the benchmark (no peer can go on without memory).
[[gnu::always_inline]] inline void* malloc_or_abort(std::size_t bytes) {
  void* p = std::malloc(bytes);
  if (p == nullptr) std::abort();
  return p;
}

/// A general-purpose allocator as a W1 allocator A: `Lib` (which derives from this) provides
/// static `void* alloc(size)` and `void release(void*, size)` around its library's calls, and
/// `hold_one`: keep one object of the size allocated for the whole run (see mimalloc.hpp).
template <class Lib>
struct malloc_peer {
  static constexpr bool tracks_pending = false;
  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned, std::size_t size) : size_(size) {
      if constexpr (Lib::hold_one) held_ = allocate();
    }
    ~thread() {
      if constexpr (Lib::hold_one) deallocate(held_);
    }
    thread(const thread&) = delete;
    thread& operator=(const thread&) = delete;
    [[gnu::always_inline]] void* allocate() {
      void* p = Lib::alloc(size_);
      if (p == nullptr) std::abort();
      return p;
    }
    [[gnu::always_inline]] void deallocate(void* p) { Lib::release(p, size_); }
    long long pending() const { return -1; }

   private:
    std::size_t size_;
    void* held_ = nullptr;
  };
};

/// The plain acquire load that epoch-based schemes use for protect().
template <class T>
inline T plain_load(const std::atomic<T>& src) {
  return src.load(std::memory_order_acquire);
}

}  // namespace bench

#endif
