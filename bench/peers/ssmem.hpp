// ssmem through its C++ API: one domain per run, a thread_scope and an allocator per worker.
// W1 and W2 use the default options (the original's: a version bump on every allocation and
// every free); W3 bumps once per operation (bump_on = none + safe_to_reclaim() in end()), so
// that a free in the middle of a traversal does not end the thread's read section; W4 takes
// objects from malloc and hands them back through allocator::release() (ssmem-retire: through
// allocator::retire with a deleter that frees them).
//
// Every ssmem peer is the same two adapters, ssmem_allocator (W1) and ssmem_scheme (W2-W5),
// over a *variant*: a struct that derives from ssmem_variant and hides the members it changes
// (options, what begins and ends an operation, where the stall scenario sleeps). A new ssmem
// peer is one small header with its variant (ssmem_offline.hpp is one) and one line in
// register_core.cc. Every ssmem peer reports its allocators' counters (report_stats) and the
// bound on pending objects (pending_bound) the same way: the two hooks below.
#ifndef SSMEM_BENCH_PEERS_SSMEM_HPP
#define SSMEM_BENCH_PEERS_SSMEM_HPP

#include <chrono>
#include <cstdlib>
#include <thread>

#include "bench/peers/common.hpp"
#include "ssmem/ssmem.hpp"

namespace bench::peers {

/// The counters every ssmem peer reports at the end of a run (throughput.csv's `counters`,
/// summed over the workers' allocators): the stamps taken (heavy fences), those borrowed from
/// another thread's stamp (options::stamp_share: no heavy fence), the yields of the
/// back-pressure, and the memory bound's waits, the milliseconds they lasted (summed over the
/// threads) and the waits that gave up.
inline void report_stats(const ssmem::allocator_stats& s, counters& c) {
  c.emplace_back("stamps", static_cast<long long>(s.stamps));
  c.emplace_back("shared_stamps", static_cast<long long>(s.shared_stamps));
  c.emplace_back("yields", static_cast<long long>(s.yields));
  c.emplace_back("bound_waits", static_cast<long long>(s.bound_waits));
  c.emplace_back("bound_wait_ms", static_cast<long long>(s.bound_wait_ns / 1'000'000u));
  c.emplace_back("bound_overruns", static_cast<long long>(s.bound_overruns));
  if (s.dropped != 0) c.emplace_back("dropped", static_cast<long long>(s.dropped));
}

/// One allocator's bound on pending objects, summed over the workers into throughput.csv's
/// `pending_bound` column, which goals_table.py compares with the pending high-water mark in
/// the stall scenario: the memory bound's limit (options::pending_budget objects shared by the online
/// threads, stats().pending_limit, read at the end of the run) plus one free set's worth (the
/// allowance carved between two checks; docs/design.md, "The memory bound"); -1 without one.
inline long long pending_bound(const ssmem::allocator& a) {
  const ssmem::allocator_stats s = a.stats();
  if (s.pending_limit == static_cast<std::size_t>(-1)) return -1;
  return static_cast<long long>(s.pending_limit + ssmem::options{}.free_set_size);
}

/// What a variant of the ssmem peer may change; each member is the default peer's.
struct ssmem_variant {
  /// W1's options.
  static ssmem::options pair_options() { return {}; }
  /// W2-W4's options: W3 bumps once per operation, in end(), not at every allocation and
  /// free in the middle of a traversal.
  static ssmem::options scheme_options(use u) {
    ssmem::options o;
    if (u == use::set) o.bump_on = ssmem::ts_policy::none;
    return o;
  }
  /// W4: allocator::retire with a deleter that calls free(), instead of allocator::release().
  static constexpr bool retire_with_deleter = false;
  /// Per-thread state of the variant, kept by the adapter from one operation to the next
  /// (e.g. an RAII guard that begin() emplaces and end() resets); none by default.
  struct local {};
  /// An operation of W2-W4 starts: the thread may load shared references after it.
  static void begin(ssmem::thread_scope&, local&) noexcept {}
  /// The operation ends: the thread holds no reference loaded since begin().
  static void end(ssmem::thread_scope& s, local&, use u) noexcept {
    if (u == use::set) s.safe_to_reclaim();
  }
  /// W5: true when the variant sleeps in stall() below (between operations) instead of the
  /// workload's default stall (registered and online, its version unchanged: it holds every
  /// other thread's collection back while it sleeps).
  static constexpr bool own_stall = false;
  static void stall(ssmem::thread_scope&, std::chrono::microseconds d) { std::this_thread::sleep_for(d); }
};

/// Every full set stamped at once (stamp_batch = 0, no back-pressure): the original's rule.
struct ssmem_unbatched : ssmem_variant {
  static ssmem::options unbatch(ssmem::options o) {
    o.stamp_batch = 0;
    o.stamp_backlog = static_cast<std::size_t>(-1);
    return o;
  }
  static ssmem::options pair_options() { return unbatch(ssmem_variant::pair_options()); }
  static ssmem::options scheme_options(use u) { return unbatch(ssmem_variant::scheme_options(u)); }
};

/// W4 through allocator::retire with a deleter (the counterpart of ck_epoch_call, call_rcu).
struct ssmem_retire : ssmem_variant {
  static constexpr bool retire_with_deleter = true;
};

/// W1 with bump_on = none: the carving path that bench/pair_loop also counts (programs that
/// call safe_to_reclaim() themselves).
struct ssmem_bump_none : ssmem_variant {
  static ssmem::options pair_options() {
    ssmem::options o;
    o.bump_on = ssmem::ts_policy::none;
    return o;
  }
};

/// W1 (and W5 over W1).
template <class V = ssmem_variant>
struct ssmem_allocator {
  static constexpr bool tracks_pending = true;
  struct global {
    explicit global(const run_params&) {}
    ssmem::domain dom;
  };
  class thread {
   public:
    thread(global& g, unsigned, std::size_t size) : scope_(g.dom), a_(scope_, size, V::pair_options()) {}
    [[gnu::always_inline]] void* allocate() { return a_.allocate(); }
    [[gnu::always_inline]] void deallocate(void* p) { a_.deallocate(p); }
    long long pending() const { return static_cast<long long>(a_.stats().pending); }
    void stall(std::chrono::microseconds d)
      requires V::own_stall
    {
      V::stall(scope_, d);
    }
    void report(counters& c) const { report_stats(a_.stats(), c); }
    long long pending_bound() const { return peers::pending_bound(a_); }

