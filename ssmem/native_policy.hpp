/// \file
/// The production atomics policy: std::atomic, std::atomic_thread_fence, malloc and mmap.
/// Every wrapper is a forced-inline forward to the std:: operation with the order the caller
/// wrote, so the library compiles to what hand-written std::atomic code would (the source
/// location argument is dead after inlining; docs/benchmarks.md records the callgrind check).
#ifndef SSMEM_NATIVE_POLICY_HPP
#define SSMEM_NATIVE_POLICY_HPP

#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ssmem/policy.hpp"

#if defined(__SANITIZE_ADDRESS__)
#define SSMEM_HAS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SSMEM_HAS_ASAN 1
#endif
#endif
#ifndef SSMEM_HAS_ASAN
/// 1 when compiled under AddressSanitizer (then collected objects are poisoned until handed
/// out again, see native_policy::poison), 0 otherwise.
#define SSMEM_HAS_ASAN 0
#endif
#if SSMEM_HAS_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define SSMEM_HAS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SSMEM_HAS_TSAN 1
#endif
#endif
#ifndef SSMEM_HAS_TSAN
/// 1 when compiled under ThreadSanitizer (then the fallback full fence stays
/// std::atomic_thread_fence, see native_policy::full_fence), 0 otherwise.
#define SSMEM_HAS_TSAN 0
#endif

/// Forces inlining of the policy wrappers (they must cost nothing).
#define SSMEM_ALWAYS_INLINE inline __attribute__((always_inline))

namespace ssmem {

/// The production policy (see policy.hpp for the contract of each member).
struct native_policy {
  /// std::atomic<T> without operators or default orders.
  template <class T>
  class atomic {
   public:
    constexpr atomic() noexcept : v_() {}
    /// Initialises the value (not an atomic operation).
    constexpr explicit atomic(T v) noexcept : v_(v) {}
    atomic(const atomic&) = delete;
    atomic& operator=(const atomic&) = delete;

    /// std::atomic::load.
    SSMEM_ALWAYS_INLINE T load(std::memory_order mo,
                               source_location = source_location::current()) const noexcept {
      return v_.load(mo);
    }
    /// std::atomic::store.
    SSMEM_ALWAYS_INLINE void store(T v, std::memory_order mo,
                                   source_location = source_location::current()) noexcept {
      v_.store(v, mo);
    }
    /// std::atomic::exchange.
    SSMEM_ALWAYS_INLINE T exchange(T v, std::memory_order mo,
                                   source_location = source_location::current()) noexcept {
      return v_.exchange(v, mo);
    }
    /// std::atomic::compare_exchange_strong.
    SSMEM_ALWAYS_INLINE bool compare_exchange_strong(
        T& expected, T desired, std::memory_order success, std::memory_order failure,
        source_location = source_location::current()) noexcept {
      return v_.compare_exchange_strong(expected, desired, success, failure);
    }
    /// std::atomic::fetch_add.
    SSMEM_ALWAYS_INLINE T fetch_add(T v, std::memory_order mo,
                                    source_location = source_location::current()) noexcept {
      return v_.fetch_add(v, mo);
    }

   private:
    std::atomic<T> v_;
  };

  /// A plain T (the checker policies watch these for data races).
  template <class T>
  class var {
   public:
    constexpr var() noexcept : v_() {}
    /// Initialises the value.
    constexpr explicit var(T v) noexcept : v_(v) {}
    /// Reads the value.
    SSMEM_ALWAYS_INLINE T load(source_location = source_location::current()) const noexcept {
      return v_;
    }
    /// Writes the value.
    SSMEM_ALWAYS_INLINE void store(T v, source_location = source_location::current()) noexcept {
      v_ = v;
    }

   private:
    T v_;
  };

  /// std::atomic_thread_fence.
  SSMEM_ALWAYS_INLINE static void fence(std::memory_order mo,
                                        source_location = source_location::current()) noexcept {
    std::atomic_thread_fence(mo);
  }

