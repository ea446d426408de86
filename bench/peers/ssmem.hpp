// ssmem through its C++ API: one domain per run, a thread_scope and an allocator per worker.
// W1 and W2 use the default options (the original's: a version bump on every allocation and
// every free); W3 bumps once per operation (bump_on = none + safe_to_reclaim() in end()), so
// that a free in the middle of a traversal does not end the thread's read section; W4 takes
// objects from malloc and hands them back through allocator::release() (ssmem-retire: through
// allocator::retire with a deleter that frees them).
#ifndef SSMEM_BENCH_PEERS_SSMEM_HPP
#define SSMEM_BENCH_PEERS_SSMEM_HPP

#include <cstdlib>

#include "bench/peers/common.hpp"
#include "ssmem/ssmem.hpp"

namespace bench::peers {

/// W1. `Bump` is the timestamp policy (the default, `both`, is the original's);
/// bench/pair_loop also counts `none`, the policy of programs that call safe_to_reclaim().
/// `Unbatched` stamps every full set at once (stamp_batch = 0) instead of in batches.
template <ssmem::ts_policy Bump = ssmem::ts_policy::both, bool Unbatched = false>
struct ssmem_allocator {
  static constexpr bool tracks_pending = true;
  struct global {
    explicit global(const run_params&) {}
    ssmem::domain dom;
  };
  class thread {
   public:
    thread(global& g, unsigned, std::size_t size) : scope_(g.dom), a_(scope_, size, opts()) {}
    [[gnu::always_inline]] void* allocate() { return a_.allocate(); }
    [[gnu::always_inline]] void deallocate(void* p) { a_.deallocate(p); }
    long long pending() const { return static_cast<long long>(a_.stats().pending); }

   private:
    static ssmem::options opts() {
      ssmem::options o;
      o.bump_on = Bump;
      if (Unbatched) {
        o.stamp_batch = 0;
        o.stamp_backlog = static_cast<std::size_t>(-1);
      }
      return o;
    }
    ssmem::thread_scope scope_;
    ssmem::allocator a_;
  };
};

/// W2-W4. `Unbatched` as for ssmem_allocator (then W4 stamps every release set of 3).
/// `Retire`: W4 retires with a deleter (allocator::retire with a function pointer that calls
/// free(), as ck_epoch_call and call_rcu are used) instead of allocator::release().
template <bool Unbatched = false, bool Retire = false>
struct ssmem_scheme {
  static constexpr bool tracks_pending = true;
  struct hook {};
  struct global {
    explicit global(const run_params&) {}
    ssmem::domain dom;
  };
  class thread {
   public:
    thread(global& g, unsigned, std::size_t bytes, use u)
        : scope_(g.dom), a_(scope_, bytes, opts(u)), use_(u), bytes_(bytes) {}
    [[gnu::always_inline]] void* alloc() {
      if (use_ == use::release) return malloc_or_abort(bytes_);
      return a_.allocate();
    }
    void begin() {}
    [[gnu::always_inline]] void end() {
      if (use_ == use::set) scope_.safe_to_reclaim();
    }
    template <class T, class F>
    [[gnu::always_inline]] T protect(unsigned, const std::atomic<T>& src, F) {
      return plain_load(src);
    }
    [[gnu::always_inline]] void retire(void* p) {
      if (use_ == use::release) {
        if constexpr (Retire) {
          a_.retire(p, &free_object, nullptr);
        } else {
          a_.release(p);
        }
      } else {
        a_.deallocate(p);
      }
    }
    // Chunk memory goes with the allocator; malloc'd objects (W4) are freed.
    void dispose_now(void* p) {
      if (use_ == use::release) std::free(p);
    }
    void idle() {}
    long long pending() const {
      ssmem::allocator_stats s = a_.stats();
      return static_cast<long long>(s.pending + s.release_pending);
    }

   private:
    static void free_object(void* p, void*) noexcept { std::free(p); }
    static ssmem::options opts(use u) {
      ssmem::options o;
      if (u == use::set) o.bump_on = ssmem::ts_policy::none;
      if (Unbatched) {
        o.stamp_batch = 0;
        o.stamp_backlog = static_cast<std::size_t>(-1);
      }
      return o;
    }
    ssmem::thread_scope scope_;
    ssmem::allocator a_;
    use use_;
    std::size_t bytes_;
  };
};

}  // namespace bench::peers

#endif