   private:
    ssmem::thread_scope scope_;
    ssmem::allocator a_;
  };
};

/// W2-W4 (and W5 over W2).
template <class V = ssmem_variant>
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
        : scope_(g.dom), a_(scope_, bytes, V::scheme_options(u)), use_(u), bytes_(bytes) {}
    [[gnu::always_inline]] void* alloc() {
      if (use_ == use::release) return malloc_or_abort(bytes_);
      return a_.allocate();
    }
    [[gnu::always_inline]] void begin() { V::begin(scope_, local_); }
    [[gnu::always_inline]] void end() { V::end(scope_, local_, use_); }
    template <class T, class F>
    [[gnu::always_inline]] T protect(unsigned, const std::atomic<T>& src, F) {
      return plain_load(src);
    }
    [[gnu::always_inline]] void retire(void* p) {
      if (use_ == use::release) {
        if constexpr (V::retire_with_deleter) {
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
    // The worker has stopped and waits for the others (a barrier) before the value check:
    // offline, as a program's thread that blocks outside its operations should be, so that
    // workers still finishing their last batch do not wait at the bound for a thread that
    // will not move until they arrive (each such wait ended in an overrun after
    // bound_wait_ns, counted against the workload; urcu-qsbr's idle() does the same).
    void idle() { scope_.offline(); }
    long long pending() const {
      ssmem::allocator_stats s = a_.stats();
      return static_cast<long long>(s.pending + s.release_pending);
    }
    void stall(std::chrono::microseconds d)
      requires V::own_stall
    {
      V::stall(scope_, d);
    }
    void report(counters& c) const { report_stats(a_.stats(), c); }
    long long pending_bound() const { return peers::pending_bound(a_); }

   private:
    static void free_object(void* p, void*) noexcept { std::free(p); }
    ssmem::thread_scope scope_;
    ssmem::allocator a_;
    use use_;
    std::size_t bytes_;
    [[no_unique_address]] typename V::local local_;  // after the scope: destroyed before it
  };
};

}  // namespace bench::peers

#endif