  // The asymmetric fence pair of [S2]/[S5]. Where the kernel offers
  // MEMBARRIER_CMD_PRIVATE_EXPEDITED, the frequent side (every version bump) is a compiler
  // barrier and the rare side (one stamp per batch of full sets) is membarrier(2), which runs a
  // full barrier on every running thread of the process: together they order store->load as
  // two seq_cst fences would. Elsewhere both sides are full fences (full_fence() below).
  // Registration happens during static initialisation, before any thread can register in a
  // domain; until it has run, fence_light() takes the full-fence path, which is correct with
  // either heavy side.
  // SSMEM_NO_MEMBARRIER=1 in the environment forces the fallback (benchmarks compare both).
  /// Light side of the asymmetric seq_cst fence (see above).
  SSMEM_ALWAYS_INLINE static void fence_light(source_location = source_location::current()) noexcept {
    // [[likely]] lays the fallback fence out of line: the membarrier path is the flag's
    // address, one compare and a branch not taken (it was a jump over the fence too). In
    // position-independent code (Bazel's default) the address comes from the GOT (a lea
    // once the linker relaxes it) because the flag is one object for the whole process; a
    // hidden per-shared-object copy would save that lea, but could read true in one shared
    // object while another one's heavy side still reads false (initialised later).
    if (membarrier_available) [[likely]] {
      std::atomic_signal_fence(std::memory_order_seq_cst);
    } else {
      full_fence();
    }
  }
  /// Heavy side of the asymmetric seq_cst fence (see above).
  static void fence_heavy(source_location = source_location::current()) noexcept {
    if (membarrier_available) {
      if (::syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) return;
      std::abort();  // registered, so the kernel cannot refuse: never go on unfenced
    }
    full_fence();
  }
  /// The fallback of both sides: a seq_cst fence for ordinary (write-back) memory, which is
  /// all the algorithm orders. On x86-64 it is a locked read-modify-write of the word at the
  /// top of our own stack (`lock or $0`: the value does not change) instead of `mfence`, a
  /// quarter of the cost here (docs/benchmarks.md, *The fence*). Why it is a full barrier:
  /// x86-64 reorders only a store with a later load (the store waits in the store buffer);
  /// the Intel SDM, vol. 3A §8.2.2, states that "reads or writes cannot be reordered with
  /// I/O instructions, locked instructions, or serializing instructions" and that "locked
  /// instructions have a total order", so every store before it is globally visible before
  /// any load after it, and two such fences on two threads (the Dekker pattern of [S2] and
  /// [S5]) are ordered one before the other. The "memory" clobber keeps the compiler from
  /// moving memory accesses across it, as the fence would. What `mfence` adds -- ordering
  /// of non-temporal stores and write-combining memory -- the algorithm does not use; fence()
  /// stays std::atomic_thread_fence for any other caller. Under TSan the std fence is kept
  /// (TSan ignores stand-alone fences either way, docs/sanitizers.md), and elsewhere it is
  /// the portable form.
  SSMEM_ALWAYS_INLINE static void full_fence() noexcept {
#if defined(__x86_64__) && !SSMEM_HAS_TSAN
    asm volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  }
  /// Queries and registers MEMBARRIER_CMD_PRIVATE_EXPEDITED; false if unavailable.
  static bool register_membarrier() noexcept {
    const char* off = std::getenv("SSMEM_NO_MEMBARRIER");
    if (off != nullptr && off[0] == '1') return false;
    long cmds = ::syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return false;
    return ::syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  }
  /// Whether the membarrier path is in use (fixed at static initialisation).
  static inline const bool membarrier_available = register_membarrier();

  /// Cache-line aligned memory for metadata, or nullptr.
  static void* allocate(std::size_t bytes) noexcept {
    // Cache-line alignment keeps thread records and free-set headers off shared lines.
    return std::aligned_alloc(64, (bytes + 63) & ~std::size_t{63});
  }
  /// Frees allocate()'s memory.
  static void deallocate(void* p, std::size_t) noexcept { std::free(p); }

  /// A zero-filled anonymous mapping of `bytes`, or nullptr.
  static void* map_chunk(std::size_t bytes, bool huge_pages) noexcept {
    // Anonymous mappings are zero-filled and committed lazily, page by page.
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    if (huge_pages) (void)::madvise(p, bytes, MADV_HUGEPAGE);  // advice only: may be refused
    return p;
  }
  /// Unmaps map_chunk()'s memory.
  static void unmap_chunk(void* p, std::size_t bytes) noexcept {
    unpoison(p, bytes);  // ASan keeps shadow state across munmap: leave none behind
    ::munmap(p, bytes);
  }

  /// Optional hooks (see policy.hpp): under AddressSanitizer, collected objects are poisoned
  /// until they are handed out again, so a thread that reads an object after it became
  /// reusable -- a reclamation bug -- gets a use-after-free report. No-ops otherwise.
  static void poison(const void* p, std::size_t bytes) noexcept {
#if SSMEM_HAS_ASAN
    __asan_poison_memory_region(p, bytes);
#else
    (void)p, (void)bytes;
#endif
  }
  /// Undoes poison() before an object is handed out again.
  static void unpoison(const void* p, std::size_t bytes) noexcept {
#if SSMEM_HAS_ASAN
    __asan_unpoison_memory_region(p, bytes);
#else
    (void)p, (void)bytes;
#endif
  }

  /// Optional (see policy.hpp): gives up the processor (sched_yield), for the allocator's
  /// back-pressure when another online thread holds collection back.
  static void yield() noexcept { ::sched_yield(); }

  /// Optional (see policy.hpp): CLOCK_MONOTONIC in nanoseconds, for the wait at the bound.
  static std::uint64_t clock_ns() noexcept {
    struct timespec t;
    ::clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<std::uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(t.tv_nsec);
  }

  /// Optional (see policy.hpp): the wait at the bound gives the processor away -- yields
  /// first (the thread holding collection back is usually runnable: on time-shared cores a
  /// yield lets it run, and with nothing else to run the yield returns at once), then sleeps
  /// of 20 us doubling up to 1.28 ms, for a holder that is blocked rather than descheduled.
  static void backoff(unsigned round) noexcept {
    if (round < 32) {
      ::sched_yield();
      return;
    }
    unsigned shift = round - 32 < 6 ? round - 32 : 6;
    struct timespec t = {0, static_cast<long>(20'000u << shift)};
    ::nanosleep(&t, nullptr);
  }

  /// free(): where released objects go.
  static void return_to_system(void* p) noexcept { std::free(p); }

  /// Optional (see policy.hpp): starts loading what free(p) touches first, the object and
  /// the malloc chunk header just below it, so that the give-back of an object retired long
  /// ago does not wait for memory (a prefetch never faults, whatever the address).
  static void prefetch_for_return(const void* p) noexcept {
#if !SSMEM_HAS_ASAN  // ASan reports the header's address as a heap-buffer-overflow
    __builtin_prefetch(static_cast<const char*>(p) - sizeof(void*), 1);
#endif
    __builtin_prefetch(p, 1);
  }
};

static_assert(atomics_policy<native_policy>);

}  // namespace ssmem

#endif
