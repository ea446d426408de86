// ssmem through its C API, from a C translation unit (ssmem_c.c): the peer `ssmem-c`. Each
// worker is one C thread with one allocator (ssmem_alloc_init with SSMEM_DEFAULT_MEM_SIZE, its
// index as id, the default timestamp policy) in the process's default domain, and runs the
// W1 / W2 loop body in C (pair_batch / swap_batch: the workloads hand the batch over), so
// every ssmem_alloc and ssmem_free is a call into the library as in a C program. The C API
// has no counters to read: no pending count (n/a in the report). The stall scenario (W5)
// sleeps between an ssmem_alloc and its ssmem_free: registered, online, its version unchanged.
#ifndef SSMEM_BENCH_PEERS_SSMEM_C_HPP
#define SSMEM_BENCH_PEERS_SSMEM_C_HPP

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>

#include "bench/peers/common.hpp"
#include "bench/peers/ssmem_c.h"

namespace bench::peers {

namespace detail {
/// One C-API thread: registration and allocator; ssmem_term() when the worker ends.
class ssmem_c_thread {
 public:
  explicit ssmem_c_thread(unsigned index) { bench_ssmem_c_init(&a_, static_cast<int>(index)); }
  ~ssmem_c_thread() { bench_ssmem_c_term(); }
  ssmem_c_thread(const ssmem_c_thread&) = delete;
  ssmem_c_thread& operator=(const ssmem_c_thread&) = delete;
  ssmem_allocator_t* get() { return &a_; }
  /// W5: sleeps `d` holding one object of `size` bytes.
  void stall(std::size_t size, std::chrono::microseconds d) {
    void* o = bench_ssmem_c_alloc(&a_, size);
    if (o == nullptr) std::abort();
    std::this_thread::sleep_for(d);
    bench_ssmem_c_free(&a_, o);
  }

 private:
  ssmem_allocator_t a_;
};
}  // namespace detail

/// W1.
struct ssmem_c_allocator {
  static constexpr bool tracks_pending = false;
  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned index, std::size_t size) : c_(index), size_(size) {}
    /// `n` iterations of the W1 body, in C.
    void pair_batch(unsigned n) { bench_ssmem_c_pair_loop(c_.get(), size_, n); }
    void stall(std::chrono::microseconds d) { c_.stall(size_, d); }
    long long pending() const { return -1; }

   private:
    detail::ssmem_c_thread c_;
    std::size_t size_;
  };
};

/// W2 only.
struct ssmem_c_scheme {
  static constexpr bool tracks_pending = false;
  struct hook {};
  struct global {
    explicit global(const run_params&) {}
  };
  class thread {
   public:
    thread(global&, unsigned index, std::size_t bytes, use u) : c_(index), bytes_(bytes) {
      if (u != use::swap) std::abort();  // registered for W2 only
    }
    /// Set-up (slot filling), outside the measured loop.
    void* alloc() {
      void* p = bench_ssmem_c_alloc(c_.get(), bytes_);
      if (p == nullptr) std::abort();
      return p;
    }
    /// `n` operations of the W2 body, in C; returns the stale copies.
    template <class Node>
    std::uint64_t swap_batch(std::atomic<Node*>* slots, std::size_t nslots, rng& r, unsigned n) {
      // The C side sees a node as one uint64_t value and a slot as a plain pointer.
      static_assert(sizeof(Node) == sizeof(std::uint64_t));
      static_assert(sizeof(std::atomic<Node*>) == sizeof(Node*) && std::atomic<Node*>::is_always_lock_free);
      return bench_ssmem_c_swap_loop(c_.get(), static_cast<void*>(slots), nslots, &r.state(), n);
    }
    void stall(std::chrono::microseconds d) { c_.stall(bytes_, d); }
    void dispose_now(void*) {}  // chunk memory goes with the allocator (ssmem_term)
    void idle() {}
    long long pending() const { return -1; }

   private:
    detail::ssmem_c_thread c_;
    std::size_t bytes_;
  };
};

}  // namespace bench::peers

#endif
